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
 * {@code try_to_unmap_one} (mm/rmap.c, Kingxukai/linux), without batched flushes: a {@code
 * CLEAR} bracket over the page in each VMA mapping it, and under the ptl {@code ptep_clear_flush}
 * of the PTE, which leaves it none (a file page).
 */
final class TryToUnmapOne {
  private TryToUnmapOne() {}

  @CheckedWalker
  static int tryToUnmap(AddressSpace mapping, long pgoff) {
    int unmapped = 0;
    mapping.iMmapLockRead();
    try {
      for (Vma vma : mapping.vmaIntervalTreeForeach(pgoff, pgoff)) {
        MmStruct mm = vma.mm();
        long address = vma.addressOf(pgoff);
        MmuNotifierRange range =
            new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, address, address + PAGE_SIZE);
        MmuNotifiers.invalidateRangeStart(range);
        try {
          PteTable pt = mm.pgd().pteOffset(address);
          if (pt == null) {
            continue;
          }
          pt.ptl().lock();
          try {
            if (Pte.present(Pgtable.ptepGet(pt, address))) {
              Pgtable.ptepGetAndClear(mm, address, pt);
              TlbFlush.flushTlbPage(vma, address);
              unmapped++;
            }
          } finally {
            pt.ptl().unlock();
          }
        } finally {
          MmuNotifiers.invalidateRangeEnd(range);
        }
      }
    } finally {
      mapping.iMmapUnlockRead();
    }
    return unmapped;
  }
}
