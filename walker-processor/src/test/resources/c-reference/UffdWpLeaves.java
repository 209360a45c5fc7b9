package dev.ptwalk.kinds;

import static dev.ptwalk.annotations.PteCallback.Kind.UFFD_WP;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;

/**
 * The leaf of an asynchronous userfaultfd write-protect tracker (PAGEMAP_SCAN with {@code
 * PM_SCAN_WP_MATCHING}): ptwalk generates {@code UffdWpLeavesWalkers.java} and {@code
 * UffdWpLeavesWalkers.c} from it.
 *
 * <p>A page whose PTE is uffd-wp faults on its next store; in a VMA registered for asynchronous
 * write-protect, the fault clears uffd-wp and makes the PTE writable again, so a PTE without
 * uffd-wp is a page written since the last walk.
 */
public final class UffdWpLeaves {
  private UffdWpLeaves() {}

  /** {@code make_uffd_wp_pte}: mark the PTE uffd write-protected, which drops write. */
  @PteCallback(UFFD_WP)
  static long protect(long pte) {
    return Pte.mkuffdWp(pte);
  }
}
