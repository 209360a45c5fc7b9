package dev.ptwalk.runtime.notifier;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * How an aging walk asks secondary MMUs for the accessed state they keep of their own: the
 * secondary half of {@code ptep_clear_young_notify}, and what they answered. Every generated
 * {@code YOUNG} walker takes one (its overload without one uses {@link #standard()}) and calls
 * {@link #clearYoung} once per present page.
 *
 * <p>{@link #standard()} is {@code mmu_notifier_clear_young}: every subscription, as mainline
 * aging does. {@link #fastOnly()} is the form James Houghton's v7 series proposed for MGLRU
 * ({@code mmu_notifier_clear_young_fast_only}: only subscriptions with {@code has_fast_aging},
 * which answer without blocking; the others are skipped and {@link #skipped()} names them), with
 * the look-around seed 004 argues for: when a <em>fast</em> secondary MMU found a page young, ask
 * that MMU, fast-only, about the neighbouring pages too, as {@code lru_gen_look_around} does for
 * the primary PTEs (a window of at most {@link #MIN_LRU_BATCH} pages of the same PMD and VMA). A
 * neighbour found young is remembered and reported young when the walk asks about it, since its A
 * bit is now clear. <b>Neither {@code has_fast_aging} nor {@code fast_only} was merged</b> (the
 * series' author expected to drop them in v8; mainline MGLRU asks every subscription); this class
 * lets the proposal run on the model.
 *
 * <p>An instance counts what it saw, so use a fresh one per walk to read a walk's result ({@link
 * #standard()} and {@link #fastOnly()} return fresh instances). Its methods are thread-safe.
 * Subclasses exist only for negative controls ({@link #skip}).
 */
public class Aging {
  /** {@code MIN_LRU_BATCH} ({@code BITS_PER_LONG}): the most pages one look-around covers. */
  public static final int MIN_LRU_BATCH = 64;

  private final boolean fastOnly;
  private final boolean lookAround;
  private long calls;
  private long youngPages;
  private long fastYoung;
  private long skippedCalls;
  private long lookArounds;
  private final List<MmuNotifier> skipped = new ArrayList<>();
  private final Map<MmStruct, TreeSet<Long>> lookAroundYoung = new IdentityHashMap<>();
  private final Map<MmStruct, TreeSet<Long>> lookAroundPending = new IdentityHashMap<>();

  /**
   * An aging that asks only fast subscriptions when {@code fastOnly}, and looks around when a fast
   * one found a page young when {@code lookAround}.
   */
  protected Aging(boolean fastOnly, boolean lookAround) {
    this.fastOnly = fastOnly;
    this.lookAround = lookAround;
  }

  /** {@code mmu_notifier_clear_young} on every subscription, as aging does today; no look-around. */
  public static Aging standard() {
    return new Aging(false, false);
  }

  /**
   * {@code mmu_notifier_clear_young_fast_only} (not merged): only subscriptions with {@code
   * has_fast_aging}, with look-around after a fast young answer.
   */
  public static Aging fastOnly() {
    return new Aging(true, true);
  }

  /**
   * Any combination: {@code fastOnly} skips slow subscriptions; {@code lookAround} looks around a
   * page a fast subscription found young (with {@code fastOnly = false}, seed 004's "always get
   * aging information, but only look around if it can be done fast").
   */
  public static Aging of(boolean fastOnly, boolean lookAround) {
    return new Aging(fastOnly, lookAround);
  }

  /** Whether slow subscriptions are skipped. */
  public boolean isFastOnly() {
    return fastOnly;
  }

  /** Whether a fast young answer triggers a look-around. */
  public boolean looksAround() {
    return lookAround;
  }

  /**
   * Clear the secondary MMUs' accessed state of {@code [start, end)} of {@code mm} (one page, from
   * a walker) and say whether any of them saw it young, or a look-around found it young earlier in
   * this walk.
   */
  public synchronized boolean clearYoung(MmStruct mm, long start, long end) {
    calls++;
    boolean young = consumeLookAround(mm, start);
    for (MmuNotifier sub : mm.notifierSubscriptions()) {
      if (skip(sub)) {
        skippedCalls++;
        if (!skipped.contains(sub)) {
          skipped.add(sub);
        }
        continue;
      }
      int r = sub.clearYoung(mm, start, end, fastOnly);
      if ((r & MmuNotifier.YOUNG) == 0) {
        continue;
      }
      young = true;
      if ((r & MmuNotifier.WAS_FAST) != 0) {
        fastYoung++;
        if (lookAround) {
          lookAround(sub, mm, start);
        }
      }
    }
    if (young) {
      youngPages++;
    }
    return young;
  }

  /**
   * Whether this aging leaves {@code subscription} out: when fast-only, every subscription without
   * {@code has_fast_aging} (the v7 core's {@code if (fast_only && !subscription->has_fast_aging)
   * continue;}). Overridden only by negative controls.
   */
  protected boolean skip(MmuNotifier subscription) {
    return fastOnly && !subscription.hasFastAging();
  }

  /**
   * Seed 004's look-around of one fast subscription around {@code addr}: the window {@code
   * lru_gen_look_around} takes (the PMD of {@code addr}, clipped to its VMA when the caller holds
   * the mmap lock, and to {@link #MIN_LRU_BATCH} pages around {@code addr}); each other page whose
   * primary PTE is present and not the zero page is aged fast-only in that subscription.
   */
  private void lookAround(MmuNotifier sub, MmStruct mm, long addr) {
    long start = addr & Pgtable.PMD_MASK;
    long end = start + Pgtable.PMD_SIZE;
    if (mm.mmapLockedByCurrentThread()) {
      Vma vma = mm.vmaLookup(addr);
      if (vma != null) {
        start = Math.max(start, vma.start());
        end = Math.min(end, vma.end());
      }
    }
    long batch = MIN_LRU_BATCH * Pgtable.PAGE_SIZE;
    if (end - start > batch) {
      if (addr - start < batch / 2) {
        end = start + batch;
      } else if (end - addr < batch / 2) {
        start = end - batch;
      } else {
        start = addr - batch / 2;
        end = addr + batch / 2;
      }
    }
    if (end - start <= Pgtable.PAGE_SIZE) {
      return;
    }
    lookArounds++;
    PteTable pt = mm.pgd().pteOffset(addr);
    if (pt == null) {
      return;
    }
    for (long a = start; a < end; a += Pgtable.PAGE_SIZE) {
      if (a == (addr & Pgtable.PAGE_MASK)) {
        continue;
      }
      long pte = pt.get(a);
      if (!Pte.present(pte) || mm.machine().physMem().isZeroPfn(Pte.pfn(pte))) {
        continue;
      }
      if ((sub.clearYoung(mm, a, a + Pgtable.PAGE_SIZE, true) & MmuNotifier.YOUNG) != 0) {
        lookAroundYoung.computeIfAbsent(mm, k -> new TreeSet<>()).add(a);
        lookAroundPending.computeIfAbsent(mm, k -> new TreeSet<>()).add(a);
      }
    }
  }

  private boolean consumeLookAround(MmStruct mm, long addr) {
    TreeSet<Long> pending = lookAroundPending.get(mm);
    return pending != null && pending.remove(addr & Pgtable.PAGE_MASK);
  }

  /** {@link #clearYoung} calls so far: one per present page the walk asked about. */
  public synchronized long calls() {
    return calls;
  }

  /** Calls answered young. */
  public synchronized long youngPages() {
    return youngPages;
  }

  /** Young answers a fast subscription gave without blocking ({@link MmuNotifier#WAS_FAST}). */
  public synchronized long fastYoung() {
    return fastYoung;
  }

  /** The subscriptions left out as slow, each once, in the order first skipped. */
  public synchronized List<MmuNotifier> skipped() {
    return List.copyOf(skipped);
  }

  /** How many times a subscription was left out as slow. */
  public synchronized long skippedCalls() {
    return skippedCalls;
  }

  /** Look-arounds done (each after a fast young answer, over a window of more than one page). */
  public synchronized long lookArounds() {
    return lookArounds;
  }

  /** The pages of {@code mm} that a look-around found young, by address. */
  public synchronized SortedSet<Long> lookAroundYoung(MmStruct mm) {
    TreeSet<Long> s = lookAroundYoung.get(mm);
    return s == null ? Collections.emptySortedSet()
        : Collections.unmodifiableSortedSet(new TreeSet<>(s));
  }

  @Override
  public synchronized String toString() {
    long found = 0;
    for (TreeSet<Long> s : lookAroundYoung.values()) {
      found += s.size();
    }
    return (fastOnly ? "fast-only" : "standard") + (lookAround ? " aging with look-around" : " aging")
        + ": " + calls + " calls, " + youngPages + " young (" + fastYoung + " fast), "
        + skippedCalls + " skipped calls to " + skipped.size() + " slow subscription(s), "
        + lookArounds + " look-arounds finding " + found + " young page(s)";
  }
}
