package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input to every ptwalk command gets a positioned message saying what is wrong, the exit
 * status the help documents, and never a stack trace; each case exactly.
 */
@Timeout(60)
class BadInputTest {
  private static final String CLEAN = "dev.ptwalk.samples.DirtyHelpersWalkers#applyAsClean";
  private static final String WRPROTECT =
      "dev.ptwalk.samples.DirtyHelpersWalkers#applyAsWrprotect";
  private static final List<String> SETUP = List.of("mapping buf", "mm A",
      "vma A buf start=0x10000 pages=16 pgoff=0 flags=read,write,shared,io");

  @TempDir
  Path dir;

  private Path file(byte[] bytes) throws IOException {
    Path p = dir.resolve("s.pw");
    Files.write(p, bytes);
    return p;
  }

  private Cli.Result run(String... lines) throws IOException {
    return Cli.run("run", file(String.join("\n", lines).getBytes(StandardCharsets.UTF_8))
        .toString());
  }

  /** The setup, then {@code lines}. */
  private Cli.Result runAfterSetup(String... lines) throws IOException {
    List<String> all = new ArrayList<>(SETUP);
    all.addAll(Arrays.asList(lines));
    return run(all.toArray(new String[0]));
  }

  /** Exit 2, nothing on stdout, and exactly {@code message} (after the file name) on stderr. */
  private void refused(Cli.Result r, String message) {
    assertEquals(2, r.status(), r.err());
    assertEquals("", r.out());
    assertEquals(dir.resolve("s.pw") + ":" + message + "\n", r.err());
  }

  @Test
  void bytesThatAreNotUtf8() throws IOException {
    byte[] bytes = {'m', 'm', ' ', 'A', '\n', 'm', 'm', ' ', (byte) 0xff, (byte) 0xfe, '\n'};
    Cli.Result r = Cli.run("run", file(bytes).toString());
    assertTrue(r.noStackTrace(), r.err());
    refused(r, "2: byte 0xff at column 4 is not UTF-8; a scenario file is UTF-8 text");
    // A truncated multi-byte sequence at the end of the last line.
    r = Cli.run("run", file(new byte[] {'m', 'm', ' ', (byte) 0xc3}).toString());
    refused(r, "1: byte 0xc3 at column 4 is not UTF-8; a scenario file is UTF-8 text");
  }

  @Test
  void controlCharacters() throws IOException {
    refused(run("mapping buf", "mm A\u0001"),
        "2: control character U+0001 at column 5; a scenario line holds printable text");
    refused(run("mm \u001b[31mA"),
        "1: control character U+001B at column 4; a scenario line holds printable text");
    // Tabs, CRLF line ends and a byte order mark are fine.
    Cli.Result ok = run("\ufeffmapping\tbuf\r", "mm A\r", "pte A 0x10000\r");
    assertEquals(0, ok.status(), ok.err());
    assertEquals("{\"line\":3,\"pte\":{\"mm\":\"A\",\"addr\":\"0x10000\",\"present\":false,"
        + "\"write\":false,\"dirty\":false,\"young\":false,\"soft_dirty\":false,"
        + "\"uffd_wp\":false}}\n", ok.out());
  }

  @Test
  void aFileThatCannotBeRead() {
    Cli.Result r = Cli.run("run", dir.toString());
    assertEquals(2, r.status());
    assertEquals("ptwalk run: cannot read scenario file " + dir + ": it is a directory\n",
        r.err());
    r = Cli.run("run", dir.resolve("missing.pw").toString());
    assertEquals(2, r.status());
    assertEquals("ptwalk run: cannot read scenario file " + dir.resolve("missing.pw")
        + ": no such file\n", r.err());
  }

  @Test
  void theDemoChecksItsPageBeforeRunning() {
    Path missing = dir.resolve("no/such/dir/x.html");
    Cli.Result r = Cli.run("demo", "--frames", "1000000", "--html", missing.toString());
    assertEquals(2, r.status());
    assertEquals("", r.out(), "nothing ran");
    assertEquals("ptwalk demo: cannot write --html " + missing + ": directory "
        + missing.getParent() + " does not exist\n", r.err());
    r = Cli.run("demo", "--frames", "1000000", "--html", dir.toString());
    assertEquals(2, r.status());
    assertEquals("", r.out(), "nothing ran");
    assertEquals("ptwalk demo: cannot write --html " + dir + ": it is a directory; give a file"
        + " name, for example " + dir.resolve("demo.html") + "\n", r.err());
  }

