package dev.ptwalk.syscalls.userfaultfd;

import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SIZE;
import static dev.ptwalk.runtime.pgtable.Pgtable.PMD_MASK;
import static dev.ptwalk.runtime.pgtable.Pgtable.PMD_SIZE;

import dev.ptwalk.annotations.CheckedWalker;
import dev.ptwalk.runtime.Errno;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.Folio;
import dev.ptwalk.runtime.mm.Memory;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.MmuGather;
import dev.ptwalk.runtime.mm.Userfaultfd;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.mm.VmFlags;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.syscalls.Syscalls;
import java.util.ArrayList;
import java.util.List;

/**
 * Userfaultfd write-protection of a range: {@code UFFDIO_WRITEPROTECT}'s work.
 *
 * <p>Mirrors {@code mwriteprotect_range} and {@code uffd_wp_range} of {@code mm/userfaultfd.c},
 * and the part of {@code change_protection} ({@code mm/mprotect.c}: {@code change_pmd_range},
 * {@code change_pte_range}) that {@code MM_CP_UFFD_WP} and {@code MM_CP_UFFD_WP_RESOLVE} select.
 * The kernel's walker here is {@code change_protection}, not a {@code mm_walk}, and it changes
 * each PTE by its kind (present, marker, none) with rules no one-PTE leaf expresses (a marker goes
 * on unprotect, appears on protect only where the VMA uses markers), so it is written by hand as a
 * {@link CheckedWalker}, which ptwalk's body check verifies at compile time.
 */
public final class UffdWp {
  private UffdWp() {}

  /**
   * x86's {@code _PAGE_CHG_MASK}: the bits {@code pte_modify} keeps from the PTE (the pfn, the
   * caching, special, accessed, dirty, soft-dirty and uffd-wp bits); present, user, RW and NX come
   * from the new protection.
   */
  static final long PAGE_CHG_MASK = Pte.PFN_MASK | Pte.PCD | Pte.PWT | Pte.SPECIAL | Pte.ACCESSED
      | Pte.DIRTY | Pte.SOFT_DIRTY | Pte.UFFD_WP;

  /**
   * {@code mwriteprotect_range}: under the mmap read lock, for each VMA of {@code [start, start +
   * len)} in turn, {@link #uffdWpRange} over its part; the first VMA not registered for
   * write-protect stops it with {@code ENOENT} (the VMAs before it stay changed), and so does a
   * range with no VMA at all. Gaps between VMAs are skipped. The range was validated by the
   * caller ({@link UserfaultfdIoctls#userfaultfdWriteprotect}).
   *
   * @return 0, or {@code -ENOENT}
   */
  public static long mwriteprotectRange(Userfaultfd ctx, long start, long len, boolean enableWp) {
    MmStruct mm = ctx.mm();
    long end = start + len;
    mm.mmapReadLock();
    try {
      long err = Syscalls.err(Errno.ENOENT);
      List<Vma> vmas = new ArrayList<>();
      mm.forEachVmaRange(start, end).forEach(vmas::add);
      for (Vma vma : vmas) {
        if (!vma.userfaultfdWp()) {
          err = Syscalls.err(Errno.ENOENT);
          break;
        }
        long vmaStart = Math.max(vma.start(), start);
        long vmaEnd = Math.min(vma.end(), end);
        uffdWpRange(vma, vmaStart, vmaEnd - vmaStart, enableWp);
        err = 0;
      }
      return err;
    } finally {
      mm.mmapReadUnlock();
    }
  }

