package dev.ptwalk.benchmarks;

import static dev.ptwalk.runtime.mm.VmFlags.VM_HUGETLB;
import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SHIFT;
import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SIZE;

import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.CacheFlush;
import dev.ptwalk.runtime.cpu.TlbFlush;
import dev.ptwalk.runtime.debug.Bug;
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
 * What a user writes without the processor: one generic walker, shared by every use, calling the
 * leaf through an interface per PTE (like {@code mm_walk_ops.pte_entry}). Same steps otherwise.
 */
final class VisitorWalker {
  /** The leaf: returns the new PTE value, or the argument for "not modified". */
  interface PteVisitor {
    long visit(long pte, long addr, Vma vma);
  }

  static final PteVisitor CLEAN = (pte, addr, vma) -> Pte.mkclean(pte);
  static final PteVisitor WRPROTECT = (pte, addr, vma) -> Pte.wrprotect(pte);
  static final PteVisitor MKOLD = (pte, addr, vma) -> Pte.mkold(pte);

  private VisitorWalker() {}

  static long walk(AddressSpace mapping, long firstIndex, long nr, PteVisitor leaf,
      long bitmapPgoff, long[] bitmap, DirtyWindow window) {
    boolean noneSet = window == null || window.start >= window.end;
    long dirtyStart = noneSet ? nr : window.start;
    long dirtyEnd = noneSet ? 0 : window.end;
    long total = 0;
    mapping.iMmapLockRead();
    try {
      for (Vma vma : mapping.vmaIntervalTreeForeach(firstIndex, firstIndex + nr - 1)) {
        long vmFlags = vma.flags();
        if ((vmFlags & (VM_SHARED | VM_WRITE)) != (VM_SHARED | VM_WRITE)) {
          continue;
        }
        if (Bug.warnOn(vma.mm(), (vmFlags & (VM_HUGETLB | VM_IO)) != VM_IO, "skipped")) {
          continue;
        }
        long vba = vma.pgoff();
        long cba = Math.max(firstIndex, vba);
        long cea = Math.min(firstIndex + nr, vba + vma.pages());
        long startAddr = ((cba - vba) << PAGE_SHIFT) + vma.start();
        long endAddr = ((cea - vba) << PAGE_SHIFT) + vma.start();
        if (startAddr >= endAddr) {
          continue;
        }
        MmStruct mm = vma.mm();
        long tlbflushStart = endAddr;
        long tlbflushEnd = startAddr;
        MmuNotifierRange range =
            new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, mm, startAddr, endAddr);
        MmuNotifiers.invalidateRangeStart(range);
        CacheFlush.flushCacheRange(vma, startAddr, endAddr);
        mm.incTlbFlushPending();
        try {
          for (PteTable pt = PteTableCursor.first(vma, startAddr, endAddr); pt != null;
              pt = PteTableCursor.next(vma, pt, endAddr)) {
            long from = Math.max(startAddr, pt.start());
            long to = Math.min(endAddr, pt.end());
            pt.ptl().lock();
            try {
              boolean watched = Pgtable.watched(mm);
              int limit = pt.index(to - PAGE_SIZE) + 1;
              for (int slot = pt.nextPopulated(pt.index(from), limit); slot < limit;
                  slot = pt.nextPopulated(slot, limit)) {
                int run = pt.nextNone(slot, limit);
                for (; slot < run; slot++) {
                  long ptent = pt.pte(slot);
                  while (leaf.visit(ptent, pt.address(slot), vma) == ptent && ++slot < run) {
                    ptent = pt.pte(slot);
                  }
                  if (slot == run) {
                    break;
                  }
                  long addr = pt.address(slot);
                  long old = Pgtable.ptepModifyProtStart(vma, addr, pt, slot, watched);
                  long next = old;
                  try {
                    next = leaf.visit(old, addr, vma);
                  } finally {
                    Pgtable.ptepModifyProtCommit(vma, addr, pt, slot, old, next, watched);
                  }
                  total++;
                  tlbflushStart = Math.min(tlbflushStart, addr);
                  tlbflushEnd = Math.max(tlbflushEnd, addr + PAGE_SIZE);
                  if (bitmap != null) {
                    long bit = ((addr - vma.start()) >> PAGE_SHIFT) + vma.pgoff() - bitmapPgoff;
                    bitmap[(int) (bit >>> 6)] |= 1L << (bit & 63);
                    dirtyStart = Math.min(dirtyStart, bit);
                    dirtyEnd = Math.max(dirtyEnd, bit + 1);
                  }
                }
              }
            } finally {
              pt.ptl().unlock();
            }
          }
        } finally {
          if (mm.mmTlbFlushNested()) {
            TlbFlush.flushTlbRange(vma, startAddr, endAddr);
          } else if (tlbflushEnd > tlbflushStart) {
            TlbFlush.flushTlbRange(vma, tlbflushStart, tlbflushEnd);
          }
          MmuNotifiers.invalidateRangeEnd(range);
          mm.decTlbFlushPending();
        }
      }
    } finally {
      mapping.iMmapUnlockRead();
      if (window != null) {
        window.start = dirtyStart;
        window.end = dirtyEnd;
      }
    }
    return total;
  }
}
