package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.check.NeverThrows;
import dev.ptwalk.runtime.pgtable.Pgtable;

/**
 * One mapped region of an mm.
 *
 * <p>Mirrors {@code struct vm_area_struct}: {@code [vm_start, vm_end)} in the owning mm, {@code
 * vm_pgoff} (the file page mapped at {@code vm_start}), {@code vm_flags}, {@code vm_file->f_mapping}
 * and {@code vm_ops}. Created by {@link MmStruct#mmap}.
 */
public final class Vma {
  private final MmStruct mm;
  private final long start;
  private final long end;
  private final long pgoff;
  private volatile long flags;
  private final AddressSpace mapping;
  private final VmOperations ops;

  Vma(MmStruct mm, long start, long end, long pgoff, long flags, AddressSpace mapping,
      VmOperations ops) {
    this.mm = mm;
    this.start = start;
    this.end = end;
    this.pgoff = pgoff;
    this.flags = flags;
    this.mapping = mapping;
    this.ops = ops;
  }

  /** {@code vma->vm_mm}. */
  @NeverThrows
  public MmStruct mm() {
    return mm;
  }

  /** {@code vma->vm_start}. */
  @NeverThrows
  public long start() {
    return start;
  }

  /** {@code vma->vm_end}: one past the last byte. */
  @NeverThrows
  public long end() {
    return end;
  }

  /** {@code vma->vm_pgoff}: file page mapped at {@link #start()}. */
  @NeverThrows
  public long pgoff() {
    return pgoff;
  }

  /** {@code vma_pages}. */
  @NeverThrows
  public long pages() {
    return (end - start) >>> Pgtable.PAGE_SHIFT;
  }

  /** {@code vma_last_pgoff}: file page mapped at the last page of the VMA. */
  @NeverThrows
  public long lastPgoff() {
    return pgoff + pages() - 1;
  }

  /** {@code READ_ONCE(vma->vm_flags)}. */
  @NeverThrows
  public long flags() {
    return flags;
  }

  /** Whether every bit of {@code mask} is set in the flags. */
  @NeverThrows
  public boolean hasFlags(long mask) {
    return (flags & mask) == mask;
  }

  /** {@code vm_flags_set}: caller holds the mmap lock for write. */
  public void vmFlagsSet(long mask) {
    checkFlags(mask);
    flags |= mask;
  }

  /** {@code vm_flags_clear}: caller holds the mmap lock for write. */
  public void vmFlagsClear(long mask) {
    checkFlags(mask);
    flags &= ~mask;
  }

  /** {@code vma->vm_file->f_mapping}, or null for an anonymous VMA. */
  @NeverThrows
  public AddressSpace mapping() {
    return mapping;
  }

  /** {@code vma->vm_ops}. */
  @NeverThrows
  public VmOperations ops() {
    return ops;
  }

  /** Whether {@code addr} lies in {@code [start, end)}. */
  @NeverThrows
  public boolean contains(long addr) {
    return addr >= start && addr < end;
  }

  /** {@code linear_page_index}: the file page mapped at {@code addr}. */
  public long pgoffOf(long addr) {
    if (!contains(addr)) {
      throw new IllegalArgumentException(
          "0x" + Long.toHexString(addr) + " is outside " + this);
    }
    return ((addr - start) >>> Pgtable.PAGE_SHIFT) + pgoff;
  }

  /** {@code vma_address}: the address at which file page {@code index} is mapped. */
  public long addressOf(long index) {
    if (index < pgoff || index > lastPgoff()) {
      throw new IllegalArgumentException(
          "file page " + index + " is outside " + this + " (pgoffs " + pgoff + ".." + lastPgoff()
              + ")");
    }
    return start + ((index - pgoff) << Pgtable.PAGE_SHIFT);
  }

  @Override
  public String toString() {
    return "vma[0x" + Long.toHexString(start) + "-0x" + Long.toHexString(end) + " mm=" + mm.name()
        + " pgoff=" + pgoff + " " + VmFlags.toString(flags) + "]";
  }

  static void checkFlags(long flags) {
    long unknown = flags & ~VmFlags.KNOWN;
    if (unknown != 0) {
      throw new IllegalArgumentException(
          "unknown vm_flags bits 0x" + Long.toHexString(unknown) + "; use the VmFlags constants");
    }
  }
}
