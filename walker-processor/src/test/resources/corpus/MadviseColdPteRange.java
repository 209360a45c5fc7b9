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
 * {@code madvise_cold_or_pageout_pte_range} for {@code MADV_COLD} (mm/madvise.c,
 * Kingxukai/linux): the accessed bit of each young PTE cleared ({@code clear_young_dirty_ptes}
 * with {@code CYDP_CLEAR_YOUNG}) and gathered for a flush the caller's {@code mmu_gather} may
 * skip; no notifier bracket, since only the accessed bit changes.
 */
final class MadviseColdPteRange {
  private MadviseColdPteRange() {}

  @CheckedWalker
  static long madviseCold(Vma vma, long start, long end) {
    long deactivated = 0;
    PteTableCursor cursor = new PteTableCursor(vma, start, end);
    for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
      pt.ptl().lock();
      try {
        for (long addr = Math.max(start, pt.start()); addr < Math.min(end, pt.end());
            addr += PAGE_SIZE) {
          long ptent = Pgtable.ptepGet(pt, addr);
          if (Pte.present(ptent) && Pte.young(ptent)) {
            Pgtable.ptepTestAndClearYoung(vma, addr, pt);
            deactivated++;
          }
        }
      } finally {
        pt.ptl().unlock();
      }
    }
    return deactivated;
  }
}
