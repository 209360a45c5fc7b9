package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.check.FlushesTlb;
import dev.ptwalk.runtime.check.NeverThrows;
import dev.ptwalk.runtime.check.TlbFlushPendingDec;
import dev.ptwalk.runtime.check.TlbFlushPendingInc;
import dev.ptwalk.runtime.cpu.CacheFlush;
import dev.ptwalk.runtime.cpu.TlbFlush;
import dev.ptwalk.runtime.pgtable.Pgtable;
import java.util.ArrayList;
import java.util.List;

/**
 * A batch of PTE changes of one mm whose TLB flush, and the freeing of the pages they unmapped,
 * is deferred to one flush at the end.
 *
 * <p>Mirrors {@code struct mmu_gather} with {@code mm/mmu_gather.c}, {@code
 * include/asm-generic/tlb.h} and {@code arch/x86/include/asm/tlb.h}, as x86-64 builds them. What
 * flushes when, on x86:
 *
 * <ul>
 *   <li>{@link #tlbGatherMmu}: {@code inc_tlb_flush_pending}, for the whole batch, so a
 *       concurrent batch on the mm can tell its flush is nested; the gathered range is empty.
 *   <li>{@link #tlbStartVma}: {@code flush_cache_range} over the VMA (a no-op on x86); nothing
 *       else.
 *   <li>{@link #tlbRemoveTlbEntry}: widens the gathered range by the page ({@code
 *       tlb_flush_pte_range}); flushes nothing.
 *   <li>{@link #tlbEndVma}: nothing. x86 selects {@code CONFIG_MMU_GATHER_MERGE_VMAS} (as does
 *       this machine's kernel), so {@code tlb_end_vma} returns at once and the ranges of every VMA
 *       of the batch merge into one flush; on an architecture without it, it would flush the
 *       gathered range here.
 *   <li>{@link #tlbFinishMmu}: when {@code mm_tlb_flush_nested} (another batch is pending too,
 *       so PTEs it changed may have looked unchanged to this one and been skipped), the whole mm
 *       is flushed ({@code fullmm} and {@code freed_tables} forced, {@code flush_tlb_mm}); else
 *       the gathered range, if any PTE was gathered ({@code flush_tlb_mm_range}). Then the pages
 *       the batch unmapped are freed, and {@code dec_tlb_flush_pending}.
 * </ul>
 *
 * <p>The nested branch is 99baac21e458 ("mm: fix MADV_[FREE|DONTNEED] TLB flush miss problem"):
 * two concurrent {@code MADV_FREE}s, the second finds a PTE the first already cleaned, gathers
 * nothing and flushes nothing, and a CPU keeps writing through a stale writable, dirty TLB entry
 * that no PTE records, so reclaim discards the write. That fix flushed the batch's whole range;
 * the kernel now flushes the whole mm (7a30df49f63a's {@code fullmm}). An {@code mmu_gather} is
 * one caller's, on its stack: not thread-safe.
 */
public final class MmuGather {
  private final MmStruct mm;
  private boolean fullmm;
  private long start;
  private long end;
  private boolean clearedPtes;
  private boolean freedTables;
  private Vma vma;
  private final List<Folio> pages = new ArrayList<>();
  private boolean finished;

  private MmuGather(MmStruct mm, boolean fullmm) {
    this.mm = mm;
    this.fullmm = fullmm;
    resetRange();
  }

  /**
   * {@code tlb_gather_mmu}: start a batch of PTE changes of {@code mm}; {@code
   * inc_tlb_flush_pending} until {@link #tlbFinishMmu}.
   */
  @TlbFlushPendingInc
  public static MmuGather tlbGatherMmu(MmStruct mm) {
    MmuGather tlb = new MmuGather(mm, false);
    mm.incTlbFlushPending();
    return tlb;
  }

  /**
   * {@code tlb_gather_mmu_fullmm}: a batch that tears down the whole address space ({@code
   * exit_mmap}): no per-VMA work, one flush of the whole mm at the end.
   */
  @TlbFlushPendingInc
  public static MmuGather tlbGatherMmuFullmm(MmStruct mm) {
    MmuGather tlb = new MmuGather(mm, true);
    mm.incTlbFlushPending();
    return tlb;
  }

  /** {@code tlb->mm}. */
  @NeverThrows
  public MmStruct mm() {
    return mm;
  }

  /** {@code tlb->fullmm}: the whole mm will be flushed. */
  @NeverThrows
  public boolean fullmm() {
    return fullmm;
  }

  /** {@code tlb->start}: first byte of the gathered range ({@code TASK_SIZE} when empty). */
  @NeverThrows
  public long gatheredStart() {
    return start;
  }

  /** {@code tlb->end}: one past the gathered range (0 when empty). */
  @NeverThrows
  public long gatheredEnd() {
    return end;
  }