  @Test
  void aLargeWalkWithoutABitmapIsNotRefusedForTheBitmap() throws IOException {
    Cli.Result r = runAfterSetup("write A 0x11000", "walk " + WRPROTECT + " buf first=0"
        + " nr=2000000000");
    assertEquals(0, r.status(), r.err());
    assertTrue(r.out().startsWith("{\"line\":5,\"walk\":\"" + WRPROTECT + "\",\"total\":1,"),
        r.out());
    refused(runAfterSetup("walk " + CLEAN + " buf first=0 nr=2000000000"),
        "4: the walk needs a bitmap of 2000000000 bits (file pages [0, 2000000000) from"
            + " bitmap_pgoff=0), more than 2^30, the largest the runner allocates; walk fewer"
            + " pages per line");
    refused(runAfterSetup("walk " + CLEAN + " buf first=0 nr=16 bits=2000000000"),
        "4: bits=2000000000 is more than 2^30, the largest bitmap the runner allocates");
  }

  @Test
  void aBitmapTooSmallByLessThanAWordIsRefused() throws IOException {
    refused(runAfterSetup("write A 0x1a000", "walk " + CLEAN + " buf first=0 nr=16 bits=8"),
        "5: bits=8 is too small: file pages [0, 16) are bits [0, 16) of a bitmap from"
            + " bitmap_pgoff=0; give bits=16 or more");
    refused(runAfterSetup("walk " + CLEAN + " buf first=4 nr=12 bitmap_pgoff=2 bits=13"),
        "4: bits=13 is too small: file pages [4, 16) are bits [2, 14) of a bitmap from"
            + " bitmap_pgoff=2; give bits=14 or more");
    refused(runAfterSetup("walk " + CLEAN + " buf first=2 nr=1 bitmap_pgoff=3"),
        "4: bitmap_pgoff=3 is past first=2: bit 0 of the bitmap is file page bitmap_pgoff, so it"
            + " must be at most first");
    // Exactly enough, and the default (exactly what the walk needs), both work.
    Cli.Result r = runAfterSetup("write A 0x1a000", "walk " + CLEAN + " buf first=4 nr=12"
        + " bitmap_pgoff=2 bits=14", "write A 0x1a000", "walk " + CLEAN + " buf first=4 nr=12"
        + " bitmap_pgoff=2");
    assertEquals(0, r.status(), r.err());
    List<String> lines = r.out().lines().toList();
    assertTrue(lines.get(0).contains("\"total\":1,\"bits\":[8],\"start\":8,\"end\":9,"), r.out());
    assertTrue(lines.get(1).contains("\"total\":1,\"bits\":[8],\"start\":8,\"end\":9,"), r.out());
  }

  @Test
  void aWalkerClassWhoseStaticInitializerThrows() throws IOException {
    refused(runAfterSetup("walk dev.ptwalk.tests.BrokenInitWalker#walk buf first=0 nr=1"),
        "4: walker class dev.ptwalk.tests.BrokenInitWalker cannot be used: the static"
            + " initializer of dev.ptwalk.tests.BrokenInitWalker threw"
            + " java.lang.IllegalStateException: BrokenInitWalker refuses to start");
  }

  @Test
  void aCallbackClassWhoseStaticInitializerThrows() throws IOException {
    refused(runAfterSetup("write A 0x10000",
        "walk dev.ptwalk.tests.BrokenInitCallbacksWalkers#applyAsClean buf first=0 nr=1"),
        "5: dev.ptwalk.tests.BrokenInitCallbacksWalkers#applyAsClean threw"
            + " java.lang.ExceptionInInitializerError: the static initializer of"
            + " dev.ptwalk.tests.BrokenInitCallbacks threw java.lang.IllegalStateException:"
            + " BrokenInitCallbacks refuses to start");
  }

