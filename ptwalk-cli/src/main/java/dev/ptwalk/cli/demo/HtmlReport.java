package dev.ptwalk.cli.demo;

import static dev.ptwalk.cli.demo.HtmlWriter.SVG;
import static dev.ptwalk.cli.demo.HtmlWriter.XHTML;

import dev.ptwalk.cli.demo.DriverDemo.Bucket;
import dev.ptwalk.cli.demo.DriverDemo.CpuActivity;
import dev.ptwalk.cli.demo.DriverDemo.Frame;
import dev.ptwalk.cli.demo.DriverDemo.Row;
import dev.ptwalk.cli.demo.DriverDemo.Step;
import dev.ptwalk.cli.demo.DriverDemo.TlbView;
import dev.ptwalk.cli.demo.DriverDemo.VmaView;
import dev.ptwalk.samples.driver.SyncReport;
import java.io.Writer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The demo as a page a kernel engineer reads: the buffer's pages on one file-offset (pgoff) axis
 * with each process's VMA aligned under the pages it maps; then, for the first and last frames,
 * the pages before the sync, the sync as a timeline (one lane per walker, the driver and each
 * CPU; one row per step, in order: notifier start, PTE changes, flushes, notifier end, the TLB
 * entries each flush dropped, the copy), and the pages after it with the bitmap the walkers found,
 * the pages {@code pfn_mkwrite} recorded and the pages copied; the frames between are added up in
 * a table.
 *
 * <p>Written as XHTML with inline SVG through {@link HtmlWriter}: well-formed, escaped, streamed,
 * no scripts. Its size depends on the buffer's pages and {@link DriverDemo#FULL_FRAMES}, not on
 * the number of frames.
 */
public final class HtmlReport {
  private static final int LABEL = 200;
  private static final int ROW = 16;
  private static final int GAP = 5;
  private static final int AXIS = 22;

  private HtmlReport() {}

  /** Cell width in pixels for a buffer of {@code pages} pages: the grid fits about 960 px. */
  static double cell(long pages) {
    return Math.max(4, Math.min(18, 960.0 / pages));
  }

  /** Write the page for a finished demo run to {@code out}. */
  public static void write(DriverDemo.Options options, DriverDemo.Result r, Writer out) {
    try (HtmlWriter h = new HtmlWriter(out)) {
      h.openIn(XHTML, "html", "lang", "en").newline().open("head").newline();
      h.open("meta", "charset", "UTF-8").end();
      h.element("title", "ptwalk demo");
      h.element("style", STYLE);
      h.end().open("body").newline();
      h.element("h1", "ptwalk demo: a dirty-tracking driver, sync by sync");
      h.element("p", String.format(Locale.ROOT, "seed %d, %d frames, %d accesses per frame, %d-page"
          + " buffer, %s sync, %s hardware%s.", options.seed(), options.frames(),
          options.writesPerFrame(), options.pages(), options.mode(), options.hardware(),
          options.kvm() == null ? "" : ", a secondary MMU (KVM) on process A with the "
              + options.kvm() + " policy"), "id", "options");
      h.element("p", "Each frame, two CPUs load and store in two processes that map the buffer;"
          + " then the driver syncs: its walkers write-protect and clean the PTEs, each inside a"
          + " notifier bracket with a TLB flush, and it copies the pages it found to the device."
          + " Pages are drawn by file offset (pgoff), so one column is one page of the buffer in"
          + " every process. Frames " + fullFrames(r) + " are shown in full; the others are added"
          + " up at the end." + (options.kvm() == null ? "" : " A guest makes one access in three"
          + " to process A through the secondary MMU's sptes, drawn under A's PTEs; its lane of"
          + " the timeline shows what each bracket did to them."));
      legend(h);
      mapping(h, options, r.vmas());
      for (Frame f : r.full()) {
        frame(h, options, r.vmas(), f);
      }
      summary(h, r);
      h.element("p", r.mismatched().isEmpty()
          ? "After the last sync the device copy equals CPU memory on every page."
          : "The device copy differs from CPU memory on pages " + r.mismatched() + ".",
          "id", "end-to-end", "class", r.mismatched().isEmpty() ? "ok" : "failed");
      h.end().end();
    }
  }

