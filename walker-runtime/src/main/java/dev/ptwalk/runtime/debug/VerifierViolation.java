package dev.ptwalk.runtime.debug;

/**
 * Thrown by the {@link Verifier} when simulated code breaks a page-table rule, like a lockdep
 * splat. An {@link AssertionError}, so no {@code catch (RuntimeException)} swallows it.
 */
public final class VerifierViolation extends AssertionError {
  private static final long serialVersionUID = 1L;

  /** A violation with the full message, walker and address included. */
  public VerifierViolation(String message) {
    super(message);
  }
}
