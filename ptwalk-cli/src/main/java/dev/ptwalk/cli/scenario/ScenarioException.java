package dev.ptwalk.cli.scenario;

/**
 * A scenario line that cannot run: malformed, naming something unknown, or refused (exit status
 * {@link #BAD_INPUT}); or one where a walker broke a page-table rule ({@link #RULE_BROKEN}).
 */
public final class ScenarioException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Exit status for a line that cannot run. */
  public static final int BAD_INPUT = 2;
  /** Exit status for a walker that broke a page-table rule (the verifier caught it). */
  public static final int RULE_BROKEN = 1;

  private final String file;
  private final int line;
  private final String problem;
  private final int status;

  /** Line {@code line} of {@code file} cannot run because of {@code problem}. */
  public ScenarioException(String file, int line, String problem) {
    this(file, line, problem, BAD_INPUT);
  }

  /** Line {@code line} of {@code file} stopped the run with exit status {@code status}. */
  public ScenarioException(String file, int line, String problem, int status) {
    super(file + ":" + line + ": " + problem);
    this.file = file;
    this.line = line;
    this.problem = problem;
    this.status = status;
  }

  /** The scenario file's name. */
  public String file() {
    return file;
  }

  /** The 1-based line. */
  public int line() {
    return line;
  }

  /** What is wrong and how to fix it. */
  public String problem() {
    return problem;
  }

  /** The exit status it stops the run with: {@link #BAD_INPUT} or {@link #RULE_BROKEN}. */
  public int status() {
    return status;
  }
}
