package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.samples.RuntimeDemo;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class RuntimeDemoTest {
  @Test
  void printsTheFaultsAndPteStatesOfTwoProcessesSharingAFile() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    RuntimeDemo.run(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    assertTrue(lines.contains(
        "  fault mm=A addr=0x7f0000002000 write path=do_shared_fault result=OK"), lines::toString);
    assertTrue(lines.contains(
        "  fault mm=B addr=0x555500001000 read path=do_read_fault result=OK"), lines::toString);
    assertTrue(lines.contains(
        "A    2      0x7f0000002000   true     true     true   true   pfn=0x1000 P RW U A D SD"),
        lines::toString);
    assertTrue(lines.contains(
        "B    4      0x555500002000   true     true     true   true   pfn=0x1002 P RW U A D SD"),
        lines::toString);
    // set_pte_range: a load that maps a dirty folio writable maps it dirty too.
    assertTrue(lines.contains(
        "A    4      0x7f0000004000   true     true     true   true   pfn=0x1002 P RW U A D SD"),
        "A's pgoff 4 maps the page B dirtied, dirty since its folio is");
    assertEquals("pgoff 4 holds 0xb4 seen from A and 0xb4 seen from B: one page, two mappings",
        lines.get(lines.size() - 2));
    assertEquals("verifier: quiet", lines.get(lines.size() - 1));
  }
}
