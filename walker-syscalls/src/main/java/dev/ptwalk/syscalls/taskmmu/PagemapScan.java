package dev.ptwalk.syscalls.taskmmu;

import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SHIFT;
import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SIZE;
import static dev.ptwalk.runtime.pgtable.Pgtable.PMD_MASK;
import static dev.ptwalk.runtime.pgtable.Pgtable.PMD_SIZE;

import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.Errno;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.debug.Bug;
import dev.ptwalk.runtime.mm.Folio;
import dev.ptwalk.runtime.mm.Memory;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.mm.VmFlags;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.syscalls.Syscalls;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code ioctl(PAGEMAP_SCAN)} on {@code /proc/PID/pagemap}: report the pages of a range by
 * category, and write-protect the written ones for async userfaultfd ({@code
 * PM_SCAN_WP_MATCHING}).
 *
 * <p>Mirrors {@code do_pagemap_scan} of {@code fs/proc/task_mmu.c} with {@code
 * pagemap_scan_get_args}, {@code pagemap_scan_test_walk}, {@code pagemap_scan_pmd_entry} (its
 * exclusive write-protect path, its {@code WRITTEN} fast path and its generic path), {@code
 * pagemap_scan_pte_hole}, {@code pagemap_page_category}, {@code pagemap_scan_output}, {@code
 * pagemap_scan_push_range} and {@code pagemap_scan_flush_buffer}, on Linux 6.18 with the two July
 * 2026 fixes its machines run ("fix PAGEMAP_SCAN written state for unpopulated ptes": a none PTE
 * is {@code WRITTEN} in every VMA; "... for PMD holes": a hole is {@code WRITTEN} in a VMA
 * registered for uffd-wp). Its output vector is filled through the kernel's bounce buffer of
 * {@link #PAGEMAP_WALK_PAGES} regions, so ranges merge exactly as the kernel's do.
 *
 * <p>The write-protection is done by the walker ptwalk generates from {@link
 * TaskMmuLeaves#makeUffdWpPte} ({@code TaskMmuLeavesWalkers.pagemapScanWp}, of kind {@code
 * UFFD_WP}). The kernel decides page by page, under each PTE table's lock, which pages it reports
 * and protects, and protects them there; this scan makes the same decisions in its walk, which
 * only reads, and hands each run of pages to protect to the generated walker after the walk,
 * under the same mmap read lock, before any later page could be looked at again (the next round
 * of the loop after a full bounce buffer starts after them). Decisions do not depend on the
 * protection of other pages, so the outcome is the kernel's; what differs is the shape of the
 * work: the generated walker brackets and flushes each run it protects, where the kernel brackets
 * the whole remaining range once per round and flushes each PTE table.
 */
public final class PagemapScan {
  private PagemapScan() {}

  /** {@code PAGE_IS_WPALLOWED}: the VMA is registered for async uffd-wp, with markers. */
  public static final long PAGE_IS_WPALLOWED = 1L << 0;
  /** {@code PAGE_IS_WRITTEN}: not uffd-wp protected (written since protected, or never). */
  public static final long PAGE_IS_WRITTEN = 1L << 1;
  /** {@code PAGE_IS_FILE}: a page that is not anonymous (page cache, shared anonymous). */
  public static final long PAGE_IS_FILE = 1L << 2;
  /** {@code PAGE_IS_PRESENT}. */
  public static final long PAGE_IS_PRESENT = 1L << 3;
  /** {@code PAGE_IS_SWAPPED}: a swap entry or a PTE marker. */
  public static final long PAGE_IS_SWAPPED = 1L << 4;
  /** {@code PAGE_IS_PFNZERO}: the shared zero page. */
  public static final long PAGE_IS_PFNZERO = 1L << 5;
  /** {@code PAGE_IS_HUGE}: a huge page (never here: no THP). */
  public static final long PAGE_IS_HUGE = 1L << 6;
  /** {@code PAGE_IS_SOFT_DIRTY}: the PTE, or its VMA, is soft-dirty. */
  public static final long PAGE_IS_SOFT_DIRTY = 1L << 7;
  /** {@code PAGE_IS_GUARD}: a guard region (never here: no {@code MADV_GUARD_INSTALL}). */
  public static final long PAGE_IS_GUARD = 1L << 8;
  /** {@code PM_SCAN_CATEGORIES}: every category this kernel knows. */
  public static final long PM_SCAN_CATEGORIES = (1L << 9) - 1;
  /** The categories' names, bit 0 first, as the UAPI spells them without {@code PAGE_IS_}. */
  public static final List<String> CATEGORY_NAMES = List.of("WPALLOWED", "WRITTEN", "FILE",
      "PRESENT", "SWAPPED", "PFNZERO", "HUGE", "SOFT_DIRTY", "GUARD");

