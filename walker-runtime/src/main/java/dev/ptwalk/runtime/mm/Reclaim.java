package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.CacheFlush;
import dev.ptwalk.runtime.cpu.TlbFlush;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;

/**
 * Reclaim of one page, as {@code MADV_PAGEOUT} asks for it, and the aging query.
 *
 * <p>Mirrors {@code mm/vmscan.c} ({@code reclaim_pages}, {@code shrink_folio_list} with {@code
 * ignore_references}) and {@code mm/rmap.c} ({@code try_to_unmap}, {@code try_to_unmap_one},
 * {@code folio_referenced}). The machine has no swap, so an ordinary anonymous folio cannot be
 * reclaimed; a lazyfree one ({@code MADV_FREE}) is discarded if nothing dirtied it since, which is
 * where a write that no PTE or folio recorded becomes visible as lost data; a file folio is
 * unmapped and stays in the page cache. Each PTE is cleared inside a {@code CLEAR} notifier
 * bracket and flushed at once ({@code ptep_clear_flush}; the kernel may batch the flush with
 * {@code TTU_BATCH_FLUSH}, always before the folio is freed).
 */
public final class Reclaim {
  private Reclaim() {}

  /**
   * {@code MADV_PAGEOUT} of the page at {@code addr} of {@code mm}: isolate the folio its PTE maps
   * (taking reclaim's reference) and run {@code shrink_folio_list} on it, references ignored.
   *
   * <ol>
   *   <li>An anonymous swap-backed folio is kept ({@code add_to_swap} fails: no swap).
   *   <li>Otherwise it is unmapped from every PTE that maps it, in every mm ({@code
   *       try_to_unmap}): each cleared in a {@code CLEAR} bracket and flushed, its dirty bit
   *       moved to the folio ({@code folio_mark_dirty}), a uffd-wp protection of a file VMA kept
   *       as a marker ({@code pte_install_uffd_wp_if_needed}). For a lazyfree folio, a PTE found
   *       dirty or a folio already dirty makes it swap-backed again, and an extra reference
   *       ({@code refcount != 1 + mapcount}) keeps it; either way the PTE is put back.
   *   <li>A lazyfree folio left unmapped and unreferenced ({@code folio_ref_freeze(folio, 1)}) is
   *       freed: {@link ReclaimResult#DISCARDED}.
   *   <li>A file folio stays in the page cache, written back (cleaned) if its file can be.
   * </ol>
   *
   * The caller holds nothing; the mmap lock is taken for read while the folio is looked up and
   * reclaimed, as {@code madvise_pageout} does.
   */
  public static ReclaimResult reclaimPage(MmStruct mm, long addr) {
    long page = addr & Pgtable.PAGE_MASK;
    mm.mmapReadLock();
    try {
      Vma vma = mm.vmaLookup(page);
      if (vma == null) {
        return ReclaimResult.NOT_MAPPED;
      }
      PteTable pt = mm.pgd().pteOffset(page);
      if (pt == null) {
        return ReclaimResult.NOT_MAPPED;
      }
      Folio folio;
      pt.ptl().lock();
      try {
        folio = Memory.vmNormalFolio(vma, pt.get(page));
        if (folio == null) {
          return ReclaimResult.NOT_MAPPED;
        }
        folio.get(); // folio_isolate_lru
      } finally {
        pt.ptl().unlock();
      }
      return shrinkFolio(folio);
    } finally {
      mm.mmapReadUnlock();
    }
  }

  /** {@code shrink_folio_list} for one isolated folio; drops the isolation reference. */
  private static ReclaimResult shrinkFolio(Folio folio) {
    boolean freed = false;
    try {
      if (folio.anon() && folio.swapbacked()) {
        return ReclaimResult.KEPT_NO_SWAP;
      }
      if (folio.mapped()) {
        boolean wasSwapbacked = folio.swapbacked();
        tryToUnmap(folio);
        if (folio.mapped()) {
          return !wasSwapbacked && folio.swapbacked() ? ReclaimResult.KEPT_DIRTY
              : ReclaimResult.KEPT_REFERENCED;
        }
      }
      if (folio.lazyfree()) {
        if (!folio.refFreeze(1)) {
          return ReclaimResult.KEPT_REFERENCED;
        }
        freed = true; // the isolation reference was the last: the frame is free
        return ReclaimResult.DISCARDED;
      }
      AddressSpace mapping = folio.mapping();
      if (mapping != null && mapping.canWriteback() && folio.testDirty()) {
        folio.clearDirty(); // pageout: written back; the disk is not modelled, the page stays
      }
      return ReclaimResult.UNMAPPED;
    } finally {
      if (!freed) {
        folio.put(); // folio_putback_lru
      }
    }
  }

