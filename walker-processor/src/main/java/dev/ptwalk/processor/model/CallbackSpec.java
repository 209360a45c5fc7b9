package dev.ptwalk.processor.model;

import java.util.Objects;

/**
 * One validated {@code @PteCallback} method and the walker to generate for it.
 *
 * @param methodName the callback's simple name
 * @param shape its parameter list
 * @param kind what it does to a PTE
 * @param bitmap whether the walker records a dirty bitmap
 * @param walkerName the generated walker method's name
 */
public record CallbackSpec(
    String methodName, CallbackShape shape, WalkerKind kind, boolean bitmap, String walkerName) {
  /** Validates that no component is null and that bitmap is only set where the kind allows it. */
  public CallbackSpec {
    Objects.requireNonNull(methodName, "methodName");
    Objects.requireNonNull(shape, "shape");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(walkerName, "walkerName");
    if (bitmap && !kind.supportsBitmap()) {
      throw new IllegalArgumentException(kind + " has no bitmap");
    }
  }

  /** The walker name derived when {@code name()} is empty: {@code applyAs} + capitalised name. */
  public static String defaultWalkerName(String methodName) {
    return "applyAs" + Character.toUpperCase(methodName.charAt(0)) + methodName.substring(1);
  }
}
