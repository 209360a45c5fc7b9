package dev.ptwalk.cli.scenario;

/** A scenario line that cannot run: malformed, naming something unknown, or refused. */
public final class ScenarioException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String file;
  private final int line;
  private final String problem;

  /** Line {@code line} of {@code file} cannot run because of {@code problem}. */
  public ScenarioException(String file, int line, String problem) {
    super(file + ":" + line + ": " + problem);
    this.file = file;
    this.line = line;
    this.problem = problem;
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
}
