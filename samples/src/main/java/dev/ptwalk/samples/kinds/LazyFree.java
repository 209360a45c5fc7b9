package dev.ptwalk.samples.kinds;

import static dev.ptwalk.annotations.PteCallback.Kind.LAZYFREE;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;

/**
 * The leaf of {@code MADV_FREE} ({@code madvise_free_pte_range}): clear a private anonymous page's
 * dirty and accessed bits, so that reclaim may discard it unless it is written again. ptwalk
 * generates {@link LazyFreeWalkers#madviseFree} around it, with the kernel's {@code mmu_gather}.
 */
public final class LazyFree {
  private LazyFree() {}

  /** {@code clear_young_dirty_ptes} with {@code CYDP_CLEAR_YOUNG | CYDP_CLEAR_DIRTY}. */
  @PteCallback(value = LAZYFREE, name = "madviseFree")
  static long lazyfree(long pte) {
    return Pte.mkold(Pte.mkclean(pte));
  }
}
