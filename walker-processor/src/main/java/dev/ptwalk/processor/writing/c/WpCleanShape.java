package dev.ptwalk.processor.writing.c;

import dev.ptwalk.processor.model.Scope;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code PER_VMA_BRACKET} as {@code mm/mapping_dirty_helpers.c} writes it: {@code wp_clean_pre_vma}
 * opens a bracket per VMA, {@code wp_pte} / {@code clean_record_pte} apply the leaf and widen the
 * flush range, {@code wp_clean_post_vma} flushes it and closes the bracket.
 */
final class WpCleanShape extends CShape {
  WpCleanShape(String p, List<CWalker> walkers) {
    super(p, "wp_clean", "wpwalk", walkers);
  }

  @Override
  String shapeText() {
    return "in the shape of mm/mapping_dirty_helpers.c: each @PteCallback method becomes a leaf"
        + " function, a pte_entry that applies it, an mm_walk_ops table and an entry point that"
        + " walks every VMA mapping a file range.";
  }

  @Override
  Set<String> includes() {
    Set<String> out = new TreeSet<>(List.of("linux/pagewalk.h", "linux/hugetlb.h",
        "linux/mmu_notifier.h", "linux/mm_inline.h", "asm/cacheflush.h", "asm/tlbflush.h"));
    if (anyBitmap()) {
      out.add("linux/bitops.h");
    }
    return out;
  }

  @Override
  void write(CText out) {
    out.blank();
    out.doc(CText.Doc.struct(walkStruct(), "State of a " + kinds(walkers, "or") + " walk")
        .param("range", "Notifier range of the VMA being walked")
        .param("tlbflush_start", "Lowest address of a PTE changed in that VMA")
        .param("tlbflush_end", "Highest address of a PTE changed in that VMA, plus PAGE_SIZE")
        .param("total", "Number of PTEs changed, over all VMAs"));
    out.open("struct " + walkStruct() + " {")
        .line("struct mmu_notifier_range range;")
        .line("unsigned long tlbflush_start;")
        .line("unsigned long tlbflush_end;")
        .line("unsigned long total;")
        .close("};");
    bitmapStructs(out);
    pmdEntry(out);
    pudEntry(out, fn("pmd_entry"));
    testWalk(out);
    preVma(out);
    postVma(out);
    for (CWalker w : walkers) {
      pte(out, w);
      ops(out, w, "pte_entry", w.fn("pte"), "pmd_entry", fn("pmd_entry"), "pud_entry",
          fn("pud_entry"), "test_walk", fn("test_walk"), "pre_vma", fn("pre_vma"), "post_vma",
          fn("post_vma"));
      entry(out, w);
    }
  }

  private void pmdEntry(CText out) {
    out.blank();
    out.doc(CText.Doc.function(fn("pmd_entry"), "Skip a huge PMD, never split it")
        .param("pmd", "The PMD")
        .param("addr", "Start of the range it maps")
        .param("end", "End of that range")
        .param("walk", "The walk")
        .para("The " + leaves() + (walkers.size() == 1 ? " works" : " work") + " on PTEs only."
            + " Splitting a huge PMD here would lose its dirty state, so it is stepped over, with"
            + " a warning if it holds state the " + leaves() + " would have changed."
            + (any(Scope.MM) ? " A walk may cover a whole mm, so the CPU is given up between"
                + " page tables when needed." : ""))
        .returns("0, to go on walking."));
    out.signature("static int", fn("pmd_entry"), entryParams("pmd_t", "pmd", "addr"), "");
    out.raw("{").in();
    skipHugePmd(out, any(Scope.MM));
    out.out().raw("}");
  }