  /** {@code PM_SCAN_WP_MATCHING}: write-protect the pages reported written. */
  public static final long PM_SCAN_WP_MATCHING = 1L << 0;
  /** {@code PM_SCAN_CHECK_WPASYNC}: fail with {@code EPERM} on a VMA not registered for async uffd-wp. */
  public static final long PM_SCAN_CHECK_WPASYNC = 1L << 1;
  /** {@code PM_SCAN_FLAGS}. */
  public static final long PM_SCAN_FLAGS = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;

  /**
   * {@code PAGEMAP_WALK_SIZE >> PAGE_SHIFT}: the size of the kernel's bounce buffer of regions,
   * and of the chunks the output vector is filled in.
   */
  public static final int PAGEMAP_WALK_PAGES = (int) (PMD_SIZE >>> PAGE_SHIFT);

  /** One slot of the bounce buffer ({@code struct page_region}, filled in place). */
  private static final class Region {
    long start;
    long end;
    long categories;
  }

  /** {@code struct pagemap_scan_private}, with the runs to protect after each walk. */
  private static final class Scan {
    final MmStruct mm;
    final PmScanArg arg;
    long masksOfInterest;
    long curVmaCategory;
    Region[] vecBuf;
    int vecBufLen;
    int vecBufIndex;
    long foundPages;
    int vecOut;
    /** {@code [start, end)} pairs to write-protect, in address order, adjacent ones merged. */
    final List<long[]> toProtect = new ArrayList<>();

    Scan(MmStruct mm, PmScanArg arg) {
      this.mm = mm;
      this.arg = arg;
    }
  }

  /**
   * {@code do_pagemap_scan}: check the arguments, then walk {@code [arg.start, arg.end)} in rounds
   * under the mmap read lock, each filling the bounce buffer and copying it to {@code arg.vec},
   * until the walk ends, an error stops it, or the vector or {@code max_pages} is used up; {@code
   * arg.walkEnd} is then written back (where the walk stopped, or {@code arg.end}).
   *
   * @return the number of regions written to {@code arg.vec}; or {@code -EINVAL} for bad
   *     arguments ({@code arg.walkEnd} untouched), {@code -EFAULT} for a range or vector the
   *     process cannot address, {@code -EPERM} when {@code PM_SCAN_CHECK_WPASYNC} meets a VMA not
   *     registered for async uffd-wp (with {@code arg.walkEnd} written back)
   */
  public static long doPagemapScan(MmStruct mm, PmScanArg arg) {
    long ret = pagemapScanGetArgs(mm, arg);
    if (ret != 0) {
      return ret;
    }
    Scan p = new Scan(mm, arg);
    p.masksOfInterest = arg.categoryMask | arg.categoryAnyofMask | arg.returnMask;
    pagemapScanInitBounceBuffer(p);
    long nRangesOut = 0;
    for (long walkStart = arg.start; Long.compareUnsigned(walkStart, arg.end) < 0;
        walkStart = arg.walkEnd) {
      mm.mmapReadLock();
      try {
        ret = walkPageRange(p, walkStart, arg.end);
        protectWritten(p);
      } finally {
        mm.mmapReadUnlock();
      }
      nRangesOut += pagemapScanFlushBuffer(p);
      if (ret != Syscalls.err(Errno.ENOSPC)) {
        break;
      }
      if (arg.vecLen == 0 || p.foundPages == arg.maxPages) {
        break;
      }
    }
    // ENOSPC only says the walk stopped early (buffer or max_pages full).
    if (ret == 0 || ret == Syscalls.err(Errno.ENOSPC)) {
      ret = nRangesOut;
    }
    if (arg.walkEnd == 0) {
      arg.walkEnd = arg.end;
    }
    return ret;
  }

