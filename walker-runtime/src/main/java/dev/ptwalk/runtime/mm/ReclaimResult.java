package dev.ptwalk.runtime.mm;

/**
 * What {@link Reclaim#reclaimPage} did with the folio, as {@code shrink_folio_list} decides.
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
   * A file folio: unmapped from every PTE (a uffd-wp protected one leaves a marker), written
   * back if its file can be and it was dirty, and kept in the page cache.
   */
  UNMAPPED,
  /** Nothing reclaimable is mapped at the address (no VMA, none or marker PTE, zero page, raw pfn). */
  NOT_MAPPED
}
