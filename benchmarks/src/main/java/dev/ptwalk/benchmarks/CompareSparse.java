package dev.ptwalk.benchmarks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * The sparse C reference ({@code benchmarks/src/main/c/sparse_ref.c}) and {@link SparseBench}'s
 * generated walker side by side: rounds that each run the C program (per range, its per-run
 * minimum over {@code cRuns} walks, for the slot-by-slot walker of mm/pagewalk.c and for the same
 * walker with population summaries) and then one JMH fork of {@link SparseBench} in single-shot
 * mode. Prints each round and the minima over all rounds in µs per walk, and how much each walker
 * grows from 1 GiB to 126 TiB.
 *
 * <p>Run by {@code benchmarks/compare.sh --sparse}. Arguments: the C program's path, then
 * optionally rounds (3), C walks per round (300), JMH warm-up shots (2000) and measured shots
 * (2000) per round.
 */
public final class CompareSparse {
  private static final long[] RANGES_GIB = {1, 1024, 65536, 129024};
  private static final String[] C_WALKERS = {"slots", "summary"};

  private CompareSparse() {}

  /** Run the comparison; see the class comment for the arguments. */
  public static void main(String[] args) throws IOException, InterruptedException,
      RunnerException {
    if (args.length < 1 || args.length > 5) {
      System.err.println("usage: CompareSparse <sparse_ref> [rounds [cRuns [warmupShots"
          + " [measuredShots]]]]");
      System.exit(2);
    }
    Path ref = Path.of(args[0]);
    int rounds = Compare.arg(args, 1, 3);
    int cRuns = Compare.arg(args, 2, 300);
    int warmup = Compare.arg(args, 3, 2000);
    int measured = Compare.arg(args, 4, 2000);
    System.out.println("ptwalk: sparse C reference against the generated walker, µs per walk of"
        + " " + SparseBench.POPULATED + " pages, per-run minimum; " + rounds + " rounds"
        + " alternating C (" + cRuns + " walks) and JMH SparseBench single shots (" + warmup
        + " warm-up, " + measured + " measured)");
    System.out.println("started " + Compare.now() + ", load average " + Compare.loadAverage()
        + ", " + System.getProperty("java.vm.name") + " " + System.getProperty("java.version")
        + ", " + Runtime.getRuntime().availableProcessors() + " CPUs");
    System.out.println();
    System.out.printf(Locale.ROOT, "%-6s %8s %10s %10s %10s %7s%n", "round", "GiB", "C slots",
        "C summary", "Java", "Java/C");
    Map<String, Double> best = new LinkedHashMap<>();
    for (int r = 1; r <= rounds; r++) {
      Map<String, Double> round = runC(ref, cRuns);
      round.putAll(runJava(warmup, measured));
      for (long gib : RANGES_GIB) {
        System.out.printf(Locale.ROOT, "%-6d %8d %10.1f %10.1f %10.1f %6.2fx%n", r, gib,
            round.get(key("slots", gib)), round.get(key("summary", gib)),
            round.get(key("java", gib)),
            round.get(key("java", gib)) / round.get(key("summary", gib)));
      }
      round.forEach((k, v) -> best.merge(k, v, Math::min));
    }
    for (long gib : RANGES_GIB) {
      System.out.printf(Locale.ROOT, "%-6s %8d %10.1f %10.1f %10.1f %6.2fx%n", "min", gib,
          best.get(key("slots", gib)), best.get(key("summary", gib)), best.get(key("java", gib)),
          best.get(key("java", gib)) / best.get(key("summary", gib)));
    }
    long first = RANGES_GIB[0];
    long last = RANGES_GIB[RANGES_GIB.length - 1];
    System.out.printf(Locale.ROOT, "%-6s %8s %9.2fx %9.2fx %9.2fx   (%d GiB / %d GiB, by the"
        + " minima)%n", "growth", "", growth(best, "slots", first, last),
        growth(best, "summary", first, last), growth(best, "java", first, last), last, first);
    System.out.println();
    System.out.println("finished " + Compare.now() + ", load average " + Compare.loadAverage());
  }

  private static String key(String walker, long gib) {
    return walker + "/" + gib;
  }

  private static double growth(Map<String, Double> best, String walker, long first, long last) {
    return best.get(key(walker, last)) / best.get(key(walker, first));
  }

  /** One run of the C program: the per-run minimum of each walker and range. */
  private static Map<String, Double> runC(Path ref, int runs)
      throws IOException, InterruptedException {
    String out = Compare.runProgram(ref, runs);
    Map<String, Double> min = new LinkedHashMap<>();
    for (String l : out.split("\n")) {
      String[] f = l.trim().split(" ");
      if (f.length > 2 && f[1].startsWith("gib=") && f[2].startsWith("min=")) {
        min.put(key(f[0], Long.parseLong(f[1].substring(4))),
            Double.parseDouble(f[2].substring(4)));
      }
    }
    for (String walker : C_WALKERS) {
      for (long gib : RANGES_GIB) {
        if (!min.containsKey(key(walker, gib))) {
          throw new IllegalStateException(ref + " printed no '" + walker + " gib=" + gib
              + " min=' line:\n" + out);
        }
      }
    }
    return min;
  }

  /** One JMH fork of SparseBench, single shot: the minimum shot of each range. */
  private static Map<String, Double> runJava(int warmup, int measured) throws RunnerException {
    Options opt = new OptionsBuilder()
        .include(SparseBench.class.getName() + "\\.wrprotectGenerated$")
        .mode(Mode.SingleShotTime)
        .timeUnit(TimeUnit.MICROSECONDS)
        .warmupIterations(warmup)
        .measurementIterations(measured)
        .forks(1)
        .verbosity(VerboseMode.SILENT)
        .build();
    Collection<RunResult> results = new Runner(opt).run();
    Map<String, Double> min = new LinkedHashMap<>();
    for (RunResult rr : results) {
      long gib = Long.parseLong(rr.getParams().getParam("rangeGiB"));
      min.put(key("java", gib), Compare.minShot(rr));
    }
    return min;
  }
}
