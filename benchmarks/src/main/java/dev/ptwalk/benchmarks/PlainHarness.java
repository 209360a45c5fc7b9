package dev.ptwalk.benchmarks;

import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.samples.DirtyHelpersWalkers;
import java.util.Arrays;
import java.util.Locale;

/**
 * {@link DenseBench}'s generated walks without JMH: a {@code main} that builds the same mapping,
 * resets it before each walk as {@code DenseBench.reset} does, and times each walk with {@link
 * System#nanoTime}. It exists to explain how JMH's figures differ from a plain harness (README,
 * Benchmarks); each option switches on one thing {@code DenseBench} does that a plain loop does
 * not.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.ptwalk.benchmarks.PlainHarness [options]
 *   --walks N        timed walks per workload (default 200), after as many untimed ones
 *   --visitor-warmup run DenseBench.build()'s three visitor walks first
 *   --no-reset       walk again without resetting the PTEs (clean then changes nothing)
 *   --interleave     alternate clean and write-protect walks instead of all of one, then the other
 *   --thread         walk on a new thread, as JMH's worker does, instead of main
 *   --pad MiB        allocate and keep MiB of small objects first, moving where the tables land
 * </pre>
 */
public final class PlainHarness {
  /** Objects kept only to move the heap's layout ({@code --pad}). */
  static Object[] pad;

  private PlainHarness() {}

  /** Run it; see the class comment for the options. */
  public static void main(String[] args) throws InterruptedException {
    for (String a : args) {
      if (a.equals("--thread")) {
        String[] rest = java.util.Arrays.stream(args).filter(x -> !x.equals("--thread"))
            .toArray(String[]::new);
        Thread t = new Thread(() -> run(rest), "walker");
        t.start();
        t.join();
        return;
      }
    }
    run(args);
  }

  private static void run(String[] args) {
    int walks = 200;
    boolean visitorWarmup = false;
    boolean reset = true;
    boolean interleave = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--walks":
          walks = Integer.parseInt(args[++i]);
          break;
        case "--visitor-warmup":
          visitorWarmup = true;
          break;
        case "--no-reset":
          reset = false;
          break;
        case "--interleave":
          interleave = true;
          break;
        case "--pad":
          int mib = Integer.parseInt(args[++i]);
          pad = new Object[mib * 1024 * 1024 / 32];
          for (int k = 0; k < pad.length; k++) {
            pad[k] = new long[1];
          }
          break;
        default:
          System.err.println("PlainHarness: unknown option " + args[i]);
          System.exit(2);
      }
    }
    Machine m = Fixtures.machine();
    Vma vma = Fixtures.dense(m, "dense", DenseBench.PAGES);
    long[] bitmap = new long[DenseBench.PAGES / 64];
    Fixtures.fill(vma, 8);
    if (visitorWarmup) {
      VisitorWalker.walk(vma.mapping(), 0, 4096, VisitorWalker.MKOLD, 0, bitmap,
          new DirtyWindow());
      VisitorWalker.walk(vma.mapping(), 0, 4096, VisitorWalker.WRPROTECT, 0, null, null);
      VisitorWalker.walk(vma.mapping(), 0, 4096, VisitorWalker.CLEAN, 0, bitmap,
          new DirtyWindow());
    }
    double[] clean = new double[walks];
    double[] wrprotect = new double[walks];
    if (interleave) {
      for (int i = -walks; i < walks; i++) {
        double c = walk(vma, bitmap, true, reset);
        double w = walk(vma, bitmap, false, reset);
        if (i >= 0) {
          clean[i] = c;
          wrprotect[i] = w;
        }
      }
    } else {
      for (int i = -walks; i < walks; i++) {
        double c = walk(vma, bitmap, true, reset);
        if (i >= 0) {
          clean[i] = c;
        }
      }
      for (int i = -walks; i < walks; i++) {
        double w = walk(vma, bitmap, false, reset);
        if (i >= 0) {
          wrprotect[i] = w;
        }
      }
    }
    report("clean", clean);
    report("wrprotect", wrprotect);
  }

  /** One walk, after resetting the PTEs if asked; ns per PTE. */
  private static double walk(Vma vma, long[] bitmap, boolean clean, boolean reset) {
    if (reset) {
      Fixtures.fill(vma, 8);
    }
    long t0 = System.nanoTime();
    long n = clean
        ? DirtyHelpersWalkers.applyAsClean(vma.mapping(), 0, DenseBench.PAGES, 0, bitmap,
            new DirtyWindow())
        : DirtyHelpersWalkers.applyAsWrprotect(vma.mapping(), 0, DenseBench.PAGES);
    long t = System.nanoTime() - t0;
    if (reset && n != (clean ? DenseBench.PAGES / 8 : DenseBench.PAGES)) {
      throw new IllegalStateException("walk modified " + n + " PTEs");
    }
    return (double) t / DenseBench.PAGES;
  }

  private static void report(String name, double[] ns) {
    double[] s = ns.clone();
    Arrays.sort(s);
    System.out.printf(Locale.ROOT, "%s min=%.3f median=%.3f walks=%d%n", name, s[0],
        s[s.length / 2], s.length);
  }
}
