package dev.ptwalk.runtime.walk;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.debug.Bug;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.pgtable.PgDir;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;

/**
 * The PTE tables that map a range of one VMA, in address order, skipping empty upper levels.
 *
 * <p>Mirrors the descent of {@code mm/pagewalk.c} ({@code walk_pgd_range} down to {@code
 * walk_pmd_range}): a none entry at any level is skipped whole, so a walk costs in proportion to
 * the populated tables, not to the size of the range. A huge PMD or PUD leaf is never split: it is
 * skipped with a {@code WARN_ON} (as {@code wp_clean_pmd_entry} sets {@code ACTION_CONTINUE}),
 * counted in {@link #hugeLeavesSkipped()}. One cursor is allocated per VMA walk; stepping it
 * allocates nothing.
 *
 * <pre>{@code
 * for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
 *   long from = Math.max(start, pt.start()), to = Math.min(end, pt.end());
 *   pt.ptl().lock();  // pte_offset_map_lock
 *   try { for (long addr = from; addr < to; addr += PAGE_SIZE) { ... } }
 *   finally { pt.ptl().unlock(); }
 * }
 * }</pre>
 */
public final class PteTableCursor {
  private final Vma vma;
  private final long end;
  private final PgDir[] path = new PgDir[5];
  private final int top;
  private int level;
  private long addr;
  private long hugeSkipped;

  /**
   * A cursor over {@code [start, end)} of {@code vma}, both page aligned and inside it.
   *
   * @throws IllegalArgumentException if the range is unaligned, empty or outside the VMA
   */
  public PteTableCursor(Vma vma, long start, long end) {
    if ((start & ~Pgtable.PAGE_MASK) != 0 || (end & ~Pgtable.PAGE_MASK) != 0 || start >= end
        || start < vma.start() || end > vma.end()) {
      throw new IllegalArgumentException("walk range [0x" + Long.toHexString(start) + ", 0x"
          + Long.toHexString(end) + ") must be non-empty, page aligned and inside " + vma);
    }
    this.vma = vma;
    this.end = end;
    this.addr = start;
    PgDir root = vma.mm().pgd().root();
    this.top = (root.shift() - Pgtable.PMD_SHIFT) / 9;
    this.level = top;
    this.path[top] = root;
  }

  /** The next PTE table intersecting the range, or null when the range is done. */
  public PteTable next() {
    while (addr < end) {
      PgDir dir = path[level];
      int i = dir.index(addr);
      long entryEnd = (addr & ~(dir.entrySize() - 1)) + dir.entrySize();
      long leaf = dir.leaf(i);
      Object next = dir.next(i);
      if (leaf != 0) {
        hugeSkipped++;
        Bug.warnOn(vma.mm(), true, "huge " + dir.levelName(vma.mm().pgd().mode()) + " leaf at 0x"
            + Long.toHexString(addr & ~(dir.entrySize() - 1)) + " (" + Pte.toString(leaf)
            + ") skipped, never split: a dirty-tracking walk must not split huge pages");
      } else if (next instanceof PgDir) {
        level--;
        path[level] = (PgDir) next;
        continue;
      } else if (next instanceof PteTable) {
        advance(entryEnd);
        return (PteTable) next;
      }
      advance(entryEnd);
    }
    return null;
  }

  /** Huge leaves met and skipped so far. */
  public long hugeLeavesSkipped() {
    return hugeSkipped;
  }

  /** Move past the current entry, climbing while it was the last of its directory. */
  private void advance(long entryEnd) {
    addr = entryEnd;
    while (level < top && (addr & ((1L << path[level + 1].shift()) - 1)) == 0) {
      level++;
    }
  }
}
