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
 * {@code clear_refs_pte_range} for {@code CLEAR_REFS_ALL/ANON/MAPPED} (fs/proc/task_mmu.c,
 * Kingxukai/linux): {@code ptep_test_and_clear_young} on every present PTE, which needs neither a
 * notifier bracket nor a TLB flush (a stale accessed bit costs accuracy, never data).
 */
final class ClearRefsYoung {
  private ClearRefsYoung() {}

  @CheckedWalker
  static long clearRefsYoung(MmStruct mm) {
    long cleared = 0;
    mm.mmapReadLock();
    try {
      for (Vma vma : mm.vmas()) {
        if ((vma.flags() & VM_PFNMAP) != 0) {
          continue;
        }
        PteTableCursor cursor = new PteTableCursor(vma, vma.start(), vma.end());
        for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
          pt.ptl().lock();
          try {
            for (long addr = Math.max(vma.start(), pt.start());
                addr < Math.min(vma.end(), pt.end()); addr += PAGE_SIZE) {
              if (!Pte.present(Pgtable.ptepGet(pt, addr))) {
                continue;
              }
              if (Pgtable.ptepTestAndClearYoung(vma, addr, pt)) {
                cleared++;
              }
            }
          } finally {
            pt.ptl().unlock();
          }
        }
      }
    } finally {
      mm.mmapReadUnlock();
    }
    return cleared;
  }
}
