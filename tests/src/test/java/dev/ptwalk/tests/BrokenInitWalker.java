package dev.ptwalk.tests;

import dev.ptwalk.runtime.mm.AddressSpace;

/**
 * A hand-written walker whose class cannot be initialized: loading it for a walk throws. Used
 * once per JVM, by {@code BadInputTest}.
 */
public final class BrokenInitWalker {
  private BrokenInitWalker() {}

  static final long START = start();

  private static long start() {
    throw new IllegalStateException("BrokenInitWalker refuses to start");
  }

  /** Never runs: the class cannot be initialized. */
  public static long walk(AddressSpace mapping, long firstIndex, long nr) {
    return START;
  }
}
