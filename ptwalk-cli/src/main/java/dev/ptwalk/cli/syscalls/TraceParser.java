package dev.ptwalk.cli.syscalls;

import dev.ptwalk.cli.syscalls.Trace.Kind;
import dev.ptwalk.cli.syscalls.Trace.Region;
import dev.ptwalk.cli.syscalls.Trace.WindowVerb;
import dev.ptwalk.runtime.mm.Userfaultfd;
import dev.ptwalk.syscalls.taskmmu.PagemapScan;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Parses and checks a whole trace before anything runs, so that a bad trace prints nothing on
 * stdout. Its rules and messages are those of {@code pmscan}, the kernel side of the differential
 * test ({@code tests/src/test/c/pmscan.c}; {@code docs/syscalls-differential.md} lists the
 * choices where the issue says nothing), so the two refuse the same lines with the same words.
 */
final class TraceParser {
  static final int NAME_MAX = 32;
  static final int MAX_VEC = 65536;
  static final int DEFAULT_VEC = 512;
  static final long CATS_ALL = PagemapScan.PM_SCAN_CATEGORIES;
  static final String VERBS = "uffd, region, write, read, wp, unwp, dontneed, free, pageout,"
      + " clear_refs, fork, scan, pagemap or cpu";
  static final String UFFD_USAGE =
      "uffd features=F[,F...] with F async, unpopulated, shmem or none";
  static final String REGION_USAGE = "region NAME pages=N kind=K [at=P] [uffd=wp|none], K one"
      + " of anon shmem tmpfs sharedanon privfile extfile";
  static final String SCAN_USAGE = "scan NAME [first=P] [nr=N] [wp] [wponly] [check] [flags=N]"
      + " [required=C] [anyof=C] [excluded=C] [inverted=C] [return=C] [vec=N] [max=N]";
  /** The words {@code pmscan} splits a line at ({@code strtok} with {@code " \t\r\v\f\n"}). */
  private static final String BLANKS = " \t\r\u000b\f\n";

  private final String file;
  private int line;
  private long features = Userfaultfd.UFFD_FEATURE_WP_ASYNC
      | Userfaultfd.UFFD_FEATURE_WP_UNPOPULATED | Userfaultfd.UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
  private boolean seenUffd;
  private final List<Region> regions = new ArrayList<>();
  private final List<Trace.Command> commands = new ArrayList<>();

  private TraceParser(String file) {
    this.file = file;
  }

  /**
   * The trace in {@code bytes}, read from {@code file} (for messages).
   *
   * @throws TraceException at the first line that is wrong
   */
  static Trace parse(String file, byte[] bytes) {
    TraceParser p = new TraceParser(file);
    int from = 0;
    while (from < bytes.length) {
      int nl = from;
      while (nl < bytes.length && bytes[nl] != '\n') {
        nl++;
      }
      p.line++;
      p.parseLine(decode(p, bytes, from, nl));
      from = nl + 1;
    }
    return new Trace(p.features, List.copyOf(p.regions), List.copyOf(p.commands));
  }

