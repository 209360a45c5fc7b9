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
 * {@code write_protect_page} (mm/ksm.c, Kingxukai/linux): before KSM merges a page, a {@code
 * CLEAR} bracket over it, and under the ptl {@code ptep_clear_flush} then {@code set_pte_at} of
 * the write-protected, clean entry, so that no write can land after the page was compared.
 */
final class WriteProtectPage {
  private WriteProtectPage() {}

  @CheckedWalker
  static boolean writeProtectPage(Vma vma, long address) {
    MmStruct mm = vma.mm();
    MmuNotifierRange range =
        new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, address, address + PAGE_SIZE);
    MmuNotifiers.invalidateRangeStart(range);
    try {
      PteTable pt = mm.pgd().pteOffset(address);
      if (pt == null) {
        return false;
      }
      pt.ptl().lock();
      try {
        long entry = Pgtable.ptepGet(pt, address);
        if (!Pte.present(entry)) {
          return false;
        }
        if (Pte.write(entry) || Pte.dirty(entry)) {
          // ptep_clear_flush: no write may land between the clear and the compare.
          entry = Pgtable.ptepGetAndClear(mm, address, pt);
          TlbFlush.flushTlbPage(vma, address);
          Pgtable.setPteAt(mm, address, pt, Pte.mkclean(Pte.wrprotect(entry)));
        }
        return true;
      } finally {
        pt.ptl().unlock();
      }
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
    }
  }
}
