package dev.ptwalk.cli.syscalls;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.ptwalk.cli.syscalls.Trace.Region;
import dev.ptwalk.runtime.Errno;
import dev.ptwalk.runtime.ErrnoException;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.cpu.SignalException;
import dev.ptwalk.runtime.debug.VerifierViolation;
import dev.ptwalk.runtime.mm.CpuFbatches;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Userfaultfd;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.trace.TraceEvent;
import dev.ptwalk.syscalls.Syscalls;
import dev.ptwalk.syscalls.madvise.Madvise;
import dev.ptwalk.syscalls.mman.Mman;
import dev.ptwalk.syscalls.mman.OpenFile;
import dev.ptwalk.syscalls.taskmmu.ClearRefs;
import dev.ptwalk.syscalls.taskmmu.PageRegion;
import dev.ptwalk.syscalls.taskmmu.Pagemap;
import dev.ptwalk.syscalls.taskmmu.PagemapScan;
import dev.ptwalk.syscalls.taskmmu.PmScanArg;
import dev.ptwalk.syscalls.userfaultfd.UserfaultfdIoctls;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;

/**
 * Runs a parsed {@link Trace} on a fresh simulated machine configured as this project's Linux 6.18
 * machines are (soft-dirty compiled out, no swap, no THP, the zero page, per-CPU LRU batches, two
 * CPUs), in one process, and prints what the kernel prints for it: one JSON line per command that
 * reports something, through Jackson's streaming {@link JsonGenerator}.
 *
 * <p>The process is {@code pmscan}'s: it opens its userfaultfd, when the trace has a region, with
 * the trace's features plus {@code UFFD_FEATURE_SIGBUS} (a sync uffd-wp fault is a SIGBUS, not a
 * hang), maps region k at {@code 0x7f0000000000 + k * 0x400000 + at * 4096}, and makes each system
 * call on the CPU the last {@code cpu} command chose (CPU 0 at first), as a task pinned there.
 * The runtime's verifier is on: a page-table rule broken inside the simulated kernel stops the
 * run ({@link VerifierViolation}); each {@code WARN_ON} is printed on stderr.
 */
final class TraceRunner {
  /** CPUs of the simulated machine, as many as the machines the outputs were recorded on. */
  static final int CPUS = 2;
  /**
   * Read-ahead of the disk the {@code extfile} regions live on, in pages: {@code read_ahead_kb}
   * of the recording machines' {@code /var/tmp} device is 8192 (2048 pages), so a fault that
   * misses reads a whole region of up to 1024 pages into the page cache.
   */
  static final long READ_AHEAD_PAGES = 2048;
  private static final JsonFactory JSON = JsonFactory.builder().build();

  private final String file;
  private final PrintStream out;
  private final PrintStream err;
  private final Machine machine;
  private final MmStruct mm;
  private final CpuFbatches fbatches;
  private Userfaultfd uffd;
  private int cpu;
  private int children;

  TraceRunner(String file, PrintStream out, PrintStream err) {
    this.file = file;
    this.out = out;
    this.err = err;
    this.machine = Machine.builder().cpus(CPUS).softDirty(false).lruBatches(true).verify(true)
        .trace(true).build();
    this.mm = machine.newMm("pmscan");
    this.fbatches = machine.physMem().cpuFbatches();
  }

  /** The machine the trace runs on. */
  Machine machine() {
    return machine;
  }

  /**
   * Run every command of {@code trace}, printing its lines.
   *
   * @throws RuleBroken when the simulated kernel broke a page-table rule
   */
  void run(Trace trace) {
    if (!trace.regions().isEmpty()) {
      uffd = Userfaultfd.open(mm, trace.features() | Userfaultfd.UFFD_FEATURE_SIGBUS);
    }
    for (Trace.Command c : trace.commands()) {
      int mark = machine.trace().size();
      try {
        fbatches.onCpu(cpu, () -> {
          execute(c);
          return null;
        });
      } catch (VerifierViolation e) {
        throw new RuleBroken(file + ":" + c.line() + ": the simulated kernel broke a page-table"
            + " rule: " + e.getMessage());
      } finally {
        for (TraceEvent e : machine.trace().eventsSince(mark)) {
          if (e instanceof TraceEvent.Warning) {
            err.println(file + ":" + c.line() + ": WARNING: " + ((TraceEvent.Warning) e).message());
          }
        }
        machine.trace().clear();
      }
    }
    try {
      machine.assertQuiet();
    } catch (VerifierViolation e) {
      throw new RuleBroken(file + ": the simulated kernel left a page-table rule broken at the"
          + " end: " + e.getMessage());
    }
  }