  /**
   * {@code pagemap_scan_get_args}: the size, the flags and category masks (no unknown bit), a
   * page-aligned start, a range and vector the process can address, no vector length without a
   * vector; then {@code end} is rounded up to a page, {@code walk_end} reset to 0 and a {@code
   * max_pages} of 0 means no limit.
   */
  static long pagemapScanGetArgs(MmStruct mm, PmScanArg arg) {
    if (arg.size != PmScanArg.SIZEOF) {
      return Syscalls.err(Errno.EINVAL);
    }
    if ((arg.flags & ~PM_SCAN_FLAGS) != 0) {
      return Syscalls.err(Errno.EINVAL);
    }
    if (((arg.categoryInverted | arg.categoryMask | arg.categoryAnyofMask | arg.returnMask)
        & ~PM_SCAN_CATEGORIES) != 0) {
      return Syscalls.err(Errno.EINVAL);
    }
    if ((arg.start & (PAGE_SIZE - 1)) != 0) {
      return Syscalls.err(Errno.EINVAL);
    }
    if (!accessOk(mm, arg.start, arg.end - arg.start)) {
      return Syscalls.err(Errno.EFAULT);
    }
    if (arg.vec == null && arg.vecLen != 0) {
      return Syscalls.err(Errno.EINVAL);
    }
    if (arg.vec != null && Long.compareUnsigned(arg.vecLen, arg.vec.length) > 0) {
      return Syscalls.err(Errno.EFAULT); // access_ok of vec_len regions
    }
    arg.end = (arg.end + PAGE_SIZE - 1) & Pgtable.PAGE_MASK;
    arg.walkEnd = 0;
    if (arg.maxPages == 0) {
      arg.maxPages = -1L; // ULONG_MAX
    }
    return 0;
  }

  /** x86's {@code access_ok}: {@code [addr, addr + size)} lies in user space, without wrapping. */
  private static boolean accessOk(MmStruct mm, long addr, long size) {
    long sum = addr + size;
    return Long.compareUnsigned(sum, mm.taskSize()) <= 0 && Long.compareUnsigned(sum, addr) >= 0;
  }

  /**
   * {@code pagemap_scan_init_bounce_buffer}: with a vector, a buffer of {@code min(512,
   * vec_len)} regions, the first empty.
   */
  private static void pagemapScanInitBounceBuffer(Scan p) {
    if (p.arg.vecLen == 0) {
      return;
    }
    p.vecBufLen = (int) Math.min(PAGEMAP_WALK_PAGES, p.arg.vecLen);
    p.vecBuf = new Region[p.vecBufLen];
    for (int i = 0; i < p.vecBufLen; i++) {
      p.vecBuf[i] = new Region();
    }
  }

  /**
   * {@code pagemap_scan_flush_buffer}: copy the regions gathered (the last one only if not empty)
   * to the vector, shrink what is left of it, and empty the buffer.
   *
   * @return the number of regions copied
   */
  private static long pagemapScanFlushBuffer(Scan p) {
    if (p.vecBuf == null) {
      return 0;
    }
    int n = p.vecBufIndex;
    if (p.vecBuf[n].end != p.vecBuf[n].start) {
      n++;
    }
    if (n == 0) {
      return 0;
    }
    for (int i = 0; i < n; i++) {
      Region r = p.vecBuf[i];
      p.arg.vec[p.vecOut + i] = new PageRegion(r.start, r.end, r.categories);
    }
    p.arg.vecLen -= n;
    p.vecOut += n;
    p.vecBufIndex = 0;
    p.vecBufLen = (int) Math.min(p.vecBufLen, p.arg.vecLen);
    p.vecBuf[0].start = 0;
    p.vecBuf[0].end = 0;
    return n;
  }

  /**
   * {@code walk_page_range} with {@code pagemap_scan_ops}: each VMA of {@code [start, end)} is
   * offered to {@link #pagemapScanTestWalk}, then walked table by table: a missing PTE table is a
   * hole ({@link #pagemapScanPteHole}), an existing one goes to {@link #pagemapScanPmdEntry}.
   * Gaps between VMAs report nothing. The first non-zero return stops the walk.
   */
  private static long walkPageRange(Scan p, long start, long end) {
    List<Vma> vmas = new ArrayList<>();
    p.mm.forEachVmaRange(start, end).forEach(vmas::add);
    long addr = start;
    for (Vma vma : vmas) {
      addr = Math.max(addr, vma.start());
      long next = Math.min(end, vma.end());
      long test = pagemapScanTestWalk(p, vma);
      if (test > 0) {
        addr = next;
        continue;
      }
      if (test < 0) {
        return test;
      }
      for (long pmdAddr = addr, pmdNext; pmdAddr < next; pmdAddr = pmdNext) {
        pmdNext = Math.min((pmdAddr & PMD_MASK) + PMD_SIZE, next);
        PteTable pt = p.mm.pgd().pteOffset(pmdAddr);
        long ret = pt == null ? pagemapScanPteHole(p, vma, pmdAddr, pmdNext)
            : pagemapScanPmdEntry(p, vma, pt, pmdAddr, pmdNext);
        if (ret != 0) {
          return ret;
        }
      }
      addr = next;
    }
    return 0;
  }

