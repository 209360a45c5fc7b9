package dev.ptwalk.processor.model;

import java.util.List;

/**
 * The generated {@code *Walkers} class for one class holding callbacks.
 *
 * @param packageName the package of both classes
 * @param ownerSimpleNames the callbacks' class, outermost first ({@code [Outer, C]})
 * @param callbacks the callbacks, in source order
 */
public record WalkersSpec(String packageName, List<String> ownerSimpleNames,
    List<CallbackSpec> callbacks) {
  /** Copies the lists. */
  public WalkersSpec {
    ownerSimpleNames = List.copyOf(ownerSimpleNames);
    callbacks = List.copyOf(callbacks);
    if (ownerSimpleNames.isEmpty()) {
      throw new IllegalArgumentException("ownerSimpleNames is empty");
    }
  }

  /** {@code CWalkers} for {@code C}, {@code Outer_CWalkers} for {@code Outer.C}. */
  public String generatedSimpleName() {
    return String.join("_", ownerSimpleNames) + "Walkers";
  }

  /** The generated class's qualified name. */
  public String generatedQualifiedName() {
    return packageName.isEmpty() ? generatedSimpleName() : packageName + "." + generatedSimpleName();
  }

  /** The callbacks' class, qualified with dots: {@code p.Outer.C}. */
  public String ownerQualifiedName() {
    String owner = String.join(".", ownerSimpleNames);
    return packageName.isEmpty() ? owner : packageName + "." + owner;
  }
}
