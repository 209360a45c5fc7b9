package dev.ptwalk.runtime.notifier;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.SignalException;
import dev.ptwalk.runtime.debug.Bug;
import dev.ptwalk.runtime.mm.Folio;
import dev.ptwalk.runtime.mm.Memory;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.PhysMem;
import dev.ptwalk.runtime.mm.VmFaultResult;
import dev.ptwalk.runtime.mm.VmFlags;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A hypervisor MMU (KVM's TDP MMU on EPT with accessed and dirty bits) that maps pages of one mm
 * for a guest, kept coherent with the primary page tables by mmu notifiers alone.
 *
 * <p>Mirrors, in {@code virt/kvm/kvm_main.c}: the notifier callbacks ({@code
 * kvm_mmu_notifier_invalidate_range_start/end}, {@code kvm_mmu_notifier_clear_flush_young}, {@code
 * kvm_mmu_notifier_clear_young}, {@code kvm_mmu_notifier_test_young}, {@code
 * kvm_mmu_notifier_release}), {@code kvm_mmu_invalidate_begin/end} ({@code
 * mmu_invalidate_in_progress}, {@code mmu_invalidate_seq}), {@code hva_to_pfn} (GUP-fast, then GUP
 * with {@code FOLL_TOUCH}, then {@code hva_to_pfn_remapped} for {@code VM_IO}/{@code VM_PFNMAP})
 * and {@code kvm_release_page_dirty/clean}; in {@code arch/x86/kvm/mmu/tdp_mmu.c}: the zap ({@code
 * tdp_mmu_zap_leafs}), the lockless aging ({@code __kvm_tdp_mmu_age_gfn_range}, {@code
 * kvm_tdp_mmu_age_spte}), the write-protect ({@code wrprot_gfn_range}) and {@code
 * handle_changed_spte}'s dirty propagation; in {@code spte.h}: {@code is_accessed_spte} and the EPT
 * A/D bits.
 *
 * <p><b>Sptes.</b> Each spte has the EPT bits readable, writable, accessed (bit 8) and dirty (bit
 * 9). The guest's own accesses set A, and D on a store, as EPT hardware with A/D enabled does;
 * nothing else sets them (KVM's {@code make_spte} presets D on every writable spte, commit
 * 9b51a63024bd; the model leaves D to the guest's store, so that {@link #spte} shows which pages
 * the guest wrote). A guest access that no spte allows is an EPT violation: the secondary fault
 * waits for running invalidations ({@code mmu_invalidate_retry_gfn_unsafe}), finds the pfn with
 * {@code hva_to_pfn} (which takes a folio reference, except for remapped pfns), and installs the
 * spte only if no invalidation ran meanwhile ({@code mmu_invalidate_retry}); otherwise it drops
 * the reference unused and retries. The spte is writable whenever the host page was
 * ({@code map_writable}: even a read fault maps writable when GUP-fast can get the page for
 * write). The secondary fault never marks the primary PTE dirty: GUP-fast touches nothing, and
 * GUP's {@code FOLL_TOUCH} marks the folio, not the PTE, and only when the PTE is clean; a store
 * that needs the page writable write-faults the primary, whose fault path dirties its PTE as for
 * any store.
 *
 * <p><b>Invalidation</b> ({@link InvalidationPolicy}): {@link InvalidationPolicy#ZAP} drops every
 * spte of the range for every event, as KVM does; {@link InvalidationPolicy#WRPROTECT} write-
 * protects and keeps them for the events that only take write permission away, and re-reads the
 * primary PTE of each kept spte at the end of the bracket. <b>Folio dirtiness</b> ({@link
 * DirtyMarking}): either when a writable spte is installed, with the reference held (a), or when a
 * dirty spte is zapped or write-protected, before {@code invalidate_range_start} returns (b), or,
 * as a negative control, at {@code invalidate_range_end} (too late). <b>Aging</b>: {@link
 * #clearYoung(MmStruct, long, long, boolean)} test-and-clears the A bit; a secondary MMU built
 * with {@code fastAging} has {@code has_fast_aging} and ages without its lock, as the TDP MMU does
 * under RCU ({@code CONFIG_KVM_MMU_LOCKLESS_AGING}); one without takes its {@code mmu_lock}.
 *
 * <p>The object's monitor is {@code kvm->mmu_lock}; lockless aging updates an spte with an atomic
 * compare-and-set, as {@code tdp_mmu_clear_spte_bits_atomic} does, and guest accesses set A and D
 * the same way.
 */
public final class SecondaryMmu implements MmuNotifier {
  /** What an invalidation does to the sptes of its range. */
  public enum InvalidationPolicy {
    /**
     * Zap every spte of the range, whatever the event: {@code kvm_mmu_notifier_invalidate_range_start}
     * calls {@code kvm_unmap_gfn_range} for all of them.
     */
    ZAP,
    /**
     * For {@code PROTECTION_PAGE}, {@code SOFT_DIRTY} and {@code CLEAR}, make the sptes read-only
     * and keep them ({@code wrprot_gfn_range}); zap for every other event. Seed 000's hypothetical
     * ({@code MADV_FREE} "could do MMU_NOTIFY_WRITE_PROTECT instead of MMU_NOTIFY_CLEAR"): no
     * kernel has it. Since {@code CLEAR} also unmaps and replaces pages (reclaim, {@code
     * MADV_DONTNEED}, copy-on-write), a kept spte is checked against the primary PTE at {@code
     * invalidate_range_end} and zapped unless the PTE still maps the same page, as {@code
     * MMU_NOTIFY_PROTECTION_PAGE}'s comment asks mirrors to read the CPU page table from the end
     * callback.
     */
    WRPROTECT;

    /** Whether this policy keeps sptes read-only, rather than zapping them, for {@code event}. */
    public boolean wrprotects(MmuNotifierEvent event) {
      return this == WRPROTECT && (event == MmuNotifierEvent.PROTECTION_PAGE
          || event == MmuNotifierEvent.SOFT_DIRTY || event == MmuNotifierEvent.CLEAR);
    }
  }

  /**
   * When the secondary MMU marks a folio dirty for the guest's writes through a writable spte (the
   * primary PTE may stay W=1, D=0: seed 001).
   */
  public enum DirtyMarking {
    /**
     * (a) When a writable spte is installed, while {@code hva_to_pfn}'s reference is held ({@code
     * kvm_release_faultin_page} with {@code dirty}, {@code kvm_release_page_dirty}): KVM x86 since
     * "KVM: x86/mmu: Mark folio dirty when creating SPTE, not when zapping/modifying" (Sean
     * Christopherson, v12 07/84, merged for 6.13). Reclaim's refcount check sees the reference
     * until the folio is dirty, and a later clean of the folio must invalidate first.
     */
    ON_MAP,
    /**
     * (b) When a dirty spte is zapped or write-protected, before {@code invalidate_range_start}
     * returns ({@code handle_changed_spte}'s {@code kvm_set_pfn_dirty}): KVM x86 before 6.13.
     * {@code try_to_unmap_one} tests the folio's dirty flag after the hook and before the end.
     */
    ON_ZAP,
    /**
     * Broken, a negative control: the dirty spte's folio is marked only at {@code
     * invalidate_range_end}, after the start hook returned. {@code try_to_unmap_one} has by then
     * found the folio clean and cleared a lazyfree PTE without a swap entry: the write is lost.
     */
    ON_RANGE_END
  }

  /** One shadow PTE: its pfn and EPT bits. */
  public record Spte(long pfn, boolean writable, boolean young, boolean dirty) {}

  /**
   * What this secondary MMU did so far.
   *
   * @param faults guest accesses that took an EPT violation (each counted once, however often it
   *     retried)
   * @param faultRetries secondary faults retried because an invalidation ran ({@code
   *     mmu_invalidate_retry}) or the fault was for a store and the spte came back read-only
   * @param zaps sptes dropped by invalidations and by release
   * @param writeProtects writable sptes made read-only and kept
   * @param dirtyMarks folios marked dirty by this MMU ({@code kvm_set_pfn_dirty}, {@code
   *     kvm_release_page_dirty})
   * @param fastAgings young callbacks answered without the lock (lockless aging)
   * @param lockedAgings young callbacks answered under {@code mmu_lock}
   */
  public record Counts(long faults, long faultRetries, long zaps, long writeProtects,
      long dirtyMarks, long fastAgings, long lockedAgings) {}

  /** Builds a {@link SecondaryMmu}; every option defaults to today's KVM. */
  public static final class Builder {
    private final String name;
    private final MmStruct mm;
    private InvalidationPolicy policy = InvalidationPolicy.ZAP;
    private DirtyMarking dirtyMarking = DirtyMarking.ON_MAP;
    private boolean fastAging;

    private Builder(String name, MmStruct mm) {
      this.name = name;
      this.mm = mm;
    }

    /** The invalidation policy; default {@link InvalidationPolicy#ZAP}. */
    public Builder policy(InvalidationPolicy policy) {
      if (policy == null) {
        throw new NullPointerException("policy");
      }
      this.policy = policy;
      return this;
    }

    /** When folios are marked dirty; default {@link DirtyMarking#ON_MAP}. */
    public Builder dirtyMarking(DirtyMarking dirtyMarking) {
      if (dirtyMarking == null) {
        throw new NullPointerException("dirtyMarking");
      }
      this.dirtyMarking = dirtyMarking;
      return this;
    }

    /**
     * Whether the subscription has {@code has_fast_aging} (not merged) and ages locklessly;
     * default false, as the v7 patch leaves it for KVM.
     */
    public Builder fastAging(boolean fastAging) {
      this.fastAging = fastAging;
      return this;
    }

    /** The secondary MMU, registered on the mm. */
    public SecondaryMmu build() {
      return new SecondaryMmu(this);
    }
  }

  /** {@code VMX_EPT_READABLE_MASK}. */
  private static final long EPT_READABLE = 1L;
  /** {@code VMX_EPT_WRITABLE_MASK} ({@code PT_WRITABLE_MASK}). */
  private static final long EPT_WRITABLE = 1L << 1;
  /** {@code VMX_EPT_ACCESS_BIT} ({@code shadow_accessed_mask} with A/D bits). */
  private static final long EPT_ACCESSED = 1L << 8;
  /** {@code VMX_EPT_DIRTY_BIT} ({@code shadow_dirty_mask} with A/D bits). */
  private static final long EPT_DIRTY = 1L << 9;
  /**
   * Model-only software bit: the pfn came from GUP with a folio reference (a refcounted page), so
   * its folio may be marked dirty; a remapped pfn ({@code VM_IO}/{@code VM_PFNMAP}) has none.
   */
  private static final long SPTE_FOLIO = 1L << 59;

  /** Rounds of GUP and fault before a secondary fault gives up, as a CPU's access does. */
  private static final int MAX_FAULT_ATTEMPTS = 1000;

  private final String name;
  private final MmStruct mm;
  private final InvalidationPolicy policy;
  private final DirtyMarking dirtyMarking;
  private final boolean fastAging;
  /** Page number to spte. Changed under the monitor, except A bits cleared by lockless aging. */
  private final ConcurrentSkipListMap<Long, Long> sptes = new ConcurrentSkipListMap<>();
  /** Folios of dirty sptes zapped under {@link DirtyMarking#ON_RANGE_END}, per open bracket. */
  private final Map<MmuNotifierRange, List<Long>> deferredDirty = new IdentityHashMap<>();
  private int invalidateInProgress;
  private long invalidateSeq;
  private long faults;
  private long faultRetries;
  private long zaps;
  private long writeProtects;
  private long dirtyMarks;
  /** Counted without the monitor: lockless aging never takes it. */
  private final AtomicLong fastAgings = new AtomicLong();
  private long lockedAgings;

  /** A secondary MMU named {@code name} with today's KVM behaviour, registered on {@code mm}. */
  public SecondaryMmu(String name, MmStruct mm) {
    this(builder(name, mm));
  }

  private SecondaryMmu(Builder b) {
    if (b.name == null || b.name.isEmpty()) {
      throw new IllegalArgumentException("a secondary MMU needs a non-empty name");
    }
    this.name = b.name;
    this.mm = b.mm;
    this.policy = b.policy;
    this.dirtyMarking = b.dirtyMarking;
    this.fastAging = b.fastAging;
    MmuNotifiers.register(this, b.mm);
  }

  /** A builder for a secondary MMU named {@code name} on {@code mm} ({@code kvm_create_vm}). */
  public static Builder builder(String name, MmStruct mm) {
    if (mm == null) {
      throw new NullPointerException("mm");
    }
    return new Builder(name, mm);
  }

  /** The secondary MMUs registered on {@code mm}, in registration order. */
  public static List<SecondaryMmu> attached(MmStruct mm) {
    List<SecondaryMmu> out = new ArrayList<>();
    for (MmuNotifier sub : mm.notifierSubscriptions()) {
      if (sub instanceof SecondaryMmu) {
        out.add((SecondaryMmu) sub);
      }
    }
    return out;
  }

  /** The name given at creation. */
  public String name() {
    return name;
  }

  /** The mm whose pages this MMU maps. */
  public MmStruct mm() {
    return mm;
  }

  /** The invalidation policy. */
  public InvalidationPolicy policy() {
    return policy;
  }

  /** When folios are marked dirty. */
  public DirtyMarking dirtyMarking() {
    return dirtyMarking;
  }

  @Override
  public boolean hasFastAging() {
    return fastAging;
  }

  /** A guest load from {@code addr} (8-byte aligned). */
  public long read(long addr) {
    return access(addr, false, 0);
  }

  /** A guest store to {@code addr} (8-byte aligned). */
  public void write(long addr, long value) {
    access(addr, true, value);
  }

  /** The spte mapping {@code addr}, or null. */
  public Spte spte(long addr) {
    Long s = sptes.get(addr >>> Pgtable.PAGE_SHIFT);
    return s == null ? null : decode(s);
  }

  /** Every spte, by the address of the page it maps, as a snapshot. */
  public SortedMap<Long, Spte> sptes() {
    TreeMap<Long, Spte> out = new TreeMap<>();
    for (Map.Entry<Long, Long> e : sptes.entrySet()) {
      out.put(e.getKey() << Pgtable.PAGE_SHIFT, decode(e.getValue()));
    }
    return Collections.unmodifiableSortedMap(out);
  }

  /** Number of sptes installed now. */
  public int spteCount() {
    return sptes.size();
  }

  /** Sptes dropped by invalidations (and release) so far. */
  public synchronized long zapped() {
    return zaps;
  }

  /** Secondary faults so far. */
  public synchronized long faults() {
    return faults;
  }

  /** Writable sptes made read-only and kept so far. */
  public synchronized long writeProtected() {
    return writeProtects;
  }

  /** All the counts, at one instant. */
  public synchronized Counts counts() {
    return new Counts(faults, faultRetries, zaps, writeProtects, dirtyMarks, fastAgings.get(),
        lockedAgings);
  }

  /** {@code mmu_invalidate_in_progress}. */
  public synchronized int invalidateInProgress() {
    return invalidateInProgress;
  }

  /**
   * {@code kvm_mmu_notifier_invalidate_range_start}: {@code kvm_mmu_invalidate_begin}, then zap
   * or write-protect every spte of the range ({@code kvm_unmap_gfn_range}), marking folios dirty
   * as {@link #dirtyMarking()} says.
   */
  @Override
  public synchronized void invalidateRangeStart(MmuNotifierRange range) {
    invalidateInProgress++;
    boolean wrprotect = policy.wrprotects(range.event());
    List<Long> deferred = new ArrayList<>();
    for (Long vpn : new ArrayList<>(inRange(range.start(), range.end()).keySet())) {
      long old;
      if (wrprotect) {
        old = clearBits(vpn, EPT_WRITABLE | EPT_DIRTY);
        if ((old & EPT_WRITABLE) != 0) {
          writeProtects++;
        }
      } else {
        Long removed = sptes.remove(vpn); // never null: only the monitor's holder removes
        if (removed == null) {
          continue;
        }
        old = removed;
        zaps++;
      }
      if ((old & EPT_DIRTY) != 0) {
        spteDirtyGone(old, deferred);
      }
    }
    if (!deferred.isEmpty()) {
      deferredDirty.put(range, deferred);
    }
  }

  /**
   * {@code kvm_mmu_notifier_invalidate_range_end}: under {@link InvalidationPolicy#WRPROTECT},
   * zap each kept spte whose primary PTE no longer maps its page; under {@link
   * DirtyMarking#ON_RANGE_END}, mark the folios of the bracket's dirty sptes now; then {@code
   * kvm_mmu_invalidate_end} ({@code mmu_invalidate_seq++}, {@code mmu_invalidate_in_progress--})
   * and wake the secondary faults waiting for it.
   */
  @Override
  public synchronized void invalidateRangeEnd(MmuNotifierRange range) {
    if (policy.wrprotects(range.event())) {
      for (Map.Entry<Long, Long> e : new ArrayList<>(inRange(range.start(), range.end())
          .entrySet())) {
        long addr = e.getKey() << Pgtable.PAGE_SHIFT;
        long pte = mm.followPte(addr);
        if (!Pte.present(pte) || Pte.pfn(pte) != sptePfn(e.getValue())) {
          // Nothing to hand over: start cleaned the kept spte, and a read-only spte gets no D.
          if (sptes.remove(e.getKey()) != null) {
            zaps++;
          }
        }
      }
    }
    List<Long> deferred = deferredDirty.remove(range);
    if (deferred != null) {
      for (long spte : deferred) {
        markDirty(spte);
      }
    }
    invalidateSeq++;
    invalidateInProgress--;
    notifyAll();
  }

  /** {@code kvm_mmu_notifier_release} ({@code kvm_flush_shadow_all}): zap every spte. */
  @Override
  public synchronized void release(MmStruct mm) {
    for (Long vpn : new ArrayList<>(sptes.keySet())) {
      Long old = sptes.remove(vpn);
      zaps++;
      if (old != null && (old & EPT_DIRTY) != 0 && dirtyMarking != DirtyMarking.ON_MAP) {
        markDirty(old);
      }
    }
  }

  /** {@code kvm_mmu_notifier_clear_young}: test and clear the A bits of the range. */
  @Override
  public boolean clearYoung(MmStruct mm, long start, long end) {
    return (clearYoung(mm, start, end, false) & YOUNG) != 0;
  }

  /**
   * {@code kvm_mmu_notifier_clear_flush_young}: as {@link #clearYoung(MmStruct, long, long)}; KVM
   * then flushes the guest's TLB when a page was young, which the model has none of.
   */
  @Override
  public boolean clearFlushYoung(MmStruct mm, long start, long end) {
    return clearYoung(mm, start, end);
  }

  /** {@code kvm_mmu_notifier_test_young}: is the page at {@code addr} young here? */
  @Override
  public boolean testYoung(MmStruct mm, long addr) {
    return (testYoung(mm, addr, false) & YOUNG) != 0;
  }

  /**
   * {@code clear_young} with {@code fast_only} (not merged): {@code kvm_age_gfn} over the range.
   * With fast aging, locklessly ({@code __kvm_tdp_mmu_age_gfn_range} under RCU), and a young answer
   * carries {@link #WAS_FAST}; without, under {@code mmu_lock}. A subscription without {@code
   * has_fast_aging} is never asked {@code fastOnly} by a correct caller; if it is, this fires a
   * {@code WARN_ON} and takes its lock anyway, which is the blocking the caller meant to avoid.
   */
  @Override
  public int clearYoung(MmStruct mm, long start, long end, boolean fastOnly) {
    return age(start, end, true, fastOnly);
  }

  /** {@code test_young} with {@code fast_only} (not merged): as {@link #clearYoung}, not clearing. */
  @Override
  public int testYoung(MmStruct mm, long addr, boolean fastOnly) {
    long page = addr & Pgtable.PAGE_MASK;
    return age(page, page + Pgtable.PAGE_SIZE, false, fastOnly);
  }

  private int age(long start, long end, boolean clear, boolean fastOnly) {
    if (fastAging) {
      fastAgings.incrementAndGet();
      return ageGfnRange(start, end, clear) ? YOUNG | WAS_FAST : 0;
    }
    Bug.warn(mm, fastOnly, "secondary MMU %s without has_fast_aging was asked to age fast-only:"
        + " it takes mmu_lock to answer, and may block", name);
    synchronized (this) {
      lockedAgings++;
      return ageGfnRange(start, end, clear) ? YOUNG : 0;
    }
  }

  /**
   * {@code __kvm_tdp_mmu_age_gfn_range}: whether any spte of the range has A; with {@code clear},
   * clear it on each ({@code kvm_tdp_mmu_age_spte}, an atomic clear of the A bit), else stop at
   * the first ({@code test_only}).
   */
  private boolean ageGfnRange(long start, long end, boolean clear) {
    boolean young = false;
    for (Map.Entry<Long, Long> e : inRange(start, end).entrySet()) {
      if ((e.getValue() & EPT_ACCESSED) == 0) {
        continue;
      }
      if (!clear) {
        return true;
      }
      young = true;
      clearBits(e.getKey(), EPT_ACCESSED);
    }
    return young;
  }

  /** The sptes of {@code [start, end)}, {@code end == -1} meaning the top (unsigned). */
  private ConcurrentNavigableMap<Long, Long> inRange(long start, long end) {
    long first = start >>> Pgtable.PAGE_SHIFT;
    long last = end == -1L ? Long.MAX_VALUE : ((end - 1) >>> Pgtable.PAGE_SHIFT) + 1;
    return first >= last ? new ConcurrentSkipListMap<>() : sptes.subMap(first, last);
  }

  /** Atomically clear {@code bits} of the spte of {@code vpn}; returns its old value (0: none). */
  private long clearBits(long vpn, long bits) {
    while (true) {
      Long old = sptes.get(vpn);
      if (old == null) {
        return 0;
      }
      if ((old & bits) == 0 || sptes.replace(vpn, old, old & ~bits)) {
        return old;
      }
    }
  }

  /** Atomically set {@code bits} of the spte of {@code vpn}, as the EPT walk sets A and D. */
  private void setBits(long vpn, long bits) {
    while (true) {
      Long old = sptes.get(vpn);
      if (old == null || (old & bits) == bits || sptes.replace(vpn, old, old | bits)) {
        return;
      }
    }
  }

  /** A dirty spte lost its D (zapped or write-protected): propagate it as the policy says. */
  private void spteDirtyGone(long old, List<Long> deferred) {
    if (dirtyMarking == DirtyMarking.ON_ZAP) {
      markDirty(old);
    } else if (dirtyMarking == DirtyMarking.ON_RANGE_END) {
      deferred.add(old);
    }
  }

  /** {@code kvm_set_pfn_dirty} for a refcounted page. */
  private void markDirty(long spte) {
    if ((spte & SPTE_FOLIO) == 0) {
      return;
    }
    Folio folio = mm.machine().physMem().folio(sptePfn(spte));
    if (folio != null) {
      folio.markDirty();
      dirtyMarks++;
    }
  }

  private static long sptePfn(long spte) {
    return (spte & ~SPTE_FOLIO) >>> Pgtable.PAGE_SHIFT;
  }

  private static Spte decode(long s) {
    return new Spte(sptePfn(s), (s & EPT_WRITABLE) != 0, (s & EPT_ACCESSED) != 0,
        (s & EPT_DIRTY) != 0);
  }

  /**
   * A guest access: through the spte if one allows it (the EPT walk sets A, and D on a store),
   * else an EPT violation handled as {@code kvm_tdp_page_fault} does.
   */
  private long access(long addr, boolean write, long value) {
    if ((addr & 7) != 0) {
      throw new IllegalArgumentException(
          "0x" + Long.toHexString(addr) + " is not 8-byte aligned: accesses are 64-bit words");
    }
    if (addr < 0 || addr >= mm.taskSize()) {
      throw new SignalException(SignalException.Signal.SIGSEGV, mm.name(), addr, write);
    }
    long vpn = addr >>> Pgtable.PAGE_SHIFT;
    long offset = addr & ~Pgtable.PAGE_MASK;
    boolean faulted = false;
    while (true) {
      long seq;
      synchronized (this) {
        Long s = sptes.get(vpn);
        if (s != null && (!write || (s & EPT_WRITABLE) != 0)) {
          return touch(vpn, s, offset, write, value);
        }
        if (!faulted) {
          faults++;
          faulted = true;
        }
        awaitNoInvalidation();
        seq = invalidateSeq;
      }
      Faultin f = hvaToPfn(addr, write);
      synchronized (this) {
        // is_page_fault_stale / mmu_invalidate_retry: an invalidation ran while we faulted and the
        // pfn may already be stale.
        if (invalidateInProgress != 0 || invalidateSeq != seq || (write && !f.writable())) {
          f.release(false); // kvm_release_faultin_page(..., unused = true, ...)
          faultRetries++;
          continue;
        }
        long spte = (f.pfn() << Pgtable.PAGE_SHIFT) | EPT_READABLE
            | (f.writable() ? EPT_WRITABLE : 0) | (f.folio() != null ? SPTE_FOLIO : 0);
        sptes.put(vpn, spte);
        if (f.writable() && dirtyMarking == DirtyMarking.ON_MAP) {
          markDirty(spte); // kvm_release_page_dirty: with hva_to_pfn's reference still held
        }
        f.release(true);
        return touch(vpn, spte, offset, write, value);
      }
    }
  }

  /** The access itself, through spte {@code s}; called under the monitor. */
  private long touch(long vpn, long s, long offset, boolean write, long value) {
    setBits(vpn, write ? EPT_ACCESSED | EPT_DIRTY : EPT_ACCESSED);
    PhysMem mem = mm.machine().physMem();
    if (write) {
      mem.write(sptePfn(s), offset, value);
      return 0;
    }
    return mem.read(sptePfn(s), offset);
  }

  /** A vCPU faulting during an invalidation retries until it ends; here it waits. */
  private void awaitNoInvalidation() {
    while (invalidateInProgress > 0) {
      try {
        wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(name + ": interrupted waiting for an invalidation", e);
      }
    }
  }

  /**
   * What {@code hva_to_pfn} found: the pfn, whether the host page may be written ({@code
   * map_writable}), and the folio whose reference it holds (null for a remapped pfn or the zero
   * page).
   */
  private record Faultin(long pfn, boolean writable, Folio folio) {
    /**
     * {@code kvm_release_faultin_page}: {@code kvm_release_page_clean} (which marks the folio
     * accessed) when the spte was installed, {@code kvm_release_page_unused} when not; both drop
     * the reference.
     */
    void release(boolean used) {
      if (folio != null) {
        if (used) {
          folio.markAccessed();
        }
        folio.put();
      }
    }
  }

  /**
   * {@code hva_to_pfn} with {@code map_writable}, as x86's {@code kvm_faultin_pfn} calls it: GUP-fast
   * for write first ({@code hva_to_pfn_fast}), then GUP ({@code hva_to_pfn_slow}), then {@code
   * hva_to_pfn_remapped} for the {@code VM_IO}/{@code VM_PFNMAP} VMAs GUP refuses.
   *
   * @throws SignalException when no VMA maps {@code addr} or the VMA does not allow the access
   *     ({@code KVM_PFN_ERR_FAULT}, which {@code KVM_RUN} returns as {@code -EFAULT})
   */
  private Faultin hvaToPfn(long addr, boolean write) {
    long page = addr & Pgtable.PAGE_MASK;
    Faultin fast = getUserPageFastOnly(page);
    if (fast != null) {
      return fast;
    }
    for (int attempt = 0; attempt < MAX_FAULT_ATTEMPTS; attempt++) {
      Faultin found;
      boolean remapped;
      mm.mmapReadLock();
      try {
        Vma vma = mm.vmaLookup(page);
        if (vma == null) {
          throw new SignalException(SignalException.Signal.SIGSEGV, mm.name(), addr, write);
        }
        if (mm.pgd().hugeLeaf(page) != 0) {
          mm.machine().warn("mm " + mm.name() + ": secondary MMU " + name + " at 0x"
              + Long.toHexString(page) + ": a huge leaf; huge pages are not modelled for"
              + " secondary MMUs");
          throw new SignalException(SignalException.Signal.SIGBUS, mm.name(), addr, write);
        }
        remapped = (vma.flags() & (VmFlags.VM_IO | VmFlags.VM_PFNMAP)) != 0;
        if (!remapped && !vma.hasFlags(write ? VmFlags.VM_WRITE : VmFlags.VM_READ)) {
          throw new SignalException(SignalException.Signal.SIGSEGV, mm.name(), addr, write);
        }
        found = remapped ? followPfnmap(page, write) : followPagePte(vma, page, write);
      } finally {
        mm.mmapReadUnlock();
      }
      if (found != null) {
        if (!remapped && !write) {
          // "map read fault as writable if possible"
          Faultin writable = getUserPageFastOnly(page);
          if (writable != null) {
            found.release(false);
            return writable;
          }
        }
        return found;
      }
      // faultin_page (GUP) or fixup_user_fault (remapped): handle_mm_fault, then look again.
      // A remapped pfn that is present but read-only for a store is KVM_PFN_ERR_RO_FAULT, which
      // x86 emulates; the emulator's copy_to_user write-faults the host page the same way.
      VmFaultResult r = Memory.handleUserFault(mm, page, write);
      if (r != VmFaultResult.OK) {
        throw new SignalException(r == VmFaultResult.SIGBUS ? SignalException.Signal.SIGBUS
            : SignalException.Signal.SIGSEGV, mm.name(), addr, write);
      }
    }
    throw new IllegalStateException("secondary MMU " + name + ": " + (write ? "store to" : "load"
        + " from") + " 0x" + Long.toHexString(addr) + " in mm " + mm.name() + " still faults"
        + " after " + MAX_FAULT_ATTEMPTS + " fault-and-retry rounds: a fault handler returns OK"
        + " without mapping the page");
  }

  /**
   * {@code get_user_page_fast_only(hva, FOLL_WRITE)}: without the mmap lock or the ptl, a present,
   * writable PTE of a normal page: take a reference ({@code try_grab_folio_fast}, which fails on a
   * frozen folio), then check the PTE did not change meanwhile, else give it back. This pairs with
   * {@code try_to_unmap_one}, which clears the PTE before it reads the refcount. GUP-fast refuses
   * special PTEs; {@code remap_pfn_range}'s are special, which the model does not mark, so the
   * VMA's {@code VM_PFNMAP} stands in for it.
   */
  private Faultin getUserPageFastOnly(long page) {
    if (mm.pgd().hugeLeaf(page) != 0) {
      return null;
    }
    PteTable pt = mm.pgd().pteOffset(page);
    if (pt == null) {
      return null;
    }
    long pte = pt.get(page);
    if (!Pte.present(pte) || !Pte.write(pte) || Pte.special(pte)) {
      return null;
    }
    Vma vma = mm.vmaLookup(page);
    Folio folio = vma == null ? null : Memory.vmNormalFolio(vma, pte);
    if (folio == null || !folio.tryGet()) {
      return null;
    }
    if (pt.get(page) != pte) {
      folio.put();
      return null;
    }
    return new Faultin(Pte.pfn(pte), true, folio);
  }

  /**
   * {@code follow_page_pte} with {@code FOLL_GET | FOLL_TOUCH} (and {@code FOLL_WRITE} for a
   * store), under the ptl: null when the page must be faulted in first (not present, or not
   * writable for a store: {@code can_follow_write_pte} without {@code FOLL_FORCE}). {@code
   * FOLL_TOUCH} marks the folio (never the PTE) dirty for a store when the PTE is clean, and
   * accessed. The zero page comes without a reference.
   */
  private Faultin followPagePte(Vma vma, long page, boolean write) {
    PteTable pt = mm.pgd().pteOffset(page);
    if (pt == null) {
      return null;
    }
    pt.ptl().lock();
    try {
      long pte = pt.get(page);
      if (!Pte.present(pte) || (write && !Pte.write(pte))) {
        return null;
      }
      Folio folio = Memory.vmNormalFolio(vma, pte);
      if (folio == null) {
        return mm.machine().physMem().isZeroPfn(Pte.pfn(pte))
            ? new Faultin(Pte.pfn(pte), false, null) : null;
      }
      folio.get();
      if (write && !Pte.dirty(pte) && !folio.testDirty()) {
        folio.markDirty();
      }
      folio.markAccessed();
      return new Faultin(Pte.pfn(pte), write, folio);
    } finally {
      pt.ptl().unlock();
    }
  }

  /**
   * {@code hva_to_pfn_remapped}'s {@code follow_pfnmap_start}, under the ptl: the pfn of a present
   * PTE, writable as the PTE is, with no reference; null when it must be faulted (in) first.
   */
  private Faultin followPfnmap(long page, boolean write) {
    PteTable pt = mm.pgd().pteOffset(page);
    if (pt == null) {
      return null;
    }
    pt.ptl().lock();
    try {
      long pte = pt.get(page);
      if (!Pte.present(pte) || (write && !Pte.write(pte))) {
        return null;
      }
      return new Faultin(Pte.pfn(pte), Pte.write(pte), null);
    } finally {
      pt.ptl().unlock();
    }
  }

  @Override
  public String toString() {
    return "secondary MMU " + name + " of mm " + mm.name();
  }
}
