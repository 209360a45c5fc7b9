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
 * {@code zap_page_range_single} with {@code zap_pte_range} (mm/memory.c, Kingxukai/linux): an
 * {@code mmu_gather} ({@code tlb_gather_mmu} raises the pending count), a {@code CLEAR} bracket
 * over the range, {@code ptep_get_and_clear_full} and {@code tlb_remove_tlb_entry} for each PTE
 * under the ptl, then, after the bracket, {@code tlb_finish_mmu}: the flush of what was gathered
 * (the whole mm when nested) and the pending count dropped.
 */
final class ZapPageRangeSingle {
  private ZapPageRangeSingle() {}

  @CheckedWalker
  static long zapPageRangeSingle(Vma vma, long address, long size) {
    MmStruct mm = vma.mm();
    long end = address + size;
    long gatheredStart = end;
    long gatheredEnd = address;
    long zapped = 0;
    mm.incTlbFlushPending();
    try {
      MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, address, end);
      MmuNotifiers.invalidateRangeStart(range);
      try {
        PteTableCursor cursor = new PteTableCursor(vma, address, end);
        for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
          pt.ptl().lock();
          try {
            for (long addr = Math.max(address, pt.start()); addr < Math.min(end, pt.end());
                addr += PAGE_SIZE) {
              if (Pte.none(Pgtable.ptepGet(pt, addr))) {
                continue;
              }
              Pgtable.ptepGetAndClear(mm, addr, pt);
              zapped++;
              gatheredStart = Math.min(gatheredStart, addr);
              gatheredEnd = Math.max(gatheredEnd, addr + PAGE_SIZE);
            }
          } finally {
            pt.ptl().unlock();
          }
        }
      } finally {
        MmuNotifiers.invalidateRangeEnd(range);
      }
    } finally {
      if (mm.mmTlbFlushNested()) {
        TlbFlush.flushTlbMm(mm);
      } else if (gatheredEnd > gatheredStart) {
        TlbFlush.flushTlbRange(vma, gatheredStart, gatheredEnd);
      }
      mm.decTlbFlushPending();
    }
    return zapped;
  }
}