  /**
   * {@code uffd_wp_range}: {@code change_protection} of {@code [start, start + len)} of {@code vma}
   * with {@code MM_CP_UFFD_WP} ({@code enableWp}) or {@code MM_CP_UFFD_WP_RESOLVE}, in one {@code
   * mmu_gather}. The caller holds the mmap lock.
   *
   * <ul>
   *   <li>Protect: every present PTE gets {@code pte_modify} to the VMA's protection and the
   *       uffd-wp bit (which drops RW); a none PTE gets a uffd-wp marker where the VMA uses markers
   *       ({@code userfaultfd_wp_use_markers}), and there the PTE tables of the range are
   *       allocated first ({@code pgtable_populate_needed}); markers stay.
   *   <li>Unprotect: every present PTE loses the uffd-wp bit and is made writable again where a
   *       write fault would do so anyway ({@code MM_CP_TRY_CHANGE_WRITABLE}, {@code
   *       can_change_pte_writable}); a marker is cleared; nothing is allocated.
   * </ul>
   *
   * A {@code PROTECTION_VMA} bracket opens at the first PTE table the range has ({@code
   * change_pud_range}) and ends after the walk; each PTE made more restrictive is gathered ({@code
   * tlb_flush_pte_range}) and flushed by {@code tlb_finish_mmu}, while the gather's pending count
   * is still raised.
   *
   * @return the number of PTEs changed
   * @throws IllegalArgumentException if the range is not page aligned or not inside {@code vma}
   */
  @CheckedWalker
  public static long uffdWpRange(Vma vma, long start, long len, boolean enableWp) {
    MmStruct mm = vma.mm();
    long end = start + len;
    if (((start | len) & (PAGE_SIZE - 1)) != 0 || len <= 0 || start < vma.start()
        || end > vma.end()) {
      throw new IllegalArgumentException("uffd_wp_range of [0x" + Long.toHexString(start)
          + ", +0x" + Long.toHexString(len) + ") must be non-empty, page aligned and inside "
          + vma);
    }
    // pgtable_populate_needed: protecting where markers are used allocates the page tables.
    boolean populate = enableWp && vma.userfaultfdWpUseMarkers();
    boolean tryChangeWritable = !enableWp && vmaWantsManualPteWriteUpgrade(vma);
    long pages = 0;
    MmuGather tlb = MmuGather.tlbGatherMmu(mm);
    try {
      tlb.tlbStartVma(vma);
      MmuNotifierRange range = null;
      try {
        for (long pmdAddr = start, next; pmdAddr < end; pmdAddr = next) {
          next = Math.min((pmdAddr & PMD_MASK) + PMD_SIZE, end);
          PteTable pt = populate ? mm.pgd().pteAlloc(pmdAddr) : mm.pgd().pteOffset(pmdAddr);
          if (pt == null) {
            continue;
          }
          // change_pud_range: the bracket opens at the first populated table.
          if (range == null) {
            range = new MmuNotifierRange(MmuNotifierEvent.PROTECTION_VMA, 0, mm, pmdAddr, end);
            MmuNotifiers.invalidateRangeStart(range);
          }
          pt.ptl().lock();
          try {
            for (long addr = pmdAddr; addr < next; addr += PAGE_SIZE) {
              long oldpte = Pgtable.ptepGet(pt, addr);
              if (Pte.present(oldpte)) {
                long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt);
                long ptent = pteModify(oldPte, vma.vmPageProt());
                ptent = enableWp ? Pte.mkuffdWp(ptent) : Pte.clearUffdWp(ptent);
                if (tryChangeWritable && !Pte.write(ptent)
                    && canChangePteWritable(vma, ptent)) {
                  ptent = Pte.mkwrite(ptent);
                }
                Pgtable.ptepModifyProtCommit(vma, addr, pt, oldPte, ptent);
                if (Pte.moreRestrictive(oldPte, ptent)) {
                  tlb.tlbRemoveTlbEntry(addr); // tlb_flush_pte_range
                }
                pages++;
              } else if (Pte.pteMarkerUffdWp(oldpte)) {
                // Unprotecting drops the marker: the next fault maps the page unprotected.
                if (!enableWp) {
                  Pgtable.setPteAt(mm, addr, pt, 0L);
                  pages++;
                }
              } else if (Pte.none(oldpte) && populate) {
                Pgtable.setPteAt(mm, addr, pt, Pte.PTE_MARKER_UFFD_WP);
                pages++;
              }
            }
          } finally {
            pt.ptl().unlock();
          }
        }
      } finally {
        try {
          if (range != null) {
            MmuNotifiers.invalidateRangeEnd(range);
          }
        } finally {
          tlb.tlbEndVma(vma);
        }
      }
    } finally {
      // tlb_finish_mmu: one flush of what was gathered (the whole mm when nested), then the
      // pending count drops.
      tlb.tlbFinishMmu();
    }
    return pages;
  }

  /**
   * {@code pte_modify}: the PTE with the protection bits of {@code newprot}, keeping those of
   * {@link #PAGE_CHG_MASK}.
   */
  static long pteModify(long pte, long newprot) {
    return (pte & PAGE_CHG_MASK) | (newprot & ~PAGE_CHG_MASK);
  }

  /**
   * {@code vma_wants_manual_pte_write_upgrade}: whether unprotecting may make PTEs writable
   * itself: a shared VMA that wants write notification, or any private writable one.
   */
  static boolean vmaWantsManualPteWriteUpgrade(Vma vma) {
    if (vma.hasFlags(VmFlags.VM_SHARED)) {
      return vma.wantsWritenotify();
    }
    return vma.hasFlags(VmFlags.VM_WRITE);
  }

  /**
   * {@code can_change_pte_writable}: a PTE may become writable without a write fault when the VMA
   * is writable, neither soft-dirty nor uffd-wp tracking needs that fault, and, in a private VMA,
   * it maps an anonymous page exclusive to this process; in a shared one, when it is dirty.
   */
  static boolean canChangePteWritable(Vma vma, long pte) {
    if (!vma.hasFlags(VmFlags.VM_WRITE)) {
      return false;
    }
    if (vma.softDirtyEnabled() && !Pte.softDirty(pte)) {
      return false; // pte_needs_soft_dirty_wp
    }
    if (vma.userfaultfdWp() && Pte.uffdWp(pte)) {
      return false; // userfaultfd_pte_wp
    }
    if (!vma.hasFlags(VmFlags.VM_SHARED)) {
      Folio folio = Memory.vmNormalFolio(vma, pte);
      return folio != null && folio.anon() && folio.anonExclusive();
    }
    return Pte.dirty(pte);
  }
}