  private static String fullFrames(DriverDemo.Result r) {
    List<Integer> numbers = new ArrayList<>();
    for (Frame f : r.full()) {
      numbers.add(f.number());
    }
    return Pgoffs.ranges(numbers);
  }

  private static void legend(HtmlWriter h) {
    h.open("p", "class", "legend");
    for (char c : new char[] {'D', 'W', 'R', '-'}) {
      swatch(h, color(c), describe(c));
    }
    swatch(h, MARK_STORED, "stored to this frame");
    swatch(h, MARK_BITMAP, "found dirty by the walkers (bitmap)");
    swatch(h, MARK_MKWRITE, "recorded by pfn_mkwrite");
    swatch(h, MARK_COPIED, "copied to the device");
    h.end();
  }

  private static void swatch(HtmlWriter h, String color, String label) {
    h.open("span").open("span", "class", "sw", "style", "background:" + color).endInline()
        .text(label).endInline();
  }

  /** The buffer's pgoff axis with each process's VMA under the pages it maps. */
  private static void mapping(HtmlWriter h, DriverDemo.Options options, List<VmaView> vmas) {
    h.open("section", "id", "mapping").newline();
    h.element("h2", "The buffer and the processes that map it");
    double cw = cell(options.pages());
    int width = LABEL + (int) Math.ceil(options.pages() * cw) + 20;
    int height = AXIS + vmas.size() * (ROW + GAP) + 4;
    h.openIn(SVG, "svg", "width", width, "height", height, "role", "img", "class", "grid")
        .newline();
    axis(h, options.pages(), cw, 0);
    for (int i = 0; i < vmas.size(); i++) {
      VmaView v = vmas.get(i);
      int y = AXIS + i * (ROW + GAP);
      String text = String.format(Locale.ROOT, "%s at 0x%x: pgoff %d-%d", v.mm(), v.start(),
          v.pgoff(), v.pgoff() + v.pages() - 1);
      h.open("g", "data-vma", v.mm(), "data-start", hex(v.start()), "data-pgoff", v.pgoff(),
          "data-pages", v.pages()).newline();
      h.element("text", "process " + v.mm(), "x", 0, "y", y + 12);
      h.open("rect", "x", fmt(LABEL + v.pgoff() * cw), "y", y, "width",
          fmt(v.pages() * cw - 1), "height", ROW - 2, "fill", "#dbe7f3", "stroke", "#6b8fb3");
      h.inline("title", text).end();
      h.element("text", text, "x", fmt(LABEL + v.pgoff() * cw + 4), "y", y + 11);
      h.end();
    }
    h.end().end();
  }

  /** A pgoff axis at {@code y}: a labelled tick every few pages. */
  private static void axis(HtmlWriter h, long pages, double cw, int y) {
    int every = 1;
    while (every * cw < 26) {
      every *= 2;
    }
    h.open("g", "class", "axis").newline();
    h.element("text", "pgoff", "x", 0, "y", y + 12);
    for (long p = 0; p < pages; p += every) {
      h.element("text", String.valueOf(p), "x", fmt(LABEL + p * cw + cw / 2), "y", y + 12,
          "text-anchor", "middle", "data-pgoff", p);
      h.open("line", "x1", fmt(LABEL + p * cw), "x2", fmt(LABEL + p * cw), "y1", y + 15,
          "y2", y + 20, "stroke", "#888").end();
    }
    h.end();
  }

  /** One row of a page grid: per-page states, or marked pages. */
  private record GridRow(String label, String kind, String name, long first, List<Character> cells,
      Set<Integer> marked, String markColor, String markText) {}

