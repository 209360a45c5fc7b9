package dev.ptwalk.runtime;

/**
 * The first and one-past-last dirty bit a clean walker set, relative to its bitmap's first pgoff.
 *
 * <p>Mirrors the {@code pgoff_t *start, pgoff_t *end} in/out arguments of {@code
 * clean_record_shared_mapping_range}. On entry, {@code start >= end} means "no bit set yet"; the
 * walker then starts from {@code (nr, 0)} and widens. Otherwise it widens the caller's window.
 * Mutable on purpose: one window is reused frame after frame, as a driver reuses its fields.
 */
public final class DirtyWindow {
  /** First set bit, relative to the bitmap's first pgoff. */
  public long start;
  /** One past the last set bit, relative to the bitmap's first pgoff. */
  public long end;

  /** An empty window: {@code start = end = 0}, "no bit set yet". */
  public DirtyWindow() {}

  /** A window with the given bounds. */
  public DirtyWindow(long start, long end) {
    this.start = start;
    this.end = end;
  }

  /** Whether no bit has been recorded: {@code start >= end}. */
  public boolean isEmpty() {
    return start >= end;
  }

  /** Reset to "no bit set yet". */
  public void clear() {
    start = 0;
    end = 0;
  }

  @Override
  public String toString() {
    return "DirtyWindow[" + start + ", " + end + ")";
  }
}
