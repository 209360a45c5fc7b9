package dev.ptwalk.runtime.pgtable;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * An upper-level page directory (PGD, P4D, PUD or PMD page) of 512 entries.
 *
 * <p>Mirrors {@code pgd_t[]}, {@code p4d_t[]}, {@code pud_t[]} and {@code pmd_t[]}. Each entry is
 * none, a pointer to the next-level table, or (at PUD and PMD level) a huge leaf with {@code PSE}
 * set. Entries are published with release stores so that lock-free walkers (simulated hardware,
 * {@code pmdp_get_lockless}) see fully built tables.
 */
public final class PgDir {
  private static final VarHandle NEXT = MethodHandles.arrayElementVarHandle(Object[].class);
  private static final VarHandle LEAF = MethodHandles.arrayElementVarHandle(long[].class);

  private final int shift;
  private final Object[] next = new Object[Pgtable.PTRS_PER_PTE];
  private final long[] leaves = new long[Pgtable.PTRS_PER_PTE];

  PgDir(int shift) {
    this.shift = shift;
  }

  /** Address bits below one entry of this directory: 48, 39, 30 or 21. */
  public int shift() {
    return shift;
  }

  /** Bytes mapped by one entry of this directory. */
  public long entrySize() {
    return 1L << shift;
  }

  /** {@code pgd_index}, {@code pud_index}, ...: the entry of this directory that covers addr. */
  public int index(long addr) {
    return (int) ((addr >>> shift) & (Pgtable.PTRS_PER_PTE - 1));
  }

  /** The next-level table ({@link PgDir} or {@link PteTable}) at {@code index}, or null. */
  public Object next(int index) {
    return NEXT.getAcquire(next, index);
  }

  /** The huge leaf at {@code index}, or 0 when the entry is not a huge leaf. */
  public long leaf(int index) {
    return (long) LEAF.getVolatile(leaves, index);
  }

  /** Whether the entry at {@code index} is none ({@code pmd_none}, {@code pud_none}, ...). */
  public boolean none(int index) {
    return next(index) == null && leaf(index) == 0;
  }

  /** Atomic update of a huge leaf, as hardware sets its accessed and dirty bits. */
  public boolean compareAndSetLeaf(int index, long expected, long update) {
    return LEAF.compareAndSet(leaves, index, expected, update);
  }

  void setNext(int index, Object table) {
    NEXT.setRelease(next, index, table);
  }

  void setLeaf(int index, long leaf) {
    LEAF.setVolatile(leaves, index, leaf);
  }

  /** The kernel's name of this level with the given paging mode: PGD, P4D, PUD or PMD. */
  public String levelName(PagingMode mode) {
    return Pgtable.levelName(shift, mode);
  }
}