  private static void grid(HtmlWriter h, String when, long pages, List<GridRow> rows) {
    double cw = cell(pages);
    int width = LABEL + (int) Math.ceil(pages * cw) + 20;
    int height = AXIS + rows.size() * (ROW + GAP) + 4;
    h.openIn(SVG, "svg", "width", width, "height", height, "role", "img", "class", "grid",
        "data-when", when).newline();
    axis(h, pages, cw, 0);
    for (int i = 0; i < rows.size(); i++) {
      GridRow row = rows.get(i);
      int y = AXIS + i * (ROW + GAP);
      h.open("g", "data-row-kind", row.kind(), "data-row", row.name()).newline();
      h.element("text", row.label(), "x", 0, "y", y + 12);
      if (row.cells() != null) {
        for (int p = 0; p < row.cells().size(); p++) {
          char state = row.cells().get(p);
          long pgoff = row.first() + p;
          h.open("rect", "x", fmt(LABEL + pgoff * cw), "y", y, "width", fmt(cw - 1), "height",
              ROW - 2, "fill", color(state), "stroke", "#999", "stroke-width", "0.5",
              "data-pgoff", pgoff, "data-state", String.valueOf(state));
          h.inline("title", row.name() + " pgoff " + pgoff + ": " + describe(state)).end();
        }
      } else {
        List<Integer> sorted = new ArrayList<>(row.marked());
        sorted.sort(null);
        for (int pgoff : sorted) {
          h.open("rect", "x", fmt(LABEL + pgoff * cw), "y", y + 2, "width", fmt(cw - 1),
              "height", ROW - 6, "fill", row.markColor(), "data-pgoff", pgoff);
          h.inline("title", "pgoff " + pgoff + ": " + row.markText()).end();
        }
      }
      h.end();
    }
    h.end();
  }

  private static void frame(HtmlWriter h, DriverDemo.Options options, List<VmaView> vmas,
      Frame f) {
    SyncReport s = f.sync();
    h.open("section", "class", "sync", "data-frame", f.number()).newline();
    h.element("h2", String.format(Locale.ROOT, "Frame %d: %d accesses stored to %d pages; the"
        + " sync changed %d PTEs in %d brackets with %d TLB flushes and copied %d pages",
        f.number(), f.accesses(), f.pagesWritten().size(), s.changed(), s.brackets().size(),
        s.flushes().size(), s.dirtyPages().size()));

    h.element("h3", "Before the sync");
    cpus(h, f.cpus(), f.guest());
    List<GridRow> before = new ArrayList<>();
    for (int i = 0; i < vmas.size(); i++) {
      VmaView v = vmas.get(i);
      before.add(new GridRow("PTEs of " + v.mm(), "vma", v.mm(), v.pgoff(), f.before().get(i),
          null, null, null));
      if (i == 0 && f.guest() != null) {
        before.add(sptes(f.guest().kvm(), v, f.sptesBefore()));
      }
    }
    before.add(mark("stored to", "stored", f.pagesWritten(), MARK_STORED,
        "a CPU stored to it this frame"));
    grid(h, "before", options.pages(), before);

    h.element("h3", "The sync, step by step (time runs down)");
    timeline(h, f);

    h.element("h3", "After the sync");
    List<GridRow> after = new ArrayList<>();
    for (int i = 0; i < vmas.size(); i++) {
      VmaView v = vmas.get(i);
      after.add(new GridRow("PTEs of " + v.mm(), "vma", v.mm(), v.pgoff(), f.after().get(i), null,
          null, null));
      if (i == 0 && f.guest() != null) {
        after.add(sptes(f.guest().kvm(), v, f.sptesAfter()));
      }
    }
    after.add(mark("bitmap (walkers)", "bitmap", s.fromPte(), MARK_BITMAP,
        "a walker found its PTE dirty and set its bit"));
    after.add(mark("pfn_mkwrite", "mkwrite", s.fromMkwrite(), MARK_MKWRITE,
        "the driver's pfn_mkwrite (or a write fault) recorded it"));
    after.add(mark("copied", "copied", s.dirtyPages(), MARK_COPIED,
        "copied to the device"));
    grid(h, "after", options.pages(), after);
    h.element("p", "Bitmap: pgoff " + Pgoffs.ranges(s.fromPte()) + ". Recorded by pfn_mkwrite:"
        + " pgoff " + Pgoffs.ranges(s.fromMkwrite()) + ". Copied: pgoff "
        + Pgoffs.ranges(s.dirtyPages()) + ".", "class", "found");
    h.end();
  }

