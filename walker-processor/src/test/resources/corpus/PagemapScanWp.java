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
 * {@code do_pagemap_scan} with {@code PM_SCAN_WP_MATCHING} (fs/proc/task_mmu.c,
 * Kingxukai/linux): per chunk of the range, under the mmap read lock, one {@code PROTECTION_VMA}
 * bracket over the rest of the range (CVE-2024-26617 moved it inside the lock); {@code
 * pagemap_scan_pmd_entry} write-protects with {@code make_uffd_wp_pte} and flushes from the
 * first PTE it changed, under the ptl.
 */
final class PagemapScanWp {
  private PagemapScanWp() {}

  @CheckedWalker
  static long doPagemapScan(MmStruct mm, long start, long end, long chunk) {
    long found = 0;
    for (long walkStart = start; walkStart < end; walkStart += chunk) {
      long walkEnd = Math.min(end, walkStart + chunk);
      mm.mmapReadLock();
      try {
        MmuNotifierRange range =
            new MmuNotifierRange(MmuNotifierEvent.PROTECTION_VMA, 0, mm, walkStart, end);
        MmuNotifiers.invalidateRangeStart(range);
        try {
          for (Vma vma : mm.vmas()) {
            long vmaStart = Math.max(walkStart, vma.start());
            long vmaEnd = Math.min(walkEnd, vma.end());
            // pagemap_scan_test_walk
            if (vmaStart >= vmaEnd || (vma.flags() & (VM_UFFD_WP | VM_PFNMAP)) != VM_UFFD_WP) {
              continue;
            }
            PteTableCursor cursor = new PteTableCursor(vma, vmaStart, vmaEnd);
            for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
              long next = Math.min(vmaEnd, pt.end());
              long flushStart = next;
              pt.ptl().lock();
              try {
                for (long addr = Math.max(vmaStart, pt.start()); addr < next; addr += PAGE_SIZE) {
                  long ptent = Pgtable.ptepGet(pt, addr);
                  if (!Pte.present(ptent) || Pte.uffdWp(ptent)) {
                    continue;
                  }
                  // make_uffd_wp_pte: the value taken by ptep_modify_prot_start is the one
                  // changed (CVE-2024-36943).
                  long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt);
                  long newPte = Pte.mkuffdWp(oldPte);
                  Pgtable.ptepModifyProtCommit(vma, addr, pt, oldPte, newPte);
                  found++;
                  flushStart = Math.min(flushStart, addr);
                }
              } finally {
                // Still under the ptl: no CPU may use an old writable entry once it is dropped.
                if (next > flushStart) {
                  TlbFlush.flushTlbRange(vma, flushStart, next);
                }
                pt.ptl().unlock();
              }
            }
          }
        } finally {
          MmuNotifiers.invalidateRangeEnd(range);
        }
      } finally {
        mm.mmapReadUnlock();
      }
    }
    return found;
  }
}
