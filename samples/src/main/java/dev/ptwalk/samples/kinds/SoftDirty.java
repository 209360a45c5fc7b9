package dev.ptwalk.samples.kinds;

import static dev.ptwalk.annotations.PteCallback.Kind.SOFT_DIRTY;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;

/**
 * The leaf of {@code clear_refs_write} with {@code CLEAR_REFS_SOFT_DIRTY} ({@code echo 4 >
 * /proc/PID/clear_refs}), as a checkpointer (CRIU) uses it: clear every page's soft-dirty bit and
 * write-protect it, so the next store faults and marks the page soft-dirty again. ptwalk generates
 * {@link SoftDirtyWalkers#clearRefsSoftDirty} around it, which also records each page it cleared
 * in a bitmap: the pages written since the previous clear.
 */
public final class SoftDirty {
  private SoftDirty() {}

  /** {@code clear_soft_dirty}: {@code pte_wrprotect}, then {@code pte_clear_soft_dirty}. */
  @PteCallback(value = SOFT_DIRTY, bitmap = true, name = "clearRefsSoftDirty")
  static long clearSoftDirty(long pte) {
    return Pte.clearSoftDirty(Pte.wrprotect(pte));
  }
}