  /** The simulated kernel broke a page-table rule (a bug in ptwalk's syscalls or runtime). */
  static final class RuleBroken extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RuleBroken(String message) {
      super(message);
    }
  }

  private void execute(Trace.Command c) {
    if (c instanceof Trace.Mmap m) {
      mmap(m);
    } else if (c instanceof Trace.Access a) {
      access(a);
    } else if (c instanceof Trace.Window w) {
      window(w);
    } else if (c instanceof Trace.ClearRefs r) {
      long ret = ClearRefs.clearRefsWrite(mm, r.value());
      if (ret < 0) {
        print(r.line(), g -> {
          g.writeStringField("clear_refs", r.value());
          g.writeStringField("error", Syscalls.errno(ret).name());
        });
      }
    } else if (c instanceof Trace.Fork f) {
      // fork(): the child exits at once, and the parent waits for it.
      MmStruct child = mm.fork("pmscan-child-" + ++children);
      child.exitMmap();
    } else if (c instanceof Trace.Cpu p) {
      if (Long.compareUnsigned(p.cpu(), CPUS) >= 0) {
        // sched_setaffinity to a CPU this machine does not have.
        print(p.line(), g -> {
          g.writeNumberField("cpu", p.cpu());
          g.writeStringField("error", Errno.EINVAL.name());
        });
      } else {
        cpu = (int) p.cpu();
      }
    } else if (c instanceof Trace.Scan s) {
      scan(s);
    } else {
      throw new IllegalStateException("no command " + c);
    }
  }

  /** {@code region}: the file, the mapping, the registration. */
  private void mmap(Trace.Mmap m) {
    Region r = m.region();
    String name = "pmscan-" + r.name();
    OpenFile file;
    int flags;
    switch (r.kind()) {
      case ANON:
        file = null;
        flags = Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS;
        break;
      case SHAREDANON:
        file = null;
        flags = Mman.MAP_SHARED | Mman.MAP_ANONYMOUS;
        break;
      case SHMEM:
        file = OpenFile.memfdCreate(machine, name, r.pages());
        flags = Mman.MAP_SHARED;
        break;
      case PRIVFILE:
        file = OpenFile.memfdCreate(machine, name, r.pages());
        flags = Mman.MAP_PRIVATE;
        break;
      case TMPFS:
        file = OpenFile.tmpfsFile(machine, "/dev/shm/" + name, r.pages());
        flags = Mman.MAP_SHARED;
        break;
      case EXTFILE:
        file = OpenFile.diskFile(machine, "/var/tmp/" + name, r.pages(), READ_AHEAD_PAGES);
        flags = Mman.MAP_SHARED;
        break;
      default:
        throw new IllegalStateException("no kind " + r.kind());
    }
    try {
      Mman.mmap(mm, r.base(), r.pages(), Mman.PROT_READ | Mman.PROT_WRITE, flags, file);
    } catch (ErrnoException e) {
      throw new IllegalStateException("line " + m.line() + ": region " + r.name()
          + " cannot be mapped: " + e.getMessage(), e); // the parser keeps regions apart
    }
    if (!r.uffd()) {
      return;
    }
    long ret = UserfaultfdIoctls.userfaultfdRegister(uffd, r.base(), r.pages() << 12,
        Userfaultfd.UFFDIO_REGISTER_MODE_WP);
    if (ret < 0) {
      print(m.line(), g -> {
        g.writeStringField("region", r.name());
        g.writeStringField("error", Syscalls.errno(ret).name());
        g.writeStringField("op", "UFFDIO_REGISTER");
      });
    }
  }

  /** {@code write} and {@code read}: one access by the current CPU at byte 64 of the page. */
  private void access(Trace.Access a) {
    long addr = a.region().base() + (a.page() << 12) + 64;
    try {
      if (a.write()) {
        machine.cpu(cpu).store(mm, addr, 1);
      } else {
        machine.cpu(cpu).load(mm, addr);
      }
    } catch (SignalException e) {
      print(a.line(), g -> {
        g.writeObjectFieldStart("segfault");
        g.writeStringField("region", a.region().name());
        g.writeNumberField("page", a.page());
        g.writeStringField("access", a.write() ? "write" : "read");
        g.writeStringField("signal", e.signal().name());
        g.writeEndObject();
      });
    }
  }

  private void window(Trace.Window w) {
    Region r = w.region();
    long start = r.base() + (w.first() << 12);
    long len = w.nr() << 12;
    long ret;
    switch (w.verb()) {
      case PAGEMAP:
        pagemap(w, start);
        return;
      case WP:
      case UNWP:
        ret = UserfaultfdIoctls.userfaultfdWriteprotect(uffd, start, len,
            w.verb() == Trace.WindowVerb.WP ? UserfaultfdIoctls.UFFDIO_WRITEPROTECT_MODE_WP : 0);
        break;
      case DONTNEED:
        ret = Madvise.doMadvise(mm, start, len, Madvise.MADV_DONTNEED);
        break;
      case FREE:
        ret = Madvise.doMadvise(mm, start, len, Madvise.MADV_FREE);
        break;
      case PAGEOUT:
        ret = Madvise.doMadvise(mm, start, len, Madvise.MADV_PAGEOUT);
        break;
      default:
        throw new IllegalStateException("no verb " + w.verb());
    }
    if (ret < 0) {
      print(w.line(), g -> {
        g.writeStringField(w.verb().traceName(), r.name());
        g.writeStringField("error", Syscalls.errno(ret).name());
      });
    }
  }

  /** {@code pagemap}: the letters of each page's {@code /proc/self/pagemap} entry. */
  private void pagemap(Trace.Window w, long start) {
    long[] entries = Pagemap.pagemapRead(mm, start, (int) w.nr());
    long zeroPfn = machine.physMem().zeroPfn();
    print(w.line(), g -> {
      g.writeStringField("pagemap", w.region().name());
      g.writeNumberField("first", w.first());
      g.writeArrayFieldStart("pages");
      for (long e : entries) {
        StringBuilder s = new StringBuilder();
        boolean present = (e & Pagemap.PM_PRESENT) != 0;
        if (present) {
          s.append('P');
        }
        if ((e & Pagemap.PM_SWAP) != 0) {
          s.append('S');
        }
        if ((e & Pagemap.PM_FILE) != 0) {
          s.append('F');
        }
        if ((e & Pagemap.PM_UFFD_WP) != 0) {
          s.append('W');
        }
        if ((e & Pagemap.PM_SOFT_DIRTY) != 0) {
          s.append('D');
        }
        if (present && (e & Pagemap.PM_PFRAME_MASK) == zeroPfn) {
          s.append('Z');
        }
        if ((e & Pagemap.PM_GUARD_REGION) != 0) {
          s.append('G');
        }
        g.writeString(s.toString());
      }
      g.writeEndArray();
    });
  }

  /** {@code scan}: one {@code PAGEMAP_SCAN}, printed relative to the region's first page. */
  private void scan(Trace.Scan s) {
    Region r = s.region();
    long base = r.base();
    PmScanArg arg = new PmScanArg();
    arg.flags = s.flags();
    arg.start = base + (s.first() << 12);
    arg.end = base + ((s.first() + s.nr()) << 12);
    arg.walkEnd = -1L; // UINT64_MAX: still there means "not written back"
    arg.vec = s.vec() == 0 ? null : new PageRegion[(int) s.vec()];
    arg.vecLen = s.vec();
    arg.maxPages = s.max();
    arg.categoryInverted = s.excluded() | s.inverted();
    arg.categoryMask = s.required() | s.excluded();
    arg.categoryAnyofMask = s.anyof();
    arg.returnMask = s.returned();
    long ret = PagemapScan.doPagemapScan(mm, arg);
    print(s.line(), g -> {
      g.writeStringField("scan", r.name());
      if (ret < 0) {
        g.writeStringField("error", Syscalls.errno(ret).name());
        walkEnd(g, arg.walkEnd, base);
        return;
      }
      g.writeNumberField("ret", ret);
      walkEnd(g, arg.walkEnd, base);
      g.writeArrayFieldStart("ranges");
      for (int i = 0; i < ret; i++) {
        PageRegion p = arg.vec[i];
        g.writeStartObject();
        g.writeNumberField("start", (p.start() - base) >>> Pgtable.PAGE_SHIFT);
        g.writeNumberField("end", (p.end() - base) >>> Pgtable.PAGE_SHIFT);
        g.writeArrayFieldStart("cats");
        for (int b = 0; b < 64; b++) {
          if ((p.categories() & (1L << b)) != 0) {
            g.writeString(b < PagemapScan.CATEGORY_NAMES.size()
                ? PagemapScan.CATEGORY_NAMES.get(b) : Long.toUnsignedString(1L << b));
          }
        }
        g.writeEndArray();
        g.writeEndObject();
      }
      g.writeEndArray();
    });
  }

  private static void walkEnd(JsonGenerator g, long walkEnd, long base) throws IOException {
    if (walkEnd == -1L) {
      g.writeNullField("walk_end");
    } else {
      g.writeNumberField("walk_end", (walkEnd - base) >>> Pgtable.PAGE_SHIFT);
    }
  }

  /** What writes the fields of one object. */
  @FunctionalInterface
  private interface Fields {
    void write(JsonGenerator g) throws IOException;
  }

  /** Print {@code {"line":L, ...fields}} on a line of its own. */
  private void print(int line, Fields fields) {
    StringWriter text = new StringWriter();
    try (JsonGenerator g = JSON.createGenerator(text)) {
      g.writeStartObject();
      g.writeNumberField("line", line);
      fields.write(g);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("writing to a StringWriter", e); // a StringWriter never does
    }
    out.println(text);
  }
}
