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
 * {@code retract_page_tables} (mm/khugepaged.c, Kingxukai/linux), for a shmem or file THP: for
 * every VMA mapping the file at the PMD, under i_mmap, a {@code CLEAR} bracket around the
 * retraction of its page table (f268f6cf875f "mm/khugepaged: invoke MMU notifiers in shmem/file
 * collapse paths"), flushed under the ptl.
 */
final class RetractPageTables {
  private RetractPageTables() {}

  @CheckedWalker
  static long retractPageTables(AddressSpace mapping, long pgoff) {
    long retracted = 0;
    mapping.iMmapLockRead();
    try {
      for (Vma vma : mapping.vmaIntervalTreeForeach(pgoff, pgoff)) {
        long addr = vma.addressOf(pgoff) & PMD_MASK;
        if (addr < vma.start() || addr + PMD_SIZE > vma.end()) {
          continue;
        }
        MmStruct mm = vma.mm();
        MmuNotifierRange range =
            new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, addr, addr + PMD_SIZE);
        MmuNotifiers.invalidateRangeStart(range);
        try {
          PteTable pt = mm.pgd().pteOffset(addr);
          if (pt == null) {
            continue;
          }
          pt.ptl().lock();
          try {
            // pmdp_collapse_flush: the table is cleared out of the PMD and flushed at once.
            for (long a = addr; a < addr + PMD_SIZE; a += PAGE_SIZE) {
              Pgtable.ptepGetAndClear(mm, a, pt);
            }
            retracted++;
          } finally {
            TlbFlush.flushTlbRange(vma, addr, addr + PMD_SIZE);
            pt.ptl().unlock();
          }
        } finally {
          MmuNotifiers.invalidateRangeEnd(range);
        }
      }
    } finally {
      mapping.iMmapUnlockRead();
    }
    return retracted;
  }
}
