package dev.ptwalk.tests.syscalls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Runs random traces through two executors and reports where they disagree: the kernel against
 * itself (determinism), or a simulator against the kernel.
 */
public final class Differential {
  private Differential() {}

  /** One trace on which the executors disagreed, or on which one of them failed. */
  public record Disagreement(long seed, String trace, String problem) {
    @Override
    public String toString() {
      return "seed " + seed + ": " + problem + "\n--- trace (TraceGenerator --print " + seed
          + ") ---\n" + trace;
    }
  }

  /**
   * Runs the traces of seeds {@code firstSeed .. firstSeed + count - 1} through both executors,
   * writing them into {@code dir}, and returns every disagreement (empty when all agree).
   */
  public static List<Disagreement> compare(TraceExecutor reference, TraceExecutor candidate,
      long firstSeed, int count, Path dir) throws IOException {
    List<Disagreement> found = new ArrayList<>();
    for (long seed = firstSeed; seed < firstSeed + count; seed++) {
      String text = TraceGenerator.generate(seed);
      Path trace = dir.resolve("seed-" + seed + ".trace");
      Files.writeString(trace, text, StandardCharsets.UTF_8);
      String expected;
      String actual;
      try {
        expected = reference.run(trace);
      } catch (IOException e) {
        found.add(new Disagreement(seed, text, reference.name() + " failed: " + e.getMessage()));
        continue;
      }
      try {
        actual = candidate.run(trace);
      } catch (IOException e) {
        found.add(new Disagreement(seed, text, candidate.name() + " failed: " + e.getMessage()));
        continue;
      }
      Optional<String> diff = OutputDiff.firstDifference(expected, actual);
      if (diff.isPresent()) {
        found.add(new Disagreement(seed, text, reference.name() + " (expected) and "
            + candidate.name() + " (actual) disagree: " + diff.get()));
      }
      Files.delete(trace);
    }
    return found;
  }
}
