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
 * {@code migrate_vma_collect} with {@code migrate_vma_collect_pmd} (mm/migrate_device.c,
 * Kingxukai/linux): a {@code MIGRATE} bracket over the range around the walk; each present page
 * is unmapped with {@code ptep_get_and_clear} and its PTE replaced by a migration entry, and the
 * TLB is flushed over the table's range before the ptl is dropped (60bae7370896 "flush TLB while
 * holding PTL"). Every PTE this walk changes is present, so the kernel's {@code if (unmapped)} is
 * the emptiness test of the range it flushes.
 */
final class MigrateVmaCollect {
  private MigrateVmaCollect() {}

  @CheckedWalker
  static long migrateVmaCollect(Vma vma, long start, long end, long migrationEntry) {
    MmStruct mm = vma.mm();
    long cpages = 0;
    MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.MIGRATE, 0, mm, start, end);
    MmuNotifiers.invalidateRangeStart(range);
    try {
      PteTableCursor cursor = new PteTableCursor(vma, start, end);
      for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
        long tableEnd = Math.min(end, pt.end());
        long unmappedStart = tableEnd;
        pt.ptl().lock();
        try {
          for (long addr = Math.max(start, pt.start()); addr < tableEnd; addr += PAGE_SIZE) {
            if (!Pte.present(Pgtable.ptepGet(pt, addr))) {
              continue;
            }
            Pgtable.ptepGetAndClear(mm, addr, pt);
            Pgtable.setPteAt(mm, addr, pt, migrationEntry);
            cpages++;
            unmappedStart = Math.min(unmappedStart, addr);
          }
        } finally {
          // Only flush the TLB if we actually modified any entries, before the ptl is dropped.
          if (tableEnd > unmappedStart) {
            TlbFlush.flushTlbRange(vma, unmappedStart, tableEnd);
          }
          pt.ptl().unlock();
        }
      }
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
    }
    return cpages;
  }
}
