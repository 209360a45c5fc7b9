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
 * {@code damon_ptep_mkold} (mm/damon/ops-common.c, Kingxukai/linux): DAMON's access sampling
 * clears the accessed bit of one PTE with {@code ptep_test_and_clear_young} and asks secondary
 * MMUs to clear theirs ({@code mmu_notifier_clear_young}); no bracket and no flush.
 */
final class DamonPtepMkold {
  private DamonPtepMkold() {}

  @CheckedWalker
  static boolean damonPtepMkold(Vma vma, long addr) {
    PteTable pt = vma.mm().pgd().pteOffset(addr);
    if (pt == null) {
      return false;
    }
    boolean young = false;
    pt.ptl().lock();
    try {
      if (Pte.present(Pgtable.ptepGet(pt, addr))) {
        young = Pgtable.ptepTestAndClearYoung(vma, addr, pt);
      }
    } finally {
      pt.ptl().unlock();
    }
    return MmuNotifiers.clearYoung(vma.mm(), addr, addr + PAGE_SIZE) || young;
  }
}
