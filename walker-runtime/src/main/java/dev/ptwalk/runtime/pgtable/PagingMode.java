package dev.ptwalk.runtime.pgtable;

/**
 * 4-level or 5-level paging, and the user address limit that follows.
 *
 * <p>Mirrors {@code CONFIG_X86_5LEVEL} with {@code pgtable_l5_enabled()} and {@code
 * TASK_SIZE_MAX}: 47 bits of user address space with 4 levels, 56 bits with 5.
 */
public enum PagingMode {
  /** PGD, PUD, PMD, PTE; P4D folded into the PGD. User space is {@code [0, 2^47 - 4096)}. */
  FOUR_LEVEL(4, 47),
  /** PGD, P4D, PUD, PMD, PTE. User space is {@code [0, 2^56 - 4096)}. */
  FIVE_LEVEL(5, 56);

  private final int levels;
  private final int addressBits;

  PagingMode(int levels, int addressBits) {
    this.levels = levels;
    this.addressBits = addressBits;
  }

  /** Number of page-table levels, counting the PTE level. */
  public int levels() {
    return levels;
  }

  /** Bits of user virtual address: 47 or 56. */
  public int addressBits() {
    return addressBits;
  }

  /** {@code TASK_SIZE_MAX}: one past the highest user address, {@code 2^bits - PAGE_SIZE}. */
  public long taskSize() {
    return (1L << addressBits) - Pgtable.PAGE_SIZE;
  }

  /** {@code PGDIR_SHIFT}: 39 with 4 levels, 48 with 5. */
  public int pgdirShift() {
    return levels == 5 ? Pgtable.P4D_SHIFT + 9 : Pgtable.PUD_SHIFT + 9;
  }
}
