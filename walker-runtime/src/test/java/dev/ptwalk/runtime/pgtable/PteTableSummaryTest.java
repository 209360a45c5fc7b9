package dev.ptwalk.runtime.pgtable;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The population summary of a PTE table against its PTEs, through every way a PTE changes:
 * set_pte_at, ptep_get_and_clear, a protection change, hardware A/D, and CPUs faulting pages in
 * while the table is read.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PteTableSummaryTest {
  private static final long BASE = 0x7f00_0000_0000L;
  private static final long PTE = Pte.pfnPte(0x1234, Pte.PRESENT | Pte.RW | Pte.DIRTY);

  /** The slots the summary announces, run by run, as a walker visits them. */
  private static List<Integer> visited(PteTable pt, int from, int limit) {
    List<Integer> out = new ArrayList<>();
    for (int s = pt.nextPopulated(from, limit); s < limit; s = pt.nextPopulated(s, limit)) {
      for (int run = pt.nextNone(s, limit); s < run; s++) {
        out.add(s);
      }
    }
    return out;
  }

  /** The slots whose PTE is not none, read from the PTEs themselves. */
  private static List<Integer> truth(PteTable pt) {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < Pgtable.PTRS_PER_PTE; i++) {
      if (pt.pte(i) != 0) {
        out.add(i);
      }
    }
    return out;
  }

  private static void assertExact(PteTable pt) {
    assertEquals(truth(pt), visited(pt, 0, Pgtable.PTRS_PER_PTE));
  }

  @Test
  void runsFollowThePopulatedSlotsAcrossWords() {
    Machine m = Machine.builder().build();
    MmStruct mm = m.newMm("A");
    PteTable pt = mm.pgd().pteAlloc(BASE);
    pt.ptl().lock();
    try {
      for (int i : new int[] {0, 1, 2, 62, 63, 64, 65, 300, 511}) {
        Pgtable.setPteAt(mm, pt.address(i), pt, PTE);
      }
    } finally {
      pt.ptl().unlock();
    }
    assertEquals(List.of(0, 1, 2, 62, 63, 64, 65, 300, 511), visited(pt, 0, 512));
    assertEquals(List.of(2, 62, 63), visited(pt, 2, 64), "a sub-range stops at its limit");
    assertEquals(3, pt.nextNone(0, 512));
    assertEquals(66, pt.nextNone(62, 512));
    assertEquals(512, pt.nextNone(511, 512));
    assertEquals(511, pt.nextPopulated(301, 512));
    assertEquals(400, pt.nextPopulated(301, 400), "none before the limit: the limit");
    assertEquals(0x7f00_0012_c000L, pt.address(300));
  }

  @Test
  void everyKindOfChangeKeepsTheSummaryExact() {
    Machine m = Machine.builder().build();
    MmStruct mm = m.newMm("A");
    Vma vma = mm.mmap(m.newAddressSpace("f"), BASE, 512, 0, VM_READ | VM_WRITE | VM_SHARED);
    PteTable pt = mm.pgd().pteAlloc(BASE);
    pt.ptl().lock();
    try {
      Pgtable.setPteAt(mm, BASE + 0x5000, pt, PTE);
      Pgtable.setPteAt(mm, BASE + 0x9000, pt, 9, PTE, false);
      assertEquals(List.of(5, 9), visited(pt, 0, 512));
      // A protection change leaves the slot populated throughout.
      long old = Pgtable.ptepModifyProtStart(vma, BASE + 0x9000, pt, 9, false);
      assertEquals(0, pt.pte(9));
      assertEquals(List.of(5, 9), visited(pt, 0, 512), "in flight: still announced");
      Pgtable.ptepModifyProtCommit(vma, BASE + 0x9000, pt, 9, old, Pte.mkclean(old), false);
      assertExact(pt);
      // Hardware setting A/D changes nothing; a PTE made none goes from the summary.
      assertTrue(pt.compareAndSet(BASE + 0x5000, PTE, PTE | Pte.ACCESSED));
      assertEquals(PTE | Pte.ACCESSED, Pgtable.ptepGetAndClear(mm, BASE + 0x5000, pt));
      assertExact(pt);
      Pgtable.setPteAt(mm, BASE + 0x9000, pt, 9, 0, false);
      assertEquals(List.of(), visited(pt, 0, 512));
      // A commit that makes the slot none, and a start and commit on a none slot.
      Pgtable.setPteAt(mm, BASE + 0x1000, pt, PTE);
      long taken = Pgtable.ptepModifyProtStart(vma, BASE + 0x1000, pt);
      Pgtable.ptepModifyProtCommit(vma, BASE + 0x1000, pt, taken, 0);
      assertExact(pt);
      long none = Pgtable.ptepModifyProtStart(vma, BASE + 0x2000, pt, 2, false);
      Pgtable.ptepModifyProtCommit(vma, BASE + 0x2000, pt, 2, none, PTE, false);
      assertEquals(List.of(2), visited(pt, 0, 512));
      assertExact(pt);
    } finally {
      pt.ptl().unlock();
    }
  }

  @Test
  void negativeControlASummaryBitLostHidesAPte() throws Exception {
    Machine m = Machine.builder().build();
    MmStruct mm = m.newMm("A");
    PteTable pt = mm.pgd().pteAlloc(BASE);
    pt.ptl().lock();
    try {
      Pgtable.setPteAt(mm, BASE + 0x3000, pt, PTE);
    } finally {
      pt.ptl().unlock();
    }
    Field f = PteTable.class.getDeclaredField("populated");
    f.setAccessible(true);
    ((long[]) f.get(pt))[0] = 0;
    AssertionError e = assertThrows(AssertionError.class, () -> assertExact(pt));
    assertTrue(e.getMessage().contains("expected: <[3]> but was: <[]>"), e.getMessage());
  }

  @Test
  void cpusFaultingPagesInKeepTheSummaryExact() throws Exception {
    Machine m = Machine.builder().cpus(3).build();
    MmStruct mm = m.newMm("A");
    mm.mmap(m.newAddressSpace("f"), BASE, 512, 0, VM_READ | VM_WRITE | VM_SHARED);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> cpus = new ArrayList<>();
    for (int c = 0; c < 3; c++) {
      int id = c;
      Thread t = new Thread(() -> {
        SplittableRandom rnd = new SplittableRandom(id);
        try {
          for (int k = 0; k < 3000; k++) {
            m.cpu(id).store(mm, BASE + rnd.nextInt(512) * 4096L, k);
          }
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      });
      t.start();
      cpus.add(t);
    }
    // Read under the ptl while the faults run: every slot announced holds a PTE.
    PteTable pt = null;
    while (cpus.stream().anyMatch(Thread::isAlive)) {
      pt = pt != null ? pt : mm.pgd().pteOffset(BASE);
      if (pt != null) {
        pt.ptl().lock();
        try {
          assertEquals(truth(pt), visited(pt, 0, 512));
        } finally {
          pt.ptl().unlock();
        }
      }
    }
    for (Thread t : cpus) {
      t.join();
    }
    assertNull(failure.get());
    assertExact(mm.pgd().pteOffset(BASE));
  }
}
