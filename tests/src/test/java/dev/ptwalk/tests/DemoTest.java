package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.cli.Ptwalk;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** bin/ptwalk demo, the main job: its table, its end-to-end check and its page. */
class DemoTest {
  @TempDir
  Path dir;

  private static String demo(int expectedStatus, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String[] all = new String[args.length + 1];
    all[0] = "demo";
    System.arraycopy(args, 0, all, 1, args.length);
    int status = Ptwalk.execute(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), all);
    assertEquals(expectedStatus, status, err.toString(StandardCharsets.UTF_8));
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void theDefaultRunPrintsATablePerFrameAndPassesTheEndToEndCheck() {
    String out = demo(0);
    List<String> lines = out.lines().toList();
    assertEquals("ptwalk demo: a vmwgfx-style dirty-tracking driver (seed 42, 6 frames, 12"
        + " accesses per frame, generated applyAsWrprotect + applyAsClean sync, x86 hardware)",
        lines.get(0));
    assertEquals("  process A maps pgoff 0..31 at 0x7f0000000000", lines.get(2));
    assertEquals("  process B maps pgoff 8..31 at 0x555500000000", lines.get(3));
    assertTrue(lines.get(5).startsWith("frame  access  pages written  found dirty  brackets"));
    for (int f = 1; f <= 6; f++) {
      assertTrue(lines.get(5 + f).startsWith(f + "      12      "), lines.get(5 + f));
    }
    assertEquals("end-to-end: after the last sync the device copy equals CPU memory for all 32"
        + " pages", lines.get(lines.size() - 1));
    assertEquals(out, demo(0), "seeded: the same run prints the same output");
    assertTrue(demo(0, "--mode", "FUSED").endsWith("for all 32 pages\n"));
    assertTrue(demo(0, "--mode", "CLEAN_ONLY").endsWith("for all 32 pages\n"));
  }

  @Test
  void theHtmlPageIsWellFormedAndShowsEveryVmaAndEverySync() throws Exception {
    Path page = dir.resolve("out.html");
    demo(0, "--frames", "4", "--html", page.toString());
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    Document doc = f.newDocumentBuilder().parse(page.toFile()); // throws if not well-formed
    NodeList sections = doc.getElementsByTagNameNS("http://www.w3.org/1999/xhtml", "section");
    assertEquals(4, sections.getLength());
    for (int i = 0; i < sections.getLength(); i++) {
      Element s = (Element) sections.item(i);
      assertEquals(String.valueOf(i + 1), s.getAttribute("data-frame"));
      NodeList groups = s.getElementsByTagNameNS("http://www.w3.org/2000/svg", "g");
      assertEquals(2, groups.getLength(), "one row per VMA in every sync");
      for (int g = 0; g < 2; g++) {
        Element row = (Element) groups.item(g);
        assertEquals(g == 0 ? "A" : "B", row.getAttribute("data-vma"));
        int cells = 0;
        int brackets = 0;
        int flushes = 0;
        NodeList rects = row.getElementsByTagNameNS("http://www.w3.org/2000/svg", "rect");
        for (int r = 0; r < rects.getLength(); r++) {
          Element rect = (Element) rects.item(r);
          if (rect.hasAttribute("data-bracket")) {
            brackets += Integer.parseInt(rect.getAttribute("data-count"));
          } else if (rect.hasAttribute("data-flush")) {
            flushes += Integer.parseInt(rect.getAttribute("data-count"));
          } else {
            cells++;
          }
        }
        assertEquals(g == 0 ? 32 : 24, cells, "every page of the VMA");
        assertEquals(2, brackets, "the wrprotect and the clean bracket of this VMA");
        assertTrue(flushes >= 1, "a flush of the pages the sync changed");
      }
    }
    assertTrue(doc.getElementById("end-to-end") != null || page.toFile().length() > 0);
    assertTrue(java.nio.file.Files.readString(page).contains(
        "After the last sync the device copy equals CPU memory on every page."));
  }

  @Test
  void cleanOnlyOnWeakHardwareFailsTheEndToEndCheck() {
    String out = demo(1, "--mode", "CLEAN_ONLY", "--hardware", "WEAK", "--frames", "40", "--seed",
        "1");
    assertTrue(out.contains("end-to-end: FAILED, the device copy differs from CPU memory on pages"),
        out);
  }

  @Test
  void aLongRunShowsProgressOnStderr() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Ptwalk.execute(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), "demo", "--frames", "200",
        "--writes", "2");
    assertEquals(0, status);
    List<String> progress = err.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals(10, progress.size(), progress::toString);
    assertEquals("ptwalk demo: frame 20/200", progress.get(0));
    assertEquals("ptwalk demo: frame 200/200", progress.get(9));
    assertTrue(!out.toString(StandardCharsets.UTF_8).contains("frame 20/200"),
        "progress stays off stdout");
  }

  @Test
  void badOptionsAreUsageErrors() {
    demo(2, "--pages", "3");
    demo(2, "--frames", "x");
  }
}
