package dev.ptwalk.syscalls.userfaultfd;

import dev.ptwalk.runtime.Errno;
import dev.ptwalk.runtime.ErrnoException;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Userfaultfd;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.syscalls.Syscalls;

/**
 * The {@code ioctl}s of a userfaultfd that write-protect tracking uses: {@code UFFDIO_REGISTER} in
 * write-protect mode and {@code UFFDIO_WRITEPROTECT}.
 *
 * <p>Mirrors {@code userfaultfd_register} and {@code userfaultfd_writeprotect} of {@code
 * fs/userfaultfd.c}, with the UAPI's mode bits ({@code include/uapi/linux/userfaultfd.h}). The
 * userfaultfd itself ({@code userfaultfd(2)} and {@code UFFDIO_API}) is the runtime's {@link
 * Userfaultfd#open}; registration is its {@link Userfaultfd#registerWp}. Each call returns 0 or
 * {@code -errno} ({@link Syscalls}).
 */
public final class UserfaultfdIoctls {
  private UserfaultfdIoctls() {}

  /** {@code UFFDIO_WRITEPROTECT_MODE_WP}: protect; without it, unprotect. */
  public static final long UFFDIO_WRITEPROTECT_MODE_WP = 1L << 0;
  /** {@code UFFDIO_WRITEPROTECT_MODE_DONTWAKE}: do not wake threads waiting on the range. */
  public static final long UFFDIO_WRITEPROTECT_MODE_DONTWAKE = 1L << 1;
  /** {@code UFFD_API_REGISTER_MODES}: the register modes the UAPI defines. */
  public static final long UFFD_API_REGISTER_MODES = Userfaultfd.UFFDIO_REGISTER_MODE_MISSING
      | Userfaultfd.UFFDIO_REGISTER_MODE_WP | Userfaultfd.UFFDIO_REGISTER_MODE_MINOR;

  /**
   * {@code userfaultfd_register}: register {@code [start, start + len)} in {@code mode}, which must
   * be {@link Userfaultfd#UFFDIO_REGISTER_MODE_WP} (the only mode modelled): the range and VMA
   * checks and their errno values are {@link Userfaultfd#registerWp}'s.
   *
   * @return 0, or {@code -EINVAL} for no mode or an unknown mode bit, or what {@link
   *     Userfaultfd#registerWp} refuses with ({@code EINVAL}, {@code EPERM}, {@code EBUSY});
   *     nothing is registered then
   * @throws UnsupportedOperationException for the missing and minor modes, which are not modelled
   */
  public static long userfaultfdRegister(Userfaultfd ctx, long start, long len, long mode) {
    if (mode == 0 || (mode & ~UFFD_API_REGISTER_MODES) != 0) {
      return Syscalls.err(Errno.EINVAL);
    }
    if (mode != Userfaultfd.UFFDIO_REGISTER_MODE_WP) {
      throw new UnsupportedOperationException("UFFDIO_REGISTER mode 0x" + Long.toHexString(mode)
          + ": only UFFDIO_REGISTER_MODE_WP is modelled (missing and minor faults are not)");
    }
    try {
      ctx.registerWp(start, len);
      return 0;
    } catch (ErrnoException e) {
      return Syscalls.err(e.errno());
    }
  }

  /**
   * {@code userfaultfd_writeprotect}: protect ({@link #UFFDIO_WRITEPROTECT_MODE_WP}) or unprotect
   * {@code [start, start + len)} with {@link UffdWp#mwriteprotectRange}. Waking waiters, which
   * unprotecting without {@code DONTWAKE} does, has nothing to wake here: a sync fault is
   * delivered to the runtime's handler, which resolves it before the access retries.
   *
   * @return 0; {@code -EINVAL} for a range {@code validate_range} refuses (unaligned, empty, below
   *     {@code mmap_min_addr}, past {@code TASK_SIZE}) or a bad mode (an unknown bit, or {@code WP}
   *     with {@code DONTWAKE}); {@code -ENOENT} when a VMA of the range, or the range itself, is
   *     not registered for write-protect
   */
  public static long userfaultfdWriteprotect(Userfaultfd ctx, long start, long len, long mode) {
    long ret = validateRange(ctx.mm(), start, len);
    if (ret != 0) {
      return ret;
    }
    if ((mode & ~(UFFDIO_WRITEPROTECT_MODE_DONTWAKE | UFFDIO_WRITEPROTECT_MODE_WP)) != 0) {
      return Syscalls.err(Errno.EINVAL);
    }
    boolean modeWp = (mode & UFFDIO_WRITEPROTECT_MODE_WP) != 0;
    boolean modeDontwake = (mode & UFFDIO_WRITEPROTECT_MODE_DONTWAKE) != 0;
    if (modeWp && modeDontwake) {
      return Syscalls.err(Errno.EINVAL);
    }
    return UffdWp.mwriteprotectRange(ctx, start, len, modeWp);
  }

  /**
   * {@code validate_range}: {@code start} page aligned, {@code len} a non-zero multiple of the page
   * size, {@code [start, start + len)} between {@code mmap_min_addr} and {@code TASK_SIZE}.
   *
   * @return 0 or {@code -EINVAL}
   */
  static long validateRange(MmStruct mm, long start, long len) {
    long taskSize = mm.taskSize();
    if ((start & ~Pgtable.PAGE_MASK) != 0 || (len & ~Pgtable.PAGE_MASK) != 0 || len == 0
        || Long.compareUnsigned(start, Userfaultfd.MMAP_MIN_ADDR) < 0
        || Long.compareUnsigned(start, taskSize) >= 0
        || Long.compareUnsigned(len, taskSize - start) > 0) {
      return Syscalls.err(Errno.EINVAL);
    }
    return 0;
  }
}
