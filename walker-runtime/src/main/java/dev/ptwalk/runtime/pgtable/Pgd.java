package dev.ptwalk.runtime.pgtable;

import dev.ptwalk.runtime.Pte;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The page-table radix of one address space, rooted at its PGD.
 *
 * <p>Mirrors {@code mm->pgd} with the allocation paths of {@code mm/memory.c} ({@code p4d_alloc},
 * {@code pud_alloc}, {@code pmd_alloc}, {@code __pte_alloc}). Tables are allocated lazily, only
 * when a PTE below them is installed; upper-level entries are populated under {@link
 * #pageTableLock()} ({@code mm->page_table_lock}), PTEs under their own split lock.
 */
public final class Pgd {
  private final PagingMode mode;
  private final PgDir root;
  private final ReentrantLock pageTableLock = new ReentrantLock();
  private final AtomicLong pteTables = new AtomicLong();
  private final AtomicLong directories = new AtomicLong(1);

  /** An empty radix with the given paging mode. */
  public Pgd(PagingMode mode) {
    this.mode = mode;
    this.root = new PgDir(mode.pgdirShift());
  }

  /** 4-level or 5-level. */
  public PagingMode mode() {
    return mode;
  }

  /** The top-level directory. */
  public PgDir root() {
    return root;
  }

  /** {@code mm->page_table_lock}: serialises population of upper-level entries. */
  public ReentrantLock pageTableLock() {
    return pageTableLock;
  }

  /** PTE tables allocated so far and not freed. */
  public long pteTableCount() {
    return pteTables.get();
  }

  /** Upper-level directories allocated so far, counting the PGD. */
  public long directoryCount() {
    return directories.get();
  }

  /**
   * {@code pte_offset_map}: the PTE table mapping {@code addr}, or null when an upper level is
   * none or a huge leaf maps it. Never allocates.
   */
  public PteTable pteOffset(long addr) {
    Pgtable.checkUserAddress(addr, mode);
    PgDir dir = root;
    while (true) {
      int i = dir.index(addr);
      Object next = dir.next(i);
      if (next == null) {
        return null;
      }
      if (next instanceof PteTable) {
        return (PteTable) next;
      }
      dir = (PgDir) next;
    }
  }

  /**
   * The huge leaf mapping {@code addr} at PMD or PUD level, or 0 when {@code addr} is mapped by
   * PTEs or not at all ({@code pmd_trans_huge} / {@code pud_trans_huge} lookup).
   */
  public long hugeLeaf(long addr) {
    Pgtable.checkUserAddress(addr, mode);
    PgDir dir = root;
    while (true) {
      int i = dir.index(addr);
      long leaf = dir.leaf(i);
      if (leaf != 0) {
        return leaf;
      }
      Object next = dir.next(i);
      if (!(next instanceof PgDir)) {
        return 0;
      }
      dir = (PgDir) next;
    }
  }

  /**
   * {@code __pte_alloc} and the levels above it: the PTE table for {@code addr}, allocating any
   * missing level under {@link #pageTableLock()}.
   *
   * @throws IllegalStateException if a huge leaf maps {@code addr}: this model never splits one
   */
  public PteTable pteAlloc(long addr) {
    PteTable existing = pteOffset(addr);
    if (existing != null) {
      return existing;
    }
    pageTableLock.lock();
    try {
      PgDir dir = root;
      while (true) {
        int i = dir.index(addr);
        if (dir.leaf(i) != 0) {
          throw new IllegalStateException(
              "0x" + Long.toHexString(addr) + " is mapped by a huge " + dir.levelName(mode)
                  + " leaf; splitting huge leaves is not modelled");
        }
        Object next = dir.next(i);
        if (next == null) {
          long base = addr & ~(dir.entrySize() - 1);
          if (dir.shift() == Pgtable.PMD_SHIFT) {
            next = new PteTable(base);
            pteTables.incrementAndGet();
          } else {
            next = new PgDir(dir.shift() - 9);
            directories.incrementAndGet();
          }
          dir.setNext(i, next);
        }
        if (next instanceof PteTable) {
          return (PteTable) next;
        }
        dir = (PgDir) next;
      }
    } finally {
      pageTableLock.unlock();
    }
  }

  /**
   * {@code pmd_clear} of an empty PTE table, as {@code mm/pt_reclaim.c} ({@code
   * try_get_and_clear_pmd}, {@code try_to_free_pte}) frees one after a zap: under {@link
   * #pageTableLock()} the PMD entry for {@code addr} is cleared if it holds {@code pt} and every
   * PTE of {@code pt} is none. The caller holds {@code pt}'s ptl and frees the table through its
   * {@code mmu_gather} ({@code pte_free_tlb}), which flushes the TLB before anything reuses it.
   *
   * @return whether the table was removed
   */
  public boolean pmdClearEmpty(long addr, PteTable pt) {
    pageTableLock.lock();
    try {
      PgDir dir = root;
      while (dir.shift() > Pgtable.PMD_SHIFT) {
        Object next = dir.next(dir.index(addr));
        if (!(next instanceof PgDir)) {
          return false;
        }
        dir = (PgDir) next;
      }
      int i = dir.index(addr);
      if (dir.next(i) != pt || pt.populated() != 0) {
        return false;
      }
      dir.setNext(i, null);
      pteTables.decrementAndGet();
      return true;
    } finally {
      pageTableLock.unlock();
    }
  }

  /**
   * {@code set_pmd_at} / {@code set_pud_at}: install a huge leaf of {@code 1 << shift} bytes at
   * {@code addr}, which must be aligned to it and not yet mapped at or below that level.
   *
   * @param shift {@link Pgtable#PMD_SHIFT} (2 MiB) or {@link Pgtable#PUD_SHIFT} (1 GiB)
   * @param leaf a present entry; {@code PSE} is added
   */
  public void setHugeLeaf(long addr, int shift, long leaf) {
    if (shift != Pgtable.PMD_SHIFT && shift != Pgtable.PUD_SHIFT) {
      throw new IllegalArgumentException(
          "huge leaves exist at PMD (shift 21) and PUD (shift 30) level, not shift " + shift);
    }
    Pgtable.checkUserAddress(addr, mode);
    if ((addr & ((1L << shift) - 1)) != 0) {
      throw new IllegalArgumentException(
          "0x" + Long.toHexString(addr) + " is not aligned to the " + Pgtable.levelName(shift, mode)
              + " size 0x" + Long.toHexString(1L << shift));
    }
    pageTableLock.lock();
    try {
      PgDir dir = root;
      while (dir.shift() > shift) {
        int i = dir.index(addr);
        if (dir.leaf(i) != 0) {
          throw new IllegalStateException(
              "0x" + Long.toHexString(addr) + " is already inside a huge leaf");
        }
        Object next = dir.next(i);
        if (next == null) {
          next = new PgDir(dir.shift() - 9);
          directories.incrementAndGet();
          dir.setNext(i, next);
        }
        dir = (PgDir) next;
      }
      int i = dir.index(addr);
      if (!dir.none(i)) {
        throw new IllegalStateException(
            "0x" + Long.toHexString(addr) + " is already mapped at " + dir.levelName(mode)
                + " level; unmap it before installing a huge leaf");
      }
      dir.setLeaf(i, Pte.mkhuge(leaf));
    } finally {
      pageTableLock.unlock();
    }
  }
}
