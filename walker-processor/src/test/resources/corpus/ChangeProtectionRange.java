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
 * {@code change_protection_range} with {@code change_pmd_range} and {@code change_pte_range}
 * (mm/mprotect.c, torvalds/linux v5.4): {@code inc_tlb_flush_pending} for the whole range; per
 * PMD with PTEs, a {@code PROTECTION_VMA} bracket opened lazily at the first one ({@code if
 * (!range.start)}) and ended once after the loop ({@code if (range.start)}); the TLB flush of the
 * range when any PTE changed, then {@code dec_tlb_flush_pending}.
 */
final class ChangeProtectionRange {
  private ChangeProtectionRange() {}

  @CheckedWalker
  static long changeProtectionRange(Vma vma, long start, long end) {
    MmStruct mm = vma.mm();
    long pages = 0;
    long flushStart = end;
    long flushEnd = start;
    mm.incTlbFlushPending();
    try {
      MmuNotifierRange range = null;
      try {
        PteTableCursor cursor = new PteTableCursor(vma, start, end);
        for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
          // change_pmd_range: the bracket starts at the first PMD that has PTEs.
          if (range == null) {
            range = new MmuNotifierRange(MmuNotifierEvent.PROTECTION_VMA, 0, mm,
                Math.max(start, pt.start()), end);
            MmuNotifiers.invalidateRangeStart(range);
          }
          pt.ptl().lock();
          try {
            for (long addr = Math.max(start, pt.start()); addr < Math.min(end, pt.end());
                addr += PAGE_SIZE) {
              // change_pte_range: write-protect (the mprotect to read-only case)
              long oldpte = Pgtable.ptepGet(pt, addr);
              if (!Pte.present(oldpte) || !Pte.write(oldpte)) {
                continue;
              }
              long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt);
              Pgtable.ptepModifyProtCommit(vma, addr, pt, oldPte, Pte.wrprotect(oldPte));
              pages++;
              flushStart = Math.min(flushStart, addr);
              flushEnd = Math.max(flushEnd, addr + PAGE_SIZE);
            }
          } finally {
            pt.ptl().unlock();
          }
        }
      } finally {
        if (range != null) {
          MmuNotifiers.invalidateRangeEnd(range);
        }
      }
    } finally {
      // Only flush the TLB if we actually modified any entries.
      if (mm.mmTlbFlushNested()) {
        TlbFlush.flushTlbRange(vma, start, end);
      } else if (flushEnd > flushStart) {
        TlbFlush.flushTlbRange(vma, flushStart, flushEnd);
      }
      mm.decTlbFlushPending();
    }
    return pages;
  }
}
