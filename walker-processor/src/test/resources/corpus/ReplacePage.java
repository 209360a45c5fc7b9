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
 * {@code __replace_page} (kernel/events/uprobes.c, Kingxukai/linux): installing a breakpoint
 * page, a {@code CLEAR} bracket over the page, and under the ptl {@code ptep_clear_flush} of the
 * old entry then {@code set_pte_at} of the new page's entry.
 */
final class ReplacePage {
  private ReplacePage() {}

  @CheckedWalker
  static boolean replacePage(Vma vma, long addr, long newPfn, long vmPageProt) {
    MmStruct mm = vma.mm();
    MmuNotifierRange range =
        new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, addr, addr + PAGE_SIZE);
    MmuNotifiers.invalidateRangeStart(range);
    try {
      PteTable pt = mm.pgd().pteOffset(addr);
      if (pt == null) {
        return false;
      }
      pt.ptl().lock();
      try {
        long old = Pgtable.ptepGet(pt, addr);
        if (!Pte.present(old)) {
          return false;
        }
        // ptep_clear_flush, then mk_pte(new_page, vma->vm_page_prot)
        Pgtable.ptepGetAndClear(mm, addr, pt);
        TlbFlush.flushTlbPage(vma, addr);
        Pgtable.setPteAt(mm, addr, pt, Pte.pfnPte(newPfn, vmPageProt));
        return true;
      } finally {
        pt.ptl().unlock();
      }
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
    }
  }
}