  /**
   * {@code tlb_start_vma}: unless {@code fullmm}, note the VMA ({@code tlb_update_vma_flags}) and
   * {@code flush_cache_range} over all of it (a no-op on x86, still recorded).
   */
  public void tlbStartVma(Vma vma) {
    checkOpen();
    if (vma.mm() != mm) {
      throw new IllegalArgumentException(vma + " is not a VMA of " + mm);
    }
    if (fullmm) {
      return;
    }
    this.vma = vma;
    CacheFlush.flushCacheRange(vma, vma.start(), vma.end());
  }

  /**
   * {@code tlb_remove_tlb_entry}: the PTE of the page at {@code addr} changed in a way a TLB may
   * hold; widen the gathered range over it ({@code tlb_flush_pte_range}). Nothing is flushed now.
   *
   * @throws IllegalStateException before {@link #tlbStartVma} (unless {@code fullmm})
   */
  public void tlbRemoveTlbEntry(long addr) {
    checkOpen();
    if (!fullmm && vma == null) {
      throw new IllegalStateException("tlbRemoveTlbEntry(0x" + Long.toHexString(addr) + ") before"
          + " tlbStartVma: start the VMA first");
    }
    long page = addr & Pgtable.PAGE_MASK;
    if (!fullmm) {
      start = Math.min(start, page);
      end = Math.max(end, page + Pgtable.PAGE_SIZE);
    }
    clearedPtes = true;
  }

  /**
   * {@code tlb_end_vma}: nothing on x86, which selects {@code CONFIG_MMU_GATHER_MERGE_VMAS}: the
   * gathered range stays pending across VMAs until {@link #tlbFinishMmu}. It does not flush, so
   * it carries no {@code @FlushesTlb} mark.
   */
  public void tlbEndVma(Vma vma) {
    checkOpen();
  }

  /**
   * {@code __tlb_remove_page}: the PTE that held a reference on {@code folio} is gone (its
   * mapcount already dropped); the reference is dropped only after the TLB flush, so no CPU can
   * still reach the page when it is freed.
   */
  public void tlbRemovePage(Folio folio) {
    checkOpen();
    pages.add(folio);
  }

  /**
   * {@code tlb_flush_mmu_tlbonly}: flush what is gathered now (the gathered range, or the whole
   * mm when {@code fullmm}; nothing if no PTE was gathered) and reset the range, keeping the
   * batched pages. {@code zap_pte_range} calls it under the ptl when it must ({@code
   * force_flush}).
   */
  @FlushesTlb
  public void tlbFlushMmuTlbonly() {
    checkOpen();
    flushTlbOnly();
  }

  /**
   * {@code tlb_flush_mmu}: flush what is gathered now ({@code tlb_flush_mmu_tlbonly}: the
   * gathered range, or the whole mm when {@code fullmm}; nothing if no PTE was gathered), then
   * free the batched pages ({@code tlb_flush_mmu_free}).
   */
  @FlushesTlb
  public void tlbFlushMmu() {
    checkOpen();
    flushTlbOnly();
    for (Folio f : pages) {
      f.put();
    }
    pages.clear();
  }

  /**
   * {@code tlb_finish_mmu}: flush, the whole mm when {@code mm_tlb_flush_nested} and the gathered
   * range otherwise (see the class comment), free the batched pages, then {@code
   * dec_tlb_flush_pending}. The pending count is dropped even if the flush throws.
   *
   * @throws IllegalStateException if the batch was already finished
   */
  @FlushesTlb
  @TlbFlushPendingDec
  public void tlbFinishMmu() {
    checkOpen();
    try {
      if (mm.mmTlbFlushNested()) {
        fullmm = true;
        resetRange();
        freedTables = true;
      }
      tlbFlushMmu();
    } finally {
      finished = true;
      mm.decTlbFlushPending();
    }
  }

  /** {@code tlb_flush_mmu_tlbonly} and x86's {@code tlb_flush}. */
  private void flushTlbOnly() {
    if (!(freedTables || clearedPtes)) {
      return;
    }
    if (fullmm) {
      TlbFlush.flushTlbMm(mm);
    } else if (end > start) {
      TlbFlush.flushTlbRange(vma, start, end);
    }
    resetRange();
  }

  /** {@code __tlb_reset_range}. */
  private void resetRange() {
    if (fullmm) {
      start = -1L;
      end = -1L;
    } else {
      start = mm.taskSize();
      end = 0;
    }
    clearedPtes = false;
    freedTables = false;
  }

  private void checkOpen() {
    if (finished) {
      throw new IllegalStateException("this mmu_gather of " + mm + " is finished; start a new"
          + " one with tlbGatherMmu");
    }
  }

  @Override
  public String toString() {
    return "mmu_gather of " + mm + (fullmm ? " fullmm" : " [0x" + Long.toHexString(start)
        + ", 0x" + Long.toHexString(end) + ")");
  }
}
