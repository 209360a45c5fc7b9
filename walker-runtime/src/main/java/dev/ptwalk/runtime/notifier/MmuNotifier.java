package dev.ptwalk.runtime.notifier;

import dev.ptwalk.runtime.mm.MmStruct;

/**
 * A secondary MMU's subscription to changes of one mm's page tables.
 *
 * <p>Mirrors {@code struct mmu_notifier} with its {@code mmu_notifier_ops}. Every callback has an
 * empty default, as an unset op in the kernel. {@code invalidateRangeStart} and {@code
 * invalidateRangeEnd} always come in pairs; between them the subscriber must not establish new
 * mappings of the range.
 *
 * <p>{@link #hasFastAging()} and the {@code fastOnly} forms of {@link #clearYoung(MmStruct, long,
 * long, boolean)} and {@link #testYoung(MmStruct, long, boolean)} model James Houghton's "mm:
 * multi-gen LRU: Walk secondary MMU page tables while aging" v7 (patches 12/18 and 13/18, Sep
 * 2024), with the {@link #WAS_FAST} result Sean Christopherson proposed in its review (seed 004).
 * <b>None of this was merged</b>: the series' author wrote on 2024-10-14 that the fast-only
 * notifier changes would probably be removed in v8, and no mainline {@code mmu_notifier.h} has
 * {@code has_fast_aging} or {@code fast_only}.
 */
public interface MmuNotifier {
  /** Result bit of the {@code fastOnly} young callbacks: the range was young. */
  int YOUNG = 1;

  /**
   * Result bit of the {@code fastOnly} young callbacks: the answer came without blocking ({@code
   * MMU_NOTIFY_WAS_FAST}, proposed in review of the v5 series, not merged).
   */
  int WAS_FAST = 2;

  /**
   * {@code mmu_notifier->has_fast_aging} (v7 12/18, not merged): this subscriber can answer the
   * young callbacks without blocking, so a {@code fast_only} caller may ask it. Opt-in: false by
   * default, as the patch has KVM leave it false.
   */
  default boolean hasFastAging() {
    return false;
  }

  /**
   * {@code ->clear_young(subscription, mm, start, end, fast_only)} (v7 13/18, not merged): clear
   * accessed state in the range; {@link #YOUNG} if any was young, with {@link #WAS_FAST} when the
   * answer came without blocking. With {@code fastOnly} an implementation must not block, and
   * answers 0 when it cannot tell without blocking. The default asks {@link #clearYoung(MmStruct,
   * long, long)}, which is not known to be fast.
   */
  default int clearYoung(MmStruct mm, long start, long end, boolean fastOnly) {
    return clearYoung(mm, start, end) ? YOUNG : 0;
  }

  /**
   * {@code ->test_young(subscription, mm, address, fast_only)} (v7 13/18, not merged): as {@link
   * #clearYoung(MmStruct, long, long, boolean)} without clearing, for the page at {@code addr}.
   */
  default int testYoung(MmStruct mm, long addr, boolean fastOnly) {
    return testYoung(mm, addr) ? YOUNG : 0;
  }

  /** {@code ->release}: the mm is being torn down; drop every secondary mapping. */
  default void release(MmStruct mm) {}

  /** {@code ->clear_flush_young}: clear and flush accessed state in the range; was any young? */
  default boolean clearFlushYoung(MmStruct mm, long start, long end) {
    return false;
  }

  /** {@code ->clear_young}: clear accessed state, flushing optional; was any young? */
  default boolean clearYoung(MmStruct mm, long start, long end) {
    return false;
  }

  /** {@code ->test_young}: is the page at {@code addr} young in the secondary MMU? */
  default boolean testYoung(MmStruct mm, long addr) {
    return false;
  }

  /** {@code ->invalidate_range_start}: tear down secondary mappings of the range. */
  default void invalidateRangeStart(MmuNotifierRange range) {}

  /** {@code ->invalidate_range_end}: the primary page tables of the range are consistent again. */
  default void invalidateRangeEnd(MmuNotifierRange range) {}

  /**
   * {@code ->arch_invalidate_secondary_tlbs}: for TLBs that share the CPU page tables (IOMMU SVA),
   * called from every CPU TLB flush.
   */
  default void archInvalidateSecondaryTlbs(MmStruct mm, long start, long end) {}
}
