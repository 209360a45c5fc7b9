package dev.ptwalk.cli.demo;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.Cpu;
import dev.ptwalk.runtime.cpu.HardwareModel;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.notifier.SecondaryMmu;
import dev.ptwalk.runtime.trace.TraceEvent;
import dev.ptwalk.samples.driver.DirtyTrackingDriver;
import dev.ptwalk.samples.driver.SyncReport;
import dev.ptwalk.samples.driver.SyncStep;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * The main demo: the vmwgfx-style {@link DirtyTrackingDriver} with two processes mapping its
 * buffer at different addresses and pgoffs, two CPUs storing to random pages, and a sync per
 * frame. Seeded, so the same options print the same output.
 *
 * <p>Memory and output stay bounded for any number of frames: the table is printed as the frames
 * run, the first and last {@link #FULL_FRAMES} frames are kept in full (pages before and after,
 * each CPU's accesses, the sync's timeline), and the frames between are added up into at most
 * {@link #MAX_BUCKETS} {@link Bucket}s.
 */
public final class DriverDemo {
  /** Frames kept in full at each end of the run. */
  public static final int FULL_FRAMES = 3;
  /** The most buckets the frames between are summarised in. */
  public static final int MAX_BUCKETS = 40;

  /** The demo's settings; the defaults are what {@code bin/ptwalk demo} runs. */
  public record Options(long seed, int frames, int writesPerFrame, int pages,
      DirtyTrackingDriver.SyncMode mode, HardwareModel hardware,
      SecondaryMmu.InvalidationPolicy kvm) {
    /** The built-in default: seed 42, 6 frames of 12 stores on a 32-page x86 buffer, no KVM. */
    public static Options defaults() {
      return new Options(42, 6, 12, 32, DirtyTrackingDriver.SyncMode.GENERATED,
          HardwareModel.X86, null);
    }

    /** Options without a secondary MMU. */
    public Options(long seed, int frames, int writesPerFrame, int pages,
        DirtyTrackingDriver.SyncMode mode, HardwareModel hardware) {
      this(seed, frames, writesPerFrame, pages, mode, hardware, null);
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

    /** Whether frame {@code number} is kept in full. */
    public boolean full(int number) {
      return number <= FULL_FRAMES || number > frames - FULL_FRAMES;
    }
  }

  /** The VMA of one process, as the page shows it. */
  public record VmaView(String mm, long start, long pgoff, long pages) {
    /** The buffer page (pgoff) that {@code addr} of this VMA maps. */
    public long pgoffOf(long addr) {
      return pgoff + ((addr - start) >>> 12);
    }
  }

  /** What one CPU did in a frame, before the sync. */
  public record CpuActivity(int cpu, List<Integer> stored, int loads, int faults,
      int pfnMkwrite, List<TlbView> tlb) {
    /** Copies the lists. */
    public CpuActivity {
      stored = List.copyOf(stored);
      tlb = List.copyOf(tlb);
    }
  }

  /** What the guest did through the secondary MMU in a frame, before the sync. */
  public record GuestActivity(String kvm, List<Integer> stored, int loads, long faults) {
    /** Copies the list. */
    public GuestActivity {
      stored = List.copyOf(stored);
    }
  }

  /** A translation a CPU's TLB held for the buffer: the process, the buffer page, its bits. */
  public record TlbView(String mm, long pgoff, boolean writable, boolean dirty) {}

  /**
   * The kinds of row a sync's timeline has, in the order the page shows them. Each step belongs
   * to one row; a new kind of actor (a secondary MMU) is a new constant here and its steps.
   */
  public enum RowKind {
    /** A walker the sync called, in call order. */
    WALKER,
    /** The driver's own steps (the copy to the device). */
    DRIVER,
    /** A CPU, and what the sync did to its TLB. */
    CPU,
    /** A secondary MMU (KVM), and what each bracket did to its sptes. */
    SECONDARY
  }

  /** A row of a timeline: its kind and its name ({@code DirtyHelpersWalkers.applyAsClean}). */
  public record Row(RowKind kind, String name) {}

  /** What a step of a sync is. */
  public enum StepKind {
    /** {@code mmu_notifier_invalidate_range_start}: a walker opens a bracket. */
    NOTIFIER_START("invalidate_range_start"),
    /** {@code flush_cache_range}. */
    CACHE_FLUSH("flush_cache_range"),
    /** PTEs a walker changed (write-protected, cleaned). */
    PTE_CHANGES("PTEs changed"),
    /** {@code flush_tlb_range} or {@code flush_tlb_mm}. */
    TLB_FLUSH("flush_tlb_range"),
    /** Translations a TLB flush dropped from one CPU's TLB. */
    TLB_DROP("TLB entries dropped"),
    /** {@code mmu_notifier_invalidate_range_end}: a walker closes its bracket. */
    NOTIFIER_END("invalidate_range_end"),
    /** A page fault during the sync. */
    FAULT("fault"),
    /** A {@code WARN_ON} that fired. */
    WARNING("WARN_ON"),
    /** What a bracket did to a secondary MMU's sptes: zapped, made read-only. */
    SPTES("sptes invalidated"),
    /** The driver copies the pages it found to the device. */
    COPY("copy to the device");

    private final String label;

    StepKind(String label) {
      this.label = label;
    }

    /** What the page calls it. */
    public String label() {
      return label;
    }
  }

  /**
   * One step of a sync: which column (steps in the same column happen together, a flush and the
   * entries it dropped), which row did it, what it was, and its details.
   */
  public record Step(int column, Row row, StepKind kind, String detail) {}

  /** A frame kept in full: the accesses, each VMA's pages before and after the sync, the sync. */
  public record Frame(int number, int accesses, List<Integer> pagesWritten,
      List<CpuActivity> cpus, List<List<Character>> before, List<List<Character>> after,
      SyncReport sync, List<Step> timeline, GuestActivity guest, List<Character> sptesBefore,
      List<Character> sptesAfter) {
    /** Copies the lists; without a secondary MMU the guest is null and the sptes empty. */
    public Frame {
      pagesWritten = List.copyOf(pagesWritten);
      cpus = List.copyOf(cpus);
      before = List.copyOf(before);
      after = List.copyOf(after);
      timeline = List.copyOf(timeline);
      sptesBefore = List.copyOf(sptesBefore);
      sptesAfter = List.copyOf(sptesAfter);
    }

    /** The rows of the timeline, by kind then in order of first appearance. */
    public List<Row> rows() {
      List<Row> rows = new ArrayList<>();
      for (RowKind kind : RowKind.values()) {
        for (Step s : timeline) {
          if (s.row().kind() == kind && !rows.contains(s.row())) {
            rows.add(s.row());
          }
        }
      }
      return rows;
    }

    /** Columns of the timeline. */
    public int columns() {
      return timeline.isEmpty() ? 0 : timeline.get(timeline.size() - 1).column() + 1;
    }
  }

  /** Frames {@code first..last} added up. */
  public record Bucket(int first, int last, long accesses, long pagesWritten, long foundDirty,
      long fromMkwrite, long copied, long brackets, long flushes, long ptesChanged) {
    Bucket plus(int frame, int accesses, int written, SyncReport s) {
      return new Bucket(Math.min(first, frame), Math.max(last, frame), this.accesses + accesses,
          pagesWritten + written, foundDirty + s.fromPte().size(),
          fromMkwrite + s.fromMkwrite().size(), copied + s.dirtyPages().size(),
          brackets + s.brackets().size(), flushes + s.flushes().size(), ptesChanged + s.changed());
    }
  }

  /** A finished run: the full frames, the summary of the rest, the end-to-end check. */
  public record Result(List<VmaView> vmas, int frames, List<Frame> full, List<Bucket> summary,
      List<Integer> mismatched) {}

  private DriverDemo() {}

  /**
   * Run with {@code options}, printing the table to {@code table} as the frames run (or nowhere
   * when null); progress goes to {@code progress} on long runs (or nowhere when null).
   */
  public static Result run(Options options, PrintStream progress, PrintStream table) {
    Machine machine = Machine.builder().cpus(2).hardware(options.hardware()).verify(true)
        .trace(true).build();
    Recorder recorder = new Recorder(machine);
    DirtyTrackingDriver driver = new DirtyTrackingDriver(machine, "vmwgfx-bo", options.pages(),
        options.mode(), recorder.strategy(options.mode().steps()));
    MmStruct a = machine.newMm("A");
    MmStruct b = machine.newMm("B");
    int quarter = options.pages() / 4;
    Vma va = driver.mmap(a, 0x7f00_0000_0000L, 0, options.pages());
    Vma vb = driver.mmap(b, 0x5555_0000_0000L, quarter, options.pages() - quarter);
    List<Vma> vmas = List.of(va, vb);
    List<VmaView> views = new ArrayList<>();
    for (Vma v : vmas) {
      views.add(new VmaView(v.mm().name(), v.start(), v.pgoff(), v.pages()));
    }
    recorder.watch(views, a, b);
    // Attached after the recorder subscribed, so the recorder sees each bracket first.
    SecondaryMmu kvm = options.kvm() == null ? null
        : SecondaryMmu.builder("kvm", a).policy(options.kvm()).build();
    recorder.kvm = kvm;
    if (table != null) {
      header(options, views, table);
    }
    int middle = Math.max(0, options.frames() - 2 * FULL_FRAMES);
    int bucketSize = Math.max(1, (middle + MAX_BUCKETS - 1) / MAX_BUCKETS);
    List<Bucket> buckets = new ArrayList<>();
    List<Frame> full = new ArrayList<>();
    SplittableRandom rnd = new SplittableRandom(options.seed());
    long counter = 0;
    for (int f = 1; f <= options.frames(); f++) {
      boolean keep = options.full(f);
      TreeSet<Integer> written = new TreeSet<>();
      CpuLog[] cpus = {new CpuLog(), new CpuLog()};
      TreeSet<Integer> guestStored = new TreeSet<>();
      int guestLoads = 0;
      long guestFaults = kvm == null ? 0 : kvm.faults();
      List<Character> sptesBefore = List.of();
      for (int w = 0; w < options.writesPerFrame(); w++) {
        Vma v = vmas.get(rnd.nextInt(2));
        long pgoff = v.pgoff() + rnd.nextLong(v.pages());
        long word = rnd.nextInt(512) * 8L;
        boolean load = rnd.nextInt(4) == 0;
        int cpu = rnd.nextInt(2);
        int mark = machine.trace().size();
        if (kvm != null && v.mm() == a && rnd.nextInt(3) == 0) {
          // The guest, through its spte: a vCPU's access, not a host CPU's.
          if (load) {
            kvm.read(v.addressOf(pgoff) + word);
            guestLoads++;
          } else {
            kvm.write(v.addressOf(pgoff) + word, ++counter);
            written.add((int) pgoff);
            guestStored.add((int) pgoff);
          }
          continue;
        }
        if (load) {
          machine.cpu(cpu).load(v.mm(), v.addressOf(pgoff) + word);
        } else {
          machine.cpu(cpu).store(v.mm(), v.addressOf(pgoff) + word, ++counter);
          written.add((int) pgoff);
        }
        if (keep) {
          cpus[cpu].log(load, (int) pgoff, machine.trace().eventsSince(mark));
        }
      }
      List<List<Character>> before = keep ? states(vmas) : List.of();
      if (keep && kvm != null) {
        sptesBefore = sptes(kvm, va);
      }
      List<CpuActivity> activity = new ArrayList<>();
      if (keep) {
        for (int c = 0; c < cpus.length; c++) {
          activity.add(cpus[c].activity(c, recorder.tlb(machine.cpu(c))));
        }
      }
      recorder.startSync(keep);
      SyncReport sync = driver.sync();
      if (keep) {
        GuestActivity guest = kvm == null ? null : new GuestActivity(kvm.name(),
            List.copyOf(guestStored), guestLoads, kvm.faults() - guestFaults);
        full.add(new Frame(f, options.writesPerFrame(), List.copyOf(written), activity, before,
            states(vmas), sync, recorder.timeline(sync), guest, sptesBefore,
            kvm == null ? List.of() : sptes(kvm, va)));
      } else {
        int index = (f - FULL_FRAMES - 1) / bucketSize;
        if (index == buckets.size()) {
          buckets.add(new Bucket(f, f, 0, 0, 0, 0, 0, 0, 0, 0));
        }
        buckets.set(index, buckets.get(index).plus(f, options.writesPerFrame(), written.size(),
            sync));
      }
      if (table != null) {
        row(f, options.writesPerFrame(), written.size(), sync, table);
      }
      machine.trace().clear();
      if (progress != null && options.frames() >= 100 && f % (options.frames() / 10) == 0) {
        progress.printf("ptwalk demo: frame %d/%d%n", f, options.frames());
      }
    }
    machine.assertQuiet();
    Result result = new Result(views, options.frames(), full, buckets,
        driver.mismatchedPages());
    if (table != null) {
      end(options, result, table);
    }
    return result;
  }

  /**
   * One letter per page of each VMA: {@code D} dirty, {@code W} writable and clean, {@code R}
   * write-protected and clean, {@code -} not present.
   */
  static List<List<Character>> states(List<Vma> vmas) {
    List<List<Character>> all = new ArrayList<>();
    for (Vma v : vmas) {
      List<Character> out = new ArrayList<>();
      for (long p = 0; p < v.pages(); p++) {
        long pte = v.mm().followPte(v.start() + p * 4096);
        out.add(!Pte.present(pte) ? '-' : Pte.dirty(pte) ? 'D' : Pte.write(pte) ? 'W' : 'R');
      }
      all.add(out);
    }
    return all;
  }

  /**
   * One letter per page of {@code vma} for the sptes {@code kvm} holds of it, as {@link #states}
   * gives for PTEs: {@code D} dirty, {@code W} writable and clean, {@code R} read-only, {@code -}
   * none.
   */
  static List<Character> sptes(SecondaryMmu kvm, Vma vma) {
    List<Character> out = new ArrayList<>();
    for (long p = 0; p < vma.pages(); p++) {
      SecondaryMmu.Spte s = kvm.spte(vma.start() + p * 4096);
      out.add(s == null ? '-' : s.dirty() ? 'D' : s.writable() ? 'W' : 'R');
    }
    return out;
  }

  /** One CPU's accesses in a frame. */
  private static final class CpuLog {
    private final TreeSet<Integer> stored = new TreeSet<>();
    private int loads;
    private int faults;
    private int pfnMkwrite;

    void log(boolean load, int pgoff, List<TraceEvent> events) {
      if (load) {
        loads++;
      } else {
        stored.add(pgoff);
      }
      for (TraceEvent e : events) {
        if (e instanceof TraceEvent.Fault) {
          faults++;
          if (((TraceEvent.Fault) e).path().equals("wp_pfn_shared")) {
            pfnMkwrite++;
          }
        }
      }
    }

    CpuActivity activity(int cpu, List<TlbView> tlb) {
      return new CpuActivity(cpu, List.copyOf(stored), loads, faults, pfnMkwrite, tlb);
    }
  }

  private static String describe(DirtyTrackingDriver.SyncMode mode) {
    switch (mode) {
      case GENERATED:
        return "generated applyAsWrprotect + applyAsClean";
      case FUSED:
        return "hand-written fused wrprotect-and-clean";
      case SOFT_DIRTY:
        return "soft-dirty tracker (generated clearRefsSoftDirty)";
      case UFFD_WP:
        return "async uffd-wp tracker (generated uffdWriteProtect)";
      default:
        return "clean-only (hardware dirty bits)";
    }
  }

  private static void header(Options options, List<VmaView> vmas, PrintStream out) {
    out.printf("ptwalk demo: a vmwgfx-style dirty-tracking driver (seed %d, %d frames, %d"
        + " accesses per frame, %s sync, %s hardware)%n", options.seed(), options.frames(),
        options.writesPerFrame(), describe(options.mode()),
        options.hardware().name().toLowerCase(Locale.ROOT));
    out.printf("buffer: %d pages, %s%n", options.pages(), options.mode().tracksPageTablesOnly()
        ? "VM_SHARED|VM_WRITE (shared memory)" : "VM_SHARED|VM_WRITE|VM_IO|VM_PFNMAP");
    if (options.kvm() != null) {
      out.printf("a secondary MMU (KVM, %s policy) on process A; its guest makes one access in"
          + " three there%n", options.kvm());
    }
    for (VmaView v : vmas) {
      out.printf("  process %s maps pgoff %d..%d at 0x%x%n", v.mm(), v.pgoff(),
          v.pgoff() + v.pages() - 1, v.start());
    }
    out.println();
    out.printf("%-6s %-7s %-14s %-12s %-9s %s%n", "frame", "access", "pages written",
        "found dirty", "brackets", "TLB flushes");
  }

  private static void row(int frame, int accesses, int written, SyncReport s, PrintStream out) {
    List<String> flushes = new ArrayList<>();
    for (TraceEvent.TlbFlush fl : s.flushes()) {
      flushes.add(fl.wholeMm() ? fl.mm() + "[all]"
          : String.format("%s[0x%x,0x%x)", fl.mm(), fl.start(), fl.end()));
    }
    out.printf("%-6d %-7d %-14d %-12d %-9d %s%n", frame, accesses, written,
        s.dirtyPages().size(), s.brackets().size(),
        flushes.isEmpty() ? "none" : String.join(" ", flushes));
  }

  private static void end(Options options, Result r, PrintStream out) {
    out.println();
    if (r.mismatched().isEmpty()) {
      out.printf("end-to-end: after the last sync the device copy equals CPU memory for all %d"
          + " pages%n", options.pages());
    } else {
      out.printf("end-to-end: FAILED, the device copy differs from CPU memory on pages %s%n",
          r.mismatched());
    }
  }

  /**
   * Records what a sync did, for the timeline of a full frame: which walker each trace event
   * came from (the sync's steps are wrapped), and, as a subscriber to each process's mmu
   * notifiers (the way a secondary MMU watches), the TLB entries each bracket's flush dropped
   * from each CPU. It changes nothing: the sync runs the mode's own walker calls, in order.
   */
  private static final class Recorder {
    private final Machine machine;
    private List<VmaView> vmas = List.of();
    private final List<String> walkers = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final List<Drop> drops = new ArrayList<>();
    private final List<SpteChange> spteChanges = new ArrayList<>();
    private int strategyEnd;
    private boolean recording;
    /** The secondary MMU of process A, or null. */
    SecondaryMmu kvm;

    /** What one bracket did to the secondary MMU's sptes; placed after trace event index. */
    private record SpteChange(int afterEvent, String detail) {}

    /** The entries one bracket's flush dropped from one CPU; placed after trace event index. */
    private record Drop(int afterEvent, String mm, int cpu, List<TlbView> dropped) {}

    Recorder(Machine machine) {
      this.machine = machine;
    }

    /** The mode's steps, each marked in the trace as it starts. */
    dev.ptwalk.samples.driver.SyncStrategy strategy(List<SyncStep> steps) {
      return (d, bitmap) -> {
        long changed = 0;
        for (SyncStep step : steps) {
          walkers.add(step.walker());
          marks.add(machine.trace().size());
          changed += step.call().collect(d, bitmap);
        }
        strategyEnd = machine.trace().size();
        return changed;
      };
    }

    /** Subscribe to the mms' notifiers. */
    void watch(List<VmaView> views, MmStruct... mms) {
      this.vmas = views;
      for (MmStruct mm : mms) {
        MmuNotifiers.register(new dev.ptwalk.runtime.notifier.MmuNotifier() {
          private final List<List<TlbView>> atStart = new ArrayList<>();
          private java.util.SortedMap<Long, SecondaryMmu.Spte> sptesAtStart;

          @Override
          public void invalidateRangeStart(dev.ptwalk.runtime.notifier.MmuNotifierRange range) {
            if (recording) {
              sptesAtStart = kvm != null && kvm.mm() == range.mm() ? kvm.sptes() : null;
              atStart.clear();
              for (Cpu cpu : machine.cpus()) {
                atStart.add(entries(cpu, range.mm().name(), range.start(), range.end()));
              }
            }
          }

          @Override
          public void invalidateRangeEnd(dev.ptwalk.runtime.notifier.MmuNotifierRange range) {
            if (recording && !atStart.isEmpty()) {
              for (Cpu cpu : machine.cpus()) {
                List<TlbView> gone = new ArrayList<>(atStart.get(cpu.id()));
                gone.removeAll(entries(cpu, range.mm().name(), range.start(), range.end()));
                if (!gone.isEmpty()) {
                  drops.add(new Drop(machine.trace().size(), range.mm().name(), cpu.id(), gone));
                }
              }
              if (sptesAtStart != null) {
                String change = spteChange(sptesAtStart, kvm.sptes(), range);
                if (change != null) {
                  spteChanges.add(new SpteChange(machine.trace().size(), change));
                }
              }
            }
          }
        }, mm);
      }
    }

    /**
     * The sptes of {@code [range)} zapped or made read-only between {@code before} and {@code
     * after}, by buffer page, or null for none.
     */
    private String spteChange(java.util.SortedMap<Long, SecondaryMmu.Spte> before,
        java.util.SortedMap<Long, SecondaryMmu.Spte> after,
        dev.ptwalk.runtime.notifier.MmuNotifierRange range) {
      VmaView v = view(range.mm().name());
      List<Long> zapped = new ArrayList<>();
      List<Long> readOnly = new ArrayList<>();
      for (var e : before.entrySet()) {
        long addr = e.getKey();
        if (v == null || addr < range.start() || addr >= range.end()) {
          continue;
        }
        SecondaryMmu.Spte now = after.get(addr);
        if (now == null) {
          zapped.add(v.pgoffOf(addr));
        } else if (e.getValue().writable() && !now.writable()) {
          readOnly.add(v.pgoffOf(addr));
        }
      }
      if (zapped.isEmpty() && readOnly.isEmpty()) {
        return null;
      }
      List<String> parts = new ArrayList<>();
      if (!zapped.isEmpty()) {
        parts.add("zapped pgoff " + Pgoffs.ranges(zapped));
      }
      if (!readOnly.isEmpty()) {
        parts.add("made read-only pgoff " + Pgoffs.ranges(readOnly));
      }
      return String.join("; ", parts);
    }

    /** What {@code cpu}'s TLB holds for the buffer in {@code mm}'s range {@code [start, end)}. */
    private List<TlbView> entries(Cpu cpu, String mm, long start, long end) {
      List<TlbView> out = new ArrayList<>();
      MmStruct m = null;
      for (MmStruct candidate : machine.mms()) {
        if (candidate.name().equals(mm)) {
          m = candidate;
        }
      }
      VmaView v = view(mm);
      for (var e : cpu.tlbEntries()) {
        long addr = e.vpn() << 12;
        if (m != null && e.mmId() == m.id() && v != null && addr >= start && addr < end) {
          out.add(new TlbView(mm, v.pgoffOf(addr), e.writable(), e.dirty()));
        }
      }
      out.sort(java.util.Comparator.comparingLong(TlbView::pgoff));
      return out;
    }

    /** Everything {@code cpu}'s TLB holds for the buffer, in any process. */
    List<TlbView> tlb(Cpu cpu) {
      List<TlbView> out = new ArrayList<>();
      for (VmaView v : vmas) {
        out.addAll(entries(cpu, v.mm(), v.start(), v.start() + v.pages() * 4096));
      }
      return out;
    }

    private VmaView view(String mm) {
      for (VmaView v : vmas) {
        if (v.mm().equals(mm)) {
          return v;
        }
      }
      return null;
    }

    /** Start recording a sync; {@code detail} says whether its timeline will be built. */
    void startSync(boolean detail) {
      walkers.clear();
      marks.clear();
      drops.clear();
      spteChanges.clear();
      strategyEnd = 0;
      recording = detail;
    }

    /** The timeline of the sync just run. */
    List<Step> timeline(SyncReport sync) {
      List<TraceEvent> events = machine.trace().events();
      List<Step> steps = new ArrayList<>();
      int column = 0;
      for (int w = 0; w < walkers.size(); w++) {
        Row row = new Row(RowKind.WALKER, walkers.get(w));
        int from = marks.get(w);
        int to = w + 1 < marks.size() ? marks.get(w + 1) : strategyEnd;
        int flushColumn = -1;
        for (int i = from; i < to; i++) {
          TraceEvent e = events.get(i);
          if (e instanceof TraceEvent.PteSet) {
            int j = i;
            List<TraceEvent.PteSet> changes = new ArrayList<>();
            while (j < to && events.get(j) instanceof TraceEvent.PteSet
                && ((TraceEvent.PteSet) events.get(j)).mm().equals(((TraceEvent.PteSet) e).mm())) {
              changes.add((TraceEvent.PteSet) events.get(j));
              j++;
            }
            steps.add(new Step(column++, row, StepKind.PTE_CHANGES, changes(changes)));
            i = j - 1;
            continue;
          }
          Step step = step(column, row, e);
          if (step == null) {
            continue;
          }
          steps.add(step);
          if (step.kind() == StepKind.NOTIFIER_START) {
            flushColumn = -1;
          } else if (step.kind() == StepKind.TLB_FLUSH) {
            flushColumn = column;
          }
          column++;
          for (Drop d : drops) {
            if (d.afterEvent() == i + 1) {
              // The flush of this bracket dropped them; shown in the flush's column.
              steps.add(new Step(flushColumn >= 0 ? flushColumn : column - 1,
                  new Row(RowKind.CPU, "CPU " + d.cpu()), StepKind.TLB_DROP, drop(d)));
            }
          }
          for (SpteChange c : spteChanges) {
            if (c.afterEvent() == i + 1) {
              // The secondary MMU acted on the bracket's start; shown beside its end.
              steps.add(new Step(column - 1, new Row(RowKind.SECONDARY, kvm.name() + " (A)"),
                  StepKind.SPTES, c.detail()));
            }
          }
        }
      }
      steps.sort(java.util.Comparator.comparingInt(Step::column));
      steps.add(new Step(column, new Row(RowKind.DRIVER, "driver"), StepKind.COPY,
          "pgoff " + Pgoffs.ranges(sync.dirtyPages()) + " (" + sync.dirtyPages().size()
              + " pages: " + sync.fromPte().size() + " found in the bitmap, "
              + sync.fromMkwrite().size() + " recorded by pfn_mkwrite)"));
      return steps;
    }

    private Step step(int column, Row row, TraceEvent e) {
      if (e instanceof TraceEvent.NotifierStart) {
        TraceEvent.NotifierStart n = (TraceEvent.NotifierStart) e;
        return new Step(column, row, StepKind.NOTIFIER_START, n.mm() + " " + n.event() + " "
            + range(n.mm(), n.start(), n.end()));
      }
      if (e instanceof TraceEvent.CacheFlush) {
        TraceEvent.CacheFlush c = (TraceEvent.CacheFlush) e;
        return new Step(column, row, StepKind.CACHE_FLUSH, c.mm() + " "
            + range(c.mm(), c.start(), c.end()));
      }
      if (e instanceof TraceEvent.TlbFlush) {
        TraceEvent.TlbFlush f = (TraceEvent.TlbFlush) e;
        return new Step(column, row, StepKind.TLB_FLUSH, f.wholeMm() ? f.mm() + " whole mm"
            : f.mm() + " " + range(f.mm(), f.start(), f.end()));
      }
      if (e instanceof TraceEvent.NotifierEnd) {
        TraceEvent.NotifierEnd n = (TraceEvent.NotifierEnd) e;
        return new Step(column, row, StepKind.NOTIFIER_END, n.mm() + " "
            + range(n.mm(), n.start(), n.end()));
      }
      if (e instanceof TraceEvent.Fault) {
        return new Step(column, row, StepKind.FAULT, e.toString());
      }
      if (e instanceof TraceEvent.Warning) {
        return new Step(column, row, StepKind.WARNING, ((TraceEvent.Warning) e).message());
      }
      return null;
    }

    /** {@code [start, end)} of {@code mm} as buffer pages. */
    private String range(String mm, long start, long end) {
      VmaView v = view(mm);
      if (v == null || end <= start) {
        return String.format("[0x%x, 0x%x)", start, end);
      }
      long first = v.pgoffOf(start);
      long last = v.pgoffOf(end - 1);
      return "pgoff " + (first == last ? String.valueOf(first) : first + "-" + last);
    }

    private String changes(List<TraceEvent.PteSet> changes) {
      String mm = changes.get(0).mm();
      VmaView v = view(mm);
      List<Long> rw = new ArrayList<>();
      List<Long> dirty = new ArrayList<>();
      List<Long> other = new ArrayList<>();
      for (TraceEvent.PteSet c : changes) {
        long pgoff = v == null ? c.addr() >>> 12 : v.pgoffOf(c.addr());
        boolean any = false;
        if (Pte.write(c.oldPte()) && !Pte.write(c.newPte())) {
          rw.add(pgoff);
          any = true;
        }
        if (Pte.dirty(c.oldPte()) && !Pte.dirty(c.newPte())) {
          dirty.add(pgoff);
          any = true;
        }
        if (!any) {
          other.add(pgoff);
        }
      }
      List<String> parts = new ArrayList<>();
      if (!rw.isEmpty()) {
        parts.add("RW cleared on pgoff " + Pgoffs.ranges(rw));
      }
      if (!dirty.isEmpty()) {
        parts.add("D cleared on pgoff " + Pgoffs.ranges(dirty));
      }
      if (!other.isEmpty()) {
        parts.add("set again on pgoff " + Pgoffs.ranges(other));
      }
      return mm + ": " + String.join("; ", parts);
    }

    private String drop(Drop d) {
      long writable = d.dropped().stream().filter(TlbView::writable).count();
      List<Long> pgoffs = new ArrayList<>();
      for (TlbView t : d.dropped()) {
        pgoffs.add(t.pgoff());
      }
      return d.mm() + " pgoff " + Pgoffs.ranges(pgoffs) + " (" + d.dropped().size()
          + (d.dropped().size() == 1 ? " entry, " : " entries, ") + writable + " writable)";
    }
  }
}
