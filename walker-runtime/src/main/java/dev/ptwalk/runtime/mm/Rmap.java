package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.pgtable.Pgtable;

/**
 * The reverse map: which PTEs map a folio, and the bookkeeping that keeps it right as PTEs come
 * and go.
 *
 * <p>Mirrors {@code mm/rmap.c}: the {@code folio_add_*_rmap_*} and {@code folio_remove_rmap_pte}
 * calls every path that installs or removes a PTE of a normal page makes (under the PTE's ptl),
 * and {@code rmap_walk}, which finds every VMA, in every mm, that may map a folio: through its
 * {@link AnonVma} for anonymous memory, through its file's i_mmap tree otherwise. The mapcount
 * changes here; the reference each PTE holds is taken and dropped by the caller, as in the kernel.
 */
public final class Rmap {
  private Rmap() {}

  /**
   * {@code rmap_one} of {@code struct rmap_walk_control}: called once for each VMA that may map
   * {@code folio}, at the address it would be mapped at.
   */
  @FunctionalInterface
  public interface RmapOne {
    /**
     * Visit one VMA; return false to stop the walk ({@code rmap_one} returning false).
     *
     * @param folio the folio walked
     * @param vma a VMA that may map it
     * @param address where {@code vma} would map it
     */
    boolean rmapOne(Folio folio, Vma vma, long address);
  }

  /**
   * {@code anon_vma_prepare}: give {@code vma} its anon_vma before its first anonymous folio is
   * mapped. The caller holds the mmap lock.
   */
  public static AnonVma anonVmaPrepare(Vma vma) {
    synchronized (vma) {
      AnonVma av = vma.anonVma();
      if (av == null) {
        av = new AnonVma(vma.mm().machine());
        av.link(vma);
        vma.setAnonVma(av);
      }
      return av;
    }
  }

  /**
   * {@code folio_add_new_anon_rmap(folio, vma, address, RMAP_EXCLUSIVE)}: a freshly allocated
   * folio becomes anonymous memory of {@code vma}'s anon_vma, swap-backed, exclusive to this
   * process, mapped once. Its allocation reference becomes the PTE's.
   */
  public static void folioAddNewAnonRmap(Folio folio, Vma vma, long address) {
    AnonVma av = vma.anonVma();
    if (av == null) {
      throw new IllegalStateException(vma + " has no anon_vma: call anonVmaPrepare first");
    }
    folio.setAnon(av, vma.pgoffOf(address));
    folio.setAnonExclusive();
    folio.incMapcount();
  }

  /** {@code folio_add_file_rmap_pte}: one more PTE maps this page-cache folio. */
  public static void folioAddFileRmapPte(Folio folio, Vma vma) {
    folio.incMapcount();
  }

  /**
   * {@code folio_try_dup_anon_rmap_pte}, as {@code copy_present_pte} uses it at fork: one more PTE
   * (the child's) maps this anonymous folio, which is therefore no longer exclusive to one
   * process. Returns false, refusing, when the folio may be pinned for DMA ({@code
   * folio_maybe_dma_pinned}); no pins are modelled, so it always succeeds.
   */
  public static boolean folioTryDupAnonRmapPte(Folio folio, Vma src) {
    folio.incMapcount();
    folio.clearAnonExclusive();
    return true;
  }

  /** {@code folio_remove_rmap_pte}: one PTE no longer maps this folio. */
  public static void folioRemoveRmapPte(Folio folio, Vma vma) {
    folio.decMapcount();
  }

  /**
   * {@code folio_move_anon_rmap}: an anonymous folio that {@code vma} now maps exclusively moves
   * to {@code vma}'s anon_vma ({@code wp_can_reuse_anon_folio}).
   */
  public static void folioMoveAnonRmap(Folio folio, Vma vma) {
    if (vma.anonVma() != null) {
      folio.moveAnon(vma.anonVma());
    }
  }

  /**
   * {@code vma_address}: where {@code vma} maps page {@code index} (a file pgoff, or an anonymous
   * folio's linear index), or -1 when it lies outside the VMA.
   */
  public static long vmaAddress(Vma vma, long index) {
    if (index < vma.pgoff() || index > vma.lastPgoff()) {
      return -1;
    }
    return vma.start() + ((index - vma.pgoff()) << Pgtable.PAGE_SHIFT);
  }

  /**
   * {@code rmap_walk}: call {@code one} for every VMA that may map {@code folio}, at the address
   * it would be mapped at, until it returns false. Anonymous folios are found through their
   * anon_vma (under {@code anon_vma_lock_read}), file folios through their file's i_mmap tree
   * (under {@code i_mmap_lock_read}); a folio with neither is mapped nowhere and nothing is
   * called. Whether each VMA's PTE really maps the folio is for {@code one} to check ({@code
   * page_vma_mapped_walk}).
   */
  public static void rmapWalk(Folio folio, RmapOne one) {
    AnonVma av = folio.anonVma();
    if (av != null) {
      av.lockRead();
      try {
        for (Vma vma : av.vmas()) {
          long address = vmaAddress(vma, folio.index());
          if (address >= 0 && !one.rmapOne(folio, vma, address)) {
            return;
          }
        }
      } finally {
        av.unlockRead();
      }
      return;
    }
    AddressSpace mapping = folio.mapping();
    if (mapping == null) {
      return;
    }
    mapping.iMmapLockRead();
    try {
      for (Vma vma : mapping.vmaIntervalTreeForeach(folio.index(), folio.index())) {
        long address = vmaAddress(vma, folio.index());
        if (address >= 0 && !one.rmapOne(folio, vma, address)) {
          return;
        }
      }
    } finally {
      mapping.iMmapUnlockRead();
    }
  }
}
