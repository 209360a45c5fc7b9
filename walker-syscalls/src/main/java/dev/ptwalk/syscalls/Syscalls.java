package dev.ptwalk.syscalls;

import dev.ptwalk.runtime.Errno;

/**
 * The return convention of the simulated system calls: as the kernel's, a value {@code >= 0} on
 * success and {@code -errno} on failure.
 *
 * <p>A call may fail after it changed something, as the kernel's do: {@code madvise} applies its
 * advice to each VMA of the range in order and stops at the first that refuses it, and {@code
 * UFFDIO_WRITEPROTECT} protects the registered VMAs it meets before an unregistered one. That is
 * why these calls return an error value rather than throw {@link
 * dev.ptwalk.runtime.ErrnoException}, which promises that nothing changed.
 */
public final class Syscalls {
  private Syscalls() {}

  /** {@code -errno}, the value a failing call returns. */
  public static long err(Errno errno) {
    return -errno.value();
  }

  /** {@code IS_ERR_VALUE}: whether {@code ret} is a failure. */
  public static boolean isErr(long ret) {
    return ret < 0;
  }

  /**
   * The errno of a failed call's return value {@code ret}.
   *
   * @throws IllegalArgumentException if {@code ret} is not {@code -errno} of a known {@link Errno}
   */
  public static Errno errno(long ret) {
    for (Errno e : Errno.values()) {
      if (-e.value() == ret) {
        return e;
      }
    }
    throw new IllegalArgumentException(ret + " is not -errno of a known errno");
  }
}
