package dev.ptwalk.samples.driver;

import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SHIFT;
import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SIZE;

import dev.ptwalk.annotations.CheckedWalker;
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

/** The driver's hand-written walker. */
public final class DriverWalkers {
  private DriverWalkers() {}

  /**
   * Write-protects and cleans every PTE mapping buffer pages {@code [0, nr)} in one pass, and
   * sets the bit of every page it found dirty in {@code bitmap}.
   *
   * <p>Hand-written, not generated, because it changes two bits of each PTE, RW and DIRTY, and no
   * {@code @PteCallback} kind may: ptwalk's callback check would (rightly) reject a WRPROTECT
   * callback that also cleans, since a kind names the one change its bracket announces. Fusing
   * the two passes halves the notifier brackets and TLB flushes of a sync. {@code @CheckedWalker}
   * has the processor verify the bracket, the flush and the pending counter on every path.
   *
   * @param mapping the buffer's address space
   * @param nr pages of the buffer, from pgoff 0
   * @param bitmap OR'd with one bit per page found dirty; at least {@code nr} bits
   * @return PTEs changed
   */
  @CheckedWalker
  public static long wrprotectAndClean(AddressSpace mapping, long nr, long[] bitmap) {
    if (nr <= 0 || bitmap.length * 64L < nr) {
      throw new IllegalArgumentException("need nr > 0 and a bitmap of at least nr bits, got nr="
          + nr + " and " + bitmap.length * 64L + " bits");
    }
    long total = 0;
    mapping.iMmapLockRead();
    try {
      for (Vma vma : mapping.vmaIntervalTreeForeach(0, nr - 1)) {
        long startAddr = vma.start();
        long endAddr = vma.addressOf(Math.min(vma.lastPgoff(), nr - 1)) + PAGE_SIZE;
        MmStruct mm = vma.mm();
        long lo = endAddr;
        long hi = startAddr;
        MmuNotifierRange range =
            new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, mm, startAddr, endAddr);
        MmuNotifiers.invalidateRangeStart(range);
        CacheFlush.flushCacheRange(vma, startAddr, endAddr);
        mm.incTlbFlushPending();
        try {
          PteTableCursor cursor = new PteTableCursor(vma, startAddr, endAddr);
          for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
            long to = Math.min(endAddr, pt.end());
            pt.ptl().lock();
            try {
              for (long addr = Math.max(startAddr, pt.start()); addr < to; addr += PAGE_SIZE) {
                long ptent = Pgtable.ptepGet(pt, addr);
                if (!Pte.write(ptent) && !Pte.dirty(ptent)) {
                  continue;
                }
                long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
                Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.mkclean(Pte.wrprotect(old)));
                if (Pte.dirty(old)) {
                  long bit = ((addr - vma.start()) >> PAGE_SHIFT) + vma.pgoff();
                  bitmap[(int) (bit >>> 6)] |= 1L << (bit & 63);
                }
                total++;
                lo = Math.min(lo, addr);
                hi = Math.max(hi, addr + PAGE_SIZE);
              }
            } finally {
              pt.ptl().unlock();
            }
          }
        } finally {
          try {
            if (mm.mmTlbFlushNested()) {
              TlbFlush.flushTlbRange(vma, startAddr, endAddr);
            } else if (hi > lo) {
              TlbFlush.flushTlbRange(vma, lo, hi);
            }
          } finally {
            try {
              MmuNotifiers.invalidateRangeEnd(range);
            } finally {
              mm.decTlbFlushPending();
            }
          }
        }
      }
    } finally {
      mapping.iMmapUnlockRead();
    }
    return total;
  }
}
