package dev.ptwalk.processor.model;

import java.util.Objects;

/**
 * One validated {@code @PteCallback} method and the walker to generate for it.
 *
 * @param methodName the callback's simple name
 * @param shape its parameter list
 * @param kind what it does to a PTE
 * @param scope what the walker ranges over: a file's mappings or one mm
 * @param bitmap whether the walker records a dirty bitmap
 * @param walkerName the generated walker method's name
 */
public record CallbackSpec(
    String methodName, CallbackShape shape, WalkerKind kind, Scope scope, boolean bitmap,
    String walkerName) {
  /**
   * Validates that no component is null, and that the scope and the bitmap are ones the kind
   * allows.
   */
  public CallbackSpec {
    Objects.requireNonNull(methodName, "methodName");
    Objects.requireNonNull(shape, "shape");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(scope, "scope");
    Objects.requireNonNull(walkerName, "walkerName");
    if (bitmap && !kind.supportsBitmap()) {
      throw new IllegalArgumentException(kind + " has no bitmap");
    }
    if (!kind.supports(scope)) {
      throw new IllegalArgumentException(kind + " cannot walk scope " + scope);
    }
  }

  /** The walker name derived when {@code name()} is empty: {@code applyAs} + capitalised name. */
  public static String defaultWalkerName(String methodName) {
    return "applyAs" + Character.toUpperCase(methodName.charAt(0)) + methodName.substring(1);
  }
}
