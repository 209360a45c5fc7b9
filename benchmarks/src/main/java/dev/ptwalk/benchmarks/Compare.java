package dev.ptwalk.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * The C reference ({@code benchmarks/src/main/c/ptwalk_ref.c}) and the generated walkers side
 * by side: rounds that each run the C program (its per-run minimum over {@code cRuns} walks) and
 * then one JMH fork of {@link DenseBench}'s generated walkers in single-shot mode (one walk per
 * shot; the minimum over the measured shots), alternating so that both sides see the same load.
 * Prints each round and the minima over all rounds, in ns per PTE, with the ratios.
 *
 * <p>Run by {@code benchmarks/compare.sh}, which builds both. Arguments: the C program's path,
 * then optionally rounds (5), C walks per round (20), JMH warm-up shots (40) and measured shots
 * (40) per round.
 */
public final class Compare {
  private static final String[] WORKLOADS = {"clean", "wrprotect"};

  private Compare() {}

  /** Run the comparison; see the class comment for the arguments. */
  public static void main(String[] args) throws IOException, InterruptedException,
      RunnerException {
    if (args.length < 1 || args.length > 5) {
      System.err.println("usage: Compare <ptwalk_ref> [rounds [cRuns [warmupShots"
          + " [measuredShots]]]]");
      System.exit(2);
    }
    Path ref = Path.of(args[0]);
    int rounds = arg(args, 1, 5);
    int cRuns = arg(args, 2, 20);
    int warmup = arg(args, 3, 40);
    int measured = arg(args, 4, 40);
    System.out.println("ptwalk: C reference against the generated walkers, ns per PTE, per-run"
        + " minimum; " + rounds + " rounds alternating C (" + cRuns + " walks) and JMH"
        + " DenseBench single shots (" + warmup + " warm-up, " + measured + " measured)");
    System.out.println("started " + now() + ", load average " + loadAverage() + ", "
        + System.getProperty("java.vm.name") + " " + System.getProperty("java.version") + ", "
        + Runtime.getRuntime().availableProcessors() + " CPUs");
    System.out.println();
    System.out.printf(Locale.ROOT, "%-6s %9s %9s %7s   %9s %9s %7s%n", "round", "C clean",
        "Java", "ratio", "C wrprot", "Java", "ratio");
    Map<String, Double> bestC = new LinkedHashMap<>();
    Map<String, Double> bestJava = new LinkedHashMap<>();
    List<double[]> ratios = new ArrayList<>();
    for (int r = 1; r <= rounds; r++) {
      Map<String, Double> c = runC(ref, cRuns);
      Map<String, Double> java = runJava(warmup, measured);
      double[] ratio = new double[WORKLOADS.length];
      StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-6d", r));
      for (int w = 0; w < WORKLOADS.length; w++) {
        String name = WORKLOADS[w];
        ratio[w] = java.get(name) / c.get(name);
        bestC.merge(name, c.get(name), Math::min);
        bestJava.merge(name, java.get(name), Math::min);
        line.append(String.format(Locale.ROOT, " %9.3f %9.3f %6.2fx  ", c.get(name),
            java.get(name), ratio[w]));
      }
      ratios.add(ratio);
      System.out.println(line.toString().stripTrailing());
    }
    StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-6s", "min"));
    for (String name : WORKLOADS) {
      line.append(String.format(Locale.ROOT, " %9.3f %9.3f %6.2fx  ", bestC.get(name),
          bestJava.get(name), bestJava.get(name) / bestC.get(name)));
    }
    System.out.println(line.toString().stripTrailing());
    line = new StringBuilder(String.format(Locale.ROOT, "%-6s", "median"));
    for (int w = 0; w < WORKLOADS.length; w++) {
      line.append(String.format(Locale.ROOT, " %9s %9s %6.2fx  ", "", "", median(ratios, w)));
    }
    System.out.println(line.toString().stripTrailing() + "   (median of the rounds' ratios)");
    System.out.println();
    System.out.println("finished " + now() + ", load average " + loadAverage());
  }

  static int arg(String[] args, int i, int dflt) {
    if (args.length <= i) {
      return dflt;
    }
    try {
      int v = Integer.parseInt(args[i]);
      if (v >= 1) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    System.err.println("Compare: argument " + (i + 1) + " must be a positive integer, was '"
        + args[i] + "'");
    System.exit(2);
    return dflt;
  }

  /** One run of the C program: its per-run minimum of each workload. */
  private static Map<String, Double> runC(Path ref, int runs)
      throws IOException, InterruptedException {
    String out = runProgram(ref, runs);
    Map<String, Double> min = new LinkedHashMap<>();
    for (String l : out.split("\n")) {
      String[] f = l.trim().split(" ");
      if (f.length > 1 && f[1].startsWith("min=")) {
        min.put(f[0], Double.parseDouble(f[1].substring(4)));
      }
    }
    for (String name : WORKLOADS) {
      if (!min.containsKey(name)) {
        throw new IllegalStateException(ref + " printed no '" + name + " min=' line:\n" + out);
      }
    }
    return min;
  }

  /** One JMH fork of the generated walkers, single shot: the minimum shot of each workload. */
  private static Map<String, Double> runJava(int warmup, int measured) throws RunnerException {
    Options opt = new OptionsBuilder()
        .include(DenseBench.class.getName() + "\\.(clean|wrprotect)Generated$")
        .mode(Mode.SingleShotTime)
        .timeUnit(TimeUnit.NANOSECONDS)
        .warmupIterations(warmup)
        .measurementIterations(measured)
        .forks(1)
        .verbosity(VerboseMode.SILENT)
        .build();
    Collection<RunResult> results = new Runner(opt).run();
    Map<String, Double> min = new LinkedHashMap<>();
    for (RunResult rr : results) {
      String method = rr.getParams().getBenchmark();
      String name = method.substring(method.lastIndexOf('.') + 1).replace("Generated", "");
      min.put(name, minShot(rr));
    }
    return min;
  }

  /** Run a C reference with its runs argument; its standard output. */
  static String runProgram(Path ref, int runs) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(ref.toString(), Integer.toString(runs))
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IllegalStateException(ref + " failed with status " + p.exitValue());
    }
    return out;
  }

  /** The fastest single shot of one JMH benchmark's result, in its time unit. */
  static double minShot(RunResult rr) {
    double best = Double.MAX_VALUE;
    for (BenchmarkResult br : rr.getBenchmarkResults()) {
      for (IterationResult ir : br.getIterationResults()) {
        best = Math.min(best, ir.getPrimaryResult().getScore());
      }
    }
    return best;
  }

  static double median(List<double[]> rows, int column) {
    double[] v = rows.stream().mapToDouble(r -> r[column]).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  static String now() {
    return ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }
}
