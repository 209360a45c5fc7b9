package dev.ptwalk.runtime.notifier;

import dev.ptwalk.runtime.check.NeverThrows;
import dev.ptwalk.runtime.mm.MmStruct;

/**
 * The range an invalidation covers and why.
 *
 * <p>Mirrors {@code struct mmu_notifier_range} and {@code mmu_notifier_range_init}: the mm, the
 * half-open range {@code [start, end)} (compared unsigned, so {@code end = -1} means "to the top",
 * as clear_refs passes), the flags and the {@link MmuNotifierEvent}. One range object is passed to
 * both {@code invalidateRangeStart} and {@code invalidateRangeEnd}.
 */
public final class MmuNotifierRange {
  /** {@code MMU_NOTIFIER_RANGE_BLOCKABLE}: the callbacks may sleep. */
  public static final int BLOCKABLE = 1;

  private final MmuNotifierEvent event;
  private final MmStruct mm;
  private final long start;
  private final long end;
  private volatile int flags;

  /**
   * {@code mmu_notifier_range_init(range, event, flags, mm, start, end)}.
   *
   * @throws IllegalArgumentException if the range is empty ({@code start >= end}, unsigned) or
   *     {@code flags} has bits other than {@link #BLOCKABLE}
   */
  public MmuNotifierRange(MmuNotifierEvent event, int flags, MmStruct mm, long start, long end) {
    if (event == null) {
      throw new NullPointerException("event");
    }
    if (mm == null) {
      throw new NullPointerException("mm");
    }
    if (Long.compareUnsigned(start, end) >= 0) {
      throw new IllegalArgumentException(
          "notifier range [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end)
              + ") is empty");
    }
    if ((flags & ~BLOCKABLE) != 0) {
      throw new IllegalArgumentException("unknown notifier range flags 0x"
          + Integer.toHexString(flags));
    }
    this.event = event;
    this.flags = flags;
    this.mm = mm;
    this.start = start;
    this.end = end;
  }

  /** {@code range->event}. */
  @NeverThrows
  public MmuNotifierEvent event() {
    return event;
  }

  /** {@code range->mm}. */
  @NeverThrows
  public MmStruct mm() {
    return mm;
  }

  /** {@code range->start}. */
  @NeverThrows
  public long start() {
    return start;
  }

  /** {@code range->end}, exclusive. */
  @NeverThrows
  public long end() {
    return end;
  }

  /** {@code range->flags}. */
  @NeverThrows
  public int flags() {
    return flags;
  }

  /** {@code mmu_notifier_range_blockable}. */
  @NeverThrows
  public boolean blockable() {
    return (flags & BLOCKABLE) != 0;
  }

  /** Whether {@code addr} lies in {@code [start, end)} (unsigned). */
  @NeverThrows
  public boolean covers(long addr) {
    return Long.compareUnsigned(addr, start) >= 0 && Long.compareUnsigned(addr, end) < 0;
  }

  void setBlockable() {
    flags |= BLOCKABLE;
  }

  @Override
  public String toString() {
    return event + " mm=" + mm.name() + " [0x" + Long.toHexString(start) + ", 0x"
        + Long.toHexString(end) + ")";
  }
}
