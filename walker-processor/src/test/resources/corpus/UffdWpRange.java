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
 * {@code uffd_wp_range} (mm/userfaultfd.c, Kingxukai/linux), as {@code UFFDIO_WRITEPROTECT}
 * reaches it: {@code change_protection} with {@code MM_CP_UFFD_WP} under an {@code mmu_gather}
 * ({@code tlb_gather_mmu} raises the pending count, {@code tlb_flush_pte_range} gathers what
 * changed, {@code tlb_finish_mmu} flushes it, the whole range when nested, and drops the count).
 */
final class UffdWpRange {
  private UffdWpRange() {}

  @CheckedWalker
  static long uffdWpRange(Vma vma, long start, long len) {
    MmStruct mm = vma.mm();
    long end = start + len;
    long gatheredStart = end;
    long gatheredEnd = start;
    long pages = 0;
    // tlb_gather_mmu
    mm.incTlbFlushPending();
    try {
      MmuNotifierRange range =
          new MmuNotifierRange(MmuNotifierEvent.PROTECTION_VMA, 0, mm, start, end);
      MmuNotifiers.invalidateRangeStart(range);
      try {
        PteTableCursor cursor = new PteTableCursor(vma, start, end);
        for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
          pt.ptl().lock();
          try {
            for (long addr = Math.max(start, pt.start()); addr < Math.min(end, pt.end());
                addr += PAGE_SIZE) {
              long oldpte = Pgtable.ptepGet(pt, addr);
              if (!Pte.present(oldpte) || Pte.uffdWp(oldpte)) {
                continue;
              }
              long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt);
              Pgtable.ptepModifyProtCommit(vma, addr, pt, oldPte,
                  Pte.wrprotect(Pte.mkuffdWp(oldPte)));
              pages++;
              // tlb_flush_pte_range
              gatheredStart = Math.min(gatheredStart, addr);
              gatheredEnd = Math.max(gatheredEnd, addr + PAGE_SIZE);
            }
          } finally {
            pt.ptl().unlock();
          }
        }
      } finally {
        MmuNotifiers.invalidateRangeEnd(range);
      }
    } finally {
      // tlb_finish_mmu
      if (mm.mmTlbFlushNested()) {
        TlbFlush.flushTlbMm(mm);
      } else if (gatheredEnd > gatheredStart) {
        TlbFlush.flushTlbRange(vma, gatheredStart, gatheredEnd);
      }
      mm.decTlbFlushPending();
    }
    return pages;
  }
}
