package dev.ptwalk.runtime;

/**
 * The error numbers the simulated system calls return, with the kernel's names and x86-64 values.
 *
 * <p>Mirrors {@code include/uapi/asm-generic/errno-base.h} and {@code errno.h}: a failing call
 * throws an {@link ErrnoException} carrying one of these, as the kernel returns {@code -errno}.
 */
public enum Errno {
  /** {@code EPERM}: operation not permitted. */
  EPERM(1),
  /** {@code ENOENT}: no such file or directory (or no such registered range). */
  ENOENT(2),
  /** {@code ESRCH}: no such process. */
  ESRCH(3),
  /** {@code EINTR}: interrupted system call. */
  EINTR(4),
  /** {@code EIO}: I/O error. */
  EIO(5),
  /** {@code EBADF}: bad file number. */
  EBADF(9),
  /** {@code EAGAIN}: try again. */
  EAGAIN(11),
  /** {@code ENOMEM}: out of memory (or no VMA where one is needed). */
  ENOMEM(12),
  /** {@code EACCES}: permission denied. */
  EACCES(13),
  /** {@code EFAULT}: bad address. */
  EFAULT(14),
  /** {@code EBUSY}: device or resource busy. */
  EBUSY(16),
  /** {@code EEXIST}: already exists. */
  EEXIST(17),
  /** {@code ENODEV}: no such device. */
  ENODEV(19),
  /** {@code EINVAL}: invalid argument. */
  EINVAL(22),
  /** {@code ENOTTY}: inappropriate ioctl for device. */
  ENOTTY(25),
  /** {@code ENOSPC}: no space left (PAGEMAP_SCAN: the output vector is full). */
  ENOSPC(28),
  /** {@code ERANGE}: result out of range. */
  ERANGE(34),
  /** {@code ENOSYS}: function not implemented. */
  ENOSYS(38),
  /** {@code EOVERFLOW}: value too large for the type. */
  EOVERFLOW(75),
  /** {@code EOPNOTSUPP}: operation not supported. */
  EOPNOTSUPP(95);

  private final int value;

  Errno(int value) {
    this.value = value;
  }

  /** The positive number, as in {@code errno}; the kernel returns its negation. */
  public int value() {
    return value;
  }
}
