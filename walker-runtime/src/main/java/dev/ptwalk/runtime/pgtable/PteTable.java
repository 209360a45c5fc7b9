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
 */
public final class PteTable {
  private static final VarHandle PTES = MethodHandles.arrayElementVarHandle(long[].class);

  private final long[] entries = new long[Pgtable.PTRS_PER_PTE];
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
   * returns, advanced by {@code index}): a single-copy-atomic read with no address to check. A
   * walker derives the slot once per table ({@link #index}) and steps it with the address.
   */
  public long pte(int index) {
    return (long) PTES.getVolatile(entries, index);
  }

  /** Store a PTE; callers go through {@link Pgtable#setPteAt} so the verifier sees it. */
  void set(long addr, long pte) {
    PTES.setVolatile(entries, index(addr), pte);
  }

  /** {@code ptep_get_and_clear}: atomically read the PTE and leave it none. */
  long getAndClear(long addr) {
    return (long) PTES.getAndSet(entries, index(addr), 0L);
  }

  /** {@code ptep_get_and_clear} of slot {@code index}: an atomic exchange with none. */
  long getAndClearAt(int index) {
    return (long) PTES.getAndSet(entries, index, 0L);
  }

  /**
   * {@code set_pte} of slot {@code index} ({@code native_set_pte}, {@code WRITE_ONCE}): a release
   * store, enough where no hardware can update the entry meanwhile; callers go through {@link
   * Pgtable}.
   */
  void setAt(int index, long pte) {
    PTES.setRelease(entries, index, pte);
  }

  /** {@link #compareAndSet} of slot {@code index}. */
  boolean compareAndSetAt(int index, long expected, long update) {
    return PTES.compareAndSet(entries, index, expected, update);
  }

  /**
   * A locked compare-and-exchange on one PTE, as the page walker of a CPU does to set accessed
   * and dirty bits ({@code lock cmpxchg}). Only simulated hardware and {@link Pgtable} use it.
   */
  public boolean compareAndSet(long addr, long expected, long update) {
    return PTES.compareAndSet(entries, index(addr), expected, update);
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
