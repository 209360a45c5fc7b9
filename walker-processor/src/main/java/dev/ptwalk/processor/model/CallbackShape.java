package dev.ptwalk.processor.model;

/** Which of the three allowed parameter lists a callback has. */
public enum CallbackShape {
  /** {@code long m(long pte)}. */
  PTE(1),
  /** {@code long m(long pte, long addr)}. */
  PTE_ADDR(2),
  /** {@code long m(long pte, long addr, Vma vma)}. */
  PTE_ADDR_VMA(3);

  private final int arity;

  CallbackShape(int arity) {
    this.arity = arity;
  }

  /** Number of parameters. */
  public int arity() {
    return arity;
  }
}
