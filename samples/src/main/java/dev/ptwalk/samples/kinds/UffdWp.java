package dev.ptwalk.samples.kinds;

import static dev.ptwalk.annotations.PteCallback.Kind.UFFD_WP;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;

/**
 * The leaf of {@code PAGEMAP_SCAN}'s {@code PM_SCAN_WP_MATCHING} ({@code make_uffd_wp_pte}), as a
 * garbage collector or Wine's {@code GetWriteWatch} uses async userfaultfd write-protection: mark
 * every page uffd-wp, so the next store to it resolves in the kernel (no message) and leaves it
 * written. ptwalk generates {@link UffdWpWalkers#uffdWriteProtect} around it, which records each
 * page it protected in a bitmap: the pages written since the previous protection.
 */
public final class UffdWp {
  private UffdWp() {}

  /** {@code make_uffd_wp_pte}: {@code pte_mkuffd_wp}, a marker for an unpopulated page. */
  @PteCallback(value = UFFD_WP, bitmap = true, name = "uffdWriteProtect")
  static long uffdWp(long pte) {
    return Pte.mkuffdWp(pte);
  }
}
