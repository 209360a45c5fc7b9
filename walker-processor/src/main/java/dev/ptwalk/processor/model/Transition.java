package dev.ptwalk.processor.model;

import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * One change a kind's leaf may make to its PTE: a runtime {@code Pte} helper and the bits it sets
 * and clears, as that helper's {@code @PteTransform} mark declares them.
 *
 * @param helper the {@code dev.ptwalk.runtime.Pte} method, e.g. {@code wrprotect}
 * @param kernelHelper the kernel function it mirrors, e.g. {@code pte_wrprotect}
 * @param sets bits it sets
 * @param clears bits it clears
 */
public record Transition(String helper, String kernelHelper, Set<PteBit> sets,
    Set<PteBit> clears) {
  /** Copies the sets. */
  public Transition {
    Objects.requireNonNull(helper, "helper");
    Objects.requireNonNull(kernelHelper, "kernelHelper");
    sets = Set.copyOf(sets);
    clears = Set.copyOf(clears);
  }

  /** A helper that clears {@code bit} and nothing else. */
  public static Transition clearing(String helper, String kernelHelper, PteBit bit) {
    return new Transition(helper, kernelHelper, Set.of(), EnumSet.of(bit));
  }

  /** What the helper does, in words: {@code clear RW (Pte.wrprotect)}. */
  public String describe() {
    StringBuilder sb = new StringBuilder();
    for (PteBit b : sorted(sets)) {
      sb.append(sb.length() > 0 ? " and " : "").append("set ").append(b);
    }
    for (PteBit b : sorted(clears)) {
      sb.append(sb.length() > 0 ? " and " : "").append("clear ").append(b);
    }
    return sb.append(" (Pte.").append(helper).append(')').toString();
  }

  private static Set<PteBit> sorted(Set<PteBit> bits) {
    return bits.isEmpty() ? EnumSet.noneOf(PteBit.class) : EnumSet.copyOf(bits);
  }
}