  /**
   * {@code pagemap_scan_test_walk}: a VMA that async uffd-wp cannot protect ({@code
   * userfaultfd_wp_async} and {@code userfaultfd_wp_use_markers}) fails the scan with {@code
   * EPERM} under {@code PM_SCAN_CHECK_WPASYNC} and is skipped under {@code PM_SCAN_WP_MATCHING};
   * a {@code VM_PFNMAP} VMA is skipped; so is one whose {@code WPALLOWED} category the masks
   * exclude. Otherwise it is walked with its VMA categories.
   *
   * @return 0 to walk, 1 to skip, {@code -EPERM} to fail
   */
  private static long pagemapScanTestWalk(Scan p, Vma vma) {
    boolean wpAllowed = vma.userfaultfdWpAsync() && vma.userfaultfdWpUseMarkers();
    if (!wpAllowed) {
      if ((p.arg.flags & PM_SCAN_CHECK_WPASYNC) != 0) {
        return Syscalls.err(Errno.EPERM);
      }
      if ((p.arg.flags & PM_SCAN_WP_MATCHING) != 0) {
        return 1;
      }
    }
    if (vma.hasFlags(VmFlags.VM_PFNMAP)) {
      return 1;
    }
    long vmaCategory = 0;
    if (wpAllowed) {
      vmaCategory |= PAGE_IS_WPALLOWED;
    }
    if (vma.hasFlags(VmFlags.VM_SOFTDIRTY)) {
      vmaCategory |= PAGE_IS_SOFT_DIRTY;
    }
    if (!pagemapScanIsInterestingVma(vmaCategory, p)) {
      return 1;
    }
    p.curVmaCategory = vmaCategory;
    return 0;
  }

  /** {@code pagemap_scan_is_interesting_vma}: the masks do not exclude the VMA's {@code WPALLOWED}. */
  private static boolean pagemapScanIsInterestingVma(long categories, Scan p) {
    long required = p.arg.categoryMask & PAGE_IS_WPALLOWED;
    categories ^= p.arg.categoryInverted;
    return (categories & required) == required;
  }

  /**
   * {@code pagemap_scan_is_interesting_page}: after inverting {@code category_inverted}, the page
   * has every category of {@code category_mask} and, if {@code category_anyof_mask} is set, one of
   * it.
   */
  private static boolean pagemapScanIsInterestingPage(long categories, Scan p) {
    categories ^= p.arg.categoryInverted;
    if ((categories & p.arg.categoryMask) != p.arg.categoryMask) {
      return false;
    }
    return p.arg.categoryAnyofMask == 0 || (categories & p.arg.categoryAnyofMask) != 0;
  }

  /**
   * {@code pagemap_page_category} with the July 2026 fix: a none PTE is {@code WRITTEN}; a present
   * one is {@code PRESENT}, {@code WRITTEN} unless uffd-wp, {@code FILE} when it maps a page that
   * is not anonymous (looked at only when a mask asks for {@code FILE}), {@code PFNZERO} for the
   * zero page, {@code SOFT_DIRTY} when soft-dirty; a marker is {@code SWAPPED}, {@code WRITTEN}
   * unless it carries uffd-wp (the runtime has no swap entries and no guard markers).
   */
  private static long pagemapPageCategory(Scan p, Vma vma, long pte) {
    if (Pte.none(pte)) {
      return PAGE_IS_WRITTEN;
    }
    long categories;
    if (Pte.present(pte)) {
      categories = PAGE_IS_PRESENT;
      if (!Pte.uffdWp(pte)) {
        categories |= PAGE_IS_WRITTEN;
      }
      if ((p.masksOfInterest & PAGE_IS_FILE) != 0) {
        Folio folio = Memory.vmNormalFolio(vma, pte);
        if (folio != null && !folio.anon()) {
          categories |= PAGE_IS_FILE;
        }
      }
      if (vma.mm().machine().physMem().isZeroPfn(Pte.pfn(pte))) {
        categories |= PAGE_IS_PFNZERO;
      }
      if (Pte.softDirty(pte)) {
        categories |= PAGE_IS_SOFT_DIRTY;
      }
    } else {
      categories = PAGE_IS_SWAPPED;
      if (!Pte.swpUffdWpAny(pte)) {
        categories |= PAGE_IS_WRITTEN;
      }
    }
    return categories;
  }

