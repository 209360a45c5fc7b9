package dev.ptwalk.kinds;

import static dev.ptwalk.annotations.PteCallback.Kind.LAZYFREE;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;

/**
 * The leaf of {@code madvise(MADV_FREE)}: ptwalk generates {@code LazyfreeLeavesWalkers.java}
 * and {@code LazyfreeLeavesWalkers.c} from it.
 *
 * <p>A private anonymous page whose PTE is clean may be discarded by reclaim instead of being
 * swapped out; a store after the walk dirties the PTE again and keeps the page.
 */
public final class LazyfreeLeaves {
  private LazyfreeLeaves() {}

  /** {@code madvise_free_pte_range}: clear the dirty and accessed bits. */
  @PteCallback(LAZYFREE)
  static long lazyfree(long pte) {
    long clean = Pte.mkclean(pte);
    return Pte.mkold(clean);
  }
}
