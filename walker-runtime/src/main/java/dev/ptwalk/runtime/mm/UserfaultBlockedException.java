package dev.ptwalk.runtime.mm;

/**
 * An access faulted on a write-protected page of a sync userfaultfd that has no {@linkplain
 * Userfaultfd#setFaultHandler handler}.
 *
 * <p>In the kernel the faulting thread sleeps in {@code handle_userfault} until the thread that
 * reads the userfaultfd resolves the fault ({@code UFFDIO_WRITEPROTECT}) or closes it; with no
 * such thread it sleeps forever. The simulation does not hang: the access throws this instead,
 * carrying the message that was delivered. Async contexts ({@code UFFD_FEATURE_WP_ASYNC}) never
 * block, and {@code UFFD_FEATURE_SIGBUS} turns the fault into SIGBUS.
 */
public final class UserfaultBlockedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient Userfaultfd uffd;
  private final UffdMsg msg;

  /** The access that faulted with {@code msg} on {@code uffd} cannot complete. */
  public UserfaultBlockedException(Userfaultfd uffd, UffdMsg msg) {
    super(msg + " on " + uffd + ": the faulting thread would sleep in handle_userfault until"
        + " a reader of the userfaultfd resolves it, and none is registered (set one with"
        + " setFaultHandler, or open the userfaultfd with UFFD_FEATURE_WP_ASYNC)");
    this.uffd = uffd;
    this.msg = msg;
  }

  /** The userfaultfd the fault was delivered to. */
  public Userfaultfd uffd() {
    return uffd;
  }

  /** The message delivered. */
  public UffdMsg msg() {
    return msg;
  }
}
