package dev.ptwalk.syscalls;

import static dev.ptwalk.syscalls.taskmmu.PagemapScan.CATEGORY_NAMES;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Userfaultfd;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.syscalls.mman.Mman;
import dev.ptwalk.syscalls.mman.OpenFile;
import dev.ptwalk.syscalls.taskmmu.PageRegion;
import dev.ptwalk.syscalls.taskmmu.Pagemap;
import dev.ptwalk.syscalls.taskmmu.PagemapScan;
import dev.ptwalk.syscalls.taskmmu.PmScanArg;
import dev.ptwalk.syscalls.userfaultfd.UserfaultfdIoctls;
import java.util.ArrayList;
import java.util.List;

/**
 * One simulated process for the syscall tests, on a machine set up as this project's Linux 6.18
 * ones (soft-dirty compiled out unless asked, per-CPU LRU batches, two CPUs) with the verifier
 * on: its mm, its userfaultfd, and short forms of the calls that report pages as the trace
 * format does (page numbers relative to a region, category names).
 */
public final class Proc {
  /** Where region k starts: {@code BASE + k * SLOT}. */
  public static final long BASE = 0x7f00_0000_0000L;
  public static final long SLOT = 0x40_0000L;
  public static final long PAGE = Pgtable.PAGE_SIZE;

  public final Machine machine;
  public final MmStruct mm;
  public final Userfaultfd uffd;
  private int files;

  /** A process whose userfaultfd has {@code features} (and {@code UFFD_FEATURE_SIGBUS}). */
  public Proc(long features, boolean softDirty) {
    this(features, softDirty, true);
  }

  /** As {@link #Proc(long, boolean)}, with or without the per-CPU LRU batches. */
  public Proc(long features, boolean softDirty, boolean lruBatches) {
    machine = Machine.builder().cpus(2).softDirty(softDirty).lruBatches(lruBatches).verify(true)
        .trace(true).build();
    mm = machine.newMm("P");
    uffd = Userfaultfd.open(mm, features | Userfaultfd.UFFD_FEATURE_SIGBUS);
  }

  /** The trace format's default features: async uffd-wp, unpopulated, shmem. */
  public static final long DEFAULT_FEATURES = Userfaultfd.UFFD_FEATURE_WP_ASYNC
      | Userfaultfd.UFFD_FEATURE_WP_UNPOPULATED | Userfaultfd.UFFD_FEATURE_WP_HUGETLBFS_SHMEM;

  /** An async uffd-wp process, as the trace format's default. */
  public Proc() {
    this(DEFAULT_FEATURES, false);
  }

  /** The calls below, on CPU {@code cpu}. */
  public void onCpu(int cpu, Runnable calls) {
    machine.physMem().cpuFbatches().onCpu(cpu, () -> {
      calls.run();
      return null;
    });
  }

  /** Private anonymous memory of {@code pages} at {@code addr}, registered when {@code uffd}. */
  public long anon(long addr, long pages, boolean register) {
    Mman.mmap(mm, addr, pages, Mman.PROT_READ | Mman.PROT_WRITE,
        Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, null);
    return register ? register(addr, pages) : 0;
  }

  /** A memfd of {@code pages} mapped at {@code addr}, shared or private. */
  public long memfd(long addr, long pages, boolean shared, boolean register) {
    OpenFile f = OpenFile.memfdCreate(machine, "f" + files++, pages);
    Mman.mmap(mm, addr, pages, Mman.PROT_READ | Mman.PROT_WRITE,
        shared ? Mman.MAP_SHARED : Mman.MAP_PRIVATE, f);
    return register ? register(addr, pages) : 0;
  }

  /** {@code UFFDIO_REGISTER} in write-protect mode; its return value. */
  public long register(long addr, long pages) {
    return UserfaultfdIoctls.userfaultfdRegister(uffd, addr, pages * PAGE,
        Userfaultfd.UFFDIO_REGISTER_MODE_WP);
  }

