package dev.ptwalk.syscalls.taskmmu;

import static dev.ptwalk.syscalls.Proc.BASE;
import static dev.ptwalk.syscalls.Proc.PAGE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.trace.TraceEvent;
import dev.ptwalk.syscalls.Proc;
import dev.ptwalk.syscalls.Syscalls;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Writes to {@code /proc/PID/clear_refs}: the kernel's parsing, soft-dirty with and without {@code
 * CONFIG_MEM_SOFT_DIRTY} (the generated {@code SOFT_DIRTY} walker only with it), and the accessed
 * bits (the generated {@code YOUNG} walker).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ClearRefsTest {
  @ParameterizedTest(name = "''{0}'' -> {1}")
  @CsvSource(delimiterString = "->", quoteCharacter = '`', textBlock = """
      4                     -> 1
      +4                    -> 2
      000000000004          -> 12
      0000000000004         -> EINVAL
      -1                    -> EINVAL
      -0                    -> EINVAL
      0x4                   -> EINVAL
      4_                    -> EINVAL
      -+4                   -> EINVAL
      2147483648            -> ERANGE
      99999999999           -> ERANGE
      18446744073709551616  -> ERANGE
      6                     -> EINVAL
      5                     -> 1
      `4\n`                 -> 2
      ` 3 `                 -> 3
      """)
  void theValueIsParsedAsTheKernelParsesIt(String value, String expected) {
    Proc p = new Proc();
    p.anon(BASE, 2, false);
    long ret = ClearRefs.clearRefsWrite(p.mm, value.replace("\\n", "\n"));
    assertEquals(expected, ret < 0 ? Syscalls.errno(ret).name() : String.valueOf(ret));
  }

  @Test
  void withoutSoftDirtyNothingChangesButTheBracketAndTheFlushAreThere() {
    Proc p = new Proc();
    p.anon(BASE, 2, true);
    p.write(BASE);
    long before = p.mm.followPte(BASE);
    p.machine.trace().clear();
    assertEquals(1, ClearRefs.clearRefsWrite(p.mm, "4"));
    assertEquals(before, p.mm.followPte(BASE), "clear_soft_dirty is empty");
    assertEquals(List.of("P", ""), p.pagemap(BASE, 2), "no D anywhere");
    assertEquals(List.of("SOFT_DIRTY"), p.machine.trace().events(TraceEvent.NotifierStart.class)
        .stream().map(TraceEvent.NotifierStart::event).collect(Collectors.toList()));
    assertTrue(p.machine.trace().events(TraceEvent.TlbFlush.class).stream()
        .anyMatch(TraceEvent.TlbFlush::wholeMm));
    p.machine.assertQuiet();
  }

  @Test
  void withSoftDirtyTheGeneratedWalkerCleansAndTheNextWriteMarksAgain() {
    Proc p = new Proc(Proc.DEFAULT_FEATURES, true);
    p.anon(BASE, 3, false);
    p.write(BASE);
    p.write(BASE + PAGE);
    assertEquals(List.of("PD", "PD", "D"), p.pagemap(BASE, 3), "a new VMA is soft-dirty");
    assertEquals(1, ClearRefs.clearRefsWrite(p.mm, "4"));
    assertEquals(List.of("P", "P", ""), p.pagemap(BASE, 3));
    assertFalse(Pte.write(p.mm.followPte(BASE)), "write-protected, so the next store faults");
    p.write(BASE + PAGE);
    assertEquals(List.of("P", "PD", ""), p.pagemap(BASE, 3));
    PmScanArg a = Proc.arg(BASE, 3);
    a.categoryMask = PagemapScan.PAGE_IS_SOFT_DIRTY;
    assertEquals("[1,2)WRITTEN|PRESENT|SOFT_DIRTY end=3", p.scan(BASE, a));
    p.machine.assertQuiet();
  }

  @Test
  void theYoungTypesClearTheAccessedBitsOfTheirVmasOnly() {
    Proc p = new Proc();
    p.anon(BASE, 2, false);
    p.memfd(BASE + Proc.SLOT, 2, true, false);
    p.write(BASE);
    p.read(BASE + PAGE); // the zero page: no folio, left alone
    p.write(BASE + Proc.SLOT);
    assertEquals(1, ClearRefs.clearRefsWrite(p.mm, "3"));
    assertTrue(Pte.young(p.mm.followPte(BASE)), "MAPPED: file VMAs only");
    assertFalse(Pte.young(p.mm.followPte(BASE + Proc.SLOT)));
    assertEquals(1, ClearRefs.clearRefsWrite(p.mm, "1"));
    assertFalse(Pte.young(p.mm.followPte(BASE)));
    assertTrue(Pte.young(p.mm.followPte(BASE + PAGE)), "the zero page's PTE is not a page's");
    p.machine.assertQuiet();
  }
}
