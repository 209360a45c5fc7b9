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
 * {@code folio_referenced_one} (mm/rmap.c, Kingxukai/linux) with {@code
 * ptep_clear_flush_young_notify}: the accessed bit test-and-cleared under the ptl and the page's
 * TLB entry flushed, then secondary MMUs asked ({@code mmu_notifier_clear_flush_young}). No
 * bracket: clearing the accessed bit takes nothing away that a secondary MMU must drop.
 */
final class FolioReferencedOne {
  private FolioReferencedOne() {}

  @CheckedWalker
  static int folioReferenced(AddressSpace mapping, long pgoff) {
    int referenced = 0;
    mapping.iMmapLockRead();
    try {
      for (Vma vma : mapping.vmaIntervalTreeForeach(pgoff, pgoff)) {
        long address = vma.addressOf(pgoff);
        PteTable pt = vma.mm().pgd().pteOffset(address);
        if (pt == null) {
          continue;
        }
        boolean young;
        pt.ptl().lock();
        try {
          young = Pgtable.ptepTestAndClearYoung(vma, address, pt);
          if (young) {
            TlbFlush.flushTlbPage(vma, address);
          }
        } finally {
          pt.ptl().unlock();
        }
        young |= MmuNotifiers.clearFlushYoung(vma.mm(), address, address + PAGE_SIZE);
        if (young) {
          referenced++;
        }
      }
    } finally {
      mapping.iMmapUnlockRead();
    }
    return referenced;
  }
}
