package dev.ptwalk.processor.c;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Compiles C files as built-in code of the kernel's {@code mm/}, against Linux 6.12 headers, with
 * kbuild and {@code W=1}, then checks them with {@code scripts/checkpatch.pl}: a thin driver of
 * {@code src/test/c/kbuild-check.sh}, which does the work and documents where it finds the kernel
 * tree ({@code src/test/c/install-kernel-tree.sh} installs one on Debian 12).
 *
 * <p>Without a kernel tree the calling test is skipped (a JUnit assumption) with the script's
 * message, which says how to install one.
 */
public final class KernelCompile {
  /** The script, relative to the module directory (Surefire's working directory). */
  public static final Path SCRIPT = Path.of("src/test/c/kbuild-check.sh");

  /** The script's exit status when there is no kernel tree to compile against. */
  static final int NO_KERNEL_TREE = 77;

  private KernelCompile() {}

  /**
   * What one run of the script said.
   *
   * @param exitCode 0 when every file compiled without error or warning and checkpatch found
   *     nothing, 1 otherwise
   * @param output everything the script and the tools it ran printed, stdout and stderr merged,
   *     with paths of the checked directory
   */
  public record Result(int exitCode, String output) {
    /** Whether every file compiled without error or warning and passed checkpatch. */
    public boolean clean() {
      return exitCode == 0;
    }
  }

  /**
   * Compiles every {@code .c} file of {@code dir} and checks every {@code .c} and {@code .h} file
   * of it; skips the calling test when no kernel tree is installed.
   *
   * @param dir directory of the files; the script builds in a temporary copy, so it is not changed
   * @param timeout how long the whole run may take
   * @return the script's exit status and output
   * @throws AssertionError if the run takes longer than {@code timeout}
   */
  public static Result check(Path dir, Duration timeout) throws InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(
        "bash", SCRIPT.toAbsolutePath().toString(), dir.toAbsolutePath().toString())
        .redirectErrorStream(true);
    Process process;
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + SCRIPT + " with bash", e);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Thread reader = new Thread(() -> copy(process.getInputStream(), out), "kbuild-check output");
    reader.start();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      reader.join(TimeUnit.SECONDS.toMillis(10));
      throw new AssertionError(SCRIPT + " " + dir + " took longer than " + timeout + ":\n"
          + out.toString(StandardCharsets.UTF_8));
    }
    reader.join();
    String output = out.toString(StandardCharsets.UTF_8);
    int exitCode = process.exitValue();
    assumeTrue(exitCode != NO_KERNEL_TREE, () -> "no Linux 6.12 kernel tree: " + output.strip());
    return new Result(exitCode, output);
  }

  private static void copy(InputStream in, ByteArrayOutputStream out) {
    try (in) {
      in.transferTo(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
