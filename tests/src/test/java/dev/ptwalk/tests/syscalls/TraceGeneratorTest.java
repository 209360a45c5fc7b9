package dev.ptwalk.tests.syscalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** TraceGenerator: seeded, valid, and within the limits that keep kernel runs comparable. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TraceGeneratorTest {
  private static final int SEEDS = 2000;
  private static final Pattern REGION = Pattern.compile("^region (\\S+) (.*)$");

  @TempDir
  Path dir;

  @Test
  void theSameSeedGivesTheSameTraceAndSeedsDiffer() {
    Set<String> distinct = new HashSet<>();
    for (long seed = 1; seed <= SEEDS; seed++) {
      String t = TraceGenerator.generate(seed);
      assertEquals(t, TraceGenerator.generate(seed));
      assertTrue(t.startsWith("# TraceGenerator seed=" + seed + "\n"), t);
      distinct.add(t.substring(t.indexOf('\n')));
    }
    assertEquals(SEEDS, distinct.size(), "no two seeds give the same commands");
  }

  /** The recorded traces are the generator's own: record.sh can make them again. */
  @Test
  void eachRecordedTraceIsWhatTheGeneratorMakesForItsSeed() throws IOException {
    List<RecordedTrace> recorded = RecordedTrace.load("recorded");
    assertTrue(recorded.size() >= 60, "at least 60 recorded traces, found " + recorded.size());
    for (RecordedTrace t : recorded) {
      String text = Files.readString(t.trace(), StandardCharsets.UTF_8);
      long seed = Long.parseLong(text.substring("# TraceGenerator seed=".length(),
          text.indexOf('\n')));
      assertEquals(TraceGenerator.generate(seed), text, t + " is not what TraceGenerator makes"
          + " for seed " + seed + ": re-record with tests/src/test/c/record.sh");
    }
  }

  /**
   * Over many seeds: every kind, every verb and the scan options occur; shared-file regions are
   * always registered, extfile only with WP_ASYNC, no trace changes CPU, no region reaches 2
   * MiB, and at most 8 regions, one per slot.
   */
  @Test
  void tracesCoverTheFormatAndKeepToTheComparableSubset() {
    Map<String, Integer> seen = new HashMap<>();
    for (long seed = 1; seed <= SEEDS; seed++) {
      String t = TraceGenerator.generate(seed);
      boolean async = true;
      int regions = 0;
      for (String line : t.lines().toList()) {
        if (line.startsWith("#")) {
          continue;
        }
        String verb = line.split(" ")[0];
        seen.merge(verb, 1, Integer::sum);
        for (String word : line.split(" ")) {
          if (word.contains("=")) {
            seen.merge(word.substring(0, word.indexOf('=') + 1), 1, Integer::sum);
          } else if (verb.equals("scan")) {
            seen.merge("scan " + word, 1, Integer::sum);
          }
        }
        if (verb.equals("uffd")) {
          async = line.contains("async");
        }
        Matcher m = REGION.matcher(line);
        if (m.matches()) {
          regions++;
          String opts = " " + m.group(2) + " ";
          String kind = opts.replaceAll(".* kind=(\\S+) .*", "$1");
          seen.merge("kind=" + kind, 1, Integer::sum);
          int pages = Integer.parseInt(opts.replaceAll(".* pages=(\\d+) .*", "$1"));
          assertTrue(pages >= 1 && pages <= TraceGenerator.MAX_PAGES, line);
          if (!kind.equals("anon")) {
            assertFalse(opts.contains(" uffd=none "), "seed " + seed + ": " + line);
          }
          if (kind.equals("extfile")) {
            assertTrue(async, "seed " + seed + ": extfile without WP_ASYNC: " + line);
          }
        }
        assertFalse(verb.equals("cpu"), "seed " + seed + ": " + line);
      }
      assertTrue(regions >= 1 && regions <= 8, "seed " + seed);
    }
    List<String> missing = new ArrayList<>();
    for (String key : List.of("uffd", "region", "write", "read", "wp", "unwp", "dontneed",
        "free", "pageout", "clear_refs", "fork", "scan", "pagemap", "kind=anon", "kind=shmem",
        "kind=tmpfs", "kind=sharedanon", "kind=privfile", "kind=extfile", "at=", "uffd=",
        "features=", "first=", "nr=", "flags=", "required=", "anyof=", "excluded=",
        "inverted=", "return=", "vec=", "max=", "scan wp", "scan wponly", "scan check")) {
      if (seen.getOrDefault(key, 0) < 20) {
        missing.add(key + " (" + seen.getOrDefault(key, 0) + ")");
      }
    }
    assertEquals(List.of(), missing, "each at least 20 times in " + SEEDS + " traces");
  }

  /** pmscan accepts every generated trace (parsing only: no kernel feature needed). */
  @Test
  void pmscanAcceptsEveryGeneratedTrace() throws IOException {
    KernelTraceRunner runner = KernelSupport.runnerOrSkip();
    for (long seed = 1; seed <= 300; seed++) {
      Path t = dir.resolve(seed + ".trace");
      Files.writeString(t, TraceGenerator.generate(seed), StandardCharsets.UTF_8);
      KernelTraceRunner.Result r = runner.check(t);
      assertEquals(0, r.exitStatus(), "seed " + seed + ": " + r.stderr());
    }
  }

  /** The command line record.sh uses: {@code --seed S --count N --out DIR}. */
  @Test
  void mainWritesNumberedTracesFromTheFirstSeed() throws IOException {
    Path out = dir.resolve("out");
    TraceGenerator.main(new String[] {"--seed", "41", "--count", "3", "--out", out.toString()});
    try (var files = Files.list(out)) {
      assertEquals(List.of("001.trace", "002.trace", "003.trace"),
          files.map(p -> p.getFileName().toString()).sorted().toList());
    }
    assertEquals(TraceGenerator.generate(43), Files.readString(out.resolve("003.trace")));
  }
}
