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
 * {@code collapse_huge_page} (mm/khugepaged.c, Kingxukai/linux): with the mmap write lock, a
 * {@code CLEAR} bracket over the PMD's range around {@code pmdp_collapse_flush}, which clears the
 * page table out of the PMD and flushes it at once. Here the PMD's PTEs are cleared under the ptl
 * and flushed before it is dropped.
 */
final class CollapseHugePage {
  private CollapseHugePage() {}

  @CheckedWalker
  static long collapseHugePage(Vma vma, long address) {
    MmStruct mm = vma.mm();
    long haddr = address & PMD_MASK;
    long collapsed = 0;
    mm.mmapWriteLock();
    try {
      MmuNotifierRange range =
          new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, haddr, haddr + PMD_SIZE);
      MmuNotifiers.invalidateRangeStart(range);
      try {
        PteTable pt = mm.pgd().pteOffset(haddr);
        if (pt != null) {
          pt.ptl().lock();
          try {
            // pmdp_collapse_flush: the table is cleared out of the PMD and flushed at once.
            for (long addr = haddr; addr < haddr + PMD_SIZE; addr += PAGE_SIZE) {
              if (!Pte.none(Pgtable.ptepGet(pt, addr))) {
                Pgtable.ptepGetAndClear(mm, addr, pt);
                collapsed++;
              }
            }
          } finally {
            TlbFlush.flushTlbRange(vma, haddr, haddr + PMD_SIZE);
            pt.ptl().unlock();
          }
        }
      } finally {
        MmuNotifiers.invalidateRangeEnd(range);
      }
    } finally {
      mm.mmapWriteUnlock();
    }
    return collapsed;
  }
}
