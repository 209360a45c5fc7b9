package dev.ptwalk.syscalls.taskmmu;

import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SHIFT;
import static dev.ptwalk.runtime.pgtable.Pgtable.PAGE_SIZE;
import static dev.ptwalk.runtime.pgtable.Pgtable.PMD_MASK;
import static dev.ptwalk.runtime.pgtable.Pgtable.PMD_SIZE;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.Folio;
import dev.ptwalk.runtime.mm.Memory;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.mm.VmFlags;
import dev.ptwalk.runtime.pgtable.PteTable;

/**
 * Reads of {@code /proc/PID/pagemap}: one 64-bit entry per page.
 *
 * <p>Mirrors {@code pagemap_read} of {@code fs/proc/task_mmu.c} with {@code pagemap_pmd_range},
 * {@code pagemap_pte_hole} and {@code pte_to_pagemap_entry}, as a reader with {@code
 * CAP_SYS_ADMIN} sees them (present entries show their pfn). The walk only reads, so it is written
 * here rather than generated: no {@code @PteCallback} kind reads without changing.
 *
 * <p>Entry bits: the pfn in bits 0-54 (present pages), {@link #PM_SOFT_DIRTY}, {@link
 * #PM_MMAP_EXCLUSIVE}, {@link #PM_UFFD_WP}, {@link #PM_GUARD_REGION}, {@link #PM_FILE}, {@link
 * #PM_SWAP}, {@link #PM_PRESENT}. A marker's swap type and offset are not modelled (its frame
 * bits read 0).
 */
public final class Pagemap {
  private Pagemap() {}

  /** {@code PM_PFRAME_MASK}: bits 0-54, the pfn of a present page. */
  public static final long PM_PFRAME_MASK = (1L << 55) - 1;
  /** {@code PM_SOFT_DIRTY}: bit 55. */
  public static final long PM_SOFT_DIRTY = 1L << 55;
  /** {@code PM_MMAP_EXCLUSIVE}: bit 56, the page is mapped by this process only. */
  public static final long PM_MMAP_EXCLUSIVE = 1L << 56;
  /** {@code PM_UFFD_WP}: bit 57, uffd-wp protected (a present PTE's bit, or a marker). */
  public static final long PM_UFFD_WP = 1L << 57;
  /** {@code PM_GUARD_REGION}: bit 58, a guard marker (never here). */
  public static final long PM_GUARD_REGION = 1L << 58;
  /** {@code PM_FILE}: bit 61, a page that is not anonymous (page cache, shared anonymous). */
  public static final long PM_FILE = 1L << 61;
  /** {@code PM_SWAP}: bit 62, a swap entry or a PTE marker. */
  public static final long PM_SWAP = 1L << 62;
  /** {@code PM_PRESENT}: bit 63. */
  public static final long PM_PRESENT = 1L << 63;

  /**
   * {@code pagemap_read} of the entries of the {@code nr} pages from {@code start}: under the mmap
   * read lock, a PMD-sized chunk at a time. A page outside every VMA reads 0; a page of a VMA with
   * no PTE table reads {@link #PM_SOFT_DIRTY} if the VMA is {@code VM_SOFTDIRTY}, else 0.
   *
   * @throws IllegalArgumentException if {@code start} is not page aligned, {@code nr} is negative,
   *     or the pages run past {@code TASK_SIZE}
   */
  public static long[] pagemapRead(MmStruct mm, long start, int nr) {
    if ((start & (PAGE_SIZE - 1)) != 0 || nr < 0 || start < 0
        || start + ((long) nr << PAGE_SHIFT) > mm.taskSize()) {
      throw new IllegalArgumentException("pagemap read of " + nr + " pages at 0x"
          + Long.toHexString(start) + ": the start must be page aligned and the pages below 0x"
          + Long.toHexString(mm.taskSize()));
    }
    long[] out = new long[nr];
    long end = start + ((long) nr << PAGE_SHIFT);
    for (long chunk = start, next; chunk < end; chunk = next) {
      next = Math.min((chunk & PMD_MASK) + PMD_SIZE, end);
      mm.mmapReadLock();
      try {
        for (long addr = chunk; addr < next; addr += PAGE_SIZE) {
          out[(int) ((addr - start) >>> PAGE_SHIFT)] = pagemapEntry(mm, addr);
        }
      } finally {
        mm.mmapReadUnlock();
      }
    }
    return out;
  }

  /** The entry of one page: {@code pagemap_pte_hole} or {@code pte_to_pagemap_entry}. */
  private static long pagemapEntry(MmStruct mm, long addr) {
    Vma vma = mm.vmaLookup(addr);
    if (vma == null) {
      return 0;
    }
    long vmaFlags = vma.hasFlags(VmFlags.VM_SOFTDIRTY) ? PM_SOFT_DIRTY : 0;
    PteTable pt = mm.pgd().pteOffset(addr);
    if (pt == null) {
      return vmaFlags;
    }
    pt.ptl().lock();
    try {
      return pteToPagemapEntry(vma, pt.get(addr)) | vmaFlags;
    } finally {
      pt.ptl().unlock();
    }
  }

  /**
   * {@code pte_to_pagemap_entry}: a present PTE gives its pfn, {@link #PM_PRESENT}, its soft-dirty
   * and uffd-wp bits, {@link #PM_FILE} for a page that is not anonymous and {@link
   * #PM_MMAP_EXCLUSIVE} when only one PTE maps it (the zero page has no page: neither); a marker
   * gives {@link #PM_SWAP} and {@link #PM_UFFD_WP}; a none PTE gives nothing.
   */
  static long pteToPagemapEntry(Vma vma, long pte) {
    if (Pte.none(pte)) {
      return 0;
    }
    long frame = 0;
    long flags = 0;
    Folio folio = null;
    if (Pte.present(pte)) {
      frame = Pte.pfn(pte);
      flags |= PM_PRESENT;
      folio = Memory.vmNormalFolio(vma, pte);
      if (Pte.softDirty(pte)) {
        flags |= PM_SOFT_DIRTY;
      }
      if (Pte.uffdWp(pte)) {
        flags |= PM_UFFD_WP;
      }
    } else {
      flags |= PM_SWAP;
      if (Pte.pteMarkerUffdWp(pte)) {
        flags |= PM_UFFD_WP;
      }
    }
    if (folio != null) {
      if (!folio.anon()) {
        flags |= PM_FILE;
      }
      if ((flags & PM_PRESENT) != 0 && !folio.maybeMappedShared()) {
        flags |= PM_MMAP_EXCLUSIVE;
      }
    }
    return (frame & PM_PFRAME_MASK) | flags;
  }
}
