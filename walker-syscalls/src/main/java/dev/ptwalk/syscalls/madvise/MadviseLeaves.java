package dev.ptwalk.syscalls.madvise;

import static dev.ptwalk.annotations.PteCallback.Kind.LAZYFREE;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;

/**
 * The leaf of {@code mm/madvise.c}'s {@code MADV_FREE} walker; ptwalk generates {@link
 * MadviseLeavesWalkers} around it.
 */
public final class MadviseLeaves {
  private MadviseLeaves() {}

  /**
   * {@code madvise_free_pte_range}'s {@code clear_young_dirty_ptes} with {@code CYDP_CLEAR_YOUNG
   * | CYDP_CLEAR_DIRTY}: a private anonymous page becomes clean and old, so that reclaim may
   * discard it unless it is written again.
   */
  @PteCallback(value = LAZYFREE, name = "madviseFreePteRange")
  static long clearYoungDirty(long pte) {
    return Pte.mkold(Pte.mkclean(pte));
  }
}
