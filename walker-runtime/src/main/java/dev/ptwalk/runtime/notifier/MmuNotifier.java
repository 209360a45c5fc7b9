package dev.ptwalk.runtime.notifier;

import dev.ptwalk.runtime.mm.MmStruct;

/**
 * A secondary MMU's subscription to changes of one mm's page tables.
 *
 * <p>Mirrors {@code struct mmu_notifier} with its {@code mmu_notifier_ops}. Every callback has an
 * empty default, as an unset op in the kernel. {@code invalidateRangeStart} and {@code
 * invalidateRangeEnd} always come in pairs; between them the subscriber must not establish new
 * mappings of the range.
 */
public interface MmuNotifier {
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
