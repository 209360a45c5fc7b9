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
 * {@code clear_refs_write} with {@code CLEAR_REFS_SOFT_DIRTY} (fs/proc/task_mmu.c,
 * Kingxukai/linux) and its leaf {@code clear_soft_dirty}: under the mmap write lock, every VMA
 * loses {@code VM_SOFTDIRTY}; then {@code inc_tlb_flush_pending}, one {@code SOFT_DIRTY} bracket
 * over the whole address space around the walk, its end, {@code flush_tlb_mm}, {@code
 * dec_tlb_flush_pending}.
 */
final class ClearRefsSoftDirty {
  private ClearRefsSoftDirty() {}

  @CheckedWalker
  static void clearRefsWrite(MmStruct mm) {
    mm.mmapWriteLock();
    try {
      for (Vma vma : mm.vmas()) {
        if ((vma.flags() & VM_SOFTDIRTY) == 0) {
          continue;
        }
        vma.vmFlagsClear(VM_SOFTDIRTY);
      }
      mm.incTlbFlushPending();
      try {
        MmuNotifierRange range =
            new MmuNotifierRange(MmuNotifierEvent.SOFT_DIRTY, 0, mm, 0, -1L);
        MmuNotifiers.invalidateRangeStart(range);
        try {
          for (Vma vma : mm.vmas()) {
            // clear_refs_test_walk: raw pfn mappings are skipped.
            if ((vma.flags() & VM_PFNMAP) != 0) {
              continue;
            }
            PteTableCursor cursor = new PteTableCursor(vma, vma.start(), vma.end());
            for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
              pt.ptl().lock();
              try {
                for (long addr = Math.max(vma.start(), pt.start());
                    addr < Math.min(vma.end(), pt.end()); addr += PAGE_SIZE) {
                  long ptent = Pgtable.ptepGet(pt, addr);
                  if (Pte.present(ptent)) {
                    // clear_soft_dirty, present PTE
                    long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt);
                    long newPte = Pte.clearSoftDirty(Pte.wrprotect(oldPte));
                    Pgtable.ptepModifyProtCommit(vma, addr, pt, oldPte, newPte);
                  } else if (!Pte.none(ptent)) {
                    // clear_soft_dirty, swap PTE: pte_swp_clear_soft_dirty + set_pte_at
                    Pgtable.setPteAt(mm, addr, pt, Pte.clearSoftDirty(ptent));
                  }
                }
              } finally {
                pt.ptl().unlock();
              }
            }
          }
        } finally {
          MmuNotifiers.invalidateRangeEnd(range);
        }
      } finally {
        // flush_tlb_mm after the bracket's end, before the pending count drops (912efa17e512).
        TlbFlush.flushTlbMm(mm);
        mm.decTlbFlushPending();
      }
    } finally {
      mm.mmapWriteUnlock();
    }
  }
}