  /** The sptes a secondary MMU holds of {@code v}'s pages, under that VMA's PTEs. */
  private static GridRow sptes(String kvm, VmaView v, List<Character> cells) {
    return new GridRow("sptes of " + kvm + " (" + v.mm() + ")", "spte", kvm, v.pgoff(), cells,
        null, null, null);
  }

  private static GridRow mark(String label, String name, List<Integer> pages, String color,
      String text) {
    return new GridRow(label, "mark", name, 0, null, new HashSet<>(pages), color, text);
  }

  /** What each CPU did before the sync, and what its TLB held for the buffer. */
  private static void cpus(HtmlWriter h, List<CpuActivity> cpus, DriverDemo.GuestActivity guest) {
    h.open("table", "class", "cpus").newline();
    h.open("tr");
    for (String head : List.of("CPU", "stored to pgoff", "loads", "faults (pfn_mkwrite)",
        "its TLB held for the buffer")) {
      h.inline("th", head);
    }
    h.end();
    for (CpuActivity c : cpus) {
      h.open("tr", "data-cpu", c.cpu());
      h.inline("td", "CPU " + c.cpu());
      h.inline("td", Pgoffs.ranges(c.stored()));
      h.inline("td", String.valueOf(c.loads()));
      h.inline("td", c.faults() + " (" + c.pfnMkwrite() + ")");
      h.inline("td", tlb(c.tlb()));
      h.end();
    }
    if (guest != null) {
      h.open("tr", "data-guest", guest.kvm());
      h.inline("td", "guest (" + guest.kvm() + ")");
      h.inline("td", Pgoffs.ranges(guest.stored()));
      h.inline("td", String.valueOf(guest.loads()));
      h.inline("td", guest.faults() + " secondary faults");
      h.inline("td", "its sptes: the row under A's PTEs");
      h.end();
    }
    h.end();
  }

  private static String tlb(List<TlbView> entries) {
    if (entries.isEmpty()) {
      return "nothing";
    }
    List<String> parts = new ArrayList<>();
    for (String mm : entries.stream().map(TlbView::mm).distinct().toList()) {
      List<Long> writableDirty = new ArrayList<>();
      List<Long> writableClean = new ArrayList<>();
      List<Long> readOnly = new ArrayList<>();
      for (TlbView t : entries) {
        if (t.mm().equals(mm)) {
          (t.writable() ? t.dirty() ? writableDirty : writableClean : readOnly).add(t.pgoff());
        }
      }
      List<String> kinds = new ArrayList<>();
      if (!writableDirty.isEmpty()) {
        kinds.add("writable+dirty " + Pgoffs.ranges(writableDirty));
      }
      if (!writableClean.isEmpty()) {
        kinds.add("writable+clean " + Pgoffs.ranges(writableClean));
      }
      if (!readOnly.isEmpty()) {
        kinds.add("read-only " + Pgoffs.ranges(readOnly));
      }
      parts.add(mm + ": " + String.join(", ", kinds));
    }
    return String.join("; ", parts);
  }

  /** The sync as a table: a lane per row of the timeline, a table row per step. */
  private static void timeline(HtmlWriter h, Frame f) {
    List<Row> lanes = f.rows();
    h.open("table", "class", "timeline", "data-frame", f.number()).newline();
    h.open("tr");
    h.inline("th", "#");
    for (Row lane : lanes) {
      h.inline("th", lane.kind() == DriverDemo.RowKind.WALKER ? "walker " + lane.name()
          : lane.name(), "data-row-kind", lane.kind(), "data-row", lane.name());
    }
    h.end();
    int columns = f.columns();
    int next = 0;
    List<Step> steps = f.timeline();
    for (int column = 0; column < columns; column++) {
      h.open("tr", "data-column", column);
      h.inline("td", String.valueOf(column + 1), "class", "n");
      List<Step> here = new ArrayList<>();
      while (next < steps.size() && steps.get(next).column() == column) {
        here.add(steps.get(next++));
      }
      for (Row lane : lanes) {
        Step step = null;
        for (Step candidate : here) {
          if (candidate.row().equals(lane)) {
            step = candidate;
          }
        }
        if (step == null) {
          h.open("td", "class", "lane").endInline();
          continue;
        }
        h.open("td", "class", "step k-" + step.kind(), "data-step", step.column(), "data-kind",
            step.kind(), "data-row", lane.name());
        h.inline("span", step.kind().label(), "class", "what");
        h.inline("span", step.detail(), "class", "detail");
        h.endInline();
      }
      h.end();
    }
    h.end();
  }

