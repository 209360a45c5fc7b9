package dev.ptwalk.tests;

import dev.ptwalk.runtime.mm.AddressSpace;

/** A hand-written walker with an argument check of its own, for the runner's message. */
public final class PickyWalker {
  private PickyWalker() {}

  /** Walks nothing, and refuses more than 4 pages. */
  public static long walk(AddressSpace mapping, long firstIndex, long nr) {
    if (nr > 4) {
      throw new IllegalArgumentException("nr must be at most 4, was " + nr);
    }
    return 0;
  }
}
