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
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** bin/ptwalk demo, the main job: its table, its end-to-end check and its page. */
@Timeout(120)
class DemoTest {
  private static final String XHTML = "http://www.w3.org/1999/xhtml";
  private static final String SVG = "http://www.w3.org/2000/svg";

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
  void theTwoTrackersMapSharedMemoryAndPassTheEndToEndCheck() {
    for (String mode : List.of("SOFT_DIRTY", "UFFD_WP")) {
      List<String> lines = demo(0, "--mode", mode).lines().toList();
      assertEquals("buffer: 32 pages, VM_SHARED|VM_WRITE (shared memory)", lines.get(1));
      assertEquals("end-to-end: after the last sync the device copy equals CPU memory for all"
          + " 32 pages", lines.get(lines.size() - 1), mode);
    }
    assertTrue(demo(0, "--mode", "SOFT_DIRTY").lines().skip(6).findFirst().orElseThrow()
        .endsWith("A[all] B[all]"), "flush_tlb_mm shows as the whole mm");
  }

  /**
   * With a secondary MMU attached, the page draws its sptes under A's PTEs before and after every
   * sync, and its timeline lane says what each of A's brackets did to them: zapped them under
   * ZAP, made them read-only under WRPROTECT (PROTECTION_PAGE only takes write permission away).
   */
  @Test
  void aSecondaryMmusSptesAndStepsAreOnThePage() throws Exception {
    for (String policy : List.of("ZAP", "WRPROTECT")) {
      Path page = dir.resolve(policy + ".html");
      String out = demo(0, "--frames", "3", "--kvm", policy, "--html", page.toString());
      assertTrue(out.contains("a secondary MMU (KVM, " + policy + " policy) on process A"), out);
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setNamespaceAware(true);
      Document doc = f.newDocumentBuilder().parse(page.toFile());
      NodeList groups = doc.getElementsByTagNameNS(SVG, "g");
      int spteRows = 0;
      for (int g = 0; g < groups.getLength(); g++) {
        Element row = (Element) groups.item(g);
        if (row.getAttribute("data-row-kind").equals("spte")) {
          assertEquals(32, row.getElementsByTagNameNS(SVG, "rect").getLength(),
              "a cell per page of A");
          spteRows++;
        }
      }
      assertEquals(6, spteRows, "before and after each of 3 syncs");
      List<String> details = new java.util.ArrayList<>();
      NodeList cells = doc.getElementsByTagNameNS(XHTML, "td");
      for (int c = 0; c < cells.getLength(); c++) {
        Element cell = (Element) cells.item(c);
        if (cell.getAttribute("data-kind").equals("SPTES")) {
          assertEquals("kvm (A)", cell.getAttribute("data-row"));
          details.add(cell.getTextContent());
        }
      }
      assertTrue(!details.isEmpty(), policy + ": the secondary MMU's lane has steps");
      String verb = policy.equals("ZAP") ? "zapped pgoff" : "made read-only pgoff";
      assertTrue(details.stream().allMatch(d -> d.contains(verb)), details::toString);
    }
  }

  @Test
  void theHtmlPageIsWellFormedAndShowsEveryVmaAndEverySync() throws Exception {
    Path page = dir.resolve("out.html");
    demo(0, "--frames", "4", "--html", page.toString());
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    Document doc = f.newDocumentBuilder().parse(page.toFile()); // throws if not well-formed
    List<Element> sections = new java.util.ArrayList<>();
    NodeList all = doc.getElementsByTagNameNS(XHTML, "section");
    for (int i = 0; i < all.getLength(); i++) {
      if (((Element) all.item(i)).getAttribute("class").equals("sync")) {
        sections.add((Element) all.item(i));
      }
    }
    assertEquals(4, sections.size(), "4 frames: every one in full");
    for (int i = 0; i < sections.size(); i++) {
      Element s = sections.get(i);
      assertEquals(String.valueOf(i + 1), s.getAttribute("data-frame"));
      NodeList groups = s.getElementsByTagNameNS(SVG, "g");
      int vmaRows = 0;
      for (int g = 0; g < groups.getLength(); g++) {
        Element row = (Element) groups.item(g);
        if (row.getAttribute("data-row-kind").equals("vma")) {
          int cells = row.getElementsByTagNameNS(SVG, "rect").getLength();
          assertEquals(row.getAttribute("data-row").equals("A") ? 32 : 24, cells,
              "every page of the VMA");
          vmaRows++;
        }
      }
      assertEquals(4, vmaRows, "each VMA before and after the sync");
      // The timeline: for each VMA, each walker opens a bracket and closes it, in order.
      List<String> kinds = new java.util.ArrayList<>();
      NodeList cells = s.getElementsByTagNameNS(XHTML, "td");
      for (int c = 0; c < cells.getLength(); c++) {
        Element cell = (Element) cells.item(c);
        if (cell.hasAttribute("data-kind") && !cell.getAttribute("data-kind").equals("TLB_DROP")
            && !cell.getAttribute("data-kind").equals("PTE_CHANGES")) {
          kinds.add(cell.getAttribute("data-row") + " " + cell.getAttribute("data-kind"));
        }
      }
      // Per walker, per VMA: start, cache flush, a TLB flush if it changed a PTE, end; then the
      // copy, last.
      String bracket = "(W NOTIFIER_START;W CACHE_FLUSH;(W TLB_FLUSH;)?W NOTIFIER_END;){2}";
      String order = bracket.replace("W", "DirtyHelpersWalkers\\.applyAsWrprotect")
          + bracket.replace("W", "DirtyHelpersWalkers\\.applyAsClean") + "driver COPY;";
      String seen = String.join(";", kinds) + ";";
      assertTrue(seen.matches(order), seen);
      assertTrue(kinds.contains("DirtyHelpersWalkers.applyAsWrprotect TLB_FLUSH"), seen);
    }
    Element endToEnd = null;
    NodeList paragraphs = doc.getElementsByTagNameNS("http://www.w3.org/1999/xhtml", "p");
    for (int i = 0; i < paragraphs.getLength(); i++) {
      if (((Element) paragraphs.item(i)).getAttribute("id").equals("end-to-end")) {
        endToEnd = (Element) paragraphs.item(i);
      }
    }
    assertTrue(endToEnd != null, "the page ends with the end-to-end check");
    assertEquals("After the last sync the device copy equals CPU memory on every page.",
        endToEnd.getTextContent());
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
