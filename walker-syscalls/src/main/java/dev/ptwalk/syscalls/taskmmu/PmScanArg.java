package dev.ptwalk.syscalls.taskmmu;

/**
 * The argument of {@code ioctl(PAGEMAP_SCAN)}: what to scan, which pages to report, and where.
 *
 * <p>Mirrors {@code struct pm_scan_arg} of {@code include/uapi/linux/fs.h}, field for field and in
 * its order; a plain mutable holder, as the user's struct is, since the kernel writes {@link
 * #walkEnd} back into it. The output vector {@code vec}, a user pointer in the kernel, is an array
 * here: {@code null} passes no vector.
 */
public final class PmScanArg {
  /** {@code sizeof(struct pm_scan_arg)}: twelve 64-bit fields. */
  public static final long SIZEOF = 96;

  /** {@code size}: must be {@link #SIZEOF}. */
  public long size = SIZEOF;
  /** {@code flags}: {@link PagemapScan#PM_SCAN_WP_MATCHING}, {@link PagemapScan#PM_SCAN_CHECK_WPASYNC}. */
  public long flags;
  /** {@code start}: first address of the range, page aligned. */
  public long start;
  /** {@code end}: end of the range (exclusive); rounded up to a page. */
  public long end;
  /**
   * {@code walk_end}: written back by the kernel once its arguments pass its checks: where the
   * walk stopped (the end of the range when it did not stop early). Untouched when the arguments
   * are refused, so a caller can preset it to tell.
   */
  public long walkEnd;
  /** {@code vec}: the output vector, or {@code null} for none. */
  public PageRegion[] vec;
  /** {@code vec_len}: how many regions {@link #vec} holds; at most that many are written. */
  public long vecLen;
  /** {@code max_pages}: at most this many pages reported (0: no limit). */
  public long maxPages;
  /** {@code category_inverted}: categories flipped before matching. */
  public long categoryInverted;
  /** {@code category_mask}: categories a page must all have (after inversion). */
  public long categoryMask;
  /** {@code category_anyof_mask}: categories of which a page must have one (0: no condition). */
  public long categoryAnyofMask;
  /** {@code return_mask}: the categories reported in {@link PageRegion#categories()}. */
  public long returnMask;
}
