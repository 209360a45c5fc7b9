package dev.ptwalk.tests.syscalls;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * The kernel side for tests: the built runner and what the probe found, probed once per JVM.
 * Tests skip, saying why, where this machine cannot answer; a runner that does not compile
 * fails them.
 */
final class KernelSupport {
  private static KernelFeatures features;

  private KernelSupport() {}

  /** The runner; skips the test when gcc is missing. */
  static KernelTraceRunner runnerOrSkip() {
    try {
      return KernelTraceRunner.build();
    } catch (KernelTraceRunner.GccMissingException e) {
      return Assumptions.abort("skipped: " + e.getMessage());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What the probe found. */
  static synchronized KernelFeatures features() {
    if (features == null) {
      try {
        features = KernelFeatures.probe(runnerOrSkip());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return features;
  }

  /**
   * The runner, on a kernel with async uffd-wp and PAGEMAP_SCAN; skips the test, with the
   * probe's reason, on any other.
   */
  static KernelTraceRunner kernelOrSkip() {
    KernelTraceRunner runner = runnerOrSkip();
    Optional<String> unsupported = features().unsupported();
    assumeTrue(unsupported.isEmpty(), () -> "skipped: this kernel cannot run written-tracking"
        + " traces: " + unsupported.orElse(""));
    return runner;
  }

  /** The probe lines saved when {@code recorded/} was recorded. */
  static Map<String, String> recordedProbe() {
    Path file = RecordedTrace.dir("recorded").resolve("PROBE.txt");
    try {
      return KernelFeatures.parse(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  /**
   * The runner, on a kernel set up as the one that recorded the outputs (no swap, no
   * soft-dirty...); skips the test, naming the difference, on any other.
   */
  static KernelTraceRunner recordingKernelOrSkip() {
    KernelTraceRunner runner = kernelOrSkip();
    Optional<String> differs = features().differsFromRecording(recordedProbe());
    assumeTrue(differs.isEmpty(), () -> "skipped: the recorded outputs do not apply to this"
        + " machine: " + differs.orElse("") + "; re-record them with"
        + " tests/src/test/c/record.sh");
    return runner;
  }
}
