package dev.ptwalk.kinds;

import static dev.ptwalk.annotations.PteCallback.Kind.SOFT_DIRTY;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;

/**
 * Leaves of the soft-dirty tracker ({@code /proc/PID/clear_refs}, value 4): ptwalk generates
 * {@code SoftDirtyLeavesWalkers.java} and {@code SoftDirtyLeavesWalkers.c} from them.
 *
 * <p>A tracker clears soft-dirty and takes write permission away, so that the next store to each
 * page faults and marks it soft-dirty again. The second walker does the same and records, one bit
 * per page, which PTEs it changed.
 */
public final class SoftDirtyLeaves {
  private SoftDirtyLeaves() {}

  /** {@code clear_soft_dirty}: write-protect, then clear soft-dirty. */
  @PteCallback(SOFT_DIRTY)
  static long clearSoftDirty(long pte) {
    return Pte.clearSoftDirty(Pte.wrprotect(pte));
  }

  /** {@code clear_soft_dirty}, recording each page changed in a bitmap. */
  @PteCallback(value = SOFT_DIRTY, bitmap = true)
  static long recordSoftDirty(long pte) {
    return Pte.clearSoftDirty(Pte.wrprotect(pte));
  }
}
