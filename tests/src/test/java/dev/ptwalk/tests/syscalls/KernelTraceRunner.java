package dev.ptwalk.tests.syscalls;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs traces on the real kernel of this machine with {@code pmscan}, the C trace runner in
 * {@code tests/src/test/c/pmscan.c}, which it builds with {@code gcc} into
 * {@code target/pmscan/} once per JVM.
 */
public final class KernelTraceRunner implements TraceExecutor {
  /** How long one trace may run; the longest generated trace takes a few milliseconds. */
  public static final Duration TRACE_TIMEOUT = Duration.ofSeconds(20);
  private static final Duration BUILD_TIMEOUT = Duration.ofSeconds(120);
  /** The flags {@code record.sh} and the documentation use too. */
  static final List<String> GCC_FLAGS =
      List.of("-std=c11", "-O2", "-Wall", "-Wextra", "-Werror");

  /** What one run printed, and how it ended. */
  public record Result(int exitStatus, String stdout, String stderr) {}

  /** gcc is not installed: the machine cannot build the runner at all. */
  public static final class GccMissingException extends IOException {
    private static final long serialVersionUID = 1L;

    GccMissingException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private static KernelTraceRunner built;
  private static IOException buildFailure;

  private final Path binary;
  private final Path scratch;

  private KernelTraceRunner(Path binary) {
    this.binary = binary;
    this.scratch = binary.getParent();
  }

  /** The module directory: surefire's {@code basedir}, or the working directory. */
  static Path moduleDir() {
    return Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
  }

  /** {@code tests/src/test/c/pmscan.c}. */
  static Path source() {
    return moduleDir().resolve("src/test/c/pmscan.c");
  }

  /**
   * The runner, built the first time a JVM asks; later calls return it (or the same failure).
   *
   * @throws GccMissingException when {@code gcc} cannot be started
   * @throws IOException when gcc rejects the source; the message holds gcc's diagnostics
   */
  public static synchronized KernelTraceRunner build() throws IOException {
    if (built != null) {
      return built;
    }
    if (buildFailure != null) {
      throw buildFailure;
    }
    try {
      Path dir = moduleDir().resolve("target/pmscan");
      Files.createDirectories(dir);
      Path binary = dir.resolve("pmscan");
      List<String> command = new ArrayList<>();
      command.add("gcc");
      command.addAll(GCC_FLAGS);
      command.add("-o");
      command.add(binary.toString());
      command.add(source().toString());
      Result r;
      try {
        r = exec(command, dir, BUILD_TIMEOUT);
      } catch (IOException e) {
        if (e instanceof InterruptedIOException) {
          throw e;
        }
        throw new GccMissingException("cannot run gcc (" + e.getMessage() + "): building the"
            + " kernel trace runner needs gcc on the PATH", e);
      }
      if (r.exitStatus() != 0) {
        throw new IOException("gcc " + String.join(" ", GCC_FLAGS) + " failed on " + source()
            + " with status " + r.exitStatus() + ":\n" + r.stderr());
      }
      built = new KernelTraceRunner(binary);
      return built;
    } catch (IOException e) {
      buildFailure = e;
      throw e;
    }
  }

  /** The built binary. */
  public Path binary() {
    return binary;
  }

  @Override
  public String name() {
    return "kernel";
  }

  /** Runs {@code trace}; the exit status is 0, 1 (the machine cannot run it) or 2 (a bad trace). */
  public Result execute(Path trace) throws IOException {
    return exec(List.of(binary.toString(), trace.toString()), scratch, TRACE_TIMEOUT);
  }

  /** {@code pmscan --probe}: "key value" lines, exit 0; or "unsupported REASON", exit 3. */
  public Result probe() throws IOException {
    return exec(List.of(binary.toString(), "--probe"), scratch, TRACE_TIMEOUT);
  }

  /** {@code pmscan --check TRACE}: parses and checks the trace without running it. */
  public Result check(Path trace) throws IOException {
    return exec(List.of(binary.toString(), "--check", trace.toString()), scratch,
        TRACE_TIMEOUT);
  }

  @Override
  public String run(Path trace) throws IOException {
    Result r = execute(trace);
    if (r.exitStatus() != 0 || !r.stderr().isEmpty()) {
      throw new IOException("pmscan " + trace + " exited with status " + r.exitStatus()
          + (r.stderr().isEmpty() ? "" : ":\n" + r.stderr()));
    }
    return r.stdout();
  }

  /** Runs a command with its output in files (no pipe can fill up), bounded by {@code limit}. */
  private static Result exec(List<String> command, Path dir, Duration limit)
      throws IOException {
    Path out = Files.createTempFile(dir, "out", ".txt");
    Path err = Files.createTempFile(dir, "err", ".txt");
    try {
      Process p = new ProcessBuilder(command)
          .directory(dir.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
          .redirectOutput(out.toFile())
          .redirectError(err.toFile())
          .start();
      try {
        if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
          p.destroyForcibly();
          p.waitFor(5, TimeUnit.SECONDS);
          throw new IOException(String.join(" ", command) + " did not finish within "
              + limit.toSeconds() + " s");
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while running " + command);
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
