package dev.ptwalk.runtime.cpu;

/**
 * A simulated access that the kernel would answer with a signal: SIGSEGV (no VMA, or an access
 * the VMA does not allow) or SIGBUS (the fault handler has no page).
 */
public final class SignalException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The signal delivered. */
  public enum Signal {
    /** Segmentation fault. */
    SIGSEGV,
    /** Bus error. */
    SIGBUS
  }

  private final Signal signal;
  private final String mm;
  private final long address;
  private final boolean write;

  /** A signal for an access by mm {@code mm} at {@code address}. */
  public SignalException(Signal signal, String mm, long address, boolean write) {
    super(signal + " on " + (write ? "write" : "read") + " of 0x" + Long.toHexString(address)
        + " in mm " + mm);
    this.signal = signal;
    this.mm = mm;
    this.address = address;
    this.write = write;
  }

  /** SIGSEGV or SIGBUS. */
  public Signal signal() {
    return signal;
  }

  /** Name of the mm. */
  public String mm() {
    return mm;
  }

  /** The faulting address. */
  public long address() {
    return address;
  }

  /** Whether the access was a store. */
  public boolean write() {
    return write;
  }
}
