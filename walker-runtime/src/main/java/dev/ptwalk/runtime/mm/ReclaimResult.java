package dev.ptwalk.runtime.mm;

/**
 * What {@link Reclaim#reclaimPage} or {@link Reclaim#reclaimPages} did with a folio, as {@code
 * shrink_folio_list} decides.
 */
public enum ReclaimResult {
  /**
   * A clean lazyfree anonymous folio with no reference but reclaim's: unmapped everywhere and
   * freed ({@code PGLAZYFREED}). Its data is gone; the next load of the address sees zeroes.
   */
  DISCARDED,
  /**
   * A lazyfree folio found dirty (a PTE's dirty bit, or {@code folio_mark_dirty} by a GUP user):
   * made swap-backed again and its PTEs restored ({@code try_to_unmap_one}'s {@code
   * folio_set_swapbacked}).
   */
  KEPT_DIRTY,
  /**
   * A lazyfree folio with another reference (GUP, a secondary MMU's {@code hva_to_pfn}): its PTEs
   * restored, still lazyfree, to be tried again once the reference is gone.
   */
  KEPT_REFERENCED,
  /** An ordinary (swap-backed) anonymous folio: with no swap it cannot go anywhere. */
  KEPT_NO_SWAP,
  /**
   * A file folio: unmapped from every PTE (a uffd-wp protected one leaves a marker) and kept in
   * the page cache: a dirty one (a disk file's marked for reclaim once written back, which
   * reclaim outside kswapd does not do itself), or any of a {@link AddressSpace.Backing#RAM}
   * file. A clean one of shmem or a disk file is {@link #EVICTED} instead.
   */
  UNMAPPED,
  /**
   * A clean file folio of shmem (a tmpfs file, a memfd, shared anonymous memory) or of a disk
   * file, so one never written: unmapped from every PTE as for {@link #UNMAPPED}, then removed
   * from the page cache and freed ({@code __remove_mapping}). The next fault reads it in again:
   * a new zeroed page.
   */
  EVICTED,
  /** Nothing reclaimable is mapped at the address (no VMA, none or marker PTE, zero page, raw pfn). */
  NOT_MAPPED,
  /**
   * The folio is not on the LRU, so it cannot be isolated ({@code folio_isolate_lru} fails): it
   * waits in another CPU's {@code lru_add} batch, or someone else isolated it. Only with the
   * machine's per-CPU LRU batches ({@link CpuFbatches}); left as it is.
   */
  NOT_ON_LRU
}
