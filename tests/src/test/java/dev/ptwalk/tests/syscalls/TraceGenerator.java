package dev.ptwalk.tests.syscalls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Random traces in the format of {@code bin/ptwalk syscalls} (issue 12, "Trace format"), seeded
 * and deterministic: the same seed gives the same bytes on every JDK, because {@link Random}'s
 * algorithm is fixed by its specification.
 *
 * <p>Traces are kept comparable between the real kernel and a simulation of it, as
 * {@code written-tracking-linux-6.18.md} advises: shared-file regions are always registered (an
 * unregistered one gets fault-around, which maps neighbouring page-cache pages on a read), no
 * trace moves between CPUs (per-CPU LRU batches would then decide what {@code MADV_PAGEOUT}
 * discards), regions stay far below 2 MiB (so no {@code MADV_DONTNEED} window covers a whole page
 * table, which this kernel would free), and an {@code extfile} region only appears when the
 * userfaultfd has {@code async} (without it the registration fails and the region would be an
 * unregistered shared file).
 *
 * <p>JDK only, so that {@code tests/src/test/c/record.sh} can run it without Maven:
 * {@code java TraceGenerator.java --seed S --count N --out DIR} writes {@code 001.trace} to
 * {@code NNN.trace}, trace {@code i} from seed {@code S + i - 1}; {@code --print S} prints one.
 */
public final class TraceGenerator {
  /** Pages of the largest generated region. */
  public static final int MAX_PAGES = 64;
  /** Pages of a region's 4 MiB slot: a region's {@code at + pages} stays within it. */
  private static final int SLOT_PAGES = 1024;
  /** Pages from the first slot's start to the end of the eighth: no window runs past it. */
  private static final int AREA_PAGES = 8 * SLOT_PAGES;

  private static final String[] KINDS = {
    "anon", "shmem", "tmpfs", "sharedanon", "privfile", "extfile"
  };
  private static final int[] KIND_WEIGHTS = {8, 4, 2, 2, 3, 1};
  private static final String[] COMMON_CATS = {
    "WPALLOWED", "WRITTEN", "FILE", "PRESENT", "SWAPPED", "PFNZERO"
  };
  private static final String[] RARE_CATS = {"HUGE", "SOFT_DIRTY", "GUARD"};
  private static final String[] ASYNC_FEATURES = {
    "async", "async,unpopulated", "async,shmem", "async,unpopulated,shmem", "shmem,async"
  };
  private static final String[] SYNC_FEATURES = {
    "unpopulated", "none", "shmem", "unpopulated,shmem"
  };

  private enum Op {
    WRITE(24), READ(12), WP(6), UNWP(4), DONTNEED(5), FREE(5), PAGEOUT(5), SCAN(22),
    PAGEMAP(8), CLEAR_REFS(2), FORK(2), REGION(8);

    final int weight;

    Op(int weight) {
      this.weight = weight;
    }
  }

  private static final class Region {
    final String name;
    final String kind;
    final int slot;
    final int pages;
    final int at;

    Region(String name, String kind, int slot, int pages, int at) {
      this.name = name;
      this.kind = kind;
      this.slot = slot;
      this.pages = pages;
      this.at = at;
    }

    /** Pages from this region's start to the end of the region area. */
    int pagesToAreaEnd() {
      return AREA_PAGES - slot * SLOT_PAGES - at;
    }
  }

  private final long seed;
  private final Random rnd;
  private final StringBuilder out = new StringBuilder();
  private final List<Region> declared = new ArrayList<>();
  private int pendingRegions;
  private boolean async = true;

  private TraceGenerator(long seed) {
    this.seed = seed;
    this.rnd = new Random(seed);
  }

  /** The trace for {@code seed}: same seed, same text. */
  public static String generate(long seed) {
    return new TraceGenerator(seed).trace();
  }

  private String trace() {
    out.append("# TraceGenerator seed=").append(seed).append('\n');
    features();
    int regions = 1 + rnd.nextInt(4);
    int upFront = rnd.nextInt(5) == 0 ? 1 : regions;
    for (int i = 0; i < upFront; i++) {
      region();
    }
    pendingRegions = regions - upFront;
    int ops = 8 + rnd.nextInt(31);
    for (int i = 0; i < ops; i++) {
      op();
    }
    while (pendingRegions > 0) {
      region();
      pendingRegions--;
    }
    for (Region r : declared) {
      line("scan " + r.name);
      line("pagemap " + r.name);
    }
    return out.toString();
  }

  private void line(String text) {
    out.append(text).append('\n');
  }

