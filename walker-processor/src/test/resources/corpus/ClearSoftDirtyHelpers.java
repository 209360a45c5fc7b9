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
 * {@code clear_refs_write}'s soft-dirty walk split as the kernel splits it (fs/proc/task_mmu.c,
 * Kingxukai/linux): {@code clear_refs_pte_range} calling {@code clear_soft_dirty} for each PTE,
 * a helper that relies on its caller's bracket and pending count ({@code @InBracket}).
 */
final class ClearSoftDirtyHelpers {
  private ClearSoftDirtyHelpers() {}

  /** {@code clear_soft_dirty}: one PTE, under its ptl, inside the caller's bracket. */
  @InBracket
  static void clearSoftDirty(Vma vma, long addr, PteTable pt) {
    long ptent = Pgtable.ptepGet(pt, addr);
    if (Pte.present(ptent)) {
      long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt);
      Pgtable.ptepModifyProtCommit(vma, addr, pt, oldPte,
          Pte.clearSoftDirty(Pte.wrprotect(oldPte)));
    } else if (!Pte.none(ptent)) {
      Pgtable.setPteAt(vma.mm(), addr, pt, Pte.clearSoftDirty(ptent));
    }
  }

  @CheckedWalker
  static void clearRefsSoftDirty(MmStruct mm) {
    mm.mmapWriteLock();
    try {
      mm.incTlbFlushPending();
      try {
        MmuNotifierRange range =
            new MmuNotifierRange(MmuNotifierEvent.SOFT_DIRTY, 0, mm, 0, -1L);
        MmuNotifiers.invalidateRangeStart(range);
        try {
          for (Vma vma : mm.vmas()) {
            PteTableCursor cursor = new PteTableCursor(vma, vma.start(), vma.end());
            for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
              pt.ptl().lock();
              try {
                for (long addr = Math.max(vma.start(), pt.start());
                    addr < Math.min(vma.end(), pt.end()); addr += PAGE_SIZE) {
                  clearSoftDirty(vma, addr, pt);
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
        try {
          TlbFlush.flushTlbMm(mm);
        } finally {
          mm.decTlbFlushPending();
        }
      }
    } finally {
      mm.mmapWriteUnlock();
    }
  }
}
