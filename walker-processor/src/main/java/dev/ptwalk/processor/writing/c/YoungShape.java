package dev.ptwalk.processor.writing.c;

import dev.ptwalk.processor.model.Scope;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code CLEAR_YOUNG_NOTIFY} as the aging walkers of {@code mm/} write it (DAMON's {@code
 * damon_mkold_pmd_entry()}, idle page tracking's {@code page_idle_clear_pte_refs_one()}): {@code
 * ptep_clear_young_notify()} on each PTE the leaf changes, the folio marked young; no bracket, no
 * flush.
 */
final class YoungShape extends CShape {
  YoungShape(String p, List<CWalker> walkers) {
    super(p, "young", "ywalk", walkers);
  }

  @Override
  String changed() {
    return "made old";
  }

  @Override
  String shapeText() {
    return "in the shape of the aging walkers of mm/ (DAMON's damon_mkold_pmd_entry(), idle page"
        + " tracking): each young PTE is made old with ptep_clear_young_notify(), which ages the"
        + " secondary MMUs' mappings of the page too, and the page's folio is marked young so"
        + " that reclaim still counts the access.";
  }

  @Override
  List<String> moreParagraphs() {
    return List.of("There is no notifier bracket and no TLB flush. Clearing the accessed bit"
        + " takes no permission away: a CPU that still caches the old entry only skips setting"
        + " the bit again, so the page may look idle while it is in use, which costs aging"
        + " accuracy and never data. On x86 the kernel's own ptep_clear_flush_young() flushes"
        + " nothing for that reason.");
  }

  @Override
  Set<String> includes() {
    Set<String> out = new TreeSet<>(List.of("linux/pagewalk.h", "linux/hugetlb.h",
        "linux/mmu_notifier.h", "linux/page_idle.h"));
    if (anyBitmap()) {
      out.add("linux/bitops.h");
    }
    return out;
  }

  @Override
  void write(CText out) {
    out.blank();
    out.doc(CText.Doc.struct(walkStruct(), "State of a " + kinds(walkers, "or") + " walk")
        .param("total", "Number of PTEs made old"));
    out.open("struct " + walkStruct() + " {").line("unsigned long total;").close("};");
    bitmapStructs(out);
    pmdEntry(out);
    pudEntry(out, fn("pmd_entry"));
    testWalk(out);
    for (CWalker w : walkers) {
      pte(out, w);
      ops(out, w, "pte_entry", w.fn("pte"), "pmd_entry", fn("pmd_entry"), "pud_entry",
          fn("pud_entry"), "test_walk", fn("test_walk"));
      entry(out, w);
    }
  }

  private void pmdEntry(CText out) {
    boolean resched = any(Scope.MM);
    out.blank();
    out.doc(CText.Doc.function(fn("pmd_entry"), "Skip a huge PMD, never split it")
        .param("pmd", "The PMD")
        .param("addr", "Start of the range it maps")
        .param("end", "End of that range")
        .param("walk", "The walk")
        .para("The " + leaves() + (walkers.size() == 1 ? " works" : " work") + " on PTEs only: a"
            + " huge PMD is stepped over, with a warning if it is young."
            + (resched ? " A walk may cover a whole mm, so the CPU is given up between page"
                + " tables when needed." : ""))
        .returns("0, to go on walking."));
    out.signature("static int", fn("pmd_entry"), entryParams("pmd_t", "pmd", "addr"), "");
    out.raw("{").in();
    skipHugePmd(out, resched);
    out.out().raw("}");
  }

  /** {@code damon_ptep_mkold} / {@code page_idle_clear_pte_refs_one} around the leaf. */
  private void pte(CText out, CWalker w) {
    pteEntryOpen(out, w, pteEntryDoc(w, "Apply " + w.leafName() + "()")
        .para(generated(w, "pte", "A plain read tells whether the leaf changes the PTE at all."
            + " If it does, the accessed bit is cleared atomically, in the PTE and in the"
            + " secondary MMUs' mappings of the page; when either was young, the PTE is counted"
            + " and the page's folio marked young."))
        .returns("0, to go on walking."),
        "struct folio *folio;");
    out.when("if (!pte_present(ptent))", "return 0;");
    out.when("if (pte_same(" + w.leafCall("ptent", "walk->vma") + ", ptent))", "return 0;");
    out.blank();
    out.when("if (!ptep_clear_young_notify(walk->vma, addr, pte))", "return 0;");
    out.line("folio = vm_normal_folio(walk->vma, addr, ptent);");
    out.when("if (folio)", "folio_set_young(folio);");
    out.line(var + "->total++;");
    if (w.bitmap()) {
      out.blank();
      recordBit(out, w, "walk->vma");
    }
    out.blank();
    out.line("return 0;");
    out.out().raw("}");
  }

  private void entry(CText out, CWalker w) {
    if (w.scope() == Scope.MAPPING) {
      entryHead(out, w, "Under " + lockWords(w) + ", walks each VMA that maps part of the range,"
          + " applying the leaf to every PTE of it.", "The number of PTEs made old. A page"
          + " mapped by several VMAs counts once per VMA.");
      out.raw("{").in();
      entryState(out, w);
      out.blank();
      mappingWalk(out, w);
    } else {
      entryHead(out, w, "Under " + lockWords(w) + ", applies the leaf to every PTE of the"
          + " range.", "The number of PTEs made old, 0 for an empty or invalid range.");
      out.raw("{").in();
      entryState(out, w);
      out.blank();
      rangeChecks(out);
      out.blank();
      out.line(lockCall(w, false));
      out.line("walk_page_range(mm, start, end, &" + w.fn("ops") + ", " + walkArg(w) + ");");
      out.line(lockCall(w, true));
    }
    entryEnd(out, w);
  }
}