  /** An optional {@code uffd} line: mostly the default, sometimes without WP_ASYNC. */
  private void features() {
    int roll = rnd.nextInt(100);
    if (roll < 75) {
      return;
    }
    if (roll < 88) {
      line("uffd features=" + pick(ASYNC_FEATURES));
    } else {
      async = false;
      line("uffd features=" + pick(SYNC_FEATURES));
    }
  }

  private void region() {
    int slot = declared.size();
    String name = String.valueOf((char) ('A' + slot));
    String kind = KINDS[weighted(KIND_WEIGHTS)];
    if (kind.equals("extfile") && !async) {
      kind = "shmem";
    }
    int pages = 1 + rnd.nextInt(rnd.nextInt(4) == 0 ? MAX_PAGES : 16);
    int at = 0;
    int roll = rnd.nextInt(100);
    if (roll < 15 && pages >= 2) {
      at = 512 - 1 - rnd.nextInt(pages - 1); // straddles the page-table boundary at page 512
    } else if (roll < 30) {
      at = SLOT_PAGES - pages; // ends at the slot's end, next to the following region
    }
    StringBuilder sb = new StringBuilder("region ").append(name);
    List<String> opts = new ArrayList<>(List.of("pages=" + pages, "kind=" + kind));
    if (at != 0 || rnd.nextInt(10) == 0) {
      opts.add("at=" + at);
    }
    if (kind.equals("anon") && rnd.nextInt(4) == 0) {
      opts.add("uffd=none");
    } else if (rnd.nextInt(5) == 0) {
      opts.add("uffd=wp");
    }
    shuffleTail(opts);
    for (String o : opts) {
      sb.append(' ').append(o);
    }
    line(sb.toString());
    declared.add(new Region(name, kind, slot, pages, at));
  }

  /** Keeps {@code pages=} first half of the time; otherwise any order (the format allows it). */
  private void shuffleTail(List<String> opts) {
    if (rnd.nextBoolean()) {
      return;
    }
    for (int i = opts.size() - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      String t = opts.get(i);
      opts.set(i, opts.get(j));
      opts.set(j, t);
    }
  }

  private void op() {
    Op[] all = Op.values();
    int[] weights = new int[all.length];
    for (int i = 0; i < all.length; i++) {
      weights[i] = all[i] == Op.REGION && pendingRegions == 0 ? 0 : all[i].weight;
    }
    Op op = all[weighted(weights)];
    if (op == Op.REGION) {
      region();
      pendingRegions--;
      return;
    }
    Region r = declared.get(rnd.nextInt(declared.size()));
    if (op == Op.FREE && !r.kind.equals("anon") && rnd.nextInt(4) != 0) {
      // MADV_FREE is for private anonymous memory; elsewhere it fails with EINVAL.
      for (Region a : declared) {
        if (a.kind.equals("anon")) {
          r = a;
          break;
        }
      }
    }
    switch (op) {
      case WRITE:
        line("write " + r.name + " " + page(r));
        break;
      case READ:
        line("read " + r.name + " " + page(r));
        break;
      case WP:
      case UNWP:
      case DONTNEED:
      case FREE:
      case PAGEOUT:
      case PAGEMAP:
        line(op.name().toLowerCase(java.util.Locale.ROOT) + " " + r.name + window(r));
        break;
      case SCAN:
        line("scan " + r.name + window(r) + scanOptions(r));
        break;
      case CLEAR_REFS:
        line("clear_refs " + pick(new String[] {"4", "4", "4", "1", "2", "3", "5", "0", "6"}));
        break;
      case FORK:
        line("fork");
        break;
      default:
        throw new AssertionError(op);
    }
  }

  /** A page of the region, or now and then one just past its end (the access then faults). */
  private int page(Region r) {
    if (rnd.nextInt(25) == 0 && r.at + r.pages + 2 < SLOT_PAGES) {
      return r.pages + rnd.nextInt(3);
    }
    return rnd.nextInt(r.pages);
  }

  /** {@code first=}/{@code nr=} options; windows may start or run past the region's end. */
  private String window(Region r) {
    int roll = rnd.nextInt(100);
    if (roll < 25) {
      return "";
    }
    int first = rnd.nextInt(12) == 0 ? r.pages : rnd.nextInt(r.pages);
    int past = rnd.nextInt(6) == 0 ? 1 + rnd.nextInt(8) : 0;
    int room = r.pages - first + past;
    int nr = room == 0 || rnd.nextInt(15) == 0 ? 0 : 1 + rnd.nextInt(room);
    nr = Math.min(nr, r.pagesToAreaEnd() - first);
    StringBuilder sb = new StringBuilder();
    if (first != 0 || rnd.nextBoolean()) {
      sb.append(" first=").append(first);
    }
    if (roll < 40) {
      return sb.toString(); // nr defaults to the rest of the region
    }
    return sb.append(" nr=").append(nr).toString();
  }

