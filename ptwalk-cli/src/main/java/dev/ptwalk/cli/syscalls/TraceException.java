package dev.ptwalk.cli.syscalls;

/**
 * A trace that cannot run: line {@link #line()} of the file is malformed, names an unknown verb
 * or region, or the file cannot be read (line 0). Its message is {@code FILE:L: problem}, as
 * {@code ptwalk syscalls} prints it before exiting with status 2.
 */
public final class TraceException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int line;

  /** Line {@code line} of {@code file} is wrong because of {@code problem}. */
  public TraceException(String file, int line, String problem) {
    super(file + ":" + line + ": " + problem);
    this.line = line;
  }

  /** The 1-based line, or 0 for the file as a whole. */
  public int line() {
    return line;
  }
}
