package dev.ptwalk.processor.model;

/**
 * The x86-64 PTE bits a leaf may change, named as the runtime's {@code @PteTransform} marks name
 * them ({@code _PAGE_RW} is {@link #RW}). Mirrors {@code arch/x86/include/asm/pgtable_types.h}.
 */
public enum PteBit {
  /** {@code _PAGE_PRESENT}. */
  PRESENT,
  /** {@code _PAGE_RW}: write permission. */
  RW,
  /** {@code _PAGE_USER}. */
  USER,
  /** {@code _PAGE_ACCESSED}: the young bit. */
  ACCESSED,
  /** {@code _PAGE_DIRTY}. */
  DIRTY,
  /** {@code _PAGE_PSE}: a huge leaf. */
  PSE,
  /** {@code _PAGE_UFFD_WP}: userfaultfd write-protected (software bit). */
  UFFD_WP,
  /** {@code _PAGE_SOFT_DIRTY}: written since the last soft-dirty clear (software bit). */
  SOFT_DIRTY;

  /** The bit named {@code name} in a {@code @PteTransform}, or null for a name not known here. */
  public static PteBit named(String name) {
    for (PteBit b : values()) {
      if (b.name().equals(name)) {
        return b;
      }
    }
    return null;
  }
}
