package dev.ptwalk.cli.syscalls;

import java.util.List;

/**
 * A parsed trace of one process's memory operations, in the format of {@code ptwalk syscalls}
 * (issue 12, "Trace format"): the userfaultfd features, the regions and the commands in order.
 *
 * @param features the {@code UFFD_FEATURE_*} bits the userfaultfd is opened with
 * @param regions the regions, in declaration order (region k lives in slot k)
 * @param commands every command, each with its line
 */
record Trace(long features, List<Region> regions, List<Command> commands) {
  /** Where region 0's slot starts; region k's slot starts {@code k * SLOT} further. */
  static final long AREA_BASE = 0x7f00_0000_0000L;
  /** A region's slot: 4 MiB, so that each region has page tables of its own. */
  static final long SLOT = 0x40_0000L;
  /** Pages in a slot. */
  static final long SLOT_PAGES = SLOT >>> 12;
  /** At most this many regions. */
  static final int MAX_REGIONS = 8;
  /** Pages from the first slot's start to the end of the last. */
  static final long AREA_PAGES = MAX_REGIONS * SLOT_PAGES;

  /** What a region maps. */
  enum Kind {
    /** Private anonymous memory. */
    ANON,
    /** A memfd, mapped shared. */
    SHMEM,
    /** A file on tmpfs, mapped shared. */
    TMPFS,
    /** Shared anonymous memory. */
    SHAREDANON,
    /** A memfd, mapped private. */
    PRIVFILE,
    /** A file on a disk file system (ext4), mapped shared. */
    EXTFILE;

    /** The name the trace uses. */
    String traceName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * One region.
   *
   * @param index its number, which is its slot
   * @param name its name
   * @param pages its size in pages
   * @param at its first page's offset in its slot, in pages
   * @param kind what it maps
   * @param uffd whether it is registered for userfaultfd write-protect
   */
  record Region(int index, String name, long pages, long at, Kind kind, boolean uffd) {
    /** The address of page 0. */
    long base() {
      return AREA_BASE + index * SLOT + (at << 12);
    }
  }

  /** The verbs that act on a window of pages. */
  enum WindowVerb {
    /** {@code UFFDIO_WRITEPROTECT} with {@code MODE_WP}. */
    WP,
    /** {@code UFFDIO_WRITEPROTECT} without. */
    UNWP,
    /** {@code MADV_DONTNEED}. */
    DONTNEED,
    /** {@code MADV_FREE}. */
    FREE,
    /** {@code MADV_PAGEOUT}. */
    PAGEOUT,
    /** A read of {@code /proc/self/pagemap}. */
    PAGEMAP;

    /** The verb as the trace spells it. */
    String traceName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** One command of the trace. */
  sealed interface Command
      permits Mmap, Access, Window, ClearRefs, Fork, Cpu, Scan {
    /** The 1-based line it is on. */
    int line();
  }

  /** {@code region}: map the region, and register it unless {@code uffd=none}. */
  record Mmap(int line, Region region) implements Command {}

  /** {@code write} or {@code read} of one byte at byte 64 of a page. */
  record Access(int line, Region region, long page, boolean write) implements Command {}

  /** A window verb over pages {@code [first, first + nr)} of the region. */
  record Window(int line, WindowVerb verb, Region region, long first, long nr)
      implements Command {}

  /** {@code clear_refs V}: {@code V} written verbatim. */
  record ClearRefs(int line, String value) implements Command {}

  /** {@code fork}: a child that exits at once. */
  record Fork(int line) implements Command {}

  /** {@code cpu N}: run on CPU {@code cpu} from now on. */
  record Cpu(int line, long cpu) implements Command {}

  /**
   * {@code scan}: one {@code PAGEMAP_SCAN} over pages {@code [first, first + nr)}.
   *
   * @param flags {@code PM_SCAN_*}
   * @param required categories a page must have
   * @param anyof categories of which it must have one
   * @param excluded categories it must not have
   * @param inverted categories inverted besides the excluded ones
   * @param returned {@code return_mask}
   * @param vec {@code vec_len}; 0 passes no vector
   * @param max {@code max_pages}
   */
  record Scan(int line, Region region, long first, long nr, long flags, long required,
      long anyof, long excluded, long inverted, long returned, long vec, long max)
      implements Command {}
}