  /**
   * {@code pagemap_scan_pmd_entry} over {@code [start, end)} of one PTE table, under its ptl, by
   * the first of its three paths that applies:
   *
   * <ol>
   *   <li>write-protect with no output vector (the exclusive path): every PTE not yet protected is
   *       to be protected, whatever the masks and {@code max_pages} say;
   *   <li>{@code category_mask == return_mask == WRITTEN} and no other mask (the fast path): every
   *       PTE not protected is reported {@code WRITTEN}, and protected under {@code
   *       PM_SCAN_WP_MATCHING};
   *   <li>otherwise each page's categories are computed and matched; a page reported and {@code
   *       WRITTEN} is protected under {@code PM_SCAN_WP_MATCHING}.
   * </ol>
   *
   * @return 0, or {@code -ENOSPC} when the output is full (the page that did not fit ends the walk)
   */
  private static long pagemapScanPmdEntry(Scan p, Vma vma, PteTable pt, long start, long end) {
    boolean wp = (p.arg.flags & PM_SCAN_WP_MATCHING) != 0;
    long ret = 0;
    pt.ptl().lock();
    try {
      if (wp && p.vecBuf == null) {
        for (long addr = start; addr != end; addr += PAGE_SIZE) {
          if (!uffdProtected(Pgtable.ptepGet(pt, addr))) {
            protect(p, addr, addr + PAGE_SIZE);
          }
        }
        return 0;
      }
      if (p.arg.categoryAnyofMask == 0 && p.arg.categoryInverted == 0
          && p.arg.categoryMask == PAGE_IS_WRITTEN && p.arg.returnMask == PAGE_IS_WRITTEN) {
        for (long addr = start; addr < end; addr += PAGE_SIZE) {
          if (uffdProtected(Pgtable.ptepGet(pt, addr))) {
            continue;
          }
          long[] next = {addr + PAGE_SIZE};
          ret = pagemapScanOutput(p.curVmaCategory | PAGE_IS_WRITTEN, p, addr, next);
          if (next[0] == addr) {
            break;
          }
          if (wp) {
            protect(p, addr, next[0]);
          }
        }
        return ret;
      }
      for (long addr = start; addr != end; addr += PAGE_SIZE) {
        long categories = p.curVmaCategory | pagemapPageCategory(p, vma, Pgtable.ptepGet(pt, addr));
        if (!pagemapScanIsInterestingPage(categories, p)) {
          continue;
        }
        long[] next = {addr + PAGE_SIZE};
        ret = pagemapScanOutput(categories, p, addr, next);
        if (next[0] == addr) {
          break;
        }
        if (wp && (categories & PAGE_IS_WRITTEN) != 0) {
          protect(p, addr, next[0]);
        }
      }
      return ret;
    } finally {
      pt.ptl().unlock();
    }
  }

  /**
   * {@code pagemap_scan_pte_hole} with the July 2026 fix: a range of a VMA with no PTE table has
   * the VMA's categories, plus {@code WRITTEN} when the VMA is registered for uffd-wp (not
   * hugetlb); if those match, it is reported and, under {@code PM_SCAN_WP_MATCHING}, protected
   * ({@code uffd_wp_range}: tables allocated, markers installed), as far as the output took it.
   */
  private static long pagemapScanPteHole(Scan p, Vma vma, long addr, long end) {
    long categories = p.curVmaCategory;
    if (vma.userfaultfdWp() && !vma.hasFlags(VmFlags.VM_HUGETLB)) {
      categories |= PAGE_IS_WRITTEN;
    }
    if (!pagemapScanIsInterestingPage(categories, p)) {
      return 0;
    }
    long[] next = {end};
    long ret = pagemapScanOutput(categories, p, addr, next);
    if (addr == next[0]) {
      return ret;
    }
    if ((p.arg.flags & PM_SCAN_WP_MATCHING) == 0) {
      return ret;
    }
    protect(p, addr, next[0]);
    return ret;
  }

