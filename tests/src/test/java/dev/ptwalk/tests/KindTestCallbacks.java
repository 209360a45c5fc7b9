package dev.ptwalk.tests;

import static dev.ptwalk.annotations.PteCallback.Kind.LAZYFREE;
import static dev.ptwalk.annotations.PteCallback.Kind.SOFT_DIRTY;
import static dev.ptwalk.annotations.PteCallback.Kind.UFFD_WP;
import static dev.ptwalk.annotations.PteCallback.Kind.YOUNG;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;
import java.util.concurrent.CountDownLatch;

/**
 * Callbacks of the new kinds that throw or wait on purpose, for the behaviour tests. Generates
 * KindTestCallbacksWalkers.
 */
final class KindTestCallbacks {
  private KindTestCallbacks() {}

  /** Address at which the throwing callbacks throw. */
  static volatile long failAt = -1;

  /** Address at which {@link #gatedLazyfree} waits until {@link #release} opens. */
  static volatile long gateAt = -1;
  static volatile CountDownLatch entered = new CountDownLatch(1);
  static volatile CountDownLatch release = new CountDownLatch(1);

  private static void maybeThrow(long addr) {
    if (addr == failAt) {
      throw new IllegalStateException("callback refuses 0x" + Long.toHexString(addr));
    }
  }

  @PteCallback(value = SOFT_DIRTY, bitmap = true, name = "throwingSoftDirty")
  static long softDirty(long pte, long addr) {
    maybeThrow(addr);
    return Pte.clearSoftDirty(Pte.wrprotect(pte));
  }

  @PteCallback(value = UFFD_WP, name = "throwingUffdWp")
  static long uffdWp(long pte, long addr) {
    maybeThrow(addr);
    return Pte.mkuffdWp(pte);
  }

  @PteCallback(value = YOUNG, name = "throwingYoung")
  static long young(long pte, long addr) {
    maybeThrow(addr);
    return Pte.mkold(pte);
  }

  @PteCallback(value = LAZYFREE, name = "throwingLazyfree")
  static long lazyfree(long pte, long addr) {
    maybeThrow(addr);
    return Pte.mkold(Pte.mkclean(pte));
  }

  /** Run by {@link #hookedUffdWp} on its first call at {@link #hookAt}, then cleared. */
  static volatile Runnable hook;
  static volatile long hookAt = -1;

  /**
   * A UFFD_WP leaf that runs {@link #hook} once at {@link #hookAt}, on the plain read, before the
   * walker takes the PTE: where a racing store lands in CVE-2024-36943.
   */
  @PteCallback(value = UFFD_WP, name = "hookedUffdWp")
  static long hookedUffdWp(long pte, long addr) {
    Runnable h = hook;
    if (addr == hookAt && h != null) {
      hook = null;
      h.run();
    }
    return Pte.mkuffdWp(pte);
  }

  /** A LAZYFREE leaf that stops at {@link #gateAt}, holding that PTE table's ptl. */
  @PteCallback(value = LAZYFREE, name = "gatedLazyfree")
  static long gatedLazyfree(long pte, long addr) {
    if (addr == gateAt) {
      entered.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    return Pte.mkold(Pte.mkclean(pte));
  }
}
