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
 * {@code walk_pte_range} of the multi-gen LRU's aging walk (mm/vmscan.c, Kingxukai/linux): every
 * young PTE of a PTE table has its accessed bit test-and-cleared under the ptl; no TLB flush.
 */
final class LruGenWalkPteRange {
  private LruGenWalkPteRange() {}

  @CheckedWalker
  static long walkPteRange(Vma vma, long start, long end) {
    long young = 0;
    PteTableCursor cursor = new PteTableCursor(vma, start, end);
    for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
      if (!pt.ptl().tryLock()) {
        continue;
      }
      try {
        for (long addr = Math.max(start, pt.start()); addr < Math.min(end, pt.end());
            addr += PAGE_SIZE) {
          long ptent = Pgtable.ptepGet(pt, addr);
          if (!Pte.present(ptent) || !Pte.young(ptent)) {
            continue;
          }
          if (Pgtable.ptepTestAndClearYoung(vma, addr, pt)) {
            young++;
          }
        }
      } finally {
        pt.ptl().unlock();
      }
    }
    return young;
  }
}
