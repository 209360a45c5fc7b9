package dev.ptwalk.runtime.pgtable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ptwalk.runtime.Pte;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The population summary of each directory (one bit per entry that is not none) against the
 * entries themselves: after allocation, huge leaves, frees, and allocation by racing threads.
 */
class PgDirSummaryTest {
  private static final long BASE = 0x7f00_0000_0000L;

  /** Every directory of {@code pgd}: each summary bit must say exactly whether its entry is none. */
  private static int assertExact(Pgd pgd) {
    List<PgDir> todo = new ArrayList<>(List.of(pgd.root()));
    int directories = 0;
    while (!todo.isEmpty()) {
      PgDir dir = todo.remove(todo.size() - 1);
      directories++;
      int populated = 0;
      int from = 0;
      for (int i = 0; i < Pgtable.PTRS_PER_PTE; i++) {
        boolean none = dir.none(i);
        int next = dir.nextPopulated(from);
        if (!none) {
          populated++;
          if (next != i) {
            fail("entry " + i + " of the " + dir.levelName(PagingMode.FOUR_LEVEL) + " page at"
                + " shift " + dir.shift() + " is populated but the summary's next is " + next);
          }
          from = i + 1;
          if (dir.next(i) instanceof PgDir) {
            todo.add((PgDir) dir.next(i));
          }
        } else if (next == i) {
          fail("entry " + i + " at shift " + dir.shift() + " is none but its summary bit is set");
        }
      }
      assertEquals(Pgtable.PTRS_PER_PTE, dir.nextPopulated(from), "no bit past the last entry");
      assertEquals(populated, dir.populatedCount());
    }
    return directories;
  }

  @Test
  void nextPopulatedJumpsOverEmptyEntriesOfEveryWord() {
    Pgd pgd = new Pgd(PagingMode.FOUR_LEVEL);
    for (int i : new int[] {0, 63, 64, 200, 511}) {
      pgd.pteAlloc(BASE + ((long) i << Pgtable.PMD_SHIFT));
    }
    PgDir pmd = (PgDir) ((PgDir) pgd.root().next(pgd.root().index(BASE))).next(0);
    List<Integer> seen = new ArrayList<>();
    for (int i = pmd.nextPopulated(0); i < Pgtable.PTRS_PER_PTE; i = pmd.nextPopulated(i + 1)) {
      seen.add(i);
    }
    assertEquals(List.of(0, 63, 64, 200, 511), seen);
    assertEquals(511, pmd.nextPopulated(201));
    assertEquals(Pgtable.PTRS_PER_PTE, pmd.nextPopulated(512));
    assertEquals(5, pmd.populatedCount());
    assertExact(pgd);
  }

  @Test
  void negativeControlASummaryBitLostIsCaught() throws Exception {
    Pgd pgd = new Pgd(PagingMode.FOUR_LEVEL);
    pgd.pteAlloc(BASE);
    Field f = PgDir.class.getDeclaredField("populated");
    f.setAccessible(true);
    ((long[]) f.get(pgd.root()))[pgd.root().index(BASE) >>> 6] = 0;
    AssertionError e = assertThrows(AssertionError.class, () -> assertExact(pgd));
    assertTrue(e.getMessage().contains("entry 254 of the PGD page at shift 39 is populated"),
        e.getMessage());
  }

  @Test
  void hugeLeavesAndFreedEntriesKeepTheSummaryExact() {
    Pgd pgd = new Pgd(PagingMode.FOUR_LEVEL);
    pgd.pteAlloc(0x4000_0000L);
    pgd.setHugeLeaf(0x4020_0000L, Pgtable.PMD_SHIFT, Pte.pfnPte(0x800, Pte.PRESENT));
    pgd.setHugeLeaf(0x8000_0000L, Pgtable.PUD_SHIFT, Pte.pfnPte(0x40000, Pte.PRESENT));
    assertEquals(3, assertExact(pgd));
    PgDir pud = (PgDir) pgd.root().next(0);
    PgDir pmd = (PgDir) pud.next(1);
    assertEquals(2, pmd.populatedCount());
    assertEquals(2, pud.populatedCount());

    // Hardware setting A/D on a huge leaf leaves it populated.
    long leaf = pmd.leaf(1);
    pmd.compareAndSetLeaf(1, leaf, leaf | Pte.ACCESSED);
    assertEquals(2, pmd.populatedCount());

    // Freeing: the PTE table's entry and the PUD leaf become none, and their bits go.
    pmd.setNext(0, null);
    pud.setLeaf(2, 0);
    assertExact(pgd);
    assertEquals(1, pmd.nextPopulated(0));
    assertEquals(Pgtable.PTRS_PER_PTE, pud.nextPopulated(2));
    pmd.setLeaf(1, 0);
    assertEquals(0, pmd.populatedCount());
    assertNull(pgd.pteOffset(0x4000_0000L));
    assertExact(pgd);
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void racingAllocationsLeaveEverySummaryExact() throws Exception {
    for (int round = 0; round < 20; round++) {
      Pgd pgd = new Pgd(PagingMode.FOUR_LEVEL);
      int threads = 4;
      CountDownLatch go = new CountDownLatch(1);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      List<Thread> all = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        SplittableRandom rnd = new SplittableRandom(31L * round + t);
        Thread th = new Thread(() -> {
          try {
            go.await();
            for (int k = 0; k < 2000; k++) {
              // Neighbouring entries of a few directories, so racing threads share summary words.
              pgd.pteAlloc(BASE + ((long) rnd.nextInt(4) << Pgtable.PUD_SHIFT)
                  + ((long) rnd.nextInt(512) << Pgtable.PMD_SHIFT));
            }
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          }
        });
        th.start();
        all.add(th);
      }
      go.countDown();
      for (Thread th : all) {
        th.join();
      }
      assertNull(failure.get());
      assertExact(pgd);
      long tables = 0;
      PgDir pud = (PgDir) pgd.root().next(pgd.root().index(BASE));
      for (int i = pud.nextPopulated(0); i < 512; i = pud.nextPopulated(i + 1)) {
        tables += ((PgDir) pud.next(i)).populatedCount();
      }
      assertEquals(pgd.pteTableCount(), tables, "the summaries count every PTE table allocated");
    }
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aWalkerRacingAllocationsSeesEveryTableTheSummaryAnnounces() throws Exception {
    Pgd pgd = new Pgd(PagingMode.FOUR_LEVEL);
    PgDir pmd = (PgDir) ((PgDir) pgd.root().next(pgd.root().index(pgd.pteAlloc(BASE).start())))
        .next(0);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread allocator = new Thread(() -> {
      try {
        for (int i = 1; i < 512; i++) {
          pgd.pteAlloc(BASE + ((long) i << Pgtable.PMD_SHIFT));
        }
      } catch (Throwable e) {
        failure.compareAndSet(null, e);
      }
    });
    allocator.start();
    // A bit seen set always leads to the table: the entry is stored before its bit.
    while (allocator.isAlive()) {
      for (int i = pmd.nextPopulated(0); i < 512; i = pmd.nextPopulated(i + 1)) {
        if (!(pmd.next(i) instanceof PteTable)) {
          failure.compareAndSet(null, new AssertionError("bit " + i + " set, entry " + pmd.next(i)));
        }
      }
    }
    allocator.join();
    assertNull(failure.get());
    assertEquals(512, pmd.populatedCount());
  }
}