  /** A store of 1 at byte 64 of the page, by CPU 0. */
  public void write(long addr) {
    machine.cpu(0).store(mm, addr + 64, 1);
  }

  /** A load at byte 64 of the page, by CPU 0. */
  public long read(long addr) {
    return machine.cpu(0).load(mm, addr + 64);
  }

  /** {@code madvise} of {@code pages} from {@code addr}; its return value. */
  public long madvise(long addr, long pages, int advice) {
    return dev.ptwalk.syscalls.madvise.Madvise.doMadvise(mm, addr, pages * PAGE, advice);
  }

  /** {@code UFFDIO_WRITEPROTECT} of {@code pages} from {@code addr}, protecting or not. */
  public long wp(long addr, long pages, boolean protect) {
    return UserfaultfdIoctls.userfaultfdWriteprotect(uffd, addr, pages * PAGE,
        protect ? UserfaultfdIoctls.UFFDIO_WRITEPROTECT_MODE_WP : 0);
  }

  /** A {@code PAGEMAP_SCAN} argument over {@code pages} from {@code addr}, every field default. */
  public static PmScanArg arg(long addr, long pages) {
    PmScanArg a = new PmScanArg();
    a.start = addr;
    a.end = addr + pages * PAGE;
    a.walkEnd = -1L;
    a.vec = new PageRegion[512];
    a.vecLen = 512;
    a.returnMask = PagemapScan.PM_SCAN_CATEGORIES;
    return a;
  }

  /**
   * The regions a scan returned, as {@code [start,end)CATS} relative to {@code base} in pages,
   * then {@code walk_end}: the notation of the written-tracking reference, e.g. {@code
   * "[0,8)WPALLOWED|WRITTEN end=8"}.
   */
  public String scan(long base, PmScanArg a) {
    long ret = PagemapScan.doPagemapScan(mm, a);
    if (ret < 0) {
      return Syscalls.errno(ret).name() + " end=" + (a.walkEnd == -1L ? "null"
          : String.valueOf((a.walkEnd - base) / PAGE));
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < ret; i++) {
      PageRegion r = a.vec[i];
      out.add("[" + (r.start() - base) / PAGE + "," + (r.end() - base) / PAGE + ")"
          + cats(r.categories()));
    }
    out.add("end=" + (a.walkEnd - base) / PAGE);
    return String.join(" ", out);
  }

  /** A whole scan of {@code pages} from {@code base}, every category returned. */
  public String scan(long base, long pages) {
    return scan(base, arg(base, pages));
  }

  /** Category names joined with {@code |}, bit order. */
  public static String cats(long categories) {
    List<String> names = new ArrayList<>();
    for (int b = 0; b < CATEGORY_NAMES.size(); b++) {
      if ((categories & (1L << b)) != 0) {
        names.add(CATEGORY_NAMES.get(b));
      }
    }
    return String.join("|", names);
  }

  /** The pagemap letters of {@code pages} from {@code base}, as the trace format prints them. */
  public List<String> pagemap(long base, int pages) {
    List<String> out = new ArrayList<>();
    for (long e : Pagemap.pagemapRead(mm, base, pages)) {
      StringBuilder s = new StringBuilder();
      boolean present = (e & Pagemap.PM_PRESENT) != 0;
      s.append(present ? "P" : "").append((e & Pagemap.PM_SWAP) != 0 ? "S" : "")
          .append((e & Pagemap.PM_FILE) != 0 ? "F" : "")
          .append((e & Pagemap.PM_UFFD_WP) != 0 ? "W" : "")
          .append((e & Pagemap.PM_SOFT_DIRTY) != 0 ? "D" : "")
          .append(present && machine.physMem().isZeroPfn(e & Pagemap.PM_PFRAME_MASK) ? "Z" : "");
      out.add(s.toString());
    }
    return out;
  }
}
