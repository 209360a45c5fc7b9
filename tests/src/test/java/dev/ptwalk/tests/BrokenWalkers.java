package dev.ptwalk.tests;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;

/** Hand-written walkers with one step missing, to show the verifier catches them. */
public final class BrokenWalkers {
  private BrokenWalkers() {}

  /**
   * A walker with the generated signature that write-protects every PTE of the first VMA mapping
   * {@code firstIndex} and never flushes the TLB: for the scenario runner's exit status 1.
   */
  public static long wrprotectWithoutFlush(AddressSpace mapping, long firstIndex, long nr) {
    mapping.iMmapLockRead();
    try {
      for (Vma vma : mapping.vmaIntervalTreeForeach(firstIndex, firstIndex + nr - 1)) {
        cleanWithoutFlush(vma);
      }
    } finally {
      mapping.iMmapUnlockRead();
    }
    return 1;
  }

  /**
   * Negative control 3: the generated write-protect walker without its {@code
   * mm_tlb_flush_nested} branch. It flushes only {@code [min, max)} of the PTEs it changed even
   * when another walker is pending on the mm, which may have write-protected PTEs this one then
   * saw read-only and skipped: Peter Zijlstra's objection in review.
   */
  public static long wrprotectMinMaxOnly(AddressSpace mapping, long firstIndex, long nr) {
    long total = 0;
    mapping.iMmapLockRead();
    try {
      for (Vma vma : mapping.vmaIntervalTreeForeach(firstIndex, firstIndex + nr - 1)) {
        long start = vma.start();
        long end = vma.end();
        long lo = end;
        long hi = start;
        MmuNotifierRange range = new MmuNotifierRange(
            MmuNotifierEvent.PROTECTION_PAGE, 0, vma.mm(), start, end);
        MmuNotifiers.invalidateRangeStart(range);
        vma.mm().incTlbFlushPending();
        try {
          PteTable pt = vma.mm().pgd().pteOffset(start);
          if (pt != null) {
            pt.ptl().lock();
            try {
              for (long a = start; a < end; a += 4096) {
                if (!Pte.write(pt.get(a))) {
                  continue;
                }
                long old = Pgtable.ptepModifyProtStart(vma, a, pt);
                Pgtable.ptepModifyProtCommit(vma, a, pt, old, Pte.wrprotect(old));
                total++;
                lo = Math.min(lo, a);
                hi = Math.max(hi, a + 4096);
              }
            } finally {
              pt.ptl().unlock();
            }
          }
        } finally {
          if (hi > lo) { // the bug: no "if (mm.mmTlbFlushNested()) flush the whole range"
            dev.ptwalk.runtime.cpu.TlbFlush.flushTlbRange(vma, lo, hi);
          }
          MmuNotifiers.invalidateRangeEnd(range);
          vma.mm().decTlbFlushPending();
        }
      }
    } finally {
      mapping.iMmapUnlockRead();
    }
    return total;
  }

  /** The generated clean walker's steps for one VMA, minus the TLB flush. */
  static void cleanWithoutFlush(Vma vma) {
    MmuNotifierRange range = new MmuNotifierRange(
        MmuNotifierEvent.PROTECTION_PAGE, 0, vma.mm(), vma.start(), vma.end());
    MmuNotifiers.invalidateRangeStart(range);
    vma.mm().incTlbFlushPending();
    try {
      PteTable pt = vma.mm().pgd().pteOffset(vma.start());
      pt.ptl().lock();
      try {
        long old = Pgtable.ptepModifyProtStart(vma, vma.start(), pt);
        Pgtable.ptepModifyProtCommit(vma, vma.start(), pt, old, Pte.mkclean(old));
      } finally {
        pt.ptl().unlock();
      }
    } finally {
      try {
        MmuNotifiers.invalidateRangeEnd(range); // no flushTlbRange before this
      } finally {
        vma.mm().decTlbFlushPending();
      }
    }
  }
}
