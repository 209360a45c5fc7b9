package dev.ptwalk.tests;

import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SHIFT;
import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SIZE;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.TlbFlush;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.runtime.walk.PteTableCursor;
import dev.ptwalk.samples.driver.DirtyTrackingDriver;
import dev.ptwalk.samples.driver.SyncStrategy;
import java.util.ArrayList;
import java.util.List;

/**
 * Deliberately broken syncs for the negative controls of the concurrency tests: each gets one
 * step of a correct sync wrong, the way upstream once did, and the stress test or the model
 * checker must catch it.
 */
final class BrokenSyncs {
  private BrokenSyncs() {}

  /** What a broken pass does to one PTE: returns whether the page counts as dirty. */
  private interface Leaf {
    boolean apply(Vma vma, long addr, PteTable pt);
  }

  /** Atomic modify-prot write-protect and clean of one PTE (the correct leaf). */
  private static boolean wrprotectAndClean(Vma vma, long addr, PteTable pt) {
    long ptent = Pgtable.ptepGet(pt, addr);
    if (!Pte.write(ptent) && !Pte.dirty(ptent)) {
      return false;
    }
    long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
    Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.mkclean(Pte.wrprotect(old)));
    return Pte.dirty(old);
  }

  /** Atomic modify-prot clean of one PTE. */
  private static boolean clean(Vma vma, long addr, PteTable pt) {
    if (!Pte.dirty(Pgtable.ptepGet(pt, addr))) {
      return false;
    }
    long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
    Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.mkclean(old));
    return Pte.dirty(old);
  }

  /**
   * CVE-2024-36943's shape: a plain read, then a store of the write-protected and cleaned value.
   * A store that sets D on the writable, clean PTE in between is overwritten, and its write
   * lost.
   */
  private static boolean wrprotectByReadThenStore(Vma vma, long addr, PteTable pt) {
    long seen = Pgtable.ptepGet(pt, addr);
    if (!Pte.write(seen) && !Pte.dirty(seen)) {
      return false;
    }
    Pgtable.setPteAt(vma.mm(), addr, pt, Pte.mkclean(Pte.wrprotect(seen)));
    return Pte.dirty(seen);
  }

  /**
   * One pass over every VMA of the buffer: bracket, leaf under the ptl, then {@code after}
   * (which decides where the flush goes). Returns the dirty buffer pages.
   */
  private static List<Integer> pass(DirtyTrackingDriver d, Leaf leaf, AfterChanges after) {
    List<Integer> dirty = new ArrayList<>();
    d.buffer().iMmapLockRead();
    try {
      for (Vma vma : d.buffer().vmaIntervalTreeForeach(0, d.pages() - 1)) {
        MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0,
            vma.mm(), vma.start(), vma.end());
        MmuNotifiers.invalidateRangeStart(range);
        List<Integer> mine = new ArrayList<>();
        PteTableCursor cursor = new PteTableCursor(vma, vma.start(), vma.end());
        for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
          pt.ptl().lock();
          try {
            for (long a = Math.max(vma.start(), pt.start()); a < Math.min(vma.end(), pt.end());
                a += PAGE_SIZE) {
              if (leaf.apply(vma, a, pt)) {
                mine.add((int) (((a - vma.start()) >> PAGE_SHIFT) + vma.pgoff()));
              }
            }
          } finally {
            pt.ptl().unlock();
          }
        }
        after.run(d, vma, range, mine);
        dirty.addAll(mine);
      }
    } finally {
      d.buffer().iMmapUnlockRead();
    }
    return dirty;
  }

  /** What happens after one VMA's PTE changes: flush, end, copy, in some order. */
  private interface AfterChanges {
    void run(DirtyTrackingDriver d, Vma vma, MmuNotifierRange range, List<Integer> dirty);
  }

  private static void set(long[] bitmap, List<Integer> pages) {
    for (int p : pages) {
      bitmap[p >>> 6] |= 1L << (p & 63);
    }
  }

  /** Negative control 1: invalidateRangeEnd, then the driver copies, then the TLB flush. */
  static final SyncStrategy FLUSH_AFTER_END_COPY_BEFORE = (d, bitmap) ->
      pass(d, BrokenSyncs::wrprotectAndClean, (drv, vma, range, dirty) -> {
        MmuNotifiers.invalidateRangeEnd(range);
        dirty.forEach(drv::copyToDevice);
        TlbFlush.flushTlbRange(vma, vma.start(), vma.end());
      }).size();

  /** Negative control 2: no TLB flush at all. */
  static final SyncStrategy NO_FLUSH = (d, bitmap) -> {
    List<Integer> dirty = pass(d, BrokenSyncs::wrprotectAndClean,
        (drv, vma, range, pages) -> MmuNotifiers.invalidateRangeEnd(range));
    set(bitmap, dirty);
    return dirty.size();
  };

  /** Negative control 4: the PTE is read, then stored back changed (CVE-2024-36943). */
  static final SyncStrategy WRPROTECT_BY_READ_THEN_STORE = (d, bitmap) -> {
    List<Integer> dirty = pass(d, BrokenSyncs::wrprotectByReadThenStore, (drv, vma, range, p) -> {
      TlbFlush.flushTlbRange(vma, vma.start(), vma.end());
      MmuNotifiers.invalidateRangeEnd(range);
    });
    set(bitmap, dirty);
    return dirty.size();
  };

  /** Negative control 5: the driver copies the pages before the TLB flush. */
  static final SyncStrategy COPY_BEFORE_FLUSH = (d, bitmap) ->
      pass(d, BrokenSyncs::clean, (drv, vma, range, dirty) -> {
        dirty.forEach(drv::copyToDevice);
        TlbFlush.flushTlbRange(vma, vma.start(), vma.end());
        MmuNotifiers.invalidateRangeEnd(range);
      }).size();
}
