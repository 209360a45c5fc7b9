package dev.ptwalk.samples.kinds;

import static dev.ptwalk.annotations.PteCallback.Kind.YOUNG;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;

/**
 * The leaf of the aging walkers ({@code ptep_clear_young_notify}, as MGLRU's {@code
 * walk_pte_range} and {@code folio_referenced_one} use it): clear the accessed bit, here and in
 * secondary MMUs, and record the pages that were young. Two walkers: over one mm's range, and over
 * the mappings of a file range in every mm.
 */
public final class Young {
  private Young() {}

  /** {@code ptep_test_and_clear_young} over one mm's range. */
  @PteCallback(value = YOUNG, bitmap = true, name = "ageRange")
  static long age(long pte) {
    return Pte.mkold(pte);
  }

  /** {@code ptep_test_and_clear_young} over every mapping of a file range. */
  @PteCallback(value = YOUNG, scope = PteCallback.Scope.MAPPING, bitmap = true,
      name = "ageMapping")
  static long ageMapped(long pte) {
    return Pte.mkold(pte);
  }
}
