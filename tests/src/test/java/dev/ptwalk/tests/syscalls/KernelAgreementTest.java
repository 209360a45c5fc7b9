package dev.ptwalk.tests.syscalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The syscalls differential test: every executor of traces (the real kernel, through
 * {@link KernelTraceRunner}; and any simulator registered as a {@link TraceExecutor} service)
 * must reproduce the checked-in kernel outputs, and must agree line by line with the kernel on
 * random traces. For the kernel itself the second check is determinism: each random trace runs
 * twice and both outputs must be equal.
 *
 * <p>Random traces start at seed {@code -Dptwalk.syscalls.seed} (by default one taken from the
 * clock, printed) and number {@code -Dptwalk.syscalls.traces} (default 200).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KernelAgreementTest {
  /** The executor name of the real kernel. */
  static final String KERNEL = "kernel";
  /**
   * Recorded traces whose output the kernel does not always reproduce: ex. 09 moves between
   * CPUs, so per-CPU LRU batches decide what MADV_PAGEOUT discards (checked on its own below).
   */
  static final Set<String> VARIES_UNDER_LOAD = Set.of("examples/09-cpu-batches");
  static final int RANDOM_TRACES = Integer.getInteger("ptwalk.syscalls.traces", 200);

  @TempDir
  Path dir;

  /** {@code kernel}, then the name of each simulator registered as a service. */
  static Stream<String> executors() {
    List<String> names = new ArrayList<>();
    names.add(KERNEL);
    for (TraceExecutor e : ServiceLoader.load(TraceExecutor.class)) {
      names.add(e.name());
    }
    return names.stream();
  }

  /** The executor of that name; for the kernel, skips where this machine cannot run traces. */
  static TraceExecutor executor(String name) {
    if (name.equals(KERNEL)) {
      return KernelSupport.kernelOrSkip();
    }
    for (TraceExecutor e : ServiceLoader.load(TraceExecutor.class)) {
      if (e.name().equals(name)) {
        return e;
      }
    }
    throw new AssertionError("no executor named " + name);
  }

  /** Each executor with each checked-in trace whose output does not vary. */
  static Stream<Arguments> recordedRuns() {
    List<RecordedTrace> traces = new ArrayList<>(RecordedTrace.load("recorded"));
    traces.addAll(RecordedTrace.load("examples"));
    traces.removeIf(t -> VARIES_UNDER_LOAD.contains(t.toString()));
    return executors().flatMap(e -> traces.stream().map(t -> Arguments.of(e, t)));
  }

  @ParameterizedTest(name = "{0} reproduces {1}")
  @MethodSource("recordedRuns")
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void reproducesTheRecordedOutput(String executorName, RecordedTrace trace) throws IOException {
    TraceExecutor executor = executorName.equals(KERNEL)
        ? KernelSupport.recordingKernelOrSkip() : executor(executorName);
    String actual = executor.run(trace.trace());
    OutputDiff.firstDifference(trace.expected(), actual).ifPresent(d -> fail(executorName
        + " does not reproduce " + trace + ": " + d));
  }

  @ParameterizedTest(name = "{0} agrees with the kernel on random traces")
  @MethodSource("executors")
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void agreesWithTheKernelOnRandomTraces(String executorName) throws IOException {
    KernelTraceRunner kernel = KernelSupport.kernelOrSkip();
    TraceExecutor candidate = executor(executorName);
    long seed = Long.getLong("ptwalk.syscalls.seed", System.currentTimeMillis());
    System.out.println("KernelAgreementTest: " + RANDOM_TRACES + " random traces from seed "
        + seed + " (-Dptwalk.syscalls.seed=" + seed + " repeats them), kernel vs "
        + executorName);
    assertTrue(RANDOM_TRACES >= 200, "at least 200 random traces per run");
    List<Differential.Disagreement> found =
        Differential.compare(kernel, candidate, seed, RANDOM_TRACES, dir);
    if (!found.isEmpty()) {
      fail(found.size() + " of " + RANDOM_TRACES + " random traces disagree (kernel vs "
          + executorName + "); the first:\n" + found.get(0));
    }
  }

  /**
   * Ex. 09 frees and pages out pages 0 and 1 on different CPUs; page 2 on one. Page 2 is always
   * discarded; pages 0 and 1 are discarded only when another CPU's lazy-free batch happens to
   * be drained in between, so all four outcomes for them are allowed, nothing else.
   */
  @Test
  void exampleNineEndsInAnOutcomeThePerCpuBatchesAllow() throws IOException {
    KernelTraceRunner kernel = KernelSupport.recordingKernelOrSkip();
    assumeTrue(KernelSupport.features().cpus() >= 2, "skipped: ex. 09 needs CPUs 0 and 1");
    RecordedTrace nine = RecordedTrace.load("examples").stream()
        .filter(t -> VARIES_UNDER_LOAD.contains(t.toString())).findFirst().orElseThrow();
    Set<String> allowed = new LinkedHashSet<>();
    for (boolean keep0 : new boolean[] {true, false}) {
      for (boolean keep1 : new boolean[] {true, false}) {
        allowed.add(exampleNineOutput(keep0, keep1));
      }
    }
    assertTrue(allowed.contains(nine.expected()), "the recorded outcome is one of them");
    String actual = kernel.run(nine.trace());
    assumeFalse(actual.contains("\"cpu\":"), "skipped: CPU 0 or 1 is not available here: "
        + actual);
    assertTrue(allowed.contains(actual), "ex. 09 gave an outcome the per-CPU batches do not"
        + " explain:\n" + actual + "allowed:\n" + String.join("", allowed));
  }

  /** Ex. 09's scan when pages 0 and 1 were kept or discarded; page 2 discarded, 3 never used. */
  private static String exampleNineOutput(boolean keep0, boolean keep1) {
    String kept = "[\"WPALLOWED\",\"WRITTEN\",\"PRESENT\"]";
    String gone = "[\"WPALLOWED\",\"WRITTEN\"]";
    String[] page = {keep0 ? kept : gone, keep1 ? kept : gone, gone, gone};
    List<String> ranges = new ArrayList<>();
    int start = 0;
    for (int p = 1; p <= page.length; p++) {
      if (p == page.length || !page[p].equals(page[start])) {
        ranges.add("{\"start\":" + start + ",\"end\":" + p + ",\"cats\":" + page[start] + "}");
        start = p;
      }
    }
    return "{\"line\":17,\"scan\":\"A\",\"ret\":" + ranges.size() + ",\"walk_end\":4,"
        + "\"ranges\":[" + String.join(",", ranges) + "]}\n";
  }

  /** Negative control: one changed byte of a recorded output is found, at its trace line. */
  @Test
  void aChangedRecordedOutputIsReportedAtItsLine() throws IOException {
    KernelTraceRunner kernel = KernelSupport.recordingKernelOrSkip();
    RecordedTrace one = RecordedTrace.load("examples").get(0);
    String actual = kernel.run(one.trace());
    assertEquals(Optional.empty(), OutputDiff.firstDifference(one.expected(), actual));
    String changed = one.expected().replace("{\"line\":15,\"scan\":\"A\",\"ret\":8",
        "{\"line\":15,\"scan\":\"A\",\"ret\":7");
    assertTrue(OutputDiff.firstDifference(changed, actual).orElseThrow()
        .startsWith("output line 6 (trace line 15) differs:\n  expected: {\"line\":15,"
            + "\"scan\":\"A\",\"ret\":7,"), "the report names the line");
  }

  /**
   * Negative control: an executor that answers for a slightly different trace (one more write)
   * is caught, with the seed and the first differing line.
   */
  @Test
  void anExecutorThatDisagreesIsCaughtWithItsSeed() throws IOException {
    KernelTraceRunner kernel = KernelSupport.kernelOrSkip();
    TraceExecutor skewed = new TraceExecutor() {
      @Override
      public String name() {
        return "skewed";
      }

      @Override
      public String run(Path trace) throws IOException {
        List<String> lines = new ArrayList<>(Files.readAllLines(trace, StandardCharsets.UTF_8));
        String region = lines.stream().filter(l -> l.startsWith("region ")).findFirst()
            .orElseThrow();
        lines.add(lines.indexOf(region) + 1, "write " + region.split(" ")[1] + " 0");
        Path copy = trace.resolveSibling("skewed-" + trace.getFileName());
        Files.write(copy, lines, StandardCharsets.UTF_8);
        return kernel.run(copy);
      }
    };
    List<Differential.Disagreement> found = Differential.compare(kernel, skewed, 1, 5, dir);
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L),
        found.stream().map(Differential.Disagreement::seed).collect(Collectors.toList()),
        "every trace is caught");
    assertTrue(found.get(0).problem().startsWith("kernel (expected) and skewed (actual)"
        + " disagree: output line "), found.get(0).toString());
    assertTrue(found.get(0).toString().contains("--- trace (TraceGenerator --print 1) ---\n"
        + "# TraceGenerator seed=1\n"), "the report holds the trace");
  }
}
