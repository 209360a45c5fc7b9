package dev.ptwalk.samples;

import static dev.ptwalk.annotations.PteCallback.Kind.CLEAN;
import static dev.ptwalk.annotations.PteCallback.Kind.WRPROTECT;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;

/**
 * The leaves of the kernel's {@code mm/as_dirty_helpers.c}, and nothing else: ptwalk generates
 * {@link DirtyHelpersWalkers#applyAsWrprotect} and {@link DirtyHelpersWalkers#applyAsClean}
 * around them.
 *
 * <p>A dirty-tracking driver (vmwgfx is the one the kernel helpers were written for) uses the
 * two together: write-protect a range so the first store to each page reaches {@code
 * ->pfn_mkwrite}, or clean it and collect the pages the hardware dirtied in a bitmap.
 */
public final class DirtyHelpers {
  private DirtyHelpers() {}

  /** {@code wp_pte}: take write permission away. A read-only PTE comes back unchanged. */
  @PteCallback(value = WRPROTECT, name = "applyAsWrprotect")
  static long wrprotect(long pte) {
    return Pte.wrprotect(pte);
  }

  /** {@code clean_record_pte}: clear the dirty bit. A clean PTE comes back unchanged. */
  @PteCallback(value = CLEAN, bitmap = true, name = "applyAsClean")
  static long clean(long pte) {
    return Pte.mkclean(pte);
  }
}
