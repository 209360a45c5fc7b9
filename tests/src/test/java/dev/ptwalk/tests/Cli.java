package dev.ptwalk.tests;

import dev.ptwalk.cli.Ptwalk;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs the ptwalk command in process. */
final class Cli {
  private Cli() {}

  /** Exit status, stdout, stderr. */
  record Result(int status, String out, String err) {
    /** Neither stream shows a Java stack trace or an exception escaping ptwalk. */
    boolean noStackTrace() {
      return !err.contains("\tat ") && !out.contains("\tat ") && !err.contains("Exception in");
    }
  }

  /** {@code ptwalk ARGS}. */
  static Result run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Ptwalk.execute(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), args);
    return new Result(status, out.toString(StandardCharsets.UTF_8),
        err.toString(StandardCharsets.UTF_8));
  }
}
