package dev.ptwalk.processor.model;

/**
 * The runtime's {@code MmuNotifierEvent} constants a walker's bracket may use, named here so the
 * processor never loads runtime classes. Mirrors {@code enum mmu_notifier_event} of {@code
 * include/linux/mmu_notifier.h}.
 */
public enum NotifierEvent {
  /** {@code MMU_NOTIFY_CLEAR}: PTEs cleared or their dirty state discarded (madvise). */
  CLEAR,
  /** {@code MMU_NOTIFY_PROTECTION_VMA}: protection changed for the whole range. */
  PROTECTION_VMA,
  /** {@code MMU_NOTIFY_PROTECTION_PAGE}: write or dirty state changed page by page. */
  PROTECTION_PAGE,
  /** {@code MMU_NOTIFY_SOFT_DIRTY}: soft-dirty accounting. */
  SOFT_DIRTY
}
