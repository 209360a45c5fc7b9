package dev.ptwalk.syscalls.taskmmu;

import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SHIFT;
import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SIZE;

import dev.ptwalk.annotations.CheckedWalker;
import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.Errno;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.TlbFlush;
import dev.ptwalk.runtime.mm.Folio;
import dev.ptwalk.runtime.mm.Memory;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.mm.VmFlags;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.runtime.walk.PteTableCursor;
import dev.ptwalk.syscalls.Syscalls;
import java.util.List;

/**
 * Writes to {@code /proc/PID/clear_refs}.
 *
 * <p>Mirrors {@code clear_refs_write} of {@code fs/proc/task_mmu.c}, with its walker: {@code
 * clear_refs_test_walk} and {@code clear_refs_pte_range}. The value is parsed as the kernel parses
 * it ({@code kstrtoint} in base 10 of at most {@link #PROC_NUMBUF} - 1 bytes, blanks stripped):
 *
 * <ul>
 *   <li>{@link #CLEAR_REFS_ALL}, {@link #CLEAR_REFS_ANON}, {@link #CLEAR_REFS_MAPPED}: the
 *       accessed bits of every page (of anonymous VMAs only, of file VMAs only) are cleared, with
 *       the walker generated from {@link TaskMmuLeaves#clearYoung} ({@code YOUNG}), and the pages'
 *       referenced flags;
 *   <li>{@link #CLEAR_REFS_SOFT_DIRTY}: with {@code CONFIG_MEM_SOFT_DIRTY}, the walker generated
 *       from {@link TaskMmuLeaves#clearSoftDirty} ({@code SOFT_DIRTY}) over each VMA; without it
 *       (this project's Linux 6.18 machines) the kernel still brackets, walks and flushes, but its
 *       {@code clear_soft_dirty} is empty: nothing changes;
 *   <li>{@link #CLEAR_REFS_MM_HIWATER_RSS}: the peak RSS is reset (not modelled: nothing to do).
 * </ul>
 */
public final class ClearRefs {
  private ClearRefs() {}

  /** {@code CLEAR_REFS_ALL}. */
  public static final int CLEAR_REFS_ALL = 1;
  /** {@code CLEAR_REFS_ANON}. */
  public static final int CLEAR_REFS_ANON = 2;
  /** {@code CLEAR_REFS_MAPPED}. */
  public static final int CLEAR_REFS_MAPPED = 3;
  /** {@code CLEAR_REFS_SOFT_DIRTY}. */
  public static final int CLEAR_REFS_SOFT_DIRTY = 4;
  /** {@code CLEAR_REFS_MM_HIWATER_RSS}. */
  public static final int CLEAR_REFS_MM_HIWATER_RSS = 5;
  /** {@code CLEAR_REFS_LAST}: one past the last type. */
  public static final int CLEAR_REFS_LAST = 6;
  /** {@code PROC_NUMBUF}: the buffer a write is copied into; one byte stays for the NUL. */
  public static final int PROC_NUMBUF = 13;

  /**
   * {@code clear_refs_write}: {@code write(2)} of {@code buf} to {@code /proc/PID/clear_refs} of
   * {@code mm}.
   *
   * @return the number of bytes taken (at most {@code PROC_NUMBUF - 1}); {@code -EINVAL} for a
   *     value that is not a decimal number or not a type, {@code -ERANGE} for one that does not
   *     fit an {@code int}
   */
  public static long clearRefsWrite(MmStruct mm, String buf) {
    int count = Math.min(buf.length(), PROC_NUMBUF - 1);
    long[] itype = new long[1];
    long rv = kstrtoint(strstrip(buf.substring(0, count)), itype);
    if (rv < 0) {
      return rv;
    }
    long type = itype[0];
    if (type < CLEAR_REFS_ALL || type >= CLEAR_REFS_LAST) {
      return Syscalls.err(Errno.EINVAL);
    }
    mm.mmapWriteLock();
    try {
      if (type == CLEAR_REFS_MM_HIWATER_RSS) {
        return count; // reset_mm_hiwater_rss: RSS is not modelled
      }
      if (type == CLEAR_REFS_SOFT_DIRTY) {
        if (mm.machine().softDirtyEnabled()) {
          clearSoftDirty(mm);
        } else {
          clearRefsNoSoftDirty(mm);
        }
        return count;
      }
      for (Vma vma : mm.vmas()) {
        if (clearRefsTestWalk(vma, (int) type)) {
          clearRefsYoung(vma);
        }
      }
      return count;
    } finally {
      mm.mmapWriteUnlock();
    }
  }

  /**
   * {@code clear_refs_test_walk}: {@code VM_PFNMAP} VMAs are skipped, and so are file VMAs for
   * {@link #CLEAR_REFS_ANON} and anonymous ones for {@link #CLEAR_REFS_MAPPED}.
   */
  private static boolean clearRefsTestWalk(Vma vma, int type) {
    if (vma.hasFlags(VmFlags.VM_PFNMAP)) {
      return false;
    }
    boolean file = vma.mapping() != null;
    if (type == CLEAR_REFS_ANON && file) {
      return false;
    }
    return !(type == CLEAR_REFS_MAPPED && !file);
  }

