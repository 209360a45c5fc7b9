package dev.ptwalk.cli.demo;

import dev.ptwalk.runtime.trace.TraceEvent;
import dev.ptwalk.samples.driver.SyncReport;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo as a picture: for each frame, each VMA's pages coloured by their state before the
 * sync, and under them the sync's notifier brackets and TLB flush ranges in that VMA's
 * coordinates. Written as XHTML with inline SVG, so it is well-formed XML and needs no scripts.
 */
public final class HtmlReport {
  private static final int CELL = 16;
  private static final int LABEL = 150;

  private HtmlReport() {}

  /** The page for a finished demo run. */
  public static String render(DriverDemo.Options options, DriverDemo.Result r) {
    StringBuilder h = new StringBuilder();
    h.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .append("<!DOCTYPE html>\n")
        .append("<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n")
        .append("<meta charset=\"UTF-8\"/>\n<title>ptwalk demo</title>\n<style>\n")
        .append("body{font-family:sans-serif;margin:24px;color:#222}")
        .append("h2{font-size:16px;margin:20px 0 4px}")
        .append(".legend span{display:inline-block;margin-right:14px}")
        .append(".sw{display:inline-block;width:12px;height:12px;margin-right:4px;")
        .append("vertical-align:middle;border:1px solid #888}")
        .append("text{font-size:11px;font-family:monospace}\n</style>\n</head>\n<body>\n")
        .append("<h1>ptwalk demo: a dirty-tracking driver</h1>\n");
    h.append(String.format(Locale.ROOT, "<p>seed %d, %d frames, %d accesses per frame, %d-page"
        + " buffer, %s sync, %s hardware. Pages are shown as they were just before each frame's"
        + " sync.</p>%n", options.seed(), options.frames(), options.writesPerFrame(),
        options.pages(), options.mode(), options.hardware()));
    h.append("<p class=\"legend\">")
        .append(swatch("#d9534f", "dirty")).append(swatch("#5cb85c", "writable, clean"))
        .append(swatch("#bbbbbb", "write-protected, clean")).append(swatch("#ffffff",
            "not present"))
        .append(swatch("#337ab7", "notifier bracket")).append(swatch("#f0ad4e", "TLB flush"))
        .append("</p>\n");
    for (DriverDemo.VmaView v : r.vmas()) {
      h.append(String.format(Locale.ROOT, "<p data-vma=\"%s\">VMA of process %s: pgoff %d..%d"
          + " at 0x%x</p>%n", v.mm(), v.mm(), v.pgoff(), v.pgoff() + v.pages() - 1, v.start()));
    }
    for (DriverDemo.Frame f : r.frames()) {
      frame(h, r.vmas(), f);
    }
    h.append(String.format(Locale.ROOT, "<p id=\"end-to-end\">%s</p>%n", r.mismatched().isEmpty()
        ? "After the last sync the device copy equals CPU memory on every page."
        : "The device copy differs from CPU memory on pages " + r.mismatched() + "."));
    return h.append("</body>\n</html>\n").toString();
  }

  private static String swatch(String color, String label) {
    return "<span><span class=\"sw\" style=\"background:" + color + "\"></span>" + label
        + "</span>";
  }

  private static void frame(StringBuilder h, List<DriverDemo.VmaView> vmas, DriverDemo.Frame f) {
    SyncReport s = f.sync();
    h.append(String.format(Locale.ROOT, "<section class=\"sync\" data-frame=\"%d\">%n<h2>Frame %d:"
        + " %d accesses, stores to %d pages; the sync found %d dirty, opened %d brackets, made %d TLB"
        + " flushes</h2>%n", f.number(), f.number(), f.accesses(), f.pagesWritten().size(),
        s.dirtyPages().size(), s.brackets().size(), s.flushes().size()));
    long maxPages = vmas.stream().mapToLong(DriverDemo.VmaView::pages).max().orElse(1);
    int rowHeight = 3 * CELL + 10;
    int width = LABEL + (int) maxPages * CELL + 40;
    int height = vmas.size() * rowHeight + 4;
    h.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\""
        + " height=\"%d\" role=\"img\">%n", width, height));
    for (int i = 0; i < vmas.size(); i++) {
      DriverDemo.VmaView v = vmas.get(i);
      int y = i * rowHeight;
      h.append(String.format(Locale.ROOT, "<g data-vma=\"%s\">%n<text x=\"0\" y=\"%d\">%s"
          + " pages</text>%n", v.mm(), y + 12, v.mm()));
      List<Character> states = f.states().get(i);
      for (int p = 0; p < states.size(); p++) {
        h.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\""
            + " fill=\"%s\" stroke=\"#888\"><title>pgoff %d: %s</title></rect>%n",
            LABEL + p * CELL, y, CELL - 2, CELL - 2, color(states.get(p)), v.pgoff() + p,
            describe(states.get(p))));
      }
      h.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"%d\">bracket</text>%n",
          y + CELL + 11));
      Map<List<Long>, Integer> brackets = new LinkedHashMap<>();
      for (TraceEvent.NotifierStart n : s.brackets()) {
        if (n.mm().equals(v.mm())) {
          brackets.merge(List.of(n.start(), n.end()), 1, Integer::sum);
        }
      }
      brackets.forEach((r, count) -> bar(h, v, r.get(0), r.get(1), count, y + CELL + 2,
          "#337ab7", "data-bracket", "PROTECTION_PAGE bracket"));
      h.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"%d\">TLB flush</text>%n",
          y + 2 * CELL + 11));
      Map<List<Long>, Integer> flushes = new LinkedHashMap<>();
      for (TraceEvent.TlbFlush fl : s.flushes()) {
        if (fl.mm().equals(v.mm())) {
          flushes.merge(List.of(fl.start(), fl.end()), 1, Integer::sum);
        }
      }
      flushes.forEach((r, count) -> bar(h, v, r.get(0), r.get(1), count, y + 2 * CELL + 2,
          "#f0ad4e", "data-flush", "flush_tlb_range"));
      h.append("</g>\n");
    }
    h.append("</svg>\n</section>\n");
  }

  /** A bar over {@code [start, end)} of the VMA; {@code count} events with that same range. */
  private static void bar(StringBuilder h, DriverDemo.VmaView v, long start, long end, int count,
      int y, String color, String attribute, String what) {
    long from = Math.max(0, (start - v.start()) / 4096);
    long to = Math.min(v.pages(), (end - v.start() + 4095) / 4096);
    if (to <= from) {
      return;
    }
    h.append(String.format(Locale.ROOT, "<rect %s=\"%s\" data-count=\"%d\" x=\"%d\" y=\"%d\""
        + " width=\"%d\" height=\"%d\" fill=\"%s\"><title>%s%s [0x%x, 0x%x)</title></rect>%n",
        attribute, v.mm(), count, LABEL + from * CELL, y, (to - from) * CELL - 2, CELL - 6, color,
        count > 1 ? count + " x " : "", what, start, end));
    if (count > 1) {
      h.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">\u00d7%d</text>%n",
          LABEL + to * CELL + 2, y + CELL - 7, count));
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
