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
 * {@code wp_shared_mapping_range} (mm/mapping_dirty_helpers.c, Kingxukai/linux): {@code
 * walk_page_mapping} over the file range with {@code wp_clean_pre_vma}, {@code wp_pte} and {@code
 * wp_clean_post_vma} as its steps, {@code wp_clean_test_walk} as its filter.
 */
final class WpSharedMappingRange {
  private WpSharedMappingRange() {}

  @CheckedWalker
  static long wpSharedMappingRange(AddressSpace mapping, long firstIndex, long nr) {
    long total = 0;
    mapping.iMmapLockRead();
    try {
      for (Vma vma : mapping.vmaIntervalTreeForeach(firstIndex, firstIndex + nr - 1)) {
        // walk_page_mapping: clip the file range to the VMA.
        long vba = vma.pgoff();
        long vea = vba + vma.pages();
        long cba = Math.max(firstIndex, vba);
        long cea = Math.min(firstIndex + nr, vea);
        long start = ((cba - vba) << PAGE_SHIFT) + vma.start();
        long end = ((cea - vba) << PAGE_SHIFT) + vma.start();
        if (start >= end) {
          continue;
        }
        // wp_clean_test_walk: no COW, read-only or hugetlb VMAs (a positive result ends the walk).
        if ((vma.flags() & (VM_SHARED | VM_MAYWRITE | VM_HUGETLB)) != (VM_SHARED | VM_MAYWRITE)) {
          break;
        }
        MmStruct mm = vma.mm();
        // wp_clean_pre_vma
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
                // wp_pte
                long ptent = Pgtable.ptepGet(pt, addr);
                if (Pte.write(ptent)) {
                  long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt);
                  ptent = Pte.wrprotect(oldPte);
                  Pgtable.ptepModifyProtCommit(vma, addr, pt, oldPte, ptent);
                  total++;
                  tlbflushStart = Math.min(tlbflushStart, addr);
                  tlbflushEnd = Math.max(tlbflushEnd, addr + PAGE_SIZE);
                }
              }
            } finally {
              pt.ptl().unlock();
            }
          }
        } finally {
          // wp_clean_post_vma: __walk_page_range calls it even when the walk failed.
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
