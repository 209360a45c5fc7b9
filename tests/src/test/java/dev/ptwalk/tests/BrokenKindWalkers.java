package dev.ptwalk.tests;

import static dev.ptwalk.runtime.mm.VmFlags.VM_PFNMAP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.TlbFlush;
import dev.ptwalk.runtime.mm.Folio;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.runtime.walk.PteTableCursor;

/**
 * The kernel shapes of the new kinds written by hand, each with the one step a historical bug
 * lacked, to show what catches it (issue 11 §5). None is a {@code @CheckedWalker}: the body check
 * would reject them at compile time, which is the point of ptwalk, but here they must run.
 */
final class BrokenKindWalkers {
  private BrokenKindWalkers() {}

  /**
   * MADV_FREE before 99baac21e458: the mmu_gather flushes only the range it gathered, even when
   * another MADV_FREE is pending on the mm. A call that finds the PTEs already clean gathers
   * nothing, flushes nothing and returns while a CPU may still write through a stale writable,
   * dirty TLB entry: the write sets no dirty bit, and reclaim discards it.
   */
  static long madviseFreeWithoutNestedFlush(MmStruct mm, long start, long end) {
    long total = 0;
    mm.mmapReadLock();
    try {
      mm.incTlbFlushPending(); // tlb_gather_mmu
      long gatheredStart = end;
      long gatheredEnd = start;
      try {
        for (Vma vma : mm.forEachVmaRange(start, end)) {
          if (!vma.isAnonymous() || (vma.flags() & VM_SHARED) != 0) {
            continue;
          }
          long s = Math.max(start, vma.start());
          long e = Math.min(end, vma.end());
          MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, s, e);
          MmuNotifiers.invalidateRangeStart(range);
          try {
            PteTableCursor cursor = new PteTableCursor(vma, s, e);
            for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
              pt.ptl().lock();
              try {
                for (long addr = Math.max(s, pt.start()); addr < Math.min(e, pt.end());
                    addr += Pgtable.PAGE_SIZE) {
                  long ptent = Pgtable.ptepGet(pt, addr);
                  if (!Pte.present(ptent)) {
                    continue;
                  }
                  Folio folio = mm.machine().physMem().folio(Pte.pfn(ptent));
                  if (folio == null) {
                    continue;
                  }
                  folio.clearDirty();
                  if (Pte.dirty(ptent) || Pte.young(ptent)) {
                    long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
                    Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.mkold(Pte.mkclean(old)));
                    gatheredStart = Math.min(gatheredStart, addr);
                    gatheredEnd = Math.max(gatheredEnd, addr + Pgtable.PAGE_SIZE);
                    total++;
                  }
                  folio.markLazyfree();
                }
              } finally {
                pt.ptl().unlock();
              }
            }
          } finally {
            MmuNotifiers.invalidateRangeEnd(range);
          }
        }
      } finally {
        try {
          // The bug: no mm_tlb_flush_nested() branch, so nothing gathered means no flush.
          if (gatheredEnd > gatheredStart) {
            TlbFlush.flushTlbRange(mm.vmaLookup(gatheredStart), gatheredStart, gatheredEnd);
          }
        } finally {
          mm.decTlbFlushPending(); // tlb_finish_mmu
        }
      }
    } finally {
      mm.mmapReadUnlock();
    }
    return total;
  }

  /**
   * clear_refs' soft-dirty clear before 912efa17e512 (when {@code tlb_finish_mmu} had started to
   * elide the flush): PTEs write-protected and cleaned, and no TLB flush at all. A CPU keeps
   * storing through its writable entry, faulting never, so the store is never recorded.
   */
  static long clearSoftDirtyWithoutFlush(MmStruct mm, long start, long end) {
    return clearSoftDirty(mm, start, end, true, false);
  }

  /**
   * clear_refs' soft-dirty clear before "soft-dirty: call mmu notifiers when write-protecting
   * ptes" (2013): no notifier bracket, so a secondary MMU keeps a writable mapping of a page
   * whose PTE was write-protected.
   */
  static long clearSoftDirtyWithoutNotifier(MmStruct mm, long start, long end) {
    return clearSoftDirty(mm, start, end, false, true);
  }

  private static long clearSoftDirty(MmStruct mm, long start, long end, boolean notify,
      boolean flush) {
    long total = 0;
    mm.mmapWriteLock();
    try {
      mm.incTlbFlushPending();
      MmuNotifierRange range =
          new MmuNotifierRange(MmuNotifierEvent.SOFT_DIRTY, 0, mm, start, end);
      if (notify) {
        MmuNotifiers.invalidateRangeStart(range);
      }
      try {
        for (Vma vma : mm.forEachVmaRange(start, end)) {
          if ((vma.flags() & VM_PFNMAP) != 0) {
            continue;
          }
          long s = Math.max(start, vma.start());
          long e = Math.min(end, vma.end());
          PteTableCursor cursor = new PteTableCursor(vma, s, e);
          for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
            pt.ptl().lock();
            try {
              for (long addr = Math.max(s, pt.start()); addr < Math.min(e, pt.end());
                  addr += Pgtable.PAGE_SIZE) {
                long ptent = Pgtable.ptepGet(pt, addr);
                if (!Pte.present(ptent) || (!Pte.write(ptent) && !Pte.softDirty(ptent))) {
                  continue;
                }
                long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
                Pgtable.ptepModifyProtCommit(vma, addr, pt, old,
                    Pte.clearSoftDirty(Pte.wrprotect(old)));
                total++;
              }
            } finally {
              pt.ptl().unlock();
            }
          }
        }
      } finally {
        if (notify) {
          MmuNotifiers.invalidateRangeEnd(range);
        }
        try {
          if (flush) {
            TlbFlush.flushTlbMm(mm);
          }
        } finally {
          mm.decTlbFlushPending();
        }
      }
    } finally {
      mm.mmapWriteUnlock();
    }
    return total;
  }

  /**
   * PAGEMAP_SCAN's {@code make_uffd_wp_pte} before CVE-2024-36943's fix: it computes the new PTE
   * from a plain read and only then takes the PTE with {@code ptep_modify_prot_start}, so an
   * accessed or dirty bit hardware sets in between ({@code between} lets a test make a CPU store
   * there) is overwritten by the commit.
   */
  static long uffdWpReadBeforeStart(MmStruct mm, long start, long end, Runnable between) {
    long total = 0;
    mm.mmapReadLock();
    try {
      MmuNotifierRange range =
          new MmuNotifierRange(MmuNotifierEvent.PROTECTION_VMA, 0, mm, start, end);
      MmuNotifiers.invalidateRangeStart(range);
      try {
        for (Vma vma : mm.forEachVmaRange(start, end)) {
          if (!vma.userfaultfdWpAsync()) {
            continue;
          }
          long s = Math.max(start, vma.start());
          long e = Math.min(end, vma.end());
          PteTableCursor cursor = new PteTableCursor(vma, s, e);
          for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
            long flushStart = e;
            pt.ptl().lock();
            try {
              for (long addr = Math.max(s, pt.start()); addr < Math.min(e, pt.end());
                  addr += Pgtable.PAGE_SIZE) {
                long ptent = Pgtable.ptepGet(pt, addr);
                if (!Pte.present(ptent) || Pte.uffdWp(ptent)) {
                  continue;
                }
                long newPte = Pte.mkuffdWp(ptent); // the bug: from the plain read
                between.run();
                long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
                Pgtable.ptepModifyProtCommit(vma, addr, pt, old, newPte);
                flushStart = Math.min(flushStart, addr);
                total++;
              }
            } finally {
              try {
                if (e > flushStart) {
                  TlbFlush.flushTlbRange(vma, flushStart, Math.min(e, pt.end()));
                }
              } finally {
                pt.ptl().unlock();
              }
            }
          }
        }
      } finally {
        MmuNotifiers.invalidateRangeEnd(range);
      }
    } finally {
      mm.mmapReadUnlock();
    }
    return total;
  }
}
