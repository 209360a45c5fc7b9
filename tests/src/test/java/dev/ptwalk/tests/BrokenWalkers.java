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