  /** The frames not shown in full, added up. */
  private static void summary(HtmlWriter h, DriverDemo.Result r) {
    if (r.summary().isEmpty()) {
      return;
    }
    h.open("section", "id", "summary").newline();
    h.element("h2", "The other frames, added up");
    h.open("table", "class", "summary").newline();
    h.open("tr");
    for (String head : List.of("frames", "accesses", "pages stored to", "found dirty (bitmap)",
        "recorded by pfn_mkwrite", "copied", "notifier brackets", "TLB flushes",
        "PTEs changed")) {
      h.inline("th", head);
    }
    h.end();
    for (Bucket b : r.summary()) {
      h.open("tr", "data-frames", b.first() + "-" + b.last());
      h.inline("td", b.first() == b.last() ? String.valueOf(b.first())
          : b.first() + "-" + b.last());
      for (long n : new long[] {b.accesses(), b.pagesWritten(), b.foundDirty(), b.fromMkwrite(),
          b.copied(), b.brackets(), b.flushes(), b.ptesChanged()}) {
        h.inline("td", String.valueOf(n));
      }
      h.end();
    }
    h.end().end();
  }

  private static String fmt(double v) {
    return v == Math.rint(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.2f", v);
  }

  private static String hex(long v) {
    return "0x" + Long.toHexString(v);
  }

  private static final String MARK_STORED = "#e69f00";
  private static final String MARK_BITMAP = "#0072b2";
  private static final String MARK_MKWRITE = "#cc79a7";
  private static final String MARK_COPIED = "#333333";

  private static String color(char state) {
    switch (state) {
      case 'D':
        return "#d9534f";
      case 'W':
        return "#5cb85c";
      case 'R':
        return "#bbbbbb";
      default:
        return "#ffffff";
    }
  }

  private static String describe(char state) {
    switch (state) {
      case 'D':
        return "present, dirty";
      case 'W':
        return "present, writable, clean";
      case 'R':
        return "present, write-protected, clean";
      default:
        return "not present";
    }
  }

  private static final String STYLE = String.join("",
      "body{font-family:sans-serif;margin:24px;color:#222;max-width:1500px}",
      "h1{font-size:22px}",
      "h2{font-size:17px;margin:30px 0 6px;border-top:1px solid #ccc;padding-top:12px}",
      "h3{font-size:14px;margin:14px 0 4px;color:#444}",
      ".legend span{display:inline-block;margin-right:14px;font-size:13px}",
      ".sw{display:inline-block;width:12px;height:12px;margin-right:4px;",
      "vertical-align:middle;border:1px solid #888}",
      "svg.grid text{font-size:11px;font-family:monospace}",
      "table{border-collapse:collapse;font-size:12px;margin:4px 0}",
      "th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}",
      "th{background:#f2f2f2}",
      "table.timeline td.n{color:#777;text-align:right}",
      "table.timeline td.step .what{display:block;font-weight:bold}",
      "table.timeline td.step .detail{display:block;font-family:monospace;font-size:11px}",
      ".k-NOTIFIER_START,.k-NOTIFIER_END{background:#d6e6f5}",
      ".k-CACHE_FLUSH{background:#eeeeee}",
      ".k-PTE_CHANGES{background:#f7d9d8}",
      ".k-TLB_FLUSH{background:#fbe3bf}",
      ".k-TLB_DROP{background:#fdf1dc}",
      ".k-FAULT,.k-WARNING{background:#f3c6f3}",
      ".k-COPY{background:#d9efd9}",
      "p.found{font-family:monospace;font-size:12px}",
      "#end-to-end.ok{color:#1d6b1d;font-weight:bold}",
      "#end-to-end.failed{color:#a12020;font-weight:bold}");
}
