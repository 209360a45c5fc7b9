package dev.ptwalk.runtime.pgtable;

import dev.ptwalk.runtime.check.NeverThrows;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One leaf page table: 512 PTEs mapping a 2 MiB-aligned span, with its own split lock.
 *
 * <p>Mirrors a PTE page ({@code pgtable_t}) and its {@code ptl} ({@code pte_lockptr}). Entries are
 * a plain {@code long[512]} reached through a {@link VarHandle}, so simulated hardware can set
 * accessed and dirty bits atomically while a walker holds the lock, exactly as real CPUs do: the
 * ptl serialises software, never hardware.
 *
 * <p>Like a {@link PgDir}, the table keeps a population summary, one bit per slot whose PTE is not
 * none, so a walker visits the populated slots of a sparse table only ({@link #nextPopulated},
 * {@link #nextNone}); the kernel has no such map. Every store that can make a PTE none or not none
 * updates it, except the clear of {@code ptep_modify_prot_start}, which the commit undoes under
 * the same ptl: while a protection change is in flight its slot reads as populated. Hardware only
 * updates present PTEs, so it never changes the summary.
 */
public final class PteTable {
  private static final VarHandle PTES = MethodHandles.arrayElementVarHandle(long[].class);
  private static final VarHandle SUMMARY = MethodHandles.arrayElementVarHandle(long[].class);

  private final long[] entries = new long[Pgtable.PTRS_PER_PTE];
  private final long[] populated = new long[Pgtable.PTRS_PER_PTE / 64];
  private final ReentrantLock ptl = new ReentrantLock();
  private final long start;

  PteTable(long start) {
    this.start = start;
  }

  /** First virtual address this table maps (PMD-aligned). */
  @NeverThrows
  public long start() {
    return start;
  }

  /** One past the last virtual address this table maps. */
  @NeverThrows
  public long end() {
    return start + Pgtable.PMD_SIZE;
  }

  /** The virtual address that slot {@code index} maps. */
  @NeverThrows
  public long address(int index) {
    return start + ((long) index << Pgtable.PAGE_SHIFT);
  }

  /** {@code pte_lockptr}: the split page-table lock of this table. */
  @NeverThrows
  public ReentrantLock ptl() {
    return ptl;
  }

  /** {@code pte_index}: slot of {@code addr} in this table, checking that it belongs here. */
  public int index(long addr) {
    if ((addr & ~(Pgtable.PMD_SIZE - 1)) != start) {
      throw new IllegalArgumentException(
          "address 0x" + Long.toHexString(addr) + " is not mapped by the PTE table at 0x"
              + Long.toHexString(start));
    }
    return (int) ((addr >>> Pgtable.PAGE_SHIFT) & (Pgtable.PTRS_PER_PTE - 1));
  }

  /** {@code ptep_get}: a single-copy-atomic read of the PTE for {@code addr}. */
  public long get(long addr) {
    return (long) PTES.getVolatile(entries, index(addr));
  }

  /**
   * {@code ptep_get} of slot {@code index} (the {@code pte_t *} that {@code pte_offset_map}
   * returns, advanced by {@code index}), with no address to check: a walker derives the slot once
   * per table ({@link #index}) and steps it with the address.
   *
   * <p>A plain read, as the C reference's: the value only tells a walker whether a PTE needs
   * work, and {@code ptep_modify_prot_start} then takes the real one atomically, so a value that
   * hardware updates just after the read is as good as one read a moment earlier. It cannot be
   * taken before the ptl (the lock is an acquire) or after an earlier exchange (a full fence).
   * An aligned {@code long} is read whole by every 64-bit HotSpot (JLS 17.7 asks JVMs not to
   * split them). Unlike {@link #get}, a volatile read, it leaves the JIT free to keep the table
   * in a register and drop the bounds check across a loop of reads.
   */
  public long pte(int index) {
    return entries[index];
  }

  /**
   * The first slot in {@code [from, limit)} whose PTE is not none, by the population summary, or
   * {@code limit} when there is none. Exact under the ptl; {@code limit} is at most 512.
   */
  @NeverThrows
  public int nextPopulated(int from, int limit) {
    return next(from, limit, 0L);
  }

  /**
   * The first slot in {@code [from, limit)} whose PTE is none, by the population summary, or
   * {@code limit} when every one is populated: with {@link #nextPopulated}, the end of a run of
   * populated slots.
   */
  @NeverThrows
  public int nextNone(int from, int limit) {
    return next(from, limit, -1L);
  }

  /** The first slot from {@code from} whose summary bit, flipped by {@code flip}, is set. */
  private int next(int from, int limit, long flip) {
    while (from < limit) {
      int word = from >>> 6;
      long bits = ((long) SUMMARY.getVolatile(populated, word) ^ flip) & (-1L << (from & 63));
      if (bits != 0) {
        return Math.min((word << 6) + Long.numberOfTrailingZeros(bits), limit);
      }
      from = (word + 1) << 6;
    }
    return limit;
  }

  /** Store a PTE; callers go through {@link Pgtable#setPteAt} so the verifier sees it. */
  void set(long addr, long pte) {
    int i = index(addr);
    PTES.setVolatile(entries, i, pte);
    summarize(i);
  }

  /** {@code ptep_get_and_clear}: atomically read the PTE and leave it none. */
  long getAndClear(long addr) {
    int i = index(addr);
    long old = (long) PTES.getAndSet(entries, i, 0L);
    if (old != 0) {
      summarize(i);
    }
    return old;
  }

  /**
   * {@code ptep_modify_prot_start}'s {@code ptep_get_and_clear} of slot {@code index}: an atomic
   * exchange with none that leaves the summary as it was, for {@link #commitAt} to complete.
   */
  long takeAt(int index) {
    return (long) PTES.getAndSet(entries, index, 0L);
  }

  /**
   * {@code ptep_modify_prot_commit}'s {@code set_pte_at} of slot {@code index}, after {@link
   * #takeAt} returned {@code oldPte}: a release store ({@code native_set_pte}, enough as no
   * hardware updates a none PTE), and a summary update only if the change makes the slot none or
   * populates a slot that was none.
   */
  void commitAt(int index, long oldPte, long pte) {
    PTES.setRelease(entries, index, pte);
    if (oldPte == 0 || pte == 0) {
      summarize(index);
    }
  }

  /**
   * {@code ptep_modify_prot_commit} with the verifier on: an exchange, returning what it replaced
   * (none unless something broke the ptl's rule), and the summary as {@link #commitAt} keeps it.
   */
  long exchangeAt(int index, long oldPte, long pte) {
    long replaced = (long) PTES.getAndSet(entries, index, pte);
    if (oldPte == 0 || pte == 0 || replaced != 0) {
      summarize(index);
    }
    return replaced;
  }

  /** {@code set_pte_at} of slot {@code index}: a release store ({@code native_set_pte}). */
  void setAt(int index, long pte) {
    PTES.setRelease(entries, index, pte);
    summarize(index);
  }

  /**
   * A locked compare-and-exchange on one PTE, as the page walker of a CPU does to set accessed
   * and dirty bits ({@code lock cmpxchg}). Only simulated hardware and {@link Pgtable} use it.
   */
  public boolean compareAndSet(long addr, long expected, long update) {
    return compareAndSetAt(index(addr), expected, update);
  }

  /** {@link #compareAndSet} of slot {@code index}. */
  boolean compareAndSetAt(int index, long expected, long update) {
    if (!PTES.compareAndSet(entries, index, expected, update)) {
      return false;
    }
    if ((expected == 0) != (update == 0)) {
      summarize(index);
    }
    return true;
  }

  /**
   * Make the summary bit of slot {@code index} say whether its PTE is none, after a store to it:
   * an atomic OR or AND, only when the bit is wrong, and again if the PTE changed meanwhile, so
   * of racing stores the last one's state is what the bit ends with.
   */
  private void summarize(int index) {
    long bit = 1L << (index & 63);
    int word = index >>> 6;
    boolean none = (long) PTES.getVolatile(entries, index) == 0;
    while (true) {
      boolean marked = ((long) SUMMARY.getVolatile(populated, word) & bit) != 0;
      if (none && marked) {
        SUMMARY.getAndBitwiseAnd(populated, word, ~bit);
      } else if (!none && !marked) {
        SUMMARY.getAndBitwiseOr(populated, word, bit);
      }
      boolean now = (long) PTES.getVolatile(entries, index) == 0;
      if (now == none) {
        return;
      }
      none = now;
    }
  }

  /** Number of PTEs that are not none; for tests and dumps. */
  public int populated() {
    int n = 0;
    for (int i = 0; i < entries.length; i++) {
      if ((long) PTES.getVolatile(entries, i) != 0) {
        n++;
      }
    }
    return n;
  }

  @Override
  public String toString() {
    return "PteTable[0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end()) + ")";
  }
}
