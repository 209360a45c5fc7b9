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
 * {@code page_vma_mkclean_one} (mm/rmap.c, Kingxukai/linux), as {@code folio_mkclean} calls it
 * for each VMA mapping a file folio: a {@code PROTECTION_PAGE} bracket over the page, and under
 * the ptl {@code ptep_clear_flush} (clear and flush at once) then {@code set_pte_at} of the
 * write-protected, clean entry.
 */
final class PageVmaMkcleanOne {
  private PageVmaMkcleanOne() {}

  @CheckedWalker
  static int folioMkclean(AddressSpace mapping, long pgoff) {
    int cleaned = 0;
    mapping.iMmapLockRead();
    try {
      for (Vma vma : mapping.vmaIntervalTreeForeach(pgoff, pgoff)) {
        if ((vma.flags() & VM_SHARED) == 0) {
          continue;
        }
        MmStruct mm = vma.mm();
        long address = vma.addressOf(pgoff);
        MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, mm,
            address, address + PAGE_SIZE);
        MmuNotifiers.invalidateRangeStart(range);
        try {
          PteTable pt = mm.pgd().pteOffset(address);
          if (pt == null) {
            continue;
          }
          pt.ptl().lock();
          try {
            long entry = Pgtable.ptepGet(pt, address);
            if (!Pte.present(entry) || !Pte.dirty(entry) && !Pte.write(entry)) {
              continue;
            }
            // ptep_clear_flush
            entry = Pgtable.ptepGetAndClear(mm, address, pt);
            TlbFlush.flushTlbPage(vma, address);
            Pgtable.setPteAt(mm, address, pt, Pte.mkclean(Pte.wrprotect(entry)));
            cleaned++;
          } finally {
            pt.ptl().unlock();
          }
        } finally {
          MmuNotifiers.invalidateRangeEnd(range);
        }
      }
    } finally {
      mapping.iMmapUnlockRead();
    }
    return cleaned;
  }
}
