package dev.ptwalk.runtime.notifier;

/**
 * Why a range is being invalidated, so secondary MMUs can decide how much to tear down.
 *
 * <p>Mirrors {@code enum mmu_notifier_event} in {@code include/linux/mmu_notifier.h}, with the
 * kernel's order and therefore its values 0 to 7 ({@link #ordinal()}).
 */
public enum MmuNotifierEvent {
  /** {@code MMU_NOTIFY_UNMAP}: munmap, or mremap moving the range. */
  UNMAP,
  /** {@code MMU_NOTIFY_CLEAR}: PTEs cleared (madvise, replacing a page, ...). */
  CLEAR,
  /** {@code MMU_NOTIFY_PROTECTION_VMA}: protection of the whole VMA changes (mprotect). */
  PROTECTION_VMA,
  /**
   * {@code MMU_NOTIFY_PROTECTION_PAGE}: write or dirty state of pages changes; a mirror must read
   * the CPU page table after the end callback. The dirty-tracking walkers use this.
   */
  PROTECTION_PAGE,
  /** {@code MMU_NOTIFY_SOFT_DIRTY}: soft-dirty accounting; same page, same access. */
  SOFT_DIRTY,
  /** {@code MMU_NOTIFY_RELEASE}: the mm is going away. */
  RELEASE,
  /** {@code MMU_NOTIFY_MIGRATE}: {@code migrate_vma_collect}. */
  MIGRATE,
  /** {@code MMU_NOTIFY_EXCLUSIVE}: conversion to a device-exclusive entry. */
  EXCLUSIVE
}
