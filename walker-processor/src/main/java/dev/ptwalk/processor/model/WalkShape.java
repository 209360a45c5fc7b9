package dev.ptwalk.processor.model;

/**
 * How a kind brackets and flushes its PTE changes: the steps around the leaf, each shape being
 * one kernel walker's. The writer writes one method body per shape; the kinds only pick one.
 */
public enum WalkShape {
  /**
   * {@code apply_as_range} / {@code wp_clean_pre_vma} and {@code wp_clean_post_vma}: per VMA, a
   * notifier bracket over its clipped range with {@code flush_cache_range} and {@code
   * inc_tlb_flush_pending}; after the walk, {@code flush_tlb_range} over {@code [min, max)} of the
   * PTEs changed (over the whole range when {@code mm_tlb_flush_nested}), then the bracket's end
   * and {@code dec_tlb_flush_pending}.
   */
  PER_VMA_BRACKET("mm/mapping_dirty_helpers.c", "wp_clean_pre_vma / wp_clean_post_vma"),
  /**
   * {@code clear_refs_write} with {@code CLEAR_REFS_SOFT_DIRTY}: {@code inc_tlb_flush_pending},
   * one bracket over the whole range, the walk, the bracket's end, then {@code flush_tlb_mm} and
   * {@code dec_tlb_flush_pending}.
   */
  WHOLE_RANGE_FLUSH_MM("fs/proc/task_mmu.c", "clear_refs_write"),
  /**
   * {@code do_pagemap_scan} with {@code PM_SCAN_WP_MATCHING}: one bracket over the range; in each
   * PTE table, under its ptl, {@code flush_tlb_range} from the first PTE changed to the end of
   * the table's part of the range.
   */
  PER_TABLE_FLUSH("fs/proc/task_mmu.c", "pagemap_scan_pmd_entry"),
  /**
   * {@code ptep_clear_young_notify}: no bracket and no TLB flush; each present PTE's accessed bit
   * is test-and-cleared, and secondary MMUs are asked to clear theirs.
   */
  CLEAR_YOUNG_NOTIFY("include/linux/mmu_notifier.h", "ptep_clear_young_notify"),
  /**
   * {@code madvise_free_single_vma}: an {@code mmu_gather} for the whole call ({@code
   * tlb_gather_mmu} raises {@code tlb_flush_pending}), a {@code CLEAR} bracket per VMA, {@code
   * tlb_remove_tlb_entry} per PTE changed, {@code tlb_end_vma} (nothing on x86, which merges the
   * VMAs' ranges), {@code tlb_finish_mmu} (one flush, of the whole mm when nested).
   */
  MMU_GATHER("mm/madvise.c", "madvise_free_single_vma / madvise_free_pte_range");

  private final String kernelFile;
  private final String kernelFunctions;

  WalkShape(String kernelFile, String kernelFunctions) {
    this.kernelFile = kernelFile;
    this.kernelFunctions = kernelFunctions;
  }

  /** The kernel file holding the walker this shape mirrors. */
  public String kernelFile() {
    return kernelFile;
  }

  /** The kernel functions this shape mirrors. */
  public String kernelFunctions() {
    return kernelFunctions;
  }
}
