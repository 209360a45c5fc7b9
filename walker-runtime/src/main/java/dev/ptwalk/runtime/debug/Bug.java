package dev.ptwalk.runtime.debug;

import dev.ptwalk.runtime.mm.MmStruct;

/**
 * {@code WARN_ON}: report a condition that should not happen, and carry on.
 *
 * <p>Mirrors {@code include/asm-generic/bug.h}. A warning is counted on the machine and recorded
 * in its trace; like the kernel's, it returns the condition so it reads {@code if
 * (Bug.warnOn(...)) continue;}.
 */
public final class Bug {
  private Bug() {}

  /**
   * {@code WARN_ON(condition)}: when {@code condition} holds, count and trace a warning that says
   * {@code message}, naming the mm.
   *
   * @return {@code condition}
   */
  public static boolean warnOn(MmStruct mm, boolean condition, String message) {
    if (condition) {
      mm.machine().warn("mm " + mm.name() + ": " + message);
    }
    return condition;
  }

  /**
   * {@code WARN(condition, format, ...)}: as {@link #warnOn}, with a message formatted ({@link
   * String#format}) from {@code format} and {@code arg} only when the condition holds, so that a
   * warning that does not fire costs no allocation.
   *
   * @return {@code condition}
   */
  public static boolean warn(MmStruct mm, boolean condition, String format, Object arg) {
    if (condition) {
      mm.machine().warn("mm " + mm.name() + ": " + String.format(java.util.Locale.ROOT, format,
          arg));
    }
    return condition;
  }
}