  /** {@code try_to_unmap}: {@code try_to_unmap_one} on every mapping until none is left. */
  private static void tryToUnmap(Folio folio) {
    Rmap.rmapWalk(folio, (f, vma, address) -> tryToUnmapOne(f, vma, address) && f.mapped());
  }

  /**
   * {@code try_to_unmap_one}: clear the PTE at {@code address} of {@code vma} if it maps {@code
   * folio}; false aborts the walk (the PTE was put back).
   */
  private static boolean tryToUnmapOne(Folio folio, Vma vma, long address) {
    MmStruct mm = vma.mm();
    MmuNotifierRange range =
        new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, address, address + Pgtable.PAGE_SIZE);
    MmuNotifiers.invalidateRangeStart(range);
    try {
      PteTable pt = mm.pgd().pteOffset(address);
      if (pt == null) {
        return true;
      }
      pt.ptl().lock();
      try {
        long pte = pt.get(address);
        if (!Pte.present(pte) || Pte.pfn(pte) != folio.pfn()) {
          return true; // page_vma_mapped_walk: not mapped here
        }
        CacheFlush.flushCacheRange(vma, address, address + Pgtable.PAGE_SIZE);
        long pteval = Pgtable.ptepGetAndClear(mm, address, pt);
        TlbFlush.flushTlbPage(vma, address);
        if (Pte.dirty(pteval)) {
          folio.markDirty();
        }
        Memory.pteInstallUffdWpIfNeeded(vma, address, pt, pteval);
        if (folio.anon()) {
          if (folio.swapbacked()) {
            Pgtable.setPteAt(mm, address, pt, pteval); // no swap to move it to
            return false;
          }
          // MADV_FREE folio check: redirtied, or referenced by someone else (GUP).
          int refCount = folio.refCount();
          int mapCount = folio.mapCount();
          if (folio.testDirty()) {
            Pgtable.setPteAt(mm, address, pt, pteval);
            folio.setSwapbacked();
            return false;
          }
          if (refCount != 1 + mapCount) {
            Pgtable.setPteAt(mm, address, pt, pteval);
            return false;
          }
        }
        Rmap.folioRemoveRmapPte(folio, vma);
        folio.put(); // the reference the PTE held
        return true;
      } finally {
        pt.ptl().unlock();
      }
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
    }
  }

  /**
   * {@code folio_referenced}: whether any PTE mapping {@code folio} (in any mm) was young, or a
   * secondary MMU says so; clears the accessed bit of each ({@code ptep_clear_flush_young_notify},
   * which on x86 flushes nothing: a stale TLB entry without the accessed bit only means a later
   * access is not counted). The kernel returns the count of young mappings; this returns whether
   * there was any.
   */
  public static boolean folioReferenced(Folio folio) {
    int[] referenced = new int[1];
    Rmap.rmapWalk(folio, (f, vma, address) -> {
      MmStruct mm = vma.mm();
      PteTable pt = mm.pgd().pteOffset(address);
      if (pt == null) {
        return true;
      }
      boolean young = false;
      pt.ptl().lock();
      try {
        long pte = pt.get(address);
        if (Pte.present(pte) && Pte.pfn(pte) == f.pfn()) {
          young = Pgtable.ptepTestAndClearYoung(vma, address, pt);
          young |= MmuNotifiers.clearFlushYoung(mm, address, address + Pgtable.PAGE_SIZE);
        }
      } finally {
        pt.ptl().unlock();
      }
      if (young) {
        referenced[0]++;
      }
      return true;
    });
    return referenced[0] > 0;
  }
}
