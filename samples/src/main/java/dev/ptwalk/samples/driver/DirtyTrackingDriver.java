package dev.ptwalk.samples.driver;

import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_PFNMAP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;

import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.PhysMem;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.mm.VmFault;
import dev.ptwalk.runtime.mm.VmFaultResult;
import dev.ptwalk.runtime.mm.VmOperations;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.trace.TraceEvent;
import dev.ptwalk.runtime.mm.Userfaultfd;
import dev.ptwalk.samples.DirtyHelpersWalkers;
import dev.ptwalk.samples.kinds.SoftDirtyWalkers;
import dev.ptwalk.samples.kinds.UffdWpWalkers;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A dirty-tracking device driver in the style of vmwgfx, the user the kernel's dirty helpers were
 * written for.
 *
 * <p>A device buffer of {@code pages} pages is an {@link AddressSpace} backed by frames the driver
 * owns, mapped {@code VM_SHARED | VM_WRITE | VM_IO | VM_PFNMAP} into processes. Its {@code vm_ops}
 * record every page that a write fault or {@code ->pfn_mkwrite} lets a process write, under the
 * driver's lock; read faults map read-only ({@code wantsWriteNotify}), so the first write to a
 * page always reaches the driver. Each frame, {@link #sync()} (under the same lock, so faulting
 * writers wait) write-protects the buffer in every process, collects the pages whose PTEs the
 * hardware dirtied with the clean walker and its bitmap, and copies the union of both sets to the
 * device. After a sync with no writer running, the device holds exactly what the CPUs wrote.
 * {@link SyncMode#CLEAN_ONLY} instead leaves pages writable and relies on the hardware dirty bit
 * alone.
 */
public final class DirtyTrackingDriver {
  /** How a sync finds the dirty pages. */
  public enum SyncMode {
    /**
     * vmwgfx's mkwrite method: the generated {@code applyAsWrprotect}, then {@code applyAsClean}
     * (two passes). Every first write after a sync faults into the driver.
     */
    GENERATED(true,
        new SyncStep("DirtyHelpersWalkers.applyAsWrprotect",
            (d, bitmap) -> DirtyHelpersWalkers.applyAsWrprotect(d.buffer(), 0, d.pages())),
        new SyncStep("DirtyHelpersWalkers.applyAsClean",
            (d, bitmap) -> DirtyHelpersWalkers.applyAsClean(d.buffer(), 0, d.pages(), 0, bitmap,
                new DirtyWindow()))),
    /** The same, with the hand-written {@link DriverWalkers#wrprotectAndClean} (one pass). */
    FUSED(true, new SyncStep("DriverWalkers.wrprotectAndClean",
        (d, bitmap) -> DriverWalkers.wrprotectAndClean(d.buffer(), d.pages(), bitmap))),
    /**
     * vmwgfx's page-table method: pages stay writable and only the hardware dirty bit tells; the
     * sync is {@code applyAsClean} alone. Correct on x86; see {@code HardwareModel#WEAK}.
     */
    CLEAN_ONLY(false, new SyncStep("DirtyHelpersWalkers.applyAsClean",
        (d, bitmap) -> DirtyHelpersWalkers.applyAsClean(d.buffer(), 0, d.pages(), 0, bitmap,
            new DirtyWindow()))),
    /**
     * A soft-dirty tracker, as CRIU tracks a process's memory: the buffer is mapped as plain
     * shared memory (no {@code VM_PFNMAP}, which clear_refs skips) and each sync runs the
     * generated {@link SoftDirtyWalkers#clearRefsSoftDirty} over every VMA of it; its bitmap, the
     * pages written since the last clear, is all the driver learns (its fault hooks record
     * nothing).
     */
    SOFT_DIRTY(false, new SyncStep("SoftDirtyWalkers.clearRefsSoftDirty",
        (d, bitmap) -> d.perVma(bitmap, (v, bits) -> SoftDirtyWalkers.clearRefsSoftDirty(v.mm(),
            v.start(), v.end(), bits, new DirtyWindow())))),
    /**
     * An async uffd-wp tracker, as a garbage collector tracks its heap: every VMA of the buffer is
     * registered for async userfaultfd write-protect, and each sync runs the generated {@link
     * UffdWpWalkers#uffdWriteProtect} over it; its bitmap, the pages written since the last
     * protection, is all the driver learns.
     */
    UFFD_WP(false, new SyncStep("UffdWpWalkers.uffdWriteProtect",
        (d, bitmap) -> d.perVma(bitmap, (v, bits) -> UffdWpWalkers.uffdWriteProtect(v.mm(),
            v.start(), v.end(), bits, new DirtyWindow()))));

    private final boolean writeNotify;
    private final List<SyncStep> steps;

    SyncMode(boolean writeNotify, SyncStep... steps) {
      this.writeNotify = writeNotify;
      this.steps = List.of(steps);
    }

    /** Whether the buffer is plain shared memory tracked by page tables alone (no fault hooks). */
    public boolean tracksPageTablesOnly() {
      return this == SOFT_DIRTY || this == UFFD_WP;
    }

    /** Whether read faults map read-only so the first write reaches the driver. */
    public boolean writeNotify() {
      return writeNotify;
    }

    /** The walker calls of a sync, in order. */
    public List<SyncStep> steps() {
      return steps;
    }

    /** The collection this mode runs: its steps, in order. */
    public SyncStrategy strategy() {
      return (d, bitmap) -> {
        long changed = 0;
        for (SyncStep step : steps) {
          changed += step.call().collect(d, bitmap);
        }
        return changed;
      };
    }
  }

  /** The flags of every VMA of the buffer. */
  public static final long FLAGS = VM_READ | VM_WRITE | VM_SHARED | VM_IO | VM_PFNMAP;
  /** The flags of the buffer's VMAs in the page-table-only modes: shared memory. */
  public static final long SHARED_MEMORY_FLAGS = VM_READ | VM_WRITE | VM_SHARED;

  private static final int WORDS = (int) (Pgtable.PAGE_SIZE / Long.BYTES);

  private final Machine machine;
  private final AddressSpace buffer;
  private final int pages;
  private final boolean writeNotify;
  private final SyncStrategy strategy;
  private final long[] frames;
  private final long[][] device;
  private final ReentrantLock lock = new ReentrantLock();
  private final BitSet recorded = new BitSet();
  private final SyncMode mode;
  private final List<Vma> vmas = new CopyOnWriteArrayList<>();
  private final Map<MmStruct, Userfaultfd> userfaultfds = new ConcurrentHashMap<>();

  private final VmOperations ops = new VmOperations() {
    @Override
    public VmFaultResult fault(VmFault vmf) {
      long pgoff = vmf.pgoff();
      if (pgoff < 0 || pgoff >= pages) {
        return VmFaultResult.SIGBUS;
      }
      if (vmf.write() && recordsFaults()) {
        record(pgoff); // a write fault maps the page writable and dirty: the driver must know
      }
      vmf.setPfn(frames[(int) pgoff]);
      return VmFaultResult.OK;
    }

    @Override
    public VmFaultResult pfnMkwrite(VmFault vmf) {
      record(vmf.pgoff());
      return VmFaultResult.OK;
    }

    @Override
    public boolean wantsWriteNotify() {
      return writeNotify;
    }
  };

  /**
   * A buffer of {@code pages} pages named {@code name} on {@code machine}.
   *
   * @throws IllegalArgumentException if pages is not 1 to 1 Mi
   */
  public DirtyTrackingDriver(Machine machine, String name, int pages, SyncMode mode) {
    this(machine, name, pages, mode.writeNotify(), mode.strategy(), mode);
  }

  /**
   * A buffer whose syncs run {@code strategy}; {@code writeNotify} says whether read faults map
   * read-only. For strategies of one's own, including deliberately broken ones in tests.
   */
  public DirtyTrackingDriver(Machine machine, String name, int pages, boolean writeNotify,
      SyncStrategy strategy) {
    this(machine, name, pages, writeNotify, strategy, null);
  }

  /**
   * A buffer mapped and tracked as {@code mode} does (its VMA flags, its userfaultfd, whether its
   * fault hooks record), whose syncs run {@code strategy}: the mode's steps wrapped by an
   * observer, as the demo's recorder wraps them.
   */
  public DirtyTrackingDriver(Machine machine, String name, int pages, SyncMode mode,
      SyncStrategy strategy) {
    this(machine, name, pages, mode.writeNotify(), strategy, mode);
  }

  private DirtyTrackingDriver(Machine machine, String name, int pages, boolean writeNotify,
      SyncStrategy strategy, SyncMode mode) {
    this.mode = mode;
    if (pages < 1 || pages > (1 << 20)) {
      throw new IllegalArgumentException("a buffer has 1 to 1048576 pages, not " + pages);
    }
    this.machine = machine;
    this.buffer = machine.newAddressSpace(name);
    this.pages = pages;
    this.writeNotify = writeNotify;
    this.strategy = strategy;
    this.frames = new long[pages];
    this.device = new long[pages][WORDS];
    PhysMem mem = machine.physMem();
    for (int p = 0; p < pages; p++) {
      frames[p] = mem.allocPage();
      buffer.addPage(p, frames[p]);
    }
  }

  /** The buffer's address space. */
  public AddressSpace buffer() {
    return buffer;
  }

  /** Pages in the buffer. */
  public int pages() {
    return pages;
  }

  /** {@code mmap} of buffer pages {@code [pgoff, pgoff + count)} at {@code start} in {@code mm}. */
  public Vma mmap(MmStruct mm, long start, long pgoff, long count) {
    if (pgoff < 0 || count < 1 || pgoff + count > pages) {
      throw new IllegalArgumentException("buffer pages [" + pgoff + ", " + (pgoff + count)
          + ") are outside the buffer's " + pages + " pages");
    }
    boolean pageTables = mode != null && mode.tracksPageTablesOnly();
    Vma vma = mm.mmap(buffer, start, count, pgoff, pageTables ? SHARED_MEMORY_FLAGS : FLAGS, ops);
    if (mode == SyncMode.UFFD_WP) {
      userfaultfds.computeIfAbsent(mm, k -> Userfaultfd.open(k, Userfaultfd.UFFD_FEATURE_WP_ASYNC))
          .registerWp(start, count << Pgtable.PAGE_SHIFT);
      vma = mm.vmaLookup(start); // registration may have split the VMA: the one now at start
    }
    vmas.add(vma);
    return vma;
  }

  /** Whether the fault hooks record the pages they let a process write. */
  private boolean recordsFaults() {
    return mode == null || !mode.tracksPageTablesOnly();
  }

  /** An MM walker over one VMA of the buffer, with a bitmap of one bit per page of the VMA. */
  @FunctionalInterface
  interface VmaWalk {
    long walk(Vma vma, long[] bits);
  }

  /**
   * Run {@code walk} over every VMA of the buffer and OR each page it reports into {@code
   * bitmap} at its buffer page ({@code vm_pgoff} plus the page's index in the VMA).
   */
  long perVma(long[] bitmap, VmaWalk walk) {
    long changed = 0;
    for (Vma v : vmas) {
      long[] bits = new long[(int) ((v.pages() + 63) >>> 6)];
      changed += walk.walk(v, bits);
      for (int w = 0; w < bits.length; w++) {
        for (long word = bits[w]; word != 0; word &= word - 1) {
          long page = v.pgoff() + ((long) w << 6) + Long.numberOfTrailingZeros(word);
          bitmap[(int) (page >>> 6)] |= 1L << (page & 63);
        }
      }
    }
    return changed;
  }

  private void record(long pgoff) {
    lock.lock();
    try {
      recorded.set((int) pgoff);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Write-protect the buffer everywhere, collect its dirty pages and copy them to the device.
   * Writers that fault meanwhile wait on the driver's lock and are recorded for the next sync.
   */
  public SyncReport sync() {
    lock.lock();
    try {
      int mark = machine.trace().size();
      long[] bitmap = new long[(pages + 63) / 64];
      long changed = strategy.collect(this, bitmap);
      BitSet fromPte = BitSet.valueOf(bitmap);
      BitSet fromMkwrite = (BitSet) recorded.clone();
      recorded.clear();
      BitSet all = (BitSet) fromPte.clone();
      all.or(fromMkwrite);
      for (int p = all.nextSetBit(0); p >= 0; p = all.nextSetBit(p + 1)) {
        copyToDevice(p);
      }
      List<TraceEvent.NotifierStart> brackets = new ArrayList<>();
      List<TraceEvent.TlbFlush> flushes = new ArrayList<>();
      for (TraceEvent e : machine.trace().eventsSince(mark)) {
        if (e instanceof TraceEvent.NotifierStart) {
          brackets.add((TraceEvent.NotifierStart) e);
        } else if (e instanceof TraceEvent.TlbFlush) {
          flushes.add((TraceEvent.TlbFlush) e);
        }
      }
      return new SyncReport(list(all), list(fromMkwrite), list(fromPte), changed, brackets,
          flushes);
    } finally {
      lock.unlock();
    }
  }

  /** Copy buffer page {@code page} from CPU memory to the device (a DMA of the whole page). */
  public void copyToDevice(int page) {
    machine.physMem().copyOut(frames[page], device[page]);
  }

  /** Word {@code word} of the device's copy of {@code page}. */
  public long deviceWord(int page, int word) {
    return device[page][word];
  }

  /** Buffer pages whose device copy differs from CPU memory, ascending. */
  public List<Integer> mismatchedPages() {
    PhysMem mem = machine.physMem();
    List<Integer> out = new ArrayList<>();
    for (int p = 0; p < pages; p++) {
      if (!mem.sameAs(frames[p], device[p])) {
        out.add(p);
      }
    }
    return out;
  }

  private static List<Integer> list(BitSet bits) {
    List<Integer> out = new ArrayList<>();
    for (int p = bits.nextSetBit(0); p >= 0; p = bits.nextSetBit(p + 1)) {
      out.add(p);
    }
    return out;
  }
}
