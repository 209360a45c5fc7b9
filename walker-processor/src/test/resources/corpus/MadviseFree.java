package corpus;

import static dev.ptwalk.runtime.mm.VmFlags.VM_HUGETLB;
import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_MAYWRITE;
import static dev.ptwalk.runtime.mm.VmFlags.VM_PFNMAP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SOFTDIRTY;
import static dev.ptwalk.runtime.mm.VmFlags.VM_UFFD_WP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SHIFT;
import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SIZE;
import static dev.ptwalk.runtime.pgtable.Pgtable.PMD_MASK;
import static dev.ptwalk.runtime.pgtable.Pgtable.PMD_SIZE;

import dev.ptwalk.annotations.CheckedWalker;
import dev.ptwalk.annotations.InBracket;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.CacheFlush;
import dev.ptwalk.runtime.cpu.TlbFlush;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.runtime.walk.PteTableCursor;

/**
 * {@code madvise_free_single_vma} with {@code madvise_free_pte_range} (mm/madvise.c,
 * Kingxukai/linux) under the caller's {@code mmu_gather}, written out: {@code tlb_gather_mmu}
 * raises the pending count (99baac21e458), a {@code CLEAR} bracket over the VMA's range, the walk
 * clearing young and dirty and gathering what it changed ({@code tlb_remove_tlb_entry}), {@code
 * tlb_end_vma} flushing the gathered range inside the bracket, then {@code tlb_finish_mmu}
 * flushing the whole mm when nested and dropping the count.
 */
final class MadviseFree {
  private MadviseFree() {}

  @CheckedWalker
  static long madviseFree(MmStruct mm, long start, long end) {
    long freed = 0;
    mm.mmapReadLock();
    try {
      mm.incTlbFlushPending();
      try {
        for (Vma vma : mm.vmas()) {
          long rangeStart = Math.max(start, vma.start());
          long rangeEnd = Math.min(end, vma.end());
          if (rangeStart >= rangeEnd || (vma.flags() & VM_SHARED) != 0) {
            continue;
          }
          long gatheredStart = rangeEnd;
          long gatheredEnd = rangeStart;
          MmuNotifierRange range =
              new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, rangeStart, rangeEnd);
          MmuNotifiers.invalidateRangeStart(range);
          try {
            PteTableCursor cursor = new PteTableCursor(vma, rangeStart, rangeEnd);
            for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
              pt.ptl().lock();
              try {
                for (long addr = Math.max(rangeStart, pt.start());
                    addr < Math.min(rangeEnd, pt.end()); addr += PAGE_SIZE) {
                  long ptent = Pgtable.ptepGet(pt, addr);
                  if (!Pte.present(ptent) || !(Pte.young(ptent) || Pte.dirty(ptent))) {
                    continue;
                  }
                  long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt);
                  Pgtable.ptepModifyProtCommit(vma, addr, pt, oldPte,
                      Pte.mkold(Pte.mkclean(oldPte)));
                  freed++;
                  // tlb_remove_tlb_entry
                  gatheredStart = Math.min(gatheredStart, addr);
                  gatheredEnd = Math.max(gatheredEnd, addr + PAGE_SIZE);
                }
              } finally {
                pt.ptl().unlock();
              }
            }
          } finally {
            // tlb_end_vma: on x86 the gathered range is flushed here, inside the bracket.
            if (gatheredEnd > gatheredStart) {
              TlbFlush.flushTlbRange(vma, gatheredStart, gatheredEnd);
            }
            MmuNotifiers.invalidateRangeEnd(range);
          }
        }
      } finally {
        // tlb_finish_mmu
        if (mm.mmTlbFlushNested()) {
          TlbFlush.flushTlbMm(mm);
        }
        mm.decTlbFlushPending();
      }
    } finally {
      mm.mmapReadUnlock();
    }
    return freed;
  }
}
