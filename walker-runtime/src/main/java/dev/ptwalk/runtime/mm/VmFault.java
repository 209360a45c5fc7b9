package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.pgtable.Pgtable;

/**
 * One page fault being handled, as handed to {@link VmOperations} hooks.
 *
 * <p>Mirrors {@code struct vm_fault}: the VMA, the page-aligned address, its pgoff in the file,
 * whether it is a write ({@code FAULT_FLAG_WRITE}), the PTE seen when the fault started ({@code
 * orig_pte}), and, filled in by {@link VmOperations#fault}, the pfn to map.
 */
public final class VmFault {
  private final Vma vma;
  private final long address;
  private final boolean write;
  private long origPte;
  private long pfn = -1;

  VmFault(Vma vma, long address, boolean write, long origPte) {
    this.vma = vma;
    this.address = address & Pgtable.PAGE_MASK;
    this.write = write;
    this.origPte = origPte;
  }

  /** {@code vmf->vma}. */
  public Vma vma() {
    return vma;
  }

  /** {@code vmf->address}: the faulting address, page aligned. */
  public long address() {
    return address;
  }

  /** {@code vmf->pgoff}: the page's offset in the mapped file. */
  public long pgoff() {
    return vma.pgoffOf(address);
  }

  /** {@code vmf->flags & FAULT_FLAG_WRITE}. */
  public boolean write() {
    return write;
  }

  /** {@code vmf->orig_pte}. */
  public long origPte() {
    return origPte;
  }

  /** {@code vmf->orig_pte = pte}: the fault path updated the PTE it expects. */
  void setOrigPte(long pte) {
    this.origPte = pte;
  }

  /** The pfn a {@link VmOperations#fault} handler chose, or -1. */
  public long pfn() {
    return pfn;
  }

  /** Set by a fault handler: map this pfn ({@code vmf->page} or {@code vmf_insert_pfn}). */
  public void setPfn(long pfn) {
    if (pfn < 0) {
      throw new IllegalArgumentException("pfn must be >= 0, was " + pfn);
    }
    this.pfn = pfn;
  }
}