  private void preVma(CText out) {
    out.blank();
    out.doc(CText.Doc.function(fn("pre_vma"), "Open the bracket around one VMA")
        .param("start", "Start of the range walked in the VMA")
        .param("end", "End of that range")
        .param("walk", "The walk")
        .para("Secondary MMUs drop the range, virtually indexed caches are written back, and the"
            + " mm counts a pending TLB flush, so that a concurrent walker of the same range knows"
            + " its own flush may be nested in this one. The range of PTEs to flush starts empty"
            + " and grows with each PTE changed.")
        .returns("0, to walk the VMA."));
    out.signature("static int", fn("pre_vma"), List.of("unsigned long start", "unsigned long end",
        "struct mm_walk *walk"), "");
    out.raw("{").in();
    out.line("struct " + walkStruct() + " *" + var + " = walk->private;");
    out.blank();
    out.line(var + "->tlbflush_start = end;");
    out.line(var + "->tlbflush_end = start;");
    out.blank();
    out.line("mmu_notifier_range_init(&" + var + "->range, MMU_NOTIFY_"
        + firstKind().event().orElseThrow() + ", 0, walk->mm, start, end);");
    out.line("mmu_notifier_invalidate_range_start(&" + var + "->range);");
    out.line("flush_cache_range(walk->vma, start, end);");
    out.line("inc_tlb_flush_pending(walk->mm);");
    out.blank();
    out.line("return 0;");
    out.out().raw("}");
  }

  private void postVma(CText out) {
    out.blank();
    out.doc(CText.Doc.function(fn("post_vma"), "Flush and close the bracket of one VMA")
        .param("walk", "The walk")
        .para("Flushes the TLB over the PTEs changed, before the bracket closes. When another"
            + " walker is pending on the mm, it may have changed PTEs this one then found"
            + " unchanged and skipped, so the whole range is flushed."));
    out.signature("static void", fn("post_vma"), List.of("struct mm_walk *walk"), "");
    out.raw("{").in();
    out.line("struct " + walkStruct() + " *" + var + " = walk->private;");
    out.blank();
    out.open("if (mm_tlb_flush_nested(walk->mm))")
        .line("flush_tlb_range(walk->vma, " + var + "->range.start, " + var + "->range.end);")
        .close("else if (" + var + "->tlbflush_end > " + var + "->tlbflush_start)");
    out.in()
        .line("flush_tlb_range(walk->vma, " + var + "->tlbflush_start, " + var
            + "->tlbflush_end);")
        .out();
    out.blank();
    out.line("mmu_notifier_invalidate_range_end(&" + var + "->range);");
    out.line("dec_tlb_flush_pending(walk->mm);");
    out.out().raw("}");
  }

  /** {@code wp_pte} / {@code clean_record_pte} around the leaf. */
  private void pte(CText out, CWalker w) {
    pteEntryOpen(out, w, pteEntryDoc(w, "Apply " + w.leafName() + "()")
        .para(generated(w, "pte", "A plain read tells whether the leaf changes the PTE at all."
            + " If it does, the PTE is taken atomically and the leaf applied to the value taken,"
            + " so that no accessed or dirty bit set by the hardware in between is lost; the PTE"
            + " is counted and the range to flush widened. Swap and migration entries are not"
            + " PTEs the leaf can read."))
        .returns("0, to go on walking."),
        "pte_t old_pte;");
    out.when("if (!pte_present(ptent))", "return 0;");
    out.when("if (pte_same(" + w.leafCall("ptent", "walk->vma") + ", ptent))", "return 0;");
    out.blank();
    out.line("old_pte = ptep_modify_prot_start(walk->vma, addr, pte);");
    out.line("ptent = " + w.leafCall("old_pte", "walk->vma") + ";");
    out.line("ptep_modify_prot_commit(walk->vma, addr, pte, old_pte, ptent);");
    out.line(var + "->total++;");
    out.line(var + "->tlbflush_start = min(" + var + "->tlbflush_start, addr);");
    out.line(var + "->tlbflush_end = max(" + var + "->tlbflush_end, addr + PAGE_SIZE);");
    if (w.bitmap()) {
      out.blank();
      recordBit(out, w, "walk->vma");
    }
    out.blank();
    out.line("return 0;");
    out.out().raw("}");
  }

  private void entry(CText out, CWalker w) {
    entryHead(out, w, "Under " + lockWords(w) + ", walks each VMA that maps part of the range,"
        + " applying the leaf to every PTE of it, between a " + w.kind().event().orElseThrow()
        + " notifier bracket that ends with the TLB flush.", "The number of PTEs changed. A PTE"
        + " the leaf leaves as it was is not counted; a page mapped by several VMAs counts once"
        + " per VMA.");
    out.raw("{").in();
    entryState(out, w);
    out.blank();
    mappingWalk(out, w);
    entryEnd(out, w);
  }
}