  /**
   * {@code pagemap_scan_output}: report {@code [addr, end[0])} with {@code categories & return_mask},
   * cutting it at {@code max_pages}; when it is cut, or no slot is left for it ({@code end[0]}
   * becomes {@code addr}), {@code walk_end} is set to where it ends and {@code -ENOSPC} returned.
   * Without an output vector nothing is reported and nothing limits the walk.
   */
  private static long pagemapScanOutput(long categories, Scan p, long addr, long[] end) {
    if (p.vecBuf == null) {
      return 0;
    }
    categories &= p.arg.returnMask;
    long nPages = (end[0] - addr) >>> PAGE_SHIFT;
    long totalPages = p.foundPages + nPages;
    long ret = 0;
    boolean overflow = Long.compareUnsigned(totalPages, p.foundPages) < 0;
    if (overflow || Long.compareUnsigned(totalPages, p.arg.maxPages) > 0) {
      long nTooMuch = totalPages - p.arg.maxPages;
      end[0] -= nTooMuch << PAGE_SHIFT;
      nPages -= nTooMuch;
      ret = Syscalls.err(Errno.ENOSPC);
    }
    if (!pagemapScanPushRange(categories, p, addr, end[0])) {
      end[0] = addr;
      nPages = 0;
      ret = Syscalls.err(Errno.ENOSPC);
    }
    p.foundPages += nPages;
    if (ret != 0) {
      p.arg.walkEnd = end[0];
    }
    return ret;
  }

  /**
   * {@code pagemap_scan_push_range}: extend the current region when {@code [addr, end)} follows it
   * with the same categories, else start the next one; false when the buffer has no slot left.
   */
  private static boolean pagemapScanPushRange(long categories, Scan p, long addr, long end) {
    Region cur = p.vecBuf[p.vecBufIndex];
    // Without a region yet, end is 0: no address matches it.
    if (addr == cur.end && categories == cur.categories) {
      cur.end = end;
      return true;
    }
    if (cur.end != 0) {
      if (p.vecBufIndex >= p.vecBufLen - 1) {
        return false;
      }
      cur = p.vecBuf[++p.vecBufIndex];
    }
    cur.start = addr;
    cur.end = end;
    cur.categories = categories;
    return true;
  }

  /** Whether a PTE is uffd-wp protected: a present PTE with the bit, or a marker that has it. */
  private static boolean uffdProtected(long pte) {
    return (Pte.present(pte) && Pte.uffdWp(pte)) || Pte.swpUffdWpAny(pte);
  }

  /** Queue {@code [start, end)} for write-protection, merging it with the run before. */
  private static void protect(Scan p, long start, long end) {
    if (!p.toProtect.isEmpty()) {
      long[] last = p.toProtect.get(p.toProtect.size() - 1);
      if (last[1] == start) {
        last[1] = end;
        return;
      }
    }
    p.toProtect.add(new long[] {start, end});
  }

  /**
   * {@code make_uffd_wp_pte} and {@code uffd_wp_range} for the pages the walk chose: each run goes
   * to {@link #protectRun}.
   */
  private static void protectWritten(Scan p) {
    for (long[] run : p.toProtect) {
      protectRun(p.mm, run[0], run[1]);
    }
    p.toProtect.clear();
  }

  /**
   * Write-protect {@code [start, end)} with the generated {@code UFFD_WP} walker, which must
   * change every page of it: each was reported written, so unprotected. A page it left alone
   * means the walk and the walker disagree on a page's state, a bug; it is warned about ({@code
   * WARN_ON}).
   *
   * @return the number of pages the walker protected
   */
  static long protectRun(MmStruct mm, long start, long end) {
    long pages = (end - start) >>> PAGE_SHIFT;
    long[] bitmap = new long[(int) ((pages + 63) >>> 6)];
    long protectedPages = TaskMmuLeavesWalkers.pagemapScanWp(mm, start, end, bitmap,
        new DirtyWindow());
    Bug.warn(mm, protectedPages != pages, "PAGEMAP_SCAN protected %s", protectedPages + " of "
        + pages + " written pages at 0x" + Long.toHexString(start));
    return protectedPages;
  }
}