  private String scanOptions(Region r) {
    List<String> opts = new ArrayList<>();
    int roll = rnd.nextInt(100);
    if (roll < 15) {
      // The fast path of pagemap_scan_pmd_entry(), as CRIU and the selftests use it.
      opts.add("required=WRITTEN");
      opts.add("return=WRITTEN");
      if (rnd.nextInt(10) < 7) {
        opts.add("wp");
      }
    } else {
      int flags = rnd.nextInt(100);
      if (flags < 20) {
        opts.add("wp");
      } else if (flags < 27) {
        opts.add("wponly");
      } else if (flags < 33) {
        opts.add("check");
      } else if (flags < 36) {
        opts.add("flags=" + rnd.nextInt(5)); // 4 is not a flag: EINVAL
      }
      if (rnd.nextInt(100) < 30) {
        opts.add("required=" + cats());
      }
      if (rnd.nextInt(100) < 15) {
        opts.add("anyof=" + cats());
      }
      if (rnd.nextInt(100) < 15) {
        opts.add("excluded=" + cats());
      }
      if (rnd.nextInt(100) < 5) {
        opts.add("inverted=" + cats());
      }
      int ret = rnd.nextInt(100);
      if (ret < 35) {
        opts.add("return=" + cats());
      } else if (ret < 39) {
        opts.add("return=NONE");
      } else if (ret < 41) {
        opts.add("return=" + (rnd.nextBoolean() ? "512" : "0x400")); // unknown bit: EINVAL
      }
    }
    int vec = rnd.nextInt(100);
    if (vec < 10) {
      opts.add("vec=0");
    } else if (vec < 35) {
      opts.add("vec=" + (1 + rnd.nextInt(4)));
    }
    if (rnd.nextInt(100) < 25) {
      opts.add("max=" + (1 + rnd.nextInt(r.pages + 2)));
    }
    shuffleTail(opts);
    StringBuilder sb = new StringBuilder();
    for (String o : opts) {
      sb.append(' ').append(o);
    }
    return sb.toString();
  }

  /** A category list: one or two names, now and then a rare category, ALL or a number. */
  private String cats() {
    int roll = rnd.nextInt(100);
    if (roll < 3) {
      return "ALL";
    }
    if (roll < 6) {
      return rnd.nextBoolean() ? String.valueOf(1 << rnd.nextInt(6)) : "0x" + Integer
          .toHexString(1 << rnd.nextInt(6));
    }
    String first = roll < 12 ? pick(RARE_CATS) : pick(COMMON_CATS);
    if (rnd.nextInt(3) == 0) {
      String second = pick(COMMON_CATS);
      if (!second.equals(first)) {
        return first + "," + second;
      }
    }
    return first;
  }

  private String pick(String[] from) {
    return from[rnd.nextInt(from.length)];
  }

  private int weighted(int[] weights) {
    int total = 0;
    for (int w : weights) {
      total += w;
    }
    int roll = rnd.nextInt(total);
    for (int i = 0; i < weights.length; i++) {
      roll -= weights[i];
      if (roll < 0) {
        return i;
      }
    }
    throw new AssertionError();
  }

  /** {@code --seed S --count N --out DIR} or {@code --print S}. */
  public static void main(String[] args) throws IOException {
    long seed = 1;
    int count = -1;
    Path dir = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (i + 1 >= args.length) {
        usage("missing value after " + a);
      }
      String v = args[++i];
      try {
        switch (a) {
          case "--print":
            System.out.print(generate(Long.parseLong(v)));
            return;
          case "--seed":
            seed = Long.parseLong(v);
            break;
          case "--count":
            count = Integer.parseInt(v);
            break;
          case "--out":
            dir = Path.of(v);
            break;
          default:
            usage("unknown option " + a);
        }
      } catch (NumberFormatException e) {
        usage(a + ": '" + v + "' is not a number");
      }
    }
    if (count < 1 || count > 999 || dir == null) {
      usage("need --count 1..999 and --out DIR");
    }
    Files.createDirectories(dir);
    for (int i = 1; i <= count; i++) {
      Files.writeString(dir.resolve(String.format(java.util.Locale.ROOT, "%03d.trace", i)),
          generate(seed + i - 1), StandardCharsets.UTF_8);
    }
  }

  private static void usage(String problem) {
    System.err.println("TraceGenerator: " + problem);
    System.err.println("usage: java TraceGenerator.java --seed S --count N --out DIR"
        + " | --print S");
    System.exit(2);
  }
}
