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
 * {@code clean_record_shared_mapping_range} (mm/mapping_dirty_helpers.c, Kingxukai/linux): the
 * same walk as {@code wp_shared_mapping_range} with {@code clean_record_pte} as its leaf, which
 * cleans dirty PTEs and records their pages in a bitmap.
 */
final class CleanRecordSharedMappingRange {
  private CleanRecordSharedMappingRange() {}

  @CheckedWalker
  static long cleanRecordSharedMappingRange(AddressSpace mapping, long firstIndex, long nr,
      long bitmapPgoff, long[] bitmap) {
    long total = 0;
    mapping.iMmapLockRead();
    try {
      for (Vma vma : mapping.vmaIntervalTreeForeach(firstIndex, firstIndex + nr - 1)) {
        long vba = vma.pgoff();
        long cba = Math.max(firstIndex, vba);
        long cea = Math.min(firstIndex + nr, vba + vma.pages());
        long start = ((cba - vba) << PAGE_SHIFT) + vma.start();
        long end = ((cea - vba) << PAGE_SHIFT) + vma.start();
        if (start >= end) {
          continue;
        }
        if ((vma.flags() & (VM_SHARED | VM_MAYWRITE | VM_HUGETLB)) != (VM_SHARED | VM_MAYWRITE)) {
          break;
        }
        MmStruct mm = vma.mm();
        long tlbflushStart = end;
        long tlbflushEnd = start;
        MmuNotifierRange range =
            new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, mm, start, end);
        MmuNotifiers.invalidateRangeStart(range);
        CacheFlush.flushCacheRange(vma, start, end);
        mm.incTlbFlushPending();
        try {
          PteTableCursor cursor = new PteTableCursor(vma, start, end);
          for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
            pt.ptl().lock();
            try {
              long to = Math.min(end, pt.end());
              for (long addr = Math.max(start, pt.start()); addr < to; addr += PAGE_SIZE) {
                // clean_record_pte
                long ptent = Pgtable.ptepGet(pt, addr);
                if (!Pte.dirty(ptent)) {
                  continue;
                }
                long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt);
                Pgtable.ptepModifyProtCommit(vma, addr, pt, oldPte, Pte.mkclean(oldPte));
                total++;
                tlbflushStart = Math.min(tlbflushStart, addr);
                tlbflushEnd = Math.max(tlbflushEnd, addr + PAGE_SIZE);
                long pgoff = ((addr - vma.start()) >> PAGE_SHIFT) + vma.pgoff() - bitmapPgoff;
                bitmap[(int) (pgoff >>> 6)] |= 1L << (pgoff & 63);
              }
            } finally {
              pt.ptl().unlock();
            }
          }
        } finally {
          if (mm.mmTlbFlushNested()) {
            TlbFlush.flushTlbRange(vma, range.start(), range.end());
          } else if (tlbflushEnd > tlbflushStart) {
            TlbFlush.flushTlbRange(vma, tlbflushStart, tlbflushEnd);
          }
          MmuNotifiers.invalidateRangeEnd(range);
          mm.decTlbFlushPending();
        }
      }
    } finally {
      mapping.iMmapUnlockRead();
    }
    return total;
  }
}
