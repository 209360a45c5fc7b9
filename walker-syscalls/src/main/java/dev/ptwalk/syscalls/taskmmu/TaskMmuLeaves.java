package dev.ptwalk.syscalls.taskmmu;

import static dev.ptwalk.annotations.PteCallback.Kind.SOFT_DIRTY;
import static dev.ptwalk.annotations.PteCallback.Kind.UFFD_WP;
import static dev.ptwalk.annotations.PteCallback.Kind.YOUNG;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;

/**
 * The leaves of the page-table walkers of {@code fs/proc/task_mmu.c} that change PTEs; ptwalk
 * generates {@link TaskMmuLeavesWalkers} around them.
 */
public final class TaskMmuLeaves {
  private TaskMmuLeaves() {}

  /**
   * {@code make_uffd_wp_pte}, {@code PAGEMAP_SCAN}'s write-protect of a page it reports written:
   * {@code pte_mkuffd_wp} on a present PTE, a uffd-wp marker on a none one.
   */
  @PteCallback(value = UFFD_WP, bitmap = true, name = "pagemapScanWp")
  static long makeUffdWpPte(long pte) {
    return Pte.mkuffdWp(pte);
  }

  /**
   * {@code clear_soft_dirty}, {@code clear_refs} with {@code CLEAR_REFS_SOFT_DIRTY} on a kernel
   * built with {@code CONFIG_MEM_SOFT_DIRTY}: write-protect the page and clear its soft-dirty bit.
   */
  @PteCallback(value = SOFT_DIRTY, bitmap = true, name = "clearRefsSoftDirty")
  static long clearSoftDirty(long pte) {
    return Pte.clearSoftDirty(Pte.wrprotect(pte));
  }

  /**
   * {@code clear_refs_pte_range}'s {@code ptep_test_and_clear_young}, {@code clear_refs} with
   * {@code CLEAR_REFS_ALL}, {@code CLEAR_REFS_ANON} or {@code CLEAR_REFS_MAPPED}: the accessed bit
   * of a PTE that maps a page ({@code vm_normal_folio}); a special PTE, such as the zero page's,
   * maps none and is left as it is.
   */
  @PteCallback(value = YOUNG, bitmap = true, name = "clearRefsYoung")
  static long clearYoung(long pte) {
    return Pte.special(pte) ? pte : Pte.mkold(pte);
  }
}
