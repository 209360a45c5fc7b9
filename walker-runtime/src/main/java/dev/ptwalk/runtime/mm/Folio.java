package dev.ptwalk.runtime.mm;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The descriptor of one allocated page frame: its flags, references and mappings.
 *
 * <p>Mirrors {@code struct folio} (one base page here: no large folios) with {@code
 * include/linux/page-flags.h}, {@code page_ref.h} and the mapcount of {@code mm/rmap.c}. Every
 * frame {@link PhysMem#allocPage} hands out has one; the zero page has none. Thread-safe: CPUs,
 * walkers, reclaim and secondary MMUs race on it, so every field is atomic or volatile.
 *
 * <ul>
 *   <li>{@link #refCount()} ({@code _refcount}): the allocation's reference, then one per PTE that
 *       maps the folio, one for the page cache, and extra ones taken with {@link #get()} (a GUP
 *       or {@code hva_to_pfn} reference, reclaim's isolation). At 0 the frame is free.
 *   <li>{@link #mapCount()} ({@code folio_mapcount}): PTEs that map it, in every mm.
 *   <li>Anonymous folios ({@link #anon()}) belong to an {@link AnonVma} and are {@link
 *       #swapbacked()} until {@code MADV_FREE} makes them {@link #lazyfree()}; file folios belong
 *       to their {@link AddressSpace} at {@link #index()}.
 * </ul>
 */
public final class Folio {
  private static final int PG_DIRTY = 1;
  private static final int PG_REFERENCED = 1 << 1;
  private static final int PG_SWAPBACKED = 1 << 2;
  private static final int PG_ACTIVE = 1 << 3;
  private static final int PG_ANON_EXCLUSIVE = 1 << 4;

  private final long pfn;
  private final AtomicInteger refcount = new AtomicInteger(1);
  private final AtomicInteger mapcount = new AtomicInteger();
  private final AtomicInteger flags = new AtomicInteger();
  private volatile AddressSpace mapping;
  private volatile AnonVma anonVma;
  private volatile long index = -1;

  Folio(long pfn) {
    this.pfn = pfn;
  }

  /** {@code folio_pfn}. */
  public long pfn() {
    return pfn;
  }

  /** {@code folio_test_anon}: anonymous memory, with an {@link AnonVma} rather than a file. */
  public boolean anon() {
    return anonVma != null;
  }

  /** {@code folio_anon_vma}: the anon_vma of an anonymous folio, or null. */
  public AnonVma anonVma() {
    return anonVma;
  }

  /** {@code folio_mapping}: the file of a page-cache folio, or null (anonymous or unowned). */
  public AddressSpace mapping() {
    return mapping;
  }

  /**
   * {@code folio->index}: the file page of a page-cache folio, or for an anonymous one the linear
   * page index it was first mapped at ({@code linear_page_index}); -1 before either.
   */
  public long index() {
    return index;
  }

  /** {@code folio_test_swapbacked}: backed by swap (anonymous), not lazily freeable. */
  public boolean swapbacked() {
    return test(PG_SWAPBACKED);
  }

  /** {@code folio_set_swapbacked}: make a lazyfree folio ordinary anonymous memory again. */
  public void setSwapbacked() {
    set(PG_SWAPBACKED);
  }

  /**
   * Whether {@code MADV_FREE} marked this anonymous folio lazily freeable: anonymous and not
   * swap-backed ({@code folio_test_anon && !folio_test_swapbacked}), so reclaim may drop it
   * without writing it anywhere if it is still clean.
   */
  public boolean lazyfree() {
    return anon() && !swapbacked();
  }

  /**
   * {@code folio_mark_lazyfree} (mm/swap.c): an anonymous, swap-backed folio becomes lazyfree
   * (its active and referenced flags and swap-backed cleared); others are left alone. The kernel
   * does this through a per-CPU batch drained later; here it takes effect at once, as after
   * {@code lru_add_drain}.
   */
  public void markLazyfree() {
    while (true) {
      int f = flags.get();
      if (anonVma == null || (f & PG_SWAPBACKED) == 0) {
        return;
      }
      if (flags.compareAndSet(f, f & ~(PG_SWAPBACKED | PG_ACTIVE | PG_REFERENCED))) {
        return;
      }
    }
  }

  /** {@code folio_test_dirty}. */
  public boolean testDirty() {
    return test(PG_DIRTY);
  }

  /**
   * {@code folio_mark_dirty}: the folio's contents differ from its backing store.
   *
   * @return whether it was clean before ({@code !TestSetPageDirty})
   */
  public boolean markDirty() {
    return (flags.getAndUpdate(f -> f | PG_DIRTY) & PG_DIRTY) == 0;
  }

  /** {@code folio_test_clear_dirty}: clear the dirty flag and say whether it was set. */
  public boolean testClearDirty() {
    return (flags.getAndUpdate(f -> f & ~PG_DIRTY) & PG_DIRTY) != 0;
  }

  /** {@code folio_clear_dirty}. */
  public void clearDirty() {
    clear(PG_DIRTY);
  }

  /** {@code folio_test_referenced}. */
  public boolean referenced() {
    return test(PG_REFERENCED);
  }

  /** {@code folio_test_active}. */
  public boolean active() {
    return test(PG_ACTIVE);
  }

  /**
   * {@code folio_mark_accessed} (classic LRU): a first access sets referenced; a second one
   * activates an inactive folio and clears referenced.
   */
  public void markAccessed() {
    flags.updateAndGet(f -> {
      if ((f & PG_REFERENCED) == 0) {
        return f | PG_REFERENCED;
      }
      return (f & PG_ACTIVE) == 0 ? (f | PG_ACTIVE) & ~PG_REFERENCED : f;
    });
  }

  /** {@code folio_test_clear_referenced}. */
  public boolean testClearReferenced() {
    return (flags.getAndUpdate(f -> f & ~PG_REFERENCED) & PG_REFERENCED) != 0;
  }

  /**
   * {@code PageAnonExclusive}: this anonymous page is mapped by exactly one process, which may
   * write to it without copying; cleared when fork shares it.
   */
  public boolean anonExclusive() {
    return test(PG_ANON_EXCLUSIVE);
  }

  /** {@code SetPageAnonExclusive}. */
  public void setAnonExclusive() {
    set(PG_ANON_EXCLUSIVE);
  }

  /** {@code ClearPageAnonExclusive}. */
  public void clearAnonExclusive() {
    clear(PG_ANON_EXCLUSIVE);
  }

  /** {@code folio_ref_count}. */
  public int refCount() {
    return refcount.get();
  }

  /**
   * {@code folio_get}: take a reference, as GUP or {@code hva_to_pfn} does for a secondary MMU.
   *
   * @throws IllegalStateException if the folio is already free ({@code VM_BUG_ON})
   */
  public void get() {
    int was = refcount.getAndUpdate(r -> r <= 0 ? r : r + 1);
    if (was <= 0) {
      throw new IllegalStateException(this + " is free: folio_get on a freed folio");
    }
  }

  /**
   * {@code folio_try_get}: take a reference unless the folio is free or frozen ({@code
   * folio_ref_freeze} left it at 0), as GUP-fast does without any lock ({@code try_grab_folio_fast}).
   *
   * @return whether a reference was taken
   */
  public boolean tryGet() {
    return refcount.getAndUpdate(r -> r <= 0 ? r : r + 1) > 0;
  }

  /**
   * {@code folio_put}: drop a reference; the last one frees the frame.
   *
   * @throws IllegalStateException if the folio is already free ({@code VM_BUG_ON})
   */
  public void put() {
    int was = refcount.getAndUpdate(r -> r <= 0 ? r : r - 1);
    if (was <= 0) {
      throw new IllegalStateException(this + " is free: folio_put without a reference");
    }
  }

  /**
   * {@code folio_ref_freeze}: succeed only if exactly {@code expected} references are held,
   * leaving none, so that nobody can take a new one ({@code __remove_mapping}, lazyfree discard).
   */
  public boolean refFreeze(int expected) {
    return refcount.compareAndSet(expected, 0);
  }

  /** {@code folio_mapcount}: PTEs that map this folio, in every mm. */
  public int mapCount() {
    return mapcount.get();
  }

  /** {@code folio_mapped}. */
  public boolean mapped() {
    return mapcount.get() > 0;
  }

  /**
   * {@code folio_maybe_mapped_shared}: mapped by more than one PTE (for a small folio that means
   * more than one process, for example after fork).
   */
  public boolean maybeMappedShared() {
    return mapcount.get() > 1;
  }

  /** Whether the last reference was dropped and the frame is free. */
  public boolean freed() {
    return refcount.get() == 0;
  }

  /** {@code folio_add_new_anon_rmap}'s bookkeeping: an anonymous folio of {@code anonVma}. */
  void setAnon(AnonVma anonVma, long index) {
    this.index = index;
    this.anonVma = anonVma;
    set(PG_SWAPBACKED);
  }

  /** {@code filemap_add_folio}'s bookkeeping: file page {@code index} of {@code mapping}. */
  void setFile(AddressSpace mapping, long index) {
    this.index = index;
    this.mapping = mapping;
  }

  /** {@code folio_move_anon_rmap}: the folio now belongs to {@code anonVma}. */
  void moveAnon(AnonVma anonVma) {
    this.anonVma = anonVma;
  }

  int incMapcount() {
    return mapcount.incrementAndGet();
  }

  int decMapcount() {
    int v = mapcount.decrementAndGet();
    if (v < 0) {
      mapcount.incrementAndGet();
      throw new IllegalStateException(this + ": mapcount below zero (an unmap without a map)");
    }
    return v;
  }

  private boolean test(int bit) {
    return (flags.get() & bit) != 0;
  }

  private void set(int bit) {
    flags.getAndUpdate(f -> f | bit);
  }

  private void clear(int bit) {
    flags.getAndUpdate(f -> f & ~bit);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("folio pfn=0x").append(Long.toHexString(pfn))
        .append(" ref=").append(refcount.get()).append(" map=").append(mapcount.get());
    if (anon()) {
      sb.append(lazyfree() ? " anon lazyfree" : " anon");
    } else if (mapping != null) {
      sb.append(" file=").append(mapping.name()).append(" index=").append(index);
    }
    if (testDirty()) sb.append(" dirty");
    if (referenced()) sb.append(" referenced");
    if (anonExclusive()) sb.append(" exclusive");
    return sb.toString();
  }
}
