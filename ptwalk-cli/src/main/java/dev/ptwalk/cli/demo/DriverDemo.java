package dev.ptwalk.cli.demo;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.HardwareModel;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.trace.TraceEvent;
import dev.ptwalk.samples.driver.DirtyTrackingDriver;
import dev.ptwalk.samples.driver.SyncReport;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * The main demo: the vmwgfx-style {@link DirtyTrackingDriver} with two processes mapping its
 * buffer at different addresses and pgoffs, two CPUs storing to random pages, and a sync per
 * frame. Seeded, so the same options print the same output.
 */
public final class DriverDemo {
  /** The demo's settings; the defaults are what {@code bin/ptwalk demo} runs. */
  public record Options(long seed, int frames, int writesPerFrame, int pages,
      DirtyTrackingDriver.SyncMode mode, HardwareModel hardware) {
    /** The built-in default: seed 42, 6 frames of 12 stores on a 32-page x86 buffer. */
    public static Options defaults() {
      return new Options(42, 6, 12, 32, DirtyTrackingDriver.SyncMode.GENERATED,
          HardwareModel.X86);
    }

    /** Validates the ranges. */
    public Options {
      if (frames < 1 || frames > 1_000_000) {
        throw new IllegalArgumentException("--frames must be 1..1000000, was " + frames);
      }
      if (writesPerFrame < 0 || writesPerFrame > 1_000_000) {
        throw new IllegalArgumentException("--writes must be 0..1000000, was " + writesPerFrame);
      }
      if (pages < 8 || pages > 4096) {
        throw new IllegalArgumentException("--pages must be 8..4096, was " + pages);
      }
      if (mode == null || hardware == null) {
        throw new NullPointerException("mode and hardware");
      }
    }
  }

  /** The VMA of one process, as the page shows it. */
  public record VmaView(String mm, long start, long pgoff, long pages) {}

  /** One frame: what was written, each VMA's pages before the sync, and the sync. */
  public record Frame(int number, int accesses, List<Integer> pagesWritten,
      List<List<Character>> states, SyncReport sync) {}

  /** A finished run. */
  public record Result(List<VmaView> vmas, List<Frame> frames, List<Integer> mismatched) {}

  private DriverDemo() {}

  /** Run with {@code options}; progress goes to {@code progress} on long runs (or null). */
  public static Result run(Options options, PrintStream progress) {
    Machine machine = Machine.builder().cpus(2).hardware(options.hardware()).verify(true)
        .trace(true).build();
    DirtyTrackingDriver driver =
        new DirtyTrackingDriver(machine, "vmwgfx-bo", options.pages(), options.mode());
    MmStruct a = machine.newMm("A");
    MmStruct b = machine.newMm("B");
    int quarter = options.pages() / 4;
    Vma va = driver.mmap(a, 0x7f00_0000_0000L, 0, options.pages());
    Vma vb = driver.mmap(b, 0x5555_0000_0000L, quarter, options.pages() - quarter);
    List<Vma> vmas = List.of(va, vb);
    SplittableRandom rnd = new SplittableRandom(options.seed());
    List<Frame> frames = new ArrayList<>();
    long counter = 0;
    for (int f = 1; f <= options.frames(); f++) {
      TreeSet<Integer> written = new TreeSet<>();
      for (int w = 0; w < options.writesPerFrame(); w++) {
        Vma v = vmas.get(rnd.nextInt(2));
        long pgoff = v.pgoff() + rnd.nextLong(v.pages());
        long word = rnd.nextInt(512) * 8L;
        if (rnd.nextInt(4) == 0) {
          machine.cpu(rnd.nextInt(2)).load(v.mm(), v.addressOf(pgoff) + word);
          continue;
        }
        machine.cpu(rnd.nextInt(2)).store(v.mm(), v.addressOf(pgoff) + word, ++counter);
        written.add((int) pgoff);
      }
      List<List<Character>> states = new ArrayList<>();
      for (Vma v : vmas) {
        states.add(states(v));
      }
      frames.add(new Frame(f, options.writesPerFrame(), List.copyOf(written), states,
          driver.sync()));
      machine.trace().clear();
      if (progress != null && options.frames() >= 100 && f % (options.frames() / 10) == 0) {
        progress.printf("ptwalk demo: frame %d/%d%n", f, options.frames());
      }
    }
    machine.assertQuiet();
    List<VmaView> views = new ArrayList<>();
    for (Vma v : vmas) {
      views.add(new VmaView(v.mm().name(), v.start(), v.pgoff(), v.pages()));
    }
    return new Result(views, frames, driver.mismatchedPages());
  }

  /**
   * One letter per page of {@code v}: {@code D} dirty, {@code W} writable and clean, {@code R}
   * write-protected and clean, {@code -} not present.
   */
  static List<Character> states(Vma v) {
    List<Character> out = new ArrayList<>();
    for (long p = 0; p < v.pages(); p++) {
      long pte = v.mm().followPte(v.start() + p * 4096);
      out.add(!Pte.present(pte) ? '-' : Pte.dirty(pte) ? 'D' : Pte.write(pte) ? 'W' : 'R');
    }
    return out;
  }

  private static String describe(DirtyTrackingDriver.SyncMode mode) {
    switch (mode) {
      case GENERATED:
        return "generated applyAsWrprotect + applyAsClean";
      case FUSED:
        return "hand-written fused wrprotect-and-clean";
      default:
        return "clean-only (hardware dirty bits)";
    }
  }

  /** Print the per-frame table and the end-to-end check. */
  public static void print(Options options, Result r, PrintStream out) {
    out.printf("ptwalk demo: a vmwgfx-style dirty-tracking driver (seed %d, %d frames, %d"
        + " accesses per frame, %s sync, %s hardware)%n", options.seed(), options.frames(),
        options.writesPerFrame(), describe(options.mode()),
        options.hardware().name().toLowerCase(java.util.Locale.ROOT));
    out.printf("buffer: %d pages, VM_SHARED|VM_WRITE|VM_IO|VM_PFNMAP%n", options.pages());
    for (VmaView v : r.vmas()) {
      out.printf("  process %s maps pgoff %d..%d at 0x%x%n", v.mm(), v.pgoff(),
          v.pgoff() + v.pages() - 1, v.start());
    }
    out.println();
    out.printf("%-6s %-7s %-14s %-12s %-9s %s%n", "frame", "access", "pages written",
        "found dirty", "brackets", "TLB flushes");
    for (Frame f : r.frames()) {
      SyncReport s = f.sync();
      List<String> flushes = new ArrayList<>();
      for (TraceEvent.TlbFlush fl : s.flushes()) {
        flushes.add(String.format("%s[0x%x,0x%x)", fl.mm(), fl.start(), fl.end()));
      }
      out.printf("%-6d %-7d %-14d %-12d %-9d %s%n", f.number(), f.accesses(),
          f.pagesWritten().size(), s.dirtyPages().size(), s.brackets().size(),
          flushes.isEmpty() ? "none" : String.join(" ", flushes));
    }
    out.println();
    if (r.mismatched().isEmpty()) {
      out.printf("end-to-end: after the last sync the device copy equals CPU memory for all %d"
          + " pages%n", options.pages());
    } else {
      out.printf("end-to-end: FAILED, the device copy differs from CPU memory on pages %s%n",
          r.mismatched());
    }
  }
}