  /**
   * {@code clear_refs_pte_range} for the young types over one VMA: the generated {@code YOUNG}
   * walker clears each accessed bit ({@code ptep_test_and_clear_young}; no bracket, no flush);
   * then each page's folio loses its referenced flag ({@code folio_clear_referenced}).
   */
  private static void clearRefsYoung(Vma vma) {
    MmStruct mm = vma.mm();
    long pages = vma.pages();
    TaskMmuLeavesWalkers.clearRefsYoung(mm, vma.start(), vma.end(),
        new long[(int) ((pages + 63) >>> 6)], new DirtyWindow());
    PteTableCursor cursor = new PteTableCursor(vma, vma.start(), vma.end());
    for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
      pt.ptl().lock();
      try {
        for (long addr = Math.max(vma.start(), pt.start()); addr < Math.min(vma.end(), pt.end());
            addr += PAGE_SIZE) {
          Folio folio = Memory.vmNormalFolio(vma, pt.get(addr));
          if (folio != null) {
            folio.testClearReferenced();
          }
        }
      } finally {
        pt.ptl().unlock();
      }
    }
  }

  /**
   * {@code clear_refs_write} with {@code CLEAR_REFS_SOFT_DIRTY} and {@code CONFIG_MEM_SOFT_DIRTY}:
   * the generated {@code SOFT_DIRTY} walker over each VMA, which clears its {@code VM_SOFTDIRTY},
   * write-protects and cleans each soft-dirty PTE in a {@code SOFT_DIRTY} bracket and flushes the
   * mm. The kernel does it in one bracket over the whole address space; an MM walker has a range,
   * so here each VMA gets its own.
   */
  private static void clearSoftDirty(MmStruct mm) {
    List<Vma> vmas = mm.vmas();
    for (Vma vma : vmas) {
      long pages = (vma.end() - vma.start()) >>> PAGE_SHIFT;
      TaskMmuLeavesWalkers.clearRefsSoftDirty(mm, vma.start(), vma.end(),
          new long[(int) ((pages + 63) >>> 6)], new DirtyWindow());
    }
  }

  /**
   * {@code clear_refs_write} with {@code CLEAR_REFS_SOFT_DIRTY} on a kernel without {@code
   * CONFIG_MEM_SOFT_DIRTY}: {@code VM_SOFTDIRTY} is 0, so no VMA changes; the pending count, the
   * {@code SOFT_DIRTY} bracket over the whole address space and the final {@code flush_tlb_mm} are
   * there, around a walk whose {@code clear_soft_dirty} is empty. The caller holds the mmap write
   * lock.
   */
  @CheckedWalker
  static void clearRefsNoSoftDirty(MmStruct mm) {
    mm.incTlbFlushPending();
    try {
      MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.SOFT_DIRTY, 0, mm, 0, -1L);
      MmuNotifiers.invalidateRangeStart(range);
      MmuNotifiers.invalidateRangeEnd(range);
      TlbFlush.flushTlbMm(mm);
    } finally {
      mm.decTlbFlushPending();
    }
  }

  /** {@code strstrip}: without leading and trailing blanks ({@code isspace}). */
  static String strstrip(String s) {
    int from = 0;
    int to = s.length();
    while (from < to && isspace(s.charAt(from))) {
      from++;
    }
    while (to > from && isspace(s.charAt(to - 1))) {
      to--;
    }
    return s.substring(from, to);
  }

  private static boolean isspace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\u000b' || c == '\f' || c == '\r';
  }

  /**
   * {@code kstrtoint(s, 10, res)}: an optional {@code +} or {@code -}, then decimal digits, then
   * at most one newline, nothing else.
   *
   * @return 0 with {@code res[0]} set; {@code -EINVAL} for anything else; {@code -ERANGE} for a
   *     number that does not fit an {@code int}
   */
  static long kstrtoint(String s, long[] res) {
    boolean negative = s.startsWith("-");
    String digits = negative ? s.substring(1) : s.startsWith("+") ? s.substring(1) : s;
    if (negative && digits.startsWith("+")) {
      return Syscalls.err(Errno.EINVAL); // _kstrtoull takes no second sign
    }
    int i = 0;
    boolean overflow = false;
    long value = 0; // an unsigned 64-bit accumulator, as _parse_integer's
    while (i < digits.length() && digits.charAt(i) >= '0' && digits.charAt(i) <= '9') {
      int d = digits.charAt(i) - '0';
      if (Long.compareUnsigned(value, Long.divideUnsigned(-1L - d, 10)) > 0) {
        overflow = true;
      }
      value = value * 10 + d;
      i++;
    }
    if (i == 0) {
      return Syscalls.err(Errno.EINVAL);
    }
    if (overflow) {
      return Syscalls.err(Errno.ERANGE);
    }
    if (i < digits.length() && digits.charAt(i) == '\n') {
      i++;
    }
    if (i != digits.length()) {
      return Syscalls.err(Errno.EINVAL);
    }
    long ll;
    if (negative) {
      if (-value > 0) {
        return Syscalls.err(Errno.ERANGE); // (long long)-tmp > 0
      }
      ll = -value;
    } else {
      if (value < 0) {
        return Syscalls.err(Errno.ERANGE); // (long long)tmp < 0
      }
      ll = value;
    }
    if (ll != (int) ll) {
      return Syscalls.err(Errno.ERANGE);
    }
    res[0] = ll;
    return 0;
  }
}
