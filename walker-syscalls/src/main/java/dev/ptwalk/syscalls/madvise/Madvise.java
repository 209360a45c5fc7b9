package dev.ptwalk.syscalls.madvise;

import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SIZE;

import dev.ptwalk.annotations.CheckedWalker;
import dev.ptwalk.runtime.Errno;
import dev.ptwalk.runtime.mm.CpuFbatches;
import dev.ptwalk.runtime.mm.Folio;
import dev.ptwalk.runtime.mm.Memory;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.MmuGather;
import dev.ptwalk.runtime.mm.Reclaim;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.mm.VmFlags;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.runtime.walk.PteTableCursor;
import dev.ptwalk.syscalls.Syscalls;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code madvise(2)} with {@code MADV_DONTNEED}, {@code MADV_FREE} and {@code MADV_PAGEOUT}.
 *
 * <p>Mirrors {@code do_madvise} of {@code mm/madvise.c} with {@code check_input_range}, {@code
 * madvise_walk_vmas}, {@code madvise_dontneed_free} ({@code madvise_dontneed_single_vma}, {@code
 * madvise_free_single_vma}) and {@code madvise_pageout} ({@code
 * madvise_cold_or_pageout_pte_range}, {@code reclaim_pages}). The advice is applied to each VMA of
 * the range in address order; a gap in the range is remembered as {@code ENOMEM} and skipped; the
 * first VMA that refuses the advice stops the call with its error, the VMAs before it keeping
 * theirs.
 *
 * <ul>
 *   <li>{@code MADV_DONTNEED} zaps the range ({@link Memory#zapPageRangeSingleBatched}), in one
 *       {@code mmu_gather} for the whole call.
 *   <li>{@code MADV_FREE}, on private anonymous memory only ({@code EINVAL} elsewhere), drains this
 *       CPU's LRU batches and runs the walker ptwalk generates from {@link
 *       MadviseLeaves#clearYoungDirty} ({@code LAZYFREE}) over the VMA's part of the range. That
 *       walker gathers its own {@code mmu_gather} per call, where the kernel shares one over the
 *       call's VMAs.
 *   <li>{@code MADV_PAGEOUT} drains this CPU's LRU batches and reclaims every page of the range
 *       that only this process maps and that is on the LRU ({@link
 *       #madviseColdOrPageoutPteRange}, written by hand: it changes no PTE itself).
 * </ul>
 */
public final class Madvise {
  private Madvise() {}

  /** {@code MADV_DONTNEED}. */
  public static final int MADV_DONTNEED = 4;
  /** {@code MADV_FREE}. */
  public static final int MADV_FREE = 8;
  /** {@code MADV_COLD}: valid, not modelled. */
  public static final int MADV_COLD = 20;
  /** {@code MADV_PAGEOUT}. */
  public static final int MADV_PAGEOUT = 21;

  /**
   * {@code do_madvise} of {@code [start, start + lenIn)} in {@code mm} with {@code behavior},
   * which must be {@link #MADV_DONTNEED}, {@link #MADV_FREE} or {@link #MADV_PAGEOUT}.
   *
   * @return 0; {@code -EINVAL} for an unaligned start, a length that wraps, a VMA the advice does
   *     not apply to ({@code VM_PFNMAP} for all three, not private anonymous for {@code
   *     MADV_FREE}, {@code VM_HUGETLB} for {@code MADV_PAGEOUT}; {@code VM_LOCKED}, which the
   *     kernel refuses too, is not modelled: nothing can mlock); {@code -ENOMEM} when
   *     part of the range is not mapped (after applying the advice to the part that is)
   * @throws UnsupportedOperationException for any other advice
   */
  public static long doMadvise(MmStruct mm, long start, long lenIn, int behavior) {
    if (behavior != MADV_DONTNEED && behavior != MADV_FREE && behavior != MADV_PAGEOUT) {
      throw new UnsupportedOperationException("madvise advice " + behavior + " is not modelled;"
          + " use MADV_DONTNEED, MADV_FREE or MADV_PAGEOUT");
    }
    long error = checkInputRange(start, lenIn);
    if (error != 0 || lenIn == 0) {
      return error;
    }
    long end = start + ((lenIn + PAGE_SIZE - 1) & Pgtable.PAGE_MASK);
    mm.mmapReadLock();
    try {
      // madvise_init_tlb: MADV_DONTNEED batches its flush over every VMA of the call.
      MmuGather tlb = behavior == MADV_DONTNEED ? MmuGather.tlbGatherMmu(mm) : null;
      try {
        return madviseWalkVmas(mm, start, end, behavior, tlb);
      } finally {
        if (tlb != null) {
          tlb.tlbFinishMmu();
        }
      }
    } finally {
      mm.mmapReadUnlock();
    }
  }

  /**
   * {@code check_input_range}: {@code start} page aligned, and {@code start + len} rounded up to a
   * page neither wrapping nor rounding a huge length to 0.
   *
   * @return 0 or {@code -EINVAL}
   */
  static long checkInputRange(long start, long lenIn) {
    if ((start & (PAGE_SIZE - 1)) != 0) {
      return Syscalls.err(Errno.EINVAL);
    }
    long len = (lenIn + PAGE_SIZE - 1) & Pgtable.PAGE_MASK;
    if (lenIn != 0 && len == 0) {
      return Syscalls.err(Errno.EINVAL);
    }
    if (Long.compareUnsigned(start + len, start) < 0) {
      return Syscalls.err(Errno.EINVAL);
    }
    return 0;
  }

  /**
   * {@code madvise_walk_vmas}: the advice on each VMA's part of {@code [start, end)} in turn; a
   * gap before or between VMAs makes the result {@code ENOMEM} once the rest is done; an error of
   * a VMA ends the walk with it. The caller holds the mmap lock.
   */
  private static long madviseWalkVmas(MmStruct mm, long start, long end, int behavior,
      MmuGather tlb) {
    long unmappedError = 0;
    List<Vma> vmas = new ArrayList<>();
    mm.forEachVmaRange(start, end).forEach(vmas::add);
    long rangeStart = start;
    for (Vma vma : vmas) {
      if (rangeStart < vma.start()) {
        unmappedError = Syscalls.err(Errno.ENOMEM);
        rangeStart = vma.start();
      }
      long rangeEnd = Math.min(vma.end(), end);
      long error = madviseVmaBehavior(vma, rangeStart, rangeEnd, behavior, tlb);
      if (error != 0) {
        return error;
      }
      rangeStart = rangeEnd;
    }
    if (rangeStart < end) {
      unmappedError = Syscalls.err(Errno.ENOMEM);
    }
    return unmappedError;
  }

  /** {@code madvise_vma_behavior} for the three advices modelled. */
  private static long madviseVmaBehavior(Vma vma, long start, long end, int behavior,
      MmuGather tlb) {
    if (behavior == MADV_PAGEOUT) {
      return madvisePageout(vma, start, end);
    }
    return madviseDontneedFree(vma, start, end, behavior, tlb);
  }

  /**
   * {@code madvise_dontneed_free}: refused ({@code EINVAL}) on {@code VM_PFNMAP} VMAs ({@code
   * madvise_dontneed_free_valid_vma}; hugetlb is not modelled); then {@code
   * MADV_DONTNEED} zaps ({@code madvise_dontneed_single_vma}) and {@code MADV_FREE} frees lazily
   * ({@code madvise_free_single_vma}). No userfaultfd here asks for remove events ({@code
   * UFFD_FEATURE_EVENT_REMOVE}), so {@code userfaultfd_remove} has nothing to do.
   */
  private static long madviseDontneedFree(Vma vma, long start, long end, int behavior,
      MmuGather tlb) {
    if (vma.hasFlags(VmFlags.VM_PFNMAP)) {
      return Syscalls.err(Errno.EINVAL);
    }
    if (start == end) {
      return 0;
    }
    if (behavior == MADV_DONTNEED) {
      Memory.zapPageRangeSingleBatched(tlb, vma, start, end - start, true);
      return 0;
    }
    return madviseFreeSingleVma(vma, start, end);
  }

  /**
   * {@code madvise_free_single_vma}: {@code EINVAL} unless the VMA is private anonymous memory;
   * otherwise this CPU's LRU batches are drained ({@code lru_add_drain}) and the generated {@code
   * LAZYFREE} walker cleans and ages each present page of a folio only this process maps and marks
   * it lazyfree, leaving the zero page, markers and none PTEs alone.
   */
  private static long madviseFreeSingleVma(Vma vma, long start, long end) {
    if (!vma.isAnonymous()) {
      return Syscalls.err(Errno.EINVAL);
    }
    MmStruct mm = vma.mm();
    mm.machine().physMem().cpuFbatches().lruAddDrain();
    MadviseLeavesWalkers.madviseFreePteRange(mm, start, end);
    return 0;
  }

  /**
   * {@code madvise_pageout}: {@code EINVAL} on a {@code VM_PFNMAP} or {@code VM_HUGETLB} VMA
   * ({@code can_madv_lru_vma}); otherwise this CPU's LRU batches are drained and
   * {@link #madviseColdOrPageoutPteRange} reclaims the range in an {@code mmu_gather}. The process
   * owns every file it maps ({@code can_do_file_pageout}), so page-cache pages are paged out too.
   */
  private static long madvisePageout(Vma vma, long start, long end) {
    if ((vma.flags() & (VmFlags.VM_PFNMAP | VmFlags.VM_HUGETLB)) != 0) {
      return Syscalls.err(Errno.EINVAL);
    }
    MmStruct mm = vma.mm();
    mm.machine().physMem().cpuFbatches().lruAddDrain();
    MmuGather tlb = MmuGather.tlbGatherMmu(mm);
    try {
      tlb.tlbStartVma(vma);
      madviseColdOrPageoutPteRange(vma, start, end);
      tlb.tlbEndVma(vma);
    } finally {
      tlb.tlbFinishMmu();
    }
    return 0;
  }

  /**
   * {@code madvise_cold_or_pageout_pte_range} for {@code MADV_PAGEOUT}, one PTE table at a time:
   * under the table's ptl, each present PTE of a page that has a folio, is on the LRU and is
   * mapped by this PTE alone ({@code folio_mapcount} 1) loses its folio's referenced flag and is
   * isolated from the LRU; after the ptl is dropped, {@code reclaim_pages} reclaims what was
   * isolated ({@link Reclaim#reclaimPages}): a clean lazyfree page is discarded, a page-cache page
   * unmapped (a uffd-wp protected PTE leaving a marker), an ordinary anonymous page kept (no
   * swap). The PTEs change inside reclaim, each in its own bracket and flushed there.
   *
   * @return the number of folios isolated for reclaim
   */
  @CheckedWalker
  static long madviseColdOrPageoutPteRange(Vma vma, long start, long end) {
    CpuFbatches fbatches = vma.mm().machine().physMem().cpuFbatches();
    long isolated = 0;
    PteTableCursor cursor = new PteTableCursor(vma, start, end);
    for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
      List<Folio> folioList = new ArrayList<>();
      pt.ptl().lock();
      try {
        for (long addr = Math.max(start, pt.start()); addr < Math.min(end, pt.end());
            addr += PAGE_SIZE) {
          Folio folio = Memory.vmNormalFolio(vma, Pgtable.ptepGet(pt, addr));
          if (folio == null || !folio.lru() || folio.mapCount() != 1) {
            continue;
          }
          folio.testClearReferenced(); // folio_clear_referenced
          if (fbatches.folioIsolateLru(folio)) {
            folioList.add(folio);
          }
        }
      } finally {
        pt.ptl().unlock();
      }
      isolated += folioList.size();
      Reclaim.reclaimPages(folioList);
    }
    return isolated;
  }
}
