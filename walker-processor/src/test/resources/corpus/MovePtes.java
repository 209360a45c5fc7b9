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
 * {@code move_page_tables} with {@code move_ptes} (mm/mremap.c, Kingxukai/linux): an {@code UNMAP}
 * bracket over the old range; each PTE moved with {@code ptep_get_and_clear} at the old address
 * and {@code set_pte_at} at the new one, and the old range flushed before the ptl is dropped
 * (CVE-2018-18281, "mremap: properly flush TLB before releasing the page"). Old and new address
 * share one PTE table here, so one ptl covers both.
 */
final class MovePtes {
  private MovePtes() {}

  @CheckedWalker
  static long movePageTables(Vma vma, long oldAddr, long newAddr, long len) {
    MmStruct mm = vma.mm();
    long oldEnd = oldAddr + len;
    long moved = 0;
    MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.UNMAP, 0, mm, oldAddr, oldEnd);
    MmuNotifiers.invalidateRangeStart(range);
    try {
      PteTable pt = mm.pgd().pteOffset(oldAddr);
      if (pt == null) {
        return 0;
      }
      long flushStart = oldEnd;
      pt.ptl().lock();
      try {
        for (long addr = oldAddr; addr < oldEnd; addr += PAGE_SIZE) {
          long pte = Pgtable.ptepGet(pt, addr);
          if (Pte.none(pte)) {
            continue;
          }
          pte = Pgtable.ptepGetAndClear(mm, addr, pt);
          Pgtable.setPteAt(mm, newAddr + (addr - oldAddr), pt, pte);
          moved++;
          flushStart = Math.min(flushStart, addr);
        }
      } finally {
        // The moved PTEs are flushed before the ptl is dropped (CVE-2018-18281).
        if (oldEnd > flushStart) {
          TlbFlush.flushTlbRange(vma, flushStart, oldEnd);
        }
        pt.ptl().unlock();
      }
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
    }
    return moved;
  }
}
