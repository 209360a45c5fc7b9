package dev.ptwalk.cli.demo;

import static dev.ptwalk.cli.demo.HtmlWriter.SVG;
import static dev.ptwalk.cli.demo.HtmlWriter.XHTML;

import dev.ptwalk.runtime.trace.TraceEvent;
import dev.ptwalk.samples.driver.SyncReport;
import java.io.Writer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo as a picture: for each frame, each VMA's pages coloured by their state before the
 * sync, and under them the sync's notifier brackets and TLB flush ranges in that VMA's
 * coordinates. Written as XHTML with inline SVG through {@link HtmlWriter}, so it is well-formed
 * XML, every value is escaped, and it needs no scripts.
 */
public final class HtmlReport {
  private static final int CELL = 16;
  private static final int LABEL = 150;

  private HtmlReport() {}

  /** Write the page for a finished demo run to {@code out}. */
  public static void write(DriverDemo.Options options, DriverDemo.Result r, Writer out) {
    try (HtmlWriter h = new HtmlWriter(out)) {
      h.openIn(XHTML, "html", "lang", "en").newline().open("head").newline();
      h.open("meta", "charset", "UTF-8").end();
      h.element("title", "ptwalk demo");
      h.element("style", "body{font-family:sans-serif;margin:24px;color:#222}"
          + "h2{font-size:16px;margin:20px 0 4px}"
          + ".legend span{display:inline-block;margin-right:14px}"
          + ".sw{display:inline-block;width:12px;height:12px;margin-right:4px;"
          + "vertical-align:middle;border:1px solid #888}"
          + "text{font-size:11px;font-family:monospace}");
      h.end().open("body").newline();
      h.element("h1", "ptwalk demo: a dirty-tracking driver");
      h.element("p", String.format(Locale.ROOT, "seed %d, %d frames, %d accesses per frame, %d-page"
          + " buffer, %s sync, %s hardware. Pages are shown as they were just before each frame's"
          + " sync.", options.seed(), options.frames(), options.writesPerFrame(), options.pages(),
          options.mode(), options.hardware()));
      h.open("p", "class", "legend");
      swatch(h, "#d9534f", "dirty");
      swatch(h, "#5cb85c", "writable, clean");
      swatch(h, "#bbbbbb", "write-protected, clean");
      swatch(h, "#ffffff", "not present");
      swatch(h, "#337ab7", "notifier bracket");
      swatch(h, "#f0ad4e", "TLB flush");
      h.end();
      for (DriverDemo.VmaView v : r.vmas()) {
        h.element("p", String.format(Locale.ROOT, "VMA of process %s: pgoff %d..%d at 0x%x",
            v.mm(), v.pgoff(), v.pgoff() + v.pages() - 1, v.start()), "data-vma", v.mm());
      }
      for (DriverDemo.Frame f : r.frames()) {
        frame(h, r.vmas(), f);
      }
      h.element("p", r.mismatched().isEmpty()
          ? "After the last sync the device copy equals CPU memory on every page."
          : "The device copy differs from CPU memory on pages " + r.mismatched() + ".",
          "id", "end-to-end");
      h.end().end();
    }
  }

  private static void swatch(HtmlWriter h, String color, String label) {
    h.open("span").open("span", "class", "sw", "style", "background:" + color).endInline()
        .text(label).endInline();
  }

  private static void frame(HtmlWriter h, List<DriverDemo.VmaView> vmas, DriverDemo.Frame f) {
    SyncReport s = f.sync();
    h.open("section", "class", "sync", "data-frame", f.number()).newline();
    h.element("h2", String.format(Locale.ROOT, "Frame %d: %d accesses, stores to %d pages; the"
        + " sync found %d dirty, opened %d brackets, made %d TLB flushes", f.number(),
        f.accesses(), f.pagesWritten().size(), s.dirtyPages().size(), s.brackets().size(),
        s.flushes().size()));
    long maxPages = vmas.stream().mapToLong(DriverDemo.VmaView::pages).max().orElse(1);
    int rowHeight = 3 * CELL + 10;
    int width = LABEL + (int) maxPages * CELL + 40;
    int height = vmas.size() * rowHeight + 4;
    h.openIn(SVG, "svg", "width", width, "height", height, "role", "img").newline();
    for (int i = 0; i < vmas.size(); i++) {
      DriverDemo.VmaView v = vmas.get(i);
      int y = i * rowHeight;
      h.open("g", "data-vma", v.mm()).newline();
      h.element("text", v.mm() + " pages", "x", 0, "y", y + 12);
      List<Character> states = f.states().get(i);
      for (int p = 0; p < states.size(); p++) {
        h.open("rect", "x", LABEL + p * CELL, "y", y, "width", CELL - 2, "height", CELL - 2,
            "fill", color(states.get(p)), "stroke", "#888");
        h.inline("title", "pgoff " + (v.pgoff() + p) + ": " + describe(states.get(p))).end();
      }
      h.element("text", "bracket", "x", 0, "y", y + CELL + 11);
      Map<List<Long>, Integer> brackets = new LinkedHashMap<>();
      for (TraceEvent.NotifierStart n : s.brackets()) {
        if (n.mm().equals(v.mm())) {
          brackets.merge(List.of(n.start(), n.end()), 1, Integer::sum);
        }
      }
      brackets.forEach((r, count) -> bar(h, v, r.get(0), r.get(1), count, y + CELL + 2,
          "#337ab7", "data-bracket", "PROTECTION_PAGE bracket"));
      h.element("text", "TLB flush", "x", 0, "y", y + 2 * CELL + 11);
      Map<List<Long>, Integer> flushes = new LinkedHashMap<>();
      for (TraceEvent.TlbFlush fl : s.flushes()) {
        if (fl.mm().equals(v.mm())) {
          flushes.merge(List.of(fl.start(), fl.end()), 1, Integer::sum);
        }
      }
      flushes.forEach((r, count) -> bar(h, v, r.get(0), r.get(1), count, y + 2 * CELL + 2,
          "#f0ad4e", "data-flush", "flush_tlb_range"));
      h.end();
    }
    h.end().end();
  }

  /** A bar over {@code [start, end)} of the VMA; {@code count} events with that same range. */
  private static void bar(HtmlWriter h, DriverDemo.VmaView v, long start, long end, int count,
      int y, String color, String attribute, String what) {
    long from = Math.max(0, (start - v.start()) / 4096);
    long to = Math.min(v.pages(), (end - v.start() + 4095) / 4096);
    if (to <= from) {
      return;
    }
    h.open("rect", attribute, v.mm(), "data-count", count, "x", LABEL + from * CELL, "y", y,
        "width", (to - from) * CELL - 2, "height", CELL - 6, "fill", color);
    h.inline("title", String.format(Locale.ROOT, "%s%s [0x%x, 0x%x)",
        count > 1 ? count + " x " : "", what, start, end)).end();
    if (count > 1) {
      h.element("text", "\u00d7" + count, "x", LABEL + to * CELL + 2, "y", y + CELL - 7);
    }
  }

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
        return "dirty";
      case 'W':
        return "writable, clean";
      case 'R':
        return "write-protected, clean";
      default:
        return "not present";
    }
  }
}
