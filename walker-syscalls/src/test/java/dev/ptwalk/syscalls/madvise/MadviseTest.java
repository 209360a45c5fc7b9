package dev.ptwalk.syscalls.madvise;

import static dev.ptwalk.syscalls.Proc.BASE;
import static dev.ptwalk.syscalls.Proc.PAGE;
import static dev.ptwalk.syscalls.Proc.SLOT;
import static dev.ptwalk.syscalls.madvise.Madvise.MADV_DONTNEED;
import static dev.ptwalk.syscalls.madvise.Madvise.MADV_FREE;
import static dev.ptwalk.syscalls.madvise.Madvise.MADV_PAGEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ptwalk.runtime.Errno;
import dev.ptwalk.syscalls.Proc;
import dev.ptwalk.syscalls.Syscalls;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code madvise} with {@code MADV_DONTNEED}, {@code MADV_FREE} and {@code MADV_PAGEOUT} on the
 * simulated mm, verifier on: what each does to uffd-wp tracking, the errors and their partial
 * effect, the per-CPU LRU batches between {@code MADV_FREE} and {@code MADV_PAGEOUT}, and the
 * page-table reclaim of a whole-table {@code MADV_DONTNEED}.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MadviseTest {
  private final Proc p = new Proc();

  private static long err(Errno e) {
    return Syscalls.err(e);
  }

  @Test
  void dontneedDropsProtectionInAnonymousMemoryAndKeepsItAsMarkersInShmem() {
    long a = BASE;
    long s = BASE + SLOT;
    p.anon(a, 4, true);
    p.memfd(s, 4, true, true);
    for (long base : new long[] {a, s}) {
      p.write(base);
      p.write(base + PAGE);
      assertEquals(0, p.wp(base, 4, true));
      p.write(base + PAGE);
      assertEquals(0, p.madvise(base, 4, MADV_DONTNEED));
    }
    assertEquals("[0,4)WPALLOWED|WRITTEN end=4", p.scan(a, 4));
    assertEquals("[0,1)WPALLOWED|SWAPPED [1,2)WPALLOWED|WRITTEN [2,4)WPALLOWED|SWAPPED end=4",
        p.scan(s, 4));
    p.read(s);
    assertEquals(List.of("PFW", "", "SW", "SW"), p.pagemap(s, 4),
        "the page cache survived: the old page, mapped back protected");
    p.machine.assertQuiet();
  }

  @Test
  void freeMarksCleanAndPageoutDiscardsOnlyPagesNotWrittenSince() {
    p.anon(BASE, 6, true);
    for (int i = 0; i < 4; i++) {
      p.write(BASE + i * PAGE);
    }
    p.read(BASE + 4 * PAGE);
    assertEquals(0, p.wp(BASE, 6, true));
    assertEquals(0, p.madvise(BASE, 6, MADV_FREE));
    String afterFree = p.scan(BASE, 6);
    assertEquals("[0,4)WPALLOWED|PRESENT [4,5)WPALLOWED|PRESENT|PFNZERO [5,6)WPALLOWED|SWAPPED"
        + " end=6", afterFree, "no category changes");
    p.write(BASE + PAGE);
    assertEquals(0, p.madvise(BASE, 6, MADV_PAGEOUT));
    assertEquals(List.of("", "P", "", "", "PWZ", "SW"), p.pagemap(BASE, 6),
        "pages 0, 2, 3 discarded (and their protection with them); 1 was written again");
    p.machine.assertQuiet();
  }

  @Test
  void freeRefusesAFileVmaButHasAlreadyFreedTheAnonymousOneBeforeIt() {
    long a = BASE + 1016 * PAGE;
    p.anon(a, 8, true);
    p.memfd(BASE + SLOT, 8, true, true);
    for (int i = 0; i < 8; i++) {
      p.write(a + i * PAGE);
    }
    assertEquals(err(Errno.EINVAL), p.madvise(a, 16, MADV_FREE));
    assertEquals(0, p.madvise(a, 8, MADV_PAGEOUT));
    assertEquals("[0,8)WPALLOWED|WRITTEN end=8", p.scan(a, 8), "discarded: they were lazyfree");
    p.machine.assertQuiet();
  }

  @Test
  void aRangeRunningIntoUnmappedSpaceIsAppliedThenGivesEnomem() {
    p.anon(BASE, 4, false);
    p.write(BASE);
    assertEquals(err(Errno.ENOMEM), p.madvise(BASE, 8, MADV_DONTNEED));
    assertEquals(List.of("", "", "", ""), p.pagemap(BASE, 4));
    assertEquals(err(Errno.ENOMEM), p.madvise(BASE + 8 * PAGE, 2, MADV_PAGEOUT),
        "nothing mapped at all");
    assertEquals(0, p.madvise(BASE, 0, MADV_FREE), "an empty range does nothing");
    assertEquals(err(Errno.EINVAL), Madvise.doMadvise(p.mm, BASE + 8, PAGE, MADV_DONTNEED),
        "unaligned");
    assertThrows(UnsupportedOperationException.class,
        () -> Madvise.doMadvise(p.mm, BASE, PAGE, Madvise.MADV_COLD));
  }

  /**
   * Ex. 09 of the written-tracking reference: {@code MADV_FREE} and {@code MADV_PAGEOUT} of a page
   * on different CPUs miss each other through the per-CPU LRU batches; only page 2, freed and
   * paged out on one CPU, is discarded.
   */
  @Test
  void perCpuBatchesDecideWhatPageoutDiscards() {
    assertEquals(List.of("P", "P", "", ""), exampleNine(p));
  }

  /** Negative control: without the batches every page freed is discarded, whatever the CPU. */
  @Test
  void withoutPerCpuBatchesPagesZeroAndOneAreDiscardedToo() {
    assertEquals(List.of("", "", "", ""),
        exampleNine(new Proc(Proc.DEFAULT_FEATURES, false, false)));
  }

  private static List<String> exampleNine(Proc q) {
    q.anon(BASE, 4, true);
    q.onCpu(0, () -> {
      for (int i = 0; i < 3; i++) {
        q.write(BASE + i * PAGE);
      }
    });
    q.onCpu(1, () -> q.madvise(BASE, 1, MADV_FREE));
    q.onCpu(0, () -> {
      q.madvise(BASE, 1, MADV_PAGEOUT);
      q.madvise(BASE + PAGE, 1, MADV_FREE);
    });
    q.onCpu(1, () -> q.madvise(BASE + PAGE, 1, MADV_PAGEOUT));
    q.onCpu(0, () -> {
      q.madvise(BASE + 2 * PAGE, 1, MADV_FREE);
      q.madvise(BASE + 2 * PAGE, 1, MADV_PAGEOUT);
    });
    q.machine.assertQuiet();
    return q.pagemap(BASE, 4);
  }

  @Test
  void aDontneedOfAWholePageTableFreesItSoAnUnregisteredRangeReadsAsAHole() {
    long n = BASE;
    p.anon(n, 600, false);
    p.write(n + PAGE);
    p.write(n + 599 * PAGE);
    assertEquals(0, p.madvise(n, 512, MADV_DONTNEED));
    assertNull(p.mm.pgd().pteOffset(n));
    assertEquals("[0,512) [512,599)WRITTEN [599,600)WRITTEN|PRESENT end=600", p.scan(n, 600));
    assertEquals(0, p.madvise(n + 512 * PAGE, 88, MADV_DONTNEED));
    assertEquals("[0,512) [512,600)WRITTEN end=600", p.scan(n, 600),
        "a zap of part of a table keeps it");
    p.machine.assertQuiet();
  }
}
