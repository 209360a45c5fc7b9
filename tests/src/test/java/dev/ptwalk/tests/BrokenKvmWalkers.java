package dev.ptwalk.tests;

import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.Folio;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.MmuGather;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.runtime.walk.PteTableCursor;

/**
 * A {@code LAZYFREE} walker written by hand without its {@code CLEAR} notifier bracket (the
 * generated {@code LazyFreeWalkers.madviseFree} with the bracket taken out), the negative control
 * of issue 13: the secondary MMU never hears of the clean and keeps its writable spte.
 */
final class BrokenKvmWalkers {
  private BrokenKvmWalkers() {}

  /** {@code madvise_free_single_vma} without {@code mmu_notifier_invalidate_range_start/end}. */
  static long madviseFreeWithoutNotifier(MmStruct mm, long start, long end) {
    long total = 0;
    mm.mmapReadLock();
    try {
      MmuGather tlb = MmuGather.tlbGatherMmu(mm);
      try {
        for (Vma vma : mm.forEachVmaRange(start, end)) {
          if (!vma.isAnonymous() || (vma.flags() & VM_SHARED) != 0) {
            continue;
          }
          long s = Math.max(start, vma.start());
          long e = Math.min(end, vma.end());
          tlb.tlbStartVma(vma);
          PteTableCursor cursor = new PteTableCursor(vma, s, e);
          for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
            pt.ptl().lock();
            try {
              for (long addr = Math.max(s, pt.start()); addr < Math.min(e, pt.end());
                  addr += Pgtable.PAGE_SIZE) {
                long ptent = Pgtable.ptepGet(pt, addr);
                if (!Pte.present(ptent)) {
                  continue;
                }
                Folio folio = mm.machine().physMem().folio(Pte.pfn(ptent));
                if (folio == null || folio.maybeMappedShared()) {
                  continue;
                }
                folio.clearDirty();
                if (Pte.dirty(ptent) || Pte.young(ptent)) {
                  long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
                  Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.mkold(Pte.mkclean(old)));
                  tlb.tlbRemoveTlbEntry(addr);
                  total++;
                }
                folio.markLazyfree();
              }
            } finally {
              pt.ptl().unlock();
            }
          }
          tlb.tlbEndVma(vma);
        }
      } finally {
        tlb.tlbFinishMmu();
      }
    } finally {
      mm.mmapReadUnlock();
    }
    return total;
  }
}
