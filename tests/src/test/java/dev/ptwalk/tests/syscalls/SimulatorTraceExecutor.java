package dev.ptwalk.tests.syscalls;

import dev.ptwalk.cli.Ptwalk;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The simulator as a {@link TraceExecutor}: {@code ptwalk syscalls TRACE}, run in this JVM
 * through the command's own entry point (so the command line, the parser, the syscalls and the
 * output are all the ones {@code bin/ptwalk} runs, without a JVM start per trace). Registered in
 * {@code META-INF/services/dev.ptwalk.tests.syscalls.TraceExecutor}, so {@link
 * KernelAgreementTest} diffs it against the recorded outputs and the real kernel.
 */
public final class SimulatorTraceExecutor implements TraceExecutor {
  @Override
  public String name() {
    return "simulator";
  }

  @Override
  public String run(Path trace) throws IOException {
    Result r = execute(trace);
    if (r.status() != 0 || !r.err().isEmpty()) {
      throw new IOException("ptwalk syscalls " + trace + " exited with status " + r.status()
          + (r.err().isEmpty() ? "" : ":\n" + r.err()));
    }
    return r.out();
  }

  /** What one run printed, and its exit status. */
  public record Result(int status, String out, String err) {}

  /** {@code ptwalk syscalls TRACE}, in process. */
  public static Result execute(Path trace) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Ptwalk.execute(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), "syscalls", trace.toString());
    return new Result(status, out.toString(StandardCharsets.UTF_8),
        err.toString(StandardCharsets.UTF_8));
  }
}
