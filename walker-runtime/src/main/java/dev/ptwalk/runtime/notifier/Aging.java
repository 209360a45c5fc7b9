package dev.ptwalk.runtime.notifier;

import dev.ptwalk.runtime.mm.MmStruct;

/**
 * How an aging walk asks secondary MMUs for the accessed state they keep of their own: the
 * secondary half of {@code ptep_clear_young_notify}. Every generated {@code YOUNG} walker takes
 * one (its overload without one uses {@link #standard()}).
 */
public final class Aging {
  private static final Aging STANDARD = new Aging();

  private Aging() {}

  /** {@code mmu_notifier_clear_young} on every subscription, as aging does today. */
  public static Aging standard() {
    return STANDARD;
  }

  /**
   * {@code mmu_notifier_clear_young} over {@code [start, end)} of {@code mm}: clear the
   * secondary MMUs' accessed state there and say whether any of them saw it young.
   */
  public boolean clearYoung(MmStruct mm, long start, long end) {
    return MmuNotifiers.clearYoung(mm, start, end);
  }
}
