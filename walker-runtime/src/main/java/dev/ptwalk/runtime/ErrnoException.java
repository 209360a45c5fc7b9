package dev.ptwalk.runtime;

/**
 * A simulated system call failed with {@link #errno()}, as the kernel returns {@code -errno}.
 *
 * <p>The message starts with the errno's name and says which of the kernel's checks refused the
 * call and how to get past it. A call that throws this has changed nothing.
 */
public final class ErrnoException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Errno errno;

  /** A failure with {@code errno}; {@code message} names the kernel's check that refused. */
  public ErrnoException(Errno errno, String message) {
    super(errno.name() + ": " + message);
    this.errno = errno;
  }

  /** The error number. */
  public Errno errno() {
    return errno;
  }
}