  /** Line bytes {@code [from, to)} as text; a NUL byte or bytes that are not UTF-8 are refused. */
  private static String decode(TraceParser p, byte[] bytes, int from, int to) {
    for (int i = from; i < to; i++) {
      if (bytes[i] == 0) {
        throw p.bad("NUL byte in line");
      }
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes, from, to - from)).toString();
    } catch (CharacterCodingException e) {
      throw p.bad("line is not UTF-8 text");
    }
  }

  /** A {@code FILE:L: problem} error at the current line. */
  private TraceException bad(String problem) {
    return new TraceException(file, line, problem);
  }

  private void parseLine(String text) {
    int hash = text.indexOf('#');
    if (hash >= 0) {
      text = text.substring(0, hash);
    }
    List<String> toks = new ArrayList<>();
    int i = 0;
    while (i < text.length()) {
      while (i < text.length() && BLANKS.indexOf(text.charAt(i)) >= 0) {
        i++;
      }
      int start = i;
      while (i < text.length() && BLANKS.indexOf(text.charAt(i)) < 0) {
        i++;
      }
      if (i > start) {
        if (toks.size() == 64) {
          throw bad("too many words on one line");
        }
        toks.add(text.substring(start, i));
      }
    }
    if (toks.isEmpty()) {
      return;
    }
    String verb = toks.get(0);
    switch (verb) {
      case "uffd":
        parseUffd(toks);
        return;
      case "region":
        parseRegion(toks);
        return;
      case "fork":
        if (toks.size() != 1) {
          throw bad("unexpected '" + toks.get(1) + "' (usage: fork)");
        }
        commands.add(new Trace.Fork(line));
        return;
      case "clear_refs":
        parseClearRefs(toks);
        return;
      case "cpu": {
        if (toks.size() != 2) {
          throw bad("usage: cpu N");
        }
        long n = number("cpu", toks.get(1));
        if (Long.compareUnsigned(n, 1024) >= 0) {
          throw bad("cpu " + Long.toUnsignedString(n) + ": CPU numbers go up to 1023");
        }
        commands.add(new Trace.Cpu(line, n));
        return;
      }
      case "write":
      case "read":
      case "wp":
      case "unwp":
      case "dontneed":
      case "free":
      case "pageout":
      case "scan":
      case "pagemap":
        break;
      default:
        throw bad("unknown verb '" + verb + "' (use " + VERBS + ")");
    }
    if (toks.size() < 2) {
      throw bad(verb + " needs a region name");
    }
    Region r = findRegion(toks.get(1));
    switch (verb) {
      case "write":
      case "read": {
        if (toks.size() != 3) {
          throw bad("usage: " + verb + " NAME PAGE");
        }
        long page = number("page", toks.get(2));
        if (Long.compareUnsigned(page, Trace.SLOT_PAGES - r.at()) >= 0) {
          throw bad("page " + Long.toUnsignedString(page) + " is outside region " + r.name()
              + "'s 4 MiB slot (pages below " + (Trace.SLOT_PAGES - r.at()) + ")");
        }
        commands.add(new Trace.Access(line, r, page, verb.equals("write")));
        return;
      }
      case "scan":
        parseScan(r, toks);
        return;
      default:
        parseWindow(r, WindowVerb.valueOf(verb.toUpperCase(Locale.ROOT)), toks);
    }
  }

  private void parseUffd(List<String> toks) {
    if (seenUffd) {
      throw bad("uffd given twice");
    }
    if (!regions.isEmpty()) {
      throw bad("uffd must come before the first region");
    }
    seenUffd = true;
    if (toks.size() != 2) {
      throw bad("usage: " + UFFD_USAGE);
    }
    String[] kv = splitKv(toks.get(1));
    if (kv == null || !kv[0].equals("features")) {
      throw bad("unexpected '" + (kv == null ? toks.get(1) : kv[0]) + "' (usage: " + UFFD_USAGE
          + ")");
    }
    String val = kv[1];
    if (val.length() >= 128) {
      throw bad("features=: list too long");
    }
    long f = 0;
    boolean none = false;
    int n = 0;
    for (String w : commaWords(val)) {
      n++;
      switch (w) {
        case "async":
          f |= Userfaultfd.UFFD_FEATURE_WP_ASYNC;
          break;
        case "unpopulated":
          f |= Userfaultfd.UFFD_FEATURE_WP_UNPOPULATED;
          break;
        case "shmem":
          f |= Userfaultfd.UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
          break;
        case "none":
          none = true;
          break;
        default:
          throw bad("unknown feature '" + w + "' (usage: " + UFFD_USAGE + ")");
      }
    }
    if (n == 0 || val.startsWith(",") || val.endsWith(",") || val.contains(",,")) {
      throw bad("features=: empty feature in '" + val + "'");
    }
    if (none && n > 1) {
      throw bad("features=none cannot be combined with other features");
    }
    features = f;
  }

  private void parseRegion(List<String> toks) {
    if (toks.size() < 2) {
      throw bad("usage: " + REGION_USAGE);
    }
    String name = toks.get(1);
    if (!validName(name)) {
      throw bad("'" + name + "' is not a valid region name (1 to " + NAME_MAX
          + " letters, digits, '_', '-' or '.')");
    }
    for (Region r : regions) {
      if (r.name().equals(name)) {
        throw bad("region '" + name + "' is already declared");
      }
    }
    if (regions.size() == Trace.MAX_REGIONS) {
      throw bad("too many regions (at most " + Trace.MAX_REGIONS + ")");
    }
    long pages = 0;
    long at = 0;
    Kind kind = null;
    boolean uffd = true;
    boolean seenPages = false;
    boolean seenAt = false;
    boolean seenUffdKey = false;
    for (String tok : toks.subList(2, toks.size())) {
      String[] kv = splitKv(tok);
      if (kv == null) {
        throw bad("unexpected '" + tok + "' (usage: " + REGION_USAGE + ")");
      }
      switch (kv[0]) {
        case "pages":
          seenPages = once(seenPages, kv[0]);
          pages = number("pages", kv[1]);
          break;
        case "at":
          seenAt = once(seenAt, kv[0]);
          at = number("at", kv[1]);
          break;
        case "kind":
          once(kind != null, kv[0]);
          kind = kind(kv[1]);
          break;
        case "uffd":
          seenUffdKey = once(seenUffdKey, kv[0]);
          if (kv[1].equals("wp")) {
            uffd = true;
          } else if (kv[1].equals("none")) {
            uffd = false;
          } else {
            throw bad("uffd=" + kv[1] + ": use uffd=wp or uffd=none");
          }
          break;
        default:
          throw bad("unknown option '" + kv[0] + "=' (usage: " + REGION_USAGE + ")");
      }
    }
    if (!seenPages) {
      throw bad("region " + name + " needs pages=N (usage: " + REGION_USAGE + ")");
    }
    if (kind == null) {
      throw bad("region " + name + " needs kind=K (usage: " + REGION_USAGE + ")");
    }
    if (pages == 0) {
      throw bad("pages=0: a region has at least one page");
    }
    if (Long.compareUnsigned(at, Trace.SLOT_PAGES) >= 0
        || Long.compareUnsigned(pages, Trace.SLOT_PAGES - at) > 0) {
      throw bad("at=" + Long.toUnsignedString(at) + " pages=" + Long.toUnsignedString(pages)
          + " does not fit the region's 4 MiB slot (at + pages <= " + Trace.SLOT_PAGES + ")");
    }
    Region r = new Region(regions.size(), name, pages, at, kind, uffd);
    regions.add(r);
    commands.add(new Trace.Mmap(line, r));
  }

  private Kind kind(String val) {
    for (Kind k : Kind.values()) {
      if (k.traceName().equals(val)) {
        return k;
      }
    }
    throw bad("unknown kind '" + val + "' (use anon, shmem, tmpfs, sharedanon, privfile or"
        + " extfile)");
  }

  private void parseClearRefs(List<String> toks) {
    if (toks.size() != 2) {
      throw bad("usage: clear_refs V (the value written to /proc/self/clear_refs, e.g. 4)");
    }
    String s = toks.get(1);
    boolean ok = !s.isEmpty() && s.length() < 24;
    for (int i = 0; ok && i < s.length(); i++) {
      char c = s.charAt(i);
      ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || c == '+' || c == '-' || c == '_';
    }
    if (!ok) {
      throw bad("clear_refs: '" + s + "' is not a value (letters, digits, '+', '-' or '_', at"
          + " most 23)");
    }
    commands.add(new Trace.ClearRefs(line, s));
  }

  private void parseWindow(Region r, WindowVerb verb, List<String> toks) {
    String usage = verb.traceName() + " NAME [first=P] [nr=N]";
    long first = 0;
    long nr = 0;
    boolean seenFirst = false;
    boolean seenNr = false;
    for (String tok : toks.subList(2, toks.size())) {
      String[] kv = splitKv(tok);
      if (kv == null) {
        throw bad("unexpected '" + tok + "' (usage: " + usage + ")");
      }
      if (kv[0].equals("first")) {
        seenFirst = once(seenFirst, kv[0]);
        first = number("first", kv[1]);
      } else if (kv[0].equals("nr")) {
        seenNr = once(seenNr, kv[0]);
        nr = number("nr", kv[1]);
      } else {
        throw bad("unknown option '" + kv[0] + "=' (usage: " + usage + ")");
      }
    }
    if (!seenNr) {
      nr = defaultNr(r, first);
    }
    checkWindow(r, first, nr);
    commands.add(new Trace.Window(line, verb, r, first, nr));
  }

  private void parseScan(Region r, List<String> toks) {
    long first = 0;
    long nr = 0;
    long flags = 0;
    long wordFlags = 0;
    long required = 0;
    long anyof = 0;
    long excluded = 0;
    long inverted = 0;
    long returned = CATS_ALL;
    long vec = DEFAULT_VEC;
    long max = 0;
    boolean[] seen = new boolean[10];
    for (String tok : toks.subList(2, toks.size())) {
      if (tok.equals("wp")) {
        wordFlags |= PagemapScan.PM_SCAN_WP_MATCHING | PagemapScan.PM_SCAN_CHECK_WPASYNC;
        continue;
      }
      if (tok.equals("wponly")) {
        wordFlags |= PagemapScan.PM_SCAN_WP_MATCHING;
        continue;
      }
      if (tok.equals("check")) {
        wordFlags |= PagemapScan.PM_SCAN_CHECK_WPASYNC;
        continue;
      }
      String[] kv = splitKv(tok);
      if (kv == null) {
        throw bad("unexpected '" + tok + "' (usage: " + SCAN_USAGE + ")");
      }
      String key = kv[0];
      String val = kv[1];
      switch (key) {
        case "first":
          seen[0] = once(seen[0], key);
          first = number("first", val);
          break;
        case "nr":
          seen[1] = once(seen[1], key);
          nr = number("nr", val);
          break;
        case "flags":
          seen[2] = once(seen[2], key);
          flags = number("flags", val);
          break;
        case "required":
          seen[3] = once(seen[3], key);
          required = categories(key, val);
          break;
        case "anyof":
          seen[4] = once(seen[4], key);
          anyof = categories(key, val);
          break;
        case "excluded":
          seen[5] = once(seen[5], key);
          excluded = categories(key, val);
          break;
        case "inverted":
          seen[6] = once(seen[6], key);
          inverted = categories(key, val);
          break;
        case "return":
          seen[7] = once(seen[7], key);
          returned = categories(key, val);
          break;
        case "vec":
          seen[8] = once(seen[8], key);
          vec = number("vec", val);
          if (Long.compareUnsigned(vec, MAX_VEC) > 0) {
            throw bad("vec=" + Long.toUnsignedString(vec) + " is too large (at most " + MAX_VEC
                + ")");
          }
          break;
        case "max":
          seen[9] = once(seen[9], key);
          max = number("max", val);
          break;
        default:
          throw bad("unknown option '" + key + "=' (usage: " + SCAN_USAGE + ")");
      }
    }
    if (!seen[1]) {
      nr = defaultNr(r, first);
    }
    checkWindow(r, first, nr);
    commands.add(new Trace.Scan(line, r, first, nr, seen[2] ? flags : wordFlags, required, anyof,
        excluded, inverted, returned, vec, max));
  }

  /** A category list: names, {@code ALL}, {@code NONE} or numbers, separated by commas. */
  private long categories(String key, String list) {
    if (list.length() >= 256) {
      throw bad(key + "=: list too long");
    }
    long mask = 0;
    int n = 0;
    for (String t : commaWords(list)) {
      n++;
      int bit = PagemapScan.CATEGORY_NAMES.indexOf(t);
      Long v;
      if (bit >= 0) {
        mask |= 1L << bit;
      } else if (t.equals("ALL")) {
        mask |= CATS_ALL;
      } else if (t.equals("NONE")) {
        continue;
      } else if ((v = parseU64(t)) != null) {
        mask |= v;
      } else {
        throw bad(key + "=: unknown category '" + t + "' (use WPALLOWED WRITTEN FILE PRESENT"
            + " SWAPPED PFNZERO HUGE SOFT_DIRTY GUARD, ALL, NONE or a number)");
      }
    }
    if (n == 0 || list.startsWith(",") || list.endsWith(",") || list.contains(",,")) {
      throw bad(key + "=: empty category in '" + list + "'");
    }
    return mask;
  }

  /** {@code nr} when not given: the rest of the region, 0 from its end on. */
  private static long defaultNr(Region r, long first) {
    return Long.compareUnsigned(first, r.pages()) < 0 ? r.pages() - first : 0;
  }

  /** A window stays within the eight slots. */
  private void checkWindow(Region r, long first, long nr) {
    long limit = Trace.AREA_PAGES - ((r.base() - Trace.AREA_BASE) >>> 12);
    if (Long.compareUnsigned(first, limit) > 0 || Long.compareUnsigned(nr, limit - first) > 0) {
      throw bad("window first=" + Long.toUnsignedString(first) + " nr="
          + Long.toUnsignedString(nr) + " runs past the end of the region area (at most " + limit
          + " pages from the start of region " + r.name() + ")");
    }
  }

  private Region findRegion(String name) {
    for (Region r : regions) {
      if (r.name().equals(name)) {
        return r;
      }
    }
    if (!validName(name)) {
      throw bad("'" + name + "' is not a region name");
    }
    throw bad("unknown region '" + name + "' (declare it first with: region " + name
        + " pages=N kind=K)");
  }

  /** {@code KEY=VALUE} split at the first {@code =}; null for a bare word. */
  private String[] splitKv(String tok) {
    int eq = tok.indexOf('=');
    if (eq < 0) {
      return null;
    }
    String key = tok.substring(0, eq);
    if (eq == tok.length() - 1) {
      throw bad(key + "=: missing value");
    }
    return new String[] {key, tok.substring(eq + 1)};
  }

  /** Refuses a key given twice; returns true (now seen). */
  private boolean once(boolean seen, String key) {
    if (seen) {
      throw bad(key + "= given twice");
    }
    return true;
  }

  private long number(String what, String tok) {
    Long v = parseU64(tok);
    if (v == null) {
      throw bad(what + ": '" + tok + "' is not a number (use decimal or 0x hex)");
    }
    return v;
  }

  /** A decimal or {@code 0x}-hex unsigned 64-bit number, or null. */
  static Long parseU64(String tok) {
    int base = 10;
    String digits = tok;
    if (tok.length() >= 2 && tok.charAt(0) == '0' && (tok.charAt(1) == 'x' || tok.charAt(1) == 'X')) {
      base = 16;
      digits = tok.substring(2);
    }
    if (digits.isEmpty()) {
      return null;
    }
    long v = 0;
    for (int i = 0; i < digits.length(); i++) {
      char c = digits.charAt(i);
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (base == 16 && c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else if (base == 16 && c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else {
        return null;
      }
      if (Long.compareUnsigned(v, Long.divideUnsigned(-1L - d, base)) > 0) {
        return null; // overflow
      }
      v = v * base + d;
    }
    return v;
  }

  /** The comma-separated words of {@code list}, empty ones dropped ({@code strtok}). */
  private static List<String> commaWords(String list) {
    List<String> out = new ArrayList<>();
    for (String w : list.split(",")) {
      if (!w.isEmpty()) {
        out.add(w);
      }
    }
    return out;
  }

  /** 1 to 32 of {@code A-Z a-z 0-9 _ - .}. */
  static boolean validName(String s) {
    if (s.isEmpty() || s.length() > NAME_MAX) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '_' || c == '-' || c == '.')) {
        return false;
      }
    }
    return true;
  }
}