  @Test
  void aCallbackThrowingIllegalArgumentIsNotAnArgumentRejection() throws IOException {
    refused(runAfterSetup("write A 0x13000",
        "walk dev.ptwalk.tests.TestCallbacksWalkers#applyAsRefusingClean buf first=0 nr=16"),
        "5: dev.ptwalk.tests.TestCallbacksWalkers#applyAsRefusingClean threw"
            + " java.lang.IllegalArgumentException: refusing 0x13000, in"
            + " dev.ptwalk.tests.TestCallbacks.refusing");
    // The walker's own argument check is one.
    refused(runAfterSetup("walk dev.ptwalk.tests.PickyWalker#walk buf first=0 nr=5"),
        "4: dev.ptwalk.tests.PickyWalker#walk rejected its arguments: nr must be at most 4, was"
            + " 5");
  }

  @Test
  void aBrokenRuleNamesItsLine() throws IOException {
    Cli.Result r = runAfterSetup("write A 0x10000",
        "walk dev.ptwalk.tests.BrokenWalkers#wrprotectWithoutFlush buf first=0 nr=4",
        "pte A 0x10000");
    assertEquals(1, r.status());
    assertEquals("", r.out());
    // The verifier names the walker's frame with its source line, which is BrokenWalkers' own.
    String prefix = dir.resolve("s.pw") + ":5: a walker broke a page-table rule:"
        + " decTlbFlushPending of mm A ran before a TLB flush covering the PTE at 0x10000 made more"
        + " restrictive in the bracket over PROTECTION_PAGE mm=A [0x10000, 0x20000), which ended"
        + " with tlb_flush_pending raised";
    assertTrue(r.err().startsWith(prefix) && r.err().endsWith("]\n")
        && r.err().lines().count() == 1, r.err());
  }

  @Test
  void oneRuleForAddressesInHex() throws IOException {
    String limit = " is not a user address: user space is [0x0, 0x7ffffffff000) with 4-level"
        + " paging";
    refused(runAfterSetup("write A 0x800000000000"), "4: ADDR 0x800000000000" + limit);
    refused(runAfterSetup("read A 0xffff800000001000"), "4: ADDR 0xffff800000001000" + limit);
    refused(runAfterSetup("pte A 0x800000000000"), "4: ADDR 0x800000000000" + limit);
    refused(runAfterSetup("write A 0x7ffffffff000"), "4: ADDR 0x7ffffffff000" + limit);
    refused(runAfterSetup("write A 140737488355328"),
        "4: ADDR 140737488355328 (0x800000000000)" + limit);
    refused(runAfterSetup("read A -8"), "4: ADDR -8 (0xfffffffffffffff8)" + limit);
    refused(run("mapping buf", "mm A", "vma A buf start=0x800000000000 pages=1 pgoff=0"
        + " flags=read"), "3: start 0x800000000000" + limit);
    // Just below the limit is a user address: outside every VMA, so a segfault.
    Cli.Result r = runAfterSetup("write A 0x7fffffffeff8");
    assertEquals(0, r.status(), r.err());
    assertEquals("{\"line\":4,\"segfault\":{\"mm\":\"A\",\"addr\":\"0x7fffffffeff8\","
        + "\"access\":\"write\"}}\n", r.out());
  }

  @Test
  void warningsSayWhatTheyWarnAbout() throws IOException {
    Cli.Result r = run("mapping buf", "mm C",
        "vma C buf start=0x30000 pages=2 pgoff=0 flags=read,write,shared",
        "walk " + WRPROTECT + " buf first=0 nr=2");
    assertEquals(0, r.status(), r.err());
    assertEquals("{\"line\":4,\"walk\":\"" + WRPROTECT + "\",\"total\":0,\"notifiers\":[],"
        + "\"flushes\":[],\"warnings\":1}\n", r.out());
    assertEquals(dir.resolve("s.pw") + ":4: WARNING: mm C: applyAsWrprotect skips vma[0x30000-"
        + "0x32000 mm=C pgoff=0 VM_READ|VM_WRITE|VM_SHARED|VM_MAYREAD|VM_MAYWRITE|VM_MAYSHARE"
        + "|VM_SOFTDIRTY]:"
        + " only VM_IO VMAs without VM_HUGETLB are walked\n", r.err());
  }
}
