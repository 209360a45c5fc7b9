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
 *
 * <p>Each directory also keeps a population summary: 512 bits, bit {@code i} set exactly when
 * entry {@code i} is not none. The kernel has no such map (its walkers read every entry); it lets
 * a walk of a sparse range jump from one populated entry to the next ({@link #nextPopulated})
 * instead of reading the 511 empty ones. Every change of an entry goes through {@link #setNext}
 * or {@link #setLeaf}, which set or clear the bit after the entry with an atomic read-modify-write,
 * so the map stays exact however allocations and frees interleave, and a walker that sees a bit
 * set sees the entry it announces.
 */
public final class PgDir {
  private static final VarHandle NEXT = MethodHandles.arrayElementVarHandle(Object[].class);
  private static final VarHandle LEAF = MethodHandles.arrayElementVarHandle(long[].class);
  private static final VarHandle SUMMARY = MethodHandles.arrayElementVarHandle(long[].class);

  private final int shift;
  private final Object[] next = new Object[Pgtable.PTRS_PER_PTE];
  private final long[] leaves = new long[Pgtable.PTRS_PER_PTE];
  private final long[] populated = new long[Pgtable.PTRS_PER_PTE / 64];

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

  /**
   * The first entry at or after {@code from} that is not none, by the population summary, or
   * {@link Pgtable#PTRS_PER_PTE} (512) when there is none up to the end of the directory.
   */
  public int nextPopulated(int from) {
    int word = from >>> 6;
    if (word >= populated.length) {
      return Pgtable.PTRS_PER_PTE;
    }
    long bits = (long) SUMMARY.getVolatile(populated, word) & (-1L << (from & 63));
    while (bits == 0) {
      if (++word == populated.length) {
        return Pgtable.PTRS_PER_PTE;
      }
      bits = (long) SUMMARY.getVolatile(populated, word);
    }
    return (word << 6) + Long.numberOfTrailingZeros(bits);
  }

  /** Number of entries that are not none, by the population summary. */
  public int populatedCount() {
    int n = 0;
    for (int w = 0; w < populated.length; w++) {
      n += Long.bitCount((long) SUMMARY.getVolatile(populated, w));
    }
    return n;
  }

  /**
   * Atomic update of a huge leaf, as hardware sets its accessed and dirty bits; the summary bit
   * follows when the entry becomes none or stops being none.
   */
  public boolean compareAndSetLeaf(int index, long expected, long update) {
    if (!LEAF.compareAndSet(leaves, index, expected, update)) {
      return false;
    }
    if ((expected == 0) != (update == 0)) {
      summarize(index);
    }
    return true;
  }

  /** Point entry {@code index} at {@code table}, or make it none with null; then its summary bit. */
  void setNext(int index, Object table) {
    NEXT.setRelease(next, index, table);
    summarize(index);
  }

  /** Make entry {@code index} the huge leaf {@code leaf}, or clear it with 0; then its summary bit. */
  void setLeaf(int index, long leaf) {
    LEAF.setVolatile(leaves, index, leaf);
    summarize(index);
  }

  /**
   * Make the summary bit of {@code index} say whether the entry is populated, after a store to
   * the entry. The bit is changed with an atomic OR or AND, so updates of other entries of the
   * same word are never lost; the entry is read again afterwards and the bit redone if it changed
   * meanwhile, so of racing updates of one entry the last one's state is what the bit ends with.
   */
  private void summarize(int index) {
    long bit = 1L << (index & 63);
    int word = index >>> 6;
    boolean none = none(index);
    while (true) {
      if (none) {
        SUMMARY.getAndBitwiseAnd(populated, word, ~bit);
      } else {
        SUMMARY.getAndBitwiseOr(populated, word, bit);
      }
      boolean now = none(index);
      if (now == none) {
        return;
      }
      none = now;
    }
  }

  /** The kernel's name of this level with the given paging mode: PGD, P4D, PUD or PMD. */
  public String levelName(PagingMode mode) {
    return Pgtable.levelName(shift, mode);
  }
}
