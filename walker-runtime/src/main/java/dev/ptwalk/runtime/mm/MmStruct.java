package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.check.NeverThrows;
import dev.ptwalk.runtime.check.TlbFlushNested;
import dev.ptwalk.runtime.check.TlbFlushPendingDec;
import dev.ptwalk.runtime.check.TlbFlushPendingInc;
import dev.ptwalk.runtime.internal.RuntimeInternals;
import dev.ptwalk.runtime.notifier.MmuNotifier;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgd;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * One process address space.
 *
 * <p>Mirrors {@code struct mm_struct}: its page-table radix ({@code pgd}), its VMAs (the kernel
 * keeps them in a maple tree; here a sorted map, never overlapping), {@code mmap_lock}, {@code
 * tlb_flush_pending} and its mmu notifier subscriptions. Created by {@link Machine#newMm}.
 */
public final class MmStruct {
  private final Machine machine;
  private final String name;
  private final int id;
  private final Pgd pgd;
  private final TreeMap<Long, Vma> vmas = new TreeMap<>();
  private final ReentrantReadWriteLock mmapLock = new ReentrantReadWriteLock();
  private final AtomicInteger tlbFlushPending = new AtomicInteger();
  private final CopyOnWriteArrayList<MmuNotifier> subscriptions = new CopyOnWriteArrayList<>();

  static {
    RuntimeInternals.setMmAccess(new RuntimeInternals.MmAccess() {
      @Override
      public MmStruct newMm(Machine machine, String name, int id) {
        return new MmStruct(machine, name, id);
      }

      @Override
      public List<MmuNotifier> subscriptions(MmStruct mm) {
        return mm.subscriptions;
      }
    });
  }

  /** Created by {@link Machine#newMm}. */
  MmStruct(Machine machine, String name, int id) {
    this.machine = machine;
    this.name = name;
    this.id = id;
    this.pgd = new Pgd(machine.pagingMode());
  }

  /** The machine this mm runs on. */
  @NeverThrows
  public Machine machine() {
    return machine;
  }

  /** The name given at creation. */
  @NeverThrows
  public String name() {
    return name;
  }

  /** A small number unique on the machine (an ASID, in effect). */
  @NeverThrows
  public int id() {
    return id;
  }

  /** {@code mm->pgd}: the page-table radix. */
  @NeverThrows
  public Pgd pgd() {
    return pgd;
  }

  /** Whether the current thread holds the mmap lock, for read or write ({@code mmap_assert_locked}). */
  @NeverThrows
  public boolean mmapLockedByCurrentThread() {
    return mmapLock.getReadHoldCount() > 0 || mmapLock.isWriteLockedByCurrentThread();
  }

  /** Whether the current thread holds the mmap lock for write ({@code mmap_assert_write_locked}). */
  @NeverThrows
  public boolean mmapWriteLockedByCurrentThread() {
    return mmapLock.isWriteLockedByCurrentThread();
  }

  /** {@code mmap_read_lock}. */
  public void mmapReadLock() {
    mmapLock.readLock().lock();
    machine.verifier().onMmLockAcquired();
  }

  /** {@code mmap_read_unlock}. */
  public void mmapReadUnlock() {
    mmapLock.readLock().unlock();
    machine.verifier().onMmLockReleased("mmapReadUnlock of mm " + name);
  }

  /** {@code mmap_write_lock}. */
  public void mmapWriteLock() {
    mmapLock.writeLock().lock();
    machine.verifier().onMmLockAcquired();
  }

  /** {@code mmap_write_unlock}. */
  public void mmapWriteUnlock() {
    mmapLock.writeLock().unlock();
    machine.verifier().onMmLockReleased("mmapWriteUnlock of mm " + name);
  }

  /**
   * {@code TASK_SIZE}: one past the highest user address, set by the machine's paging mode
   * (47 or 56 bits).
   */
  @NeverThrows
  public long taskSize() {
    return machine.pagingMode().taskSize();
  }

  /** {@code mm_has_notifiers}: whether any mmu notifier is subscribed to this mm. */
  @NeverThrows
  public boolean hasNotifiers() {
    return !subscriptions.isEmpty();
  }

  /**
   * {@code for_each_vma_range}: the VMAs that intersect {@code [start, end)}, in address order.
   * The caller holds the mmap lock, for read or write, for as long as it uses them.
   *
   * @throws IllegalStateException if the current thread does not hold the mmap lock
   * @throws IllegalArgumentException if {@code end < start}
   */
  public Iterable<Vma> forEachVmaRange(long start, long end) {
    if (!mmapLockedByCurrentThread()) {
      throw new IllegalStateException("forEachVmaRange on mm " + name + " without mmap_lock held:"
          + " call mmapReadLock() or mmapWriteLock() first");
    }
    if (Long.compareUnsigned(end, start) < 0) {
      throw new IllegalArgumentException("range [0x" + Long.toHexString(start) + ", 0x"
          + Long.toHexString(end) + ") ends before it starts");
    }
    List<Vma> out = new ArrayList<>();
    if (start == end) {
      return out;
    }
    Map.Entry<Long, Vma> first = vmas.floorEntry(start);
    if (first != null && first.getValue().end() > start) {
      out.add(first.getValue());
    }
    long from = start;
    for (Vma v : vmas.tailMap(from, false).values()) {
      if (Long.compareUnsigned(v.start(), end) >= 0) {
        break;
      }
      out.add(v);
    }
    return out;
  }

  /** {@code atomic_read(&mm->tlb_flush_pending)}. */
  @NeverThrows
  public int tlbFlushPending() {
    return tlbFlushPending.get();
  }

  /**
   * {@code inc_tlb_flush_pending}: announce that PTEs of this mm are being changed and their TLB
   * flush is not done yet, so that a concurrent batch can see it is nested.
   */
  @TlbFlushPendingInc
  public void incTlbFlushPending() {
    int v = tlbFlushPending.incrementAndGet();
    machine.verifier().onTlbFlushPending(this, +1, v);
  }

  /** {@code dec_tlb_flush_pending}: the flush announced by {@link #incTlbFlushPending} is done. */
  @TlbFlushPendingDec
  public void decTlbFlushPending() {
    int v = tlbFlushPending.decrementAndGet();
    machine.verifier().onTlbFlushPending(this, -1, v);
  }

  /**
   * {@code mm_tlb_flush_nested}: more than one batch of PTE changes is in flight, so a walker may
   * have skipped PTEs another one changed and must flush its whole range, not just what it
   * changed.
   */
  @TlbFlushNested
  public boolean mmTlbFlushNested() {
    return tlbFlushPending.get() > 1;
  }

  /**
   * {@code mmap_region}: map {@code pages} pages of {@code mapping} from file page {@code pgoff}
   * at {@code start}, with plain page-cache {@linkplain VmOperations#DEFAULT vm_ops}.
   *
   * @see #mmap(AddressSpace, long, long, long, long, VmOperations)
   */
  public Vma mmap(AddressSpace mapping, long start, long pages, long pgoff, long flags) {
    return mmap(mapping, start, pages, pgoff, flags, VmOperations.DEFAULT);
  }

  /**
   * {@code mmap_region}: map {@code pages} pages of {@code mapping} (null for anonymous memory)
   * from file page {@code pgoff} at {@code start}, with {@code flags} ({@link VmFlags}) and the
   * hooks {@code ops}. As {@code do_mmap} does, {@code VM_READ}, {@code VM_WRITE} and {@code
   * VM_SHARED} imply {@code VM_MAYREAD}, {@code VM_MAYWRITE} and {@code VM_MAYSHARE}. As {@code
   * __mmap_complete} does, the new VMA gets {@code VM_SOFTDIRTY} when the machine has soft-dirty
   * tracking, and its {@code vm_page_prot} is computed ({@link Vma#vmaSetPageProt}). The VMA is
   * linked into the mm and into the mapping's i_mmap tree.
   *
   * <p>With a null {@code mapping} and default hooks, the VMA is anonymous memory: private
   * ({@link Vma#isAnonymous}; its pgoff is {@code start >> PAGE_SHIFT} whatever {@code pgoff}
   * says, as {@code do_mmap} sets it), or with {@code VM_SHARED} a shared anonymous mapping backed
   * by a file of its own ({@code shmem_zero_setup}; pgoff 0).
   *
   * @throws IllegalArgumentException for an unaligned, non-canonical or out-of-range address, a
   *     zero or overflowing size, a pgoff range past the largest file offset, unknown flags, or an
   *     overlap with an existing VMA; nothing is changed then
   */
  public Vma mmap(
      AddressSpace mapping, long start, long pages, long pgoff, long flags, VmOperations ops) {
    if (ops == null) {
      throw new NullPointerException("ops (use VmOperations.DEFAULT)");
    }
    if ((start & ~Pgtable.PAGE_MASK) != 0) {
      throw new IllegalArgumentException(
          "mmap start 0x" + Long.toHexString(start) + " is not page aligned (4 KiB)");
    }
    Pgtable.checkUserAddress(start, machine.pagingMode());
    long taskSize = machine.pagingMode().taskSize();
    if (pages <= 0 || pages > (taskSize - start) >>> Pgtable.PAGE_SHIFT) {
      throw new IllegalArgumentException(
          "mmap of " + pages + " pages at 0x" + Long.toHexString(start) + " does not fit below"
              + " the user address limit 0x" + Long.toHexString(taskSize) + " (pages must be 1.."
              + ((taskSize - start) >>> Pgtable.PAGE_SHIFT) + ")");
    }
    long maxPgoff = Long.MAX_VALUE >>> Pgtable.PAGE_SHIFT;
    if (pgoff < 0 || pgoff > maxPgoff - pages + 1) {
      throw new IllegalArgumentException(
          "pgoff range " + pgoff + " + " + pages + " pages overflows the largest file offset"
              + " (pgoff + pages must be <= " + (maxPgoff + 1) + ")");
    }
    Vma.checkFlags(flags);
    // __mmap_complete: a new VMA always counts as soft-dirty (VM_SOFTDIRTY is 0 without
    // CONFIG_MEM_SOFT_DIRTY).
    flags = machine.softDirtyEnabled() ? flags | VmFlags.VM_SOFTDIRTY
        : flags & ~VmFlags.VM_SOFTDIRTY;
    if ((flags & VmFlags.VM_READ) != 0) {
      flags |= VmFlags.VM_MAYREAD;
    }
    if ((flags & VmFlags.VM_WRITE) != 0) {
      flags |= VmFlags.VM_MAYWRITE;
    }
    if ((flags & VmFlags.VM_SHARED) != 0) {
      flags |= VmFlags.VM_MAYSHARE;
    }
    long end = start + (pages << Pgtable.PAGE_SHIFT);
    if (mapping == null && ops == VmOperations.DEFAULT) {
      if ((flags & VmFlags.VM_SHARED) != 0) {
        // shmem_zero_setup: shared anonymous memory is an unnamed shmem file of its own.
        mapping = new AddressSpace(machine, "dev/zero@" + name + ":0x" + Long.toHexString(start),
            AddressSpace.Backing.SHMEM);
        pgoff = 0;
      } else {
        // do_mmap: the pgoff of private anonymous memory is its address, for the anon rmap.
        pgoff = start >>> Pgtable.PAGE_SHIFT;
      }
    }
    mmapWriteLock();
    try {
      Map.Entry<Long, Vma> below = vmas.lowerEntry(end);
      if (below != null && below.getValue().end() > start) {
        throw new IllegalArgumentException(
            "[0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ") overlaps "
                + below.getValue() + " in mm " + name + "; VMAs of one mm never overlap");
      }
      Vma vma = new Vma(this, start, end, pgoff, flags, mapping, ops);
      vmas.put(start, vma);
      if (mapping != null) {
        mapping.link(vma);
      }
      return vma;
    } finally {
      mmapWriteUnlock();
    }
  }

  /**
   * {@code __split_vma(vmi, vma, addr, 0)}: split {@code vma} at {@code addr}. {@code vma} keeps
   * {@code [start, addr)}; the returned new VMA covers {@code [addr, end)} with the same flags,
   * protection, file, hooks, anon_vma and userfaultfd, and the pgoff that maps the same pages. A
   * file VMA's i_mmap entry is split too, under the i_mmap write lock; page tables are untouched.
   * The caller holds the mmap lock for write.
   *
   * @throws IllegalStateException if the current thread does not hold the mmap write lock
   * @throws IllegalArgumentException if {@code vma} is not this mm's, or {@code addr} is not a
   *     page-aligned address strictly inside it
   */
  public Vma splitVma(Vma vma, long addr) {
    if (!mmapWriteLockedByCurrentThread()) {
      throw new IllegalStateException("splitVma on mm " + name + " without mmap_lock held for"
          + " write: call mmapWriteLock() first");
    }
    if (vma.mm() != this || vmas.get(vma.start()) != vma) {
      throw new IllegalArgumentException(vma + " is not a VMA of mm " + name);
    }
    if ((addr & ~Pgtable.PAGE_MASK) != 0 || addr <= vma.start() || addr >= vma.end()) {
      throw new IllegalArgumentException("split address 0x" + Long.toHexString(addr) + " must be"
          + " page aligned and strictly inside " + vma);
    }
    Vma upper = vma.dupFrom(addr);
    AddressSpace mapping = vma.mapping();
    AnonVma anonVma = vma.anonVma();
    if (mapping != null) {
      mapping.iMmapLockWrite();
    }
    if (anonVma != null) {
      anonVma.lockWrite(); // vma_prepare: rmap walkers see the VMA before or after, not between
    }
    try {
      if (mapping != null) {
        mapping.unlink(vma);
      }
      vma.setEnd(addr);
      if (mapping != null) {
        mapping.linkLocked(vma);
        mapping.linkLocked(upper);
      }
      vmas.put(addr, upper);
      if (anonVma != null) {
        anonVma.link(upper);
      }
    } finally {
      if (anonVma != null) {
        anonVma.unlockWrite();
      }
      if (mapping != null) {
        mapping.iMmapUnlockWrite();
      }
    }
    return upper;
  }

  /**
   * {@code fork}'s {@code dup_mm} and {@code dup_mmap}: a new mm named {@code childName} with a
   * copy of every VMA of this one, under both mmap write locks. Each child VMA is linked to the
   * same file (i_mmap) and anon_vma; a userfaultfd registration survives only with {@code
   * UFFD_FEATURE_EVENT_FORK} (a new context of the child, same features), else the child's VMA
   * loses {@code VM_UFFD_WP} ({@code dup_userfaultfd}). Page tables are copied where the child
   * could not fault them back ({@link Memory}'s {@code copy_page_range}): private writable memory
   * becomes shared copy-on-write, both PTEs write-protected.
   *
   * @throws IllegalArgumentException if {@code childName} is empty or taken
   */
  public MmStruct fork(String childName) {
    MmStruct child = machine.newMm(childName);
    mmapWriteLock();
    try {
      child.mmapWriteLock();
      try {
        Map<Userfaultfd, Userfaultfd> forked = new IdentityHashMap<>();
        for (Vma vma : new ArrayList<>(vmas.values())) {
          Userfaultfd ctx = vma.userfaultfdCtx();
          Userfaultfd childCtx = null;
          if (ctx != null && (ctx.features() & Userfaultfd.UFFD_FEATURE_EVENT_FORK) != 0) {
            childCtx = forked.computeIfAbsent(ctx, c -> c.forkFor(child));
          }
          Vma copy = vma.dupInto(child, childCtx);
          child.vmas.put(copy.start(), copy);
          if (copy.mapping() != null) {
            copy.mapping().link(copy);
          }
          Memory.copyPageRange(copy, vma);
        }
      } finally {
        child.mmapWriteUnlock();
      }
    } finally {
      mmapWriteUnlock();
    }
    return child;
  }

  /**
   * {@code exit_mmap}: the process exits. Every subscribed mmu notifier's {@code ->release}
   * runs; then, in one full-mm {@code mmu_gather} inside an {@code UNMAP} bracket over the whole
   * address space, every PTE is cleared (markers included: {@code ZAP_FLAG_DROP_MARKER}), each
   * folio losing the mapping and, after the flush, the reference; then every VMA is removed from
   * the mm, its file's i_mmap and its anon_vma. Page-cache pages stay in their files.
   */
  public void exitMmap() {
    MmuNotifiers.release(this);
    mmapWriteLock();
    try {
      List<Vma> all = new ArrayList<>(vmas.values());
      MmuGather tlb = MmuGather.tlbGatherMmuFullmm(this);
      try {
        MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.UNMAP, 0, this, 0, -1L);
        MmuNotifiers.invalidateRangeStart(range);
        try {
          for (Vma vma : all) {
            Memory.unmapSingleVma(tlb, vma, vma.start(), vma.end(), true);
          }
        } finally {
          MmuNotifiers.invalidateRangeEnd(range);
        }
      } finally {
        tlb.tlbFinishMmu();
      }
      for (Vma vma : all) {
        AddressSpace mapping = vma.mapping();
        if (mapping != null) {
          mapping.iMmapLockWrite();
          try {
            mapping.unlink(vma);
          } finally {
            mapping.iMmapUnlockWrite();
          }
        }
        if (vma.anonVma() != null) {
          vma.anonVma().unlink(vma);
        }
      }
      vmas.clear();
    } finally {
      mmapWriteUnlock();
    }
  }

  /** {@code vma_lookup}: the VMA containing {@code addr}, or null. Takes the mmap lock for read. */
  public Vma vmaLookup(long addr) {
    mmapLock.readLock().lock();
    try {
      Map.Entry<Long, Vma> e = vmas.floorEntry(addr);
      return e != null && e.getValue().contains(addr) ? e.getValue() : null;
    } finally {
      mmapLock.readLock().unlock();
    }
  }

  /** Every VMA, by address. */
  public List<Vma> vmas() {
    mmapLock.readLock().lock();
    try {
      return new ArrayList<>(vmas.values());
    } finally {
      mmapLock.readLock().unlock();
    }
  }

  /**
   * {@code follow_pte}: the current PTE (or huge leaf) mapping {@code addr}, or 0 when nothing
   * maps it. A read for dumps and tests; it takes no lock.
   */
  public long followPte(long addr) {
    long page = addr & Pgtable.PAGE_MASK;
    long huge = pgd.hugeLeaf(page);
    if (huge != 0) {
      return huge;
    }
    PteTable pt = pgd.pteOffset(page);
    return pt == null ? 0 : pt.get(page);
  }

  /**
   * {@code mm->notifier_subscriptions}: the registered notifiers, in registration order, as a
   * read-only view (register and unregister with {@link
   * dev.ptwalk.runtime.notifier.MmuNotifiers}).
   */
  public List<MmuNotifier> notifierSubscriptions() {
    return Collections.unmodifiableList(subscriptions);
  }

  @Override
  public String toString() {
    return "mm " + name;
  }
}
