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
 * {@code apply_as_range} of the 2019 patch "mm: Add write-protect and clean utilities for address
 * space ranges" (Thomas Hellstrom, v4, mm/as_dirty_helpers.c): everything in one loop, the
 * bracket, the cache flush and the pending count around {@code apply_to_pfn_range}, then the
 * flush of what changed.
 */
final class ApplyAsRange {
  private ApplyAsRange() {}

  @CheckedWalker
  static long applyAsWrprotect(AddressSpace mapping, long firstIndex, long nr) {
    long total = 0;
    mapping.iMmapLockRead();
    try {
      for (Vma vma : mapping.vmaIntervalTreeForeach(firstIndex, firstIndex + nr - 1)) {
        long vmFlags = vma.flags();
        if ((vmFlags & (VM_SHARED | VM_WRITE)) != (VM_SHARED | VM_WRITE)) {
          continue;
        }
        if ((vmFlags & (VM_HUGETLB | VM_IO)) != VM_IO) {
          continue;
        }
        long startAddr = vma.addressOf(Math.max(firstIndex, vma.pgoff()));
        long endAddr = vma.addressOf(Math.min(firstIndex + nr, vma.pgoff() + vma.pages()));
        if (startAddr >= endAddr) {
          continue;
        }
        long flushStart = endAddr;
        long flushEnd = startAddr;
        MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0,
            vma.mm(), startAddr, endAddr);
        MmuNotifiers.invalidateRangeStart(range);
        CacheFlush.flushCacheRange(vma, startAddr, endAddr);
        vma.mm().incTlbFlushPending();
        try {
          // apply_to_pfn_range with apply_pt_wrprotect
          PteTableCursor cursor = new PteTableCursor(vma, startAddr, endAddr);
          for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
            pt.ptl().lock();
            try {
              long to = Math.min(endAddr, pt.end());
              for (long addr = Math.max(startAddr, pt.start()); addr < to; addr += PAGE_SIZE) {
                if (Pte.write(Pgtable.ptepGet(pt, addr))) {
                  long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
                  Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.wrprotect(old));
                  total++;
                  flushStart = Math.min(flushStart, addr);
                  flushEnd = Math.max(flushEnd, addr + PAGE_SIZE);
                }
              }
            } finally {
              pt.ptl().unlock();
            }
          }
        } finally {
          // The patch flushed what changed, ended the bracket, then dropped the pending count;
          // its review added the mm_tlb_flush_nested branch before merge.
          if (vma.mm().mmTlbFlushNested()) {
            TlbFlush.flushTlbRange(vma, startAddr, endAddr);
          } else if (flushEnd > flushStart) {
            TlbFlush.flushTlbRange(vma, flushStart, flushEnd);
          }
          MmuNotifiers.invalidateRangeEnd(range);
          vma.mm().decTlbFlushPending();
        }
      }
    } finally {
      mapping.iMmapUnlockRead();
    }
    return total;
  }
}
