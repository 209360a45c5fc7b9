package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.check.NeverThrows;
import dev.ptwalk.runtime.pgtable.Pgtable;

/**
 * One mapped region of an mm.
 *
 * <p>Mirrors {@code struct vm_area_struct}: {@code [vm_start, vm_end)} in the owning mm, {@code
 * vm_pgoff} (the file page mapped at {@code vm_start}), {@code vm_flags}, {@code vm_page_prot},
 * {@code vm_file->f_mapping} and {@code vm_ops}. Created by {@link MmStruct#mmap}. The range and
 * pgoff change only when the VMA is split, under the mmap lock for write and the i_mmap lock.
 */
public final class Vma {
  private final MmStruct mm;
  private volatile long start;
  private volatile long end;
  private volatile long pgoff;
  private volatile long flags;
  private volatile long pageProt;
  private final AddressSpace mapping;
  private final VmOperations ops;
  private volatile AnonVma anonVma;
  private volatile Userfaultfd uffdCtx;

  Vma(MmStruct mm, long start, long end, long pgoff, long flags, AddressSpace mapping,
      VmOperations ops) {
    this.mm = mm;
    this.start = start;
    this.end = end;
    this.pgoff = pgoff;
    this.flags = flags;
    this.mapping = mapping;
    this.ops = ops;
    vmaSetPageProt();
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

  /**
   * {@code vm_flags_set}: caller holds the mmap lock for write. {@code VM_SOFTDIRTY} is 0 in a
   * kernel without {@code CONFIG_MEM_SOFT_DIRTY}, so it is not set on such a machine.
   */
  public void vmFlagsSet(long mask) {
    checkFlags(mask);
    if (!mm.machine().softDirtyEnabled()) {
      mask &= ~VmFlags.VM_SOFTDIRTY;
    }
    flags |= mask;
  }

  /** {@code vm_flags_clear}: caller holds the mmap lock for write. */
  public void vmFlagsClear(long mask) {
    checkFlags(mask);
    flags &= ~mask;
  }

  /**
   * {@code vma->vm_page_prot}: the PTE bits a fault maps a page of this VMA with, as {@link
   * #vmaSetPageProt} last computed them: present, user, accessed, and RW for a shared writable
   * VMA that does not {@linkplain #wantsWritenotify want write notification}.
   */
  @NeverThrows
  public long vmPageProt() {
    return pageProt;
  }

  /**
   * {@code vma_set_page_prot}: recompute {@link #vmPageProt()} from the flags. When the VMA
   * {@linkplain #wantsWritenotify wants write notification}, its pages are mapped with the
   * private (read-only) protection, so the first store to each faults. Called at mmap and
   * whenever a flag {@code vma_wants_writenotify} reads changes ({@code VM_SOFTDIRTY} by a
   * soft-dirty clear, {@code VM_UFFD_WP} by userfaultfd registration); the caller holds the mmap
   * lock for write.
   */
  public void vmaSetPageProt() {
    long prot = Pte.PRESENT | Pte.USER | Pte.ACCESSED;
    if (hasFlags(VmFlags.VM_SHARED | VmFlags.VM_WRITE) && !wantsWritenotify()) {
      prot |= Pte.RW;
    }
    pageProt = prot;
  }

  /**
   * {@code vma_wants_writenotify} (mm/vma.c): whether write faults must see the first store to
   * each page of this shared writable VMA. True when the driver's hooks want it ({@code
   * vm_ops_needs_writenotify}), when soft-dirty tracking is on for the VMA ({@code
   * vma_soft_dirty_enabled}: {@code CONFIG_MEM_SOFT_DIRTY} and {@code VM_SOFTDIRTY} clear, not
   * hugetlb), or when it is registered for userfaultfd write-protect; otherwise false for {@code
   * VM_PFNMAP}, and for a file whether its mapping can write back ({@code vma_fs_can_writeback}).
   * Private or read-only VMAs never want it: their write bit is already clear.
   */
  public boolean wantsWritenotify() {
    long f = flags;
    if ((f & (VmFlags.VM_WRITE | VmFlags.VM_SHARED)) != (VmFlags.VM_WRITE | VmFlags.VM_SHARED)) {
      return false;
    }
    if (ops.wantsWriteNotify()) {
      return true;
    }
    if (softDirtyEnabled() && (f & VmFlags.VM_HUGETLB) == 0) {
      return true;
    }
    if (userfaultfdWp()) {
      return true;
    }
    if ((f & VmFlags.VM_PFNMAP) != 0) {
      return false;
    }
    return mapping != null && mapping.canWriteback();
  }

  /**
   * {@code vma_soft_dirty_enabled}: soft-dirty tracking is compiled in and armed for this VMA,
   * that is {@code VM_SOFTDIRTY} is clear (a soft-dirty clear cleared it; a new VMA has it set,
   * so the whole VMA counts as soft-dirty until the next clear).
   */
  @NeverThrows
  public boolean softDirtyEnabled() {
    return mm.machine().softDirtyEnabled() && (flags & VmFlags.VM_SOFTDIRTY) == 0;
  }

  /** {@code userfaultfd_wp}: the VMA is registered for userfaultfd write-protect. */
  @NeverThrows
  public boolean userfaultfdWp() {
    return (flags & VmFlags.VM_UFFD_WP) != 0;
  }

  /** {@code vma->vm_userfaultfd_ctx.ctx}: the userfaultfd this VMA is registered with, or null. */
  @NeverThrows
  public Userfaultfd userfaultfdCtx() {
    return uffdCtx;
  }

  /**
   * {@code userfaultfd_wp_async}: registered for write-protect with a userfaultfd opened with
   * {@code UFFD_FEATURE_WP_ASYNC}, so write faults on protected pages resolve themselves.
   */
  @NeverThrows
  public boolean userfaultfdWpAsync() {
    Userfaultfd ctx = uffdCtx;
    return ctx != null && ctx.wpAsync();
  }

  /**
   * {@code userfaultfd_wp_unpopulated}: the userfaultfd has {@code UFFD_FEATURE_WP_UNPOPULATED}
   * (implied by {@code WP_ASYNC}).
   */
  @NeverThrows
  public boolean userfaultfdWpUnpopulated() {
    Userfaultfd ctx = uffdCtx;
    return ctx != null && (ctx.features() & Userfaultfd.UFFD_FEATURE_WP_UNPOPULATED) != 0;
  }

  /**
   * {@code userfaultfd_wp_use_markers}: write-protecting an unpopulated page of this VMA leaves a
   * PTE marker. True for a file VMA registered for write-protect, and for an anonymous one when
   * the userfaultfd has {@code WP_UNPOPULATED}.
   */
  @NeverThrows
  public boolean userfaultfdWpUseMarkers() {
    if (!userfaultfdWp()) {
      return false;
    }
    return !isAnonymous() || userfaultfdWpUnpopulated();
  }

  void setUserfaultfdCtx(Userfaultfd ctx) {
    this.uffdCtx = ctx;
  }

  /**
   * {@code vm_area_dup} and the range update of {@code __split_vma}: a copy of this VMA over
   * {@code [addr, end)}; this one is left to the caller to shrink.
   */
  Vma dupFrom(long addr) {
    Vma upper = new Vma(mm, addr, end, pgoff + ((addr - start) >>> Pgtable.PAGE_SHIFT), flags,
        mapping, ops);
    upper.pageProt = pageProt;
    upper.anonVma = anonVma;
    upper.uffdCtx = uffdCtx;
    return upper;
  }

  /**
   * {@code vm_area_dup} for fork: the same range, pgoff, flags, protection, file and hooks in
   * {@code child}, linked to this VMA's anon_vma ({@code anon_vma_fork}), with the userfaultfd
   * context {@code ctx} ({@code dup_userfaultfd}: null drops the registration).
   */
  Vma dupInto(MmStruct child, Userfaultfd ctx) {
    long f = ctx == null ? flags & ~VmFlags.VM_UFFD_WP : flags;
    Vma copy = new Vma(child, start, end, pgoff, f, mapping, ops);
    copy.pageProt = pageProt;
    copy.uffdCtx = ctx;
    if (ctx == null && userfaultfdWp() && hasFlags(VmFlags.VM_SHARED)) {
      copy.vmaSetPageProt(); // userfaultfd_set_vm_flags: uffd-wp changed on a shared VMA
    }
    AnonVma av = anonVma;
    if (av != null) {
      copy.anonVma = av;
      av.link(copy);
    }
    return copy;
  }

  /** The new end after a split ({@code vma_set_range}), under the mmap and i_mmap locks. */
  void setEnd(long newEnd) {
    this.end = newEnd;
  }

  /**
   * {@code vma_is_anonymous}: private anonymous memory, with neither a file nor driver hooks
   * ({@code !vma->vm_ops}). Its pages come from {@code do_anonymous_page}: the zero page on a
   * read, a new zeroed folio on a write.
   */
  @NeverThrows
  public boolean isAnonymous() {
    return mapping == null && ops == VmOperations.DEFAULT;
  }

  /** {@code vma->anon_vma}: set on the first anonymous folio mapped here, else null. */
  @NeverThrows
  public AnonVma anonVma() {
    return anonVma;
  }

  void setAnonVma(AnonVma anonVma) {
    this.anonVma = anonVma;
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
