package dev.ptwalk.tests;

import static dev.ptwalk.annotations.PteCallback.Kind.CLEAN;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;

/**
 * A callback whose class cannot be initialized: its static initializer throws, on the first
 * call of the callback. Generates BrokenInitCallbacksWalkers. Used once per JVM, by {@code
 * BadInputTest}: after the first failure the JVM reports the class as unusable.
 */
final class BrokenInitCallbacks {
  private BrokenInitCallbacks() {}

  static final long START = start();

  private static long start() {
    throw new IllegalStateException("BrokenInitCallbacks refuses to start");
  }

  @PteCallback(CLEAN)
  static long clean(long pte) {
    return Pte.mkclean(pte);
  }
}
