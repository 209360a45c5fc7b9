package dev.ptwalk.runtime.walk;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.check.NeverThrows;
import dev.ptwalk.runtime.debug.Bug;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.pgtable.PgDir;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;

/**
 * The PTE tables that map a range of one VMA, in address order, skipping empty upper levels.
 *
 * <p>Mirrors the descent of {@code mm/pagewalk.c} ({@code walk_pgd_range} down to {@code
 * walk_pmd_range}): a none entry at any level is skipped whole, so a walk costs in proportion to
 * the populated tables, not to the size of the range. Each directory's population summary
 * ({@link PgDir#nextPopulated}) takes the descent from one populated entry straight to the next,
 * so the empty entries of a populated directory cost nothing either. A huge PMD or PUD leaf is
 * never split: it is skipped with a {@code WARN_ON} (as {@code wp_clean_pmd_entry} sets {@code
 * ACTION_CONTINUE}).
 *
 * <p>Generated walkers step with the two static methods, which keep no state between tables and
 * allocate nothing:
 *
 * <pre>{@code
 * for (PteTable pt = PteTableCursor.first(vma, start, end); pt != null;
 *     pt = PteTableCursor.next(vma, pt, end)) {
 *   long from = Math.max(start, pt.start()), to = Math.min(end, pt.end());
 *   pt.ptl().lock();  // pte_offset_map_lock
 *   try { ... } finally { pt.ptl().unlock(); }
 * }
 * }</pre>
 *
 * <p>A cursor object ({@code new PteTableCursor(vma, start, end)}, then {@link #next()}) walks
 * the same tables and also counts the huge leaves it skipped ({@link #hugeLeavesSkipped()}).
 */
public final class PteTableCursor {
  private final Vma vma;
  private final long end;
  private long addr;
  private long hugeSkipped;

  /**
   * A cursor over {@code [start, end)} of {@code vma}, both page aligned and inside it.
   *
   * @throws IllegalArgumentException if the range is unaligned, empty or outside the VMA
   */
  public PteTableCursor(Vma vma, long start, long end) {
    checkRange(vma, start, end);
    this.vma = vma;
    this.end = end;
    this.addr = start;
  }

  /** The next PTE table intersecting the range, or null when the range is done. */
  public PteTable next() {
    if (addr >= end) {
      return null;
    }
    PteTable pt = find(vma, addr, end, this);
    addr = pt == null ? end : pt.end();
    return pt;
  }

  /** Huge leaves met and skipped so far. */
  public long hugeLeavesSkipped() {
    return hugeSkipped;
  }

  /**
   * The first PTE table that maps part of {@code [start, end)} of {@code vma}, or null when none
   * does; both page aligned and inside the VMA. Huge leaves on the way are skipped with a warning.
   *
   * @throws IllegalArgumentException if the range is unaligned, empty or outside the VMA
   */
  public static PteTable first(Vma vma, long start, long end) {
    checkRange(vma, start, end);
    return find(vma, start, end, null);
  }

  /**
   * The PTE table after {@code pt} that maps part of {@code [pt.end(), end)} of {@code vma}, or
   * null when none does. {@code pt} is the table {@link #first} or this method returned for the
   * same range.
   */
  @NeverThrows
  public static PteTable next(Vma vma, PteTable pt, long end) {
    long from = pt.end();
    return from < end ? find(vma, from, end, null) : null;
  }

  private static void checkRange(Vma vma, long start, long end) {
    if ((start & ~Pgtable.PAGE_MASK) != 0 || (end & ~Pgtable.PAGE_MASK) != 0 || start >= end
        || start < vma.start() || end > vma.end()) {
      throw new IllegalArgumentException("walk range [0x" + Long.toHexString(start) + ", 0x"
          + Long.toHexString(end) + ") must be non-empty, page aligned and inside " + vma);
    }
  }

  /** The first PTE table mapping part of {@code [addr, end)}, from the root of vma's mm. */
  private static PteTable find(Vma vma, long addr, long end, PteTableCursor counter) {
    return find(vma.mm().pgd().root(), addr, end, vma.mm(), counter);
  }

  /**
   * One level of {@code walk_pgd_range} .. {@code walk_pmd_range}: the populated entries of
   * {@code dir} from the one covering {@code addr}, descending into directories, until a PTE
   * table or the end of the range. {@code addr} lies in {@code dir}'s span.
   */
  private static PteTable find(PgDir dir, long addr, long end, MmStruct mm,
      PteTableCursor counter) {
    int shift = dir.shift();
    long base = addr & -(1L << shift << 9);
    for (int i = dir.nextPopulated(dir.index(addr)); i < Pgtable.PTRS_PER_PTE;
        i = dir.nextPopulated(i + 1)) {
      long entryStart = base + ((long) i << shift);
      if (entryStart >= end) {
        return null;
      }
      Object next = dir.next(i);
      if (next instanceof PteTable) {
        return (PteTable) next;
      }
      if (next instanceof PgDir) {
        PteTable pt = find((PgDir) next, Math.max(addr, entryStart), end, mm, counter);
        if (pt != null) {
          return pt;
        }
        continue;
      }
      long leaf = dir.leaf(i);
      if (leaf != 0) {
        if (counter != null) {
          counter.hugeSkipped++;
        }
        Bug.warnOn(mm, true, "huge " + dir.levelName(mm.pgd().mode()) + " leaf at 0x"
            + Long.toHexString(entryStart) + " (" + Pte.toString(leaf) + ") skipped, never split:"
            + " a dirty-tracking walk must not split huge pages");
      }
    }
    return null;
  }
}
