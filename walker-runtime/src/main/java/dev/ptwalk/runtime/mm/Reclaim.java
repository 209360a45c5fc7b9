package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.CacheFlush;
import dev.ptwalk.runtime.cpu.TlbFlush;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import java.util.ArrayList;
import java.util.List;

/**
 * Reclaim of one page, as {@code MADV_PAGEOUT} asks for it, and the aging query.
 *
 * <p>Mirrors {@code mm/vmscan.c} ({@code reclaim_pages}, {@code shrink_folio_list} with {@code
 * ignore_references}) and {@code mm/rmap.c} ({@code try_to_unmap}, {@code try_to_unmap_one},
 * {@code folio_referenced}). The machine has no swap, so an ordinary anonymous folio cannot be
 * reclaimed; a lazyfree one ({@code MADV_FREE}) is discarded if nothing dirtied it since, which is
 * where a write that no PTE or folio recorded becomes visible as lost data; a file folio is
 * unmapped, and dropped from the page cache if it is clean. Each PTE is cleared inside a {@code CLEAR} notifier
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
   *   <li>A file folio left unmapped stays in the page cache if it is dirty (a disk file's is
   *       marked {@code PG_reclaim}: reclaim outside kswapd writes no file page back; shmem has
   *       nowhere to write to without swap), and is removed from it and freed ({@link
   *       ReclaimResult#EVICTED}) if it is clean; a {@link AddressSpace.Backing#RAM} file's
   *       stays.
   * </ol>
   *
   * The caller holds nothing; the mmap lock is taken for read while the folio is looked up and
   * reclaimed, as {@code madvise_pageout} does.
   */
  public static ReclaimResult reclaimPage(MmStruct mm, long addr) {
    long page = addr & Pgtable.PAGE_MASK;
    CpuFbatches fbatches = mm.machine().physMem().cpuFbatches();
    mm.mmapReadLock();
    try {
      Vma vma = mm.vmaLookup(page);
      if (vma == null) {
        return ReclaimResult.NOT_MAPPED;
      }
      fbatches.lruAddDrain(); // madvise_pageout
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
        if (!fbatches.folioIsolateLru(folio)) {
          return ReclaimResult.NOT_ON_LRU;
        }
      } finally {
        pt.ptl().unlock();
      }
      return shrinkFolio(folio);
    } finally {
      mm.mmapReadUnlock();
    }
  }

  /**
   * {@code reclaim_pages}: {@code shrink_folio_list}, references ignored, on folios the caller
   * took off the LRU with {@link CpuFbatches#folioIsolateLru} (as {@code
   * madvise_cold_or_pageout_pte_range} collects them), each as {@link #reclaimPage} describes.
   * Every folio is put back on the LRU or freed, its isolation reference dropped. The caller
   * holds no ptl.
   *
   * @return what happened to each folio, in order
   */
  public static List<ReclaimResult> reclaimPages(List<Folio> isolated) {
    List<ReclaimResult> results = new ArrayList<>(isolated.size());
    for (Folio folio : isolated) {
      results.add(shrinkFolio(folio));
    }
    return results;
  }

  /**
   * {@code shrink_folio_list} for one isolated folio; puts it back on the LRU ({@code
   * folio_putback_lru}) unless it was freed, dropping the isolation reference either way.
   */
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
      if (mapping == null || mapping.backing() == AddressSpace.Backing.RAM) {
        return ReclaimResult.UNMAPPED;
      }
      if (folio.testDirty()) {
        if (mapping.canWriteback()) {
          // A dirty file-LRU folio: reclaim outside kswapd leaves its writeback to the flusher
          // threads and marks it for immediate reclaim once written ("folio_set_reclaim").
          folio.setReclaim();
        }
        // shmem: shmem_writeout without swap redirties it (AOP_WRITEPAGE_ACTIVATE).
        return ReclaimResult.UNMAPPED;
      }
      // __remove_mapping: a clean page of shmem or of a disk file was never written (written
      // shmem stays dirty, and reclaim writes nothing back), so it holds what a later fault reads
      // in again: it goes.
      if (mapping.removeCleanPage(folio)) {
        freed = true;
        return ReclaimResult.EVICTED;
      }
      return ReclaimResult.UNMAPPED;
    } finally {
      if (!freed) {
        Folio.fbatchesOf(folio).folioPutbackLru(folio);
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
