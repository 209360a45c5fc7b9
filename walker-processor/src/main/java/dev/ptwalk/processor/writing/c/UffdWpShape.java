package dev.ptwalk.processor.writing.c;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code PER_TABLE_FLUSH} as the write-protecting {@code PAGEMAP_SCAN} of {@code
 * fs/proc/task_mmu.c} writes it: one bracket over the range ({@code do_pagemap_scan}); each page
 * table walked under its lock and flushed before the lock drops ({@code pagemap_scan_pmd_entry},
 * {@code make_uffd_wp_pte}); holes filled with markers ({@code pagemap_scan_pte_hole}).
 */
final class UffdWpShape extends CShape {
  UffdWpShape(String p, List<CWalker> walkers) {
    super(p, "uffd_wp", "uwwalk", walkers);
  }

  @Override
  String shapeText() {
    CWalker w = walkers.get(0);
    return "in the shape of the write-protecting PAGEMAP_SCAN of fs/proc/task_mmu.c"
        + " (PM_SCAN_WP_MATCHING, every page matching): under " + lockWords(w) + ", one "
        + w.kind().event().orElseThrow() + " notifier bracket covers the walk; each page table"
        + " is walked under its lock and its TLB flushed before the lock is dropped, from the"
        + " first PTE changed; an empty PTE gets a uffd-wp marker.";
  }

  @Override
  Set<String> includes() {
    Set<String> out = new TreeSet<>(List.of("linux/pagewalk.h", "linux/hugetlb.h",
        "linux/mmu_notifier.h", "linux/swapops.h", "linux/userfaultfd_k.h", "asm/tlbflush.h"));
    if (anyBitmap()) {
      out.add("linux/bitmap.h");
      out.add("linux/bitops.h");
    }
    return out;
  }

  @Override
  void write(CText out) {
    out.blank();
    out.doc(CText.Doc.struct(walkStruct(), "State of a " + kinds(walkers, "or") + " walk")
        .param("total", "Number of PTEs changed, uffd-wp markers installed included"));
    out.open("struct " + walkStruct() + " {").line("unsigned long total;").close("};");
    bitmapStructs(out);
    nonpresent(out);
    hugePmdHelper(out, "it is not write-protected already");
    pudEntry(out, fn("huge_pmd"));
    testWalk(out);
    for (CWalker w : walkers) {
      pmdEntry(out, w);
      pteHole(out, w);
      ops(out, w, "pmd_entry", w.fn("pmd_entry"), "pud_entry", fn("pud_entry"), "pte_hole",
          w.fn("pte_hole"), "test_walk", fn("test_walk"));
      entry(out, w);
    }
  }

  /** {@code make_uffd_wp_pte} for an entry that maps no page. */
  private void nonpresent(CText out) {
    out.blank();
    out.doc(CText.Doc.function(fn("nonpresent"), "Write-protect a PTE that maps no page")
        .param("vma", "VMA of the PTE")
        .param("addr", "Address the PTE maps")
        .param("pte", "The PTE, its table locked")
        .param("ptent", "Value of the PTE")
        .para("The " + leaves() + (walkers.size() == 1 ? " reads" : " read") + " present PTEs"
            + " only. An empty PTE gets a uffd-wp marker, so that the first store to the page"
            + " faults; a swap entry gets its uffd-wp bit. An entry already write-protected"
            + " either way is left as it is.")
        .returns("True if the PTE was changed."));
    out.signature("static bool", fn("nonpresent"), List.of("struct vm_area_struct *vma",
        "unsigned long addr", "pte_t *pte", "pte_t ptent"), "");
    out.raw("{").in();
    out.open("if (pte_none(ptent)) {");
    out.line("set_pte_at(vma->vm_mm, addr, pte, make_pte_marker(PTE_MARKER_UFFD_WP));");
    out.line("return true;");
    out.close("}");
    out.when("if (pte_swp_uffd_wp_any(ptent))", "return false;");
    out.line("set_pte_at(vma->vm_mm, addr, pte, pte_swp_mkuffd_wp(ptent));");
    out.blank();
    out.line("return true;");
    out.out().raw("}");
  }

  /** {@code pagemap_scan_pmd_entry} with {@code PM_SCAN_WP_MATCHING}, around the leaf. */
  private void pmdEntry(CText out, CWalker w) {
    out.blank();
    out.doc(CText.Doc.function(w.fn("pmd_entry"), "Apply " + w.leafName() + "() to one page"
            + " table")
        .param("pmd", "The PMD pointing to the page table")
        .param("start", "Start of the range walked in it")
        .param("end", "End of that range")
        .param("walk", "The walk")
        .para(generated(w, "pmd_entry", "Under the page table lock, for each PTE: a plain read"
            + " tells whether the leaf changes it at all; if it does, the PTE is taken atomically"
            + " and the leaf applied to the value taken, so that no accessed or dirty bit set by"
            + " the hardware in between is lost. A PTE that maps no page is write-protected"
            + " without the leaf. The TLB is flushed from the first PTE changed to @end before"
            + " the lock is dropped."))
        .returns("0, to go on walking."));
    out.signature("static int", w.fn("pmd_entry"), entryParams("pmd_t", "pmd", "start"), "");
    out.raw("{").in();
    out.line("struct " + walkStruct() + " *" + var + " = walk->private;");
    if (w.bitmap()) {
      bitmapLocal(out, w);
    }
    out.line("struct vm_area_struct *vma = walk->vma;");
    out.line("unsigned long addr, " + (w.bitmap() ? "bit, " : "") + "flush_start = end;");
    out.line("pte_t *start_pte, *pte, ptent, old_pte;");
    out.line("spinlock_t *ptl;");
    out.blank();
    out.when("if (" + fn("huge_pmd") + "(pmd, walk))", "return 0;");
    out.blank();
    out.line("start_pte = pte_offset_map_lock(walk->mm, pmd, start, &ptl);");
    out.open("if (!start_pte) {");
    out.line("walk->action = ACTION_AGAIN;");
    out.line("return 0;");
    out.close("}");
    out.line("for (addr = start, pte = start_pte; addr != end;");
    out.open("     addr += PAGE_SIZE, pte++) {");
    out.line("ptent = ptep_get(pte);");
    out.open("if (pte_present(ptent)) {");
    out.when("if (pte_same(" + w.leafCall("ptent", "vma") + ", ptent))", "continue;");
    out.line("old_pte = ptep_modify_prot_start(vma, addr, pte);");
    out.line("ptent = " + w.leafCall("old_pte", "vma") + ";");
    out.line("ptep_modify_prot_commit(vma, addr, pte, old_pte, ptent);");
    out.close("} else if (!" + fn("nonpresent") + "(vma, addr, pte, ptent)) {");
    out.in().line("continue;");
    out.close("}");
    out.line(var + "->total++;");
    out.line("flush_start = min(flush_start, addr);");
    if (w.bitmap()) {
      recordBit(out, w, "vma");
    }
    out.close("}");
    out.when("if (flush_start < end)", "flush_tlb_range(vma, flush_start, end);");
    out.line("pte_unmap_unlock(start_pte, ptl);");
    out.blank();
    out.line("cond_resched();");
    out.line("return 0;");
    out.out().raw("}");
  }

  /** {@code pagemap_scan_pte_hole}: markers where there is no page table. */
  private void pteHole(CText out, CWalker w) {
    out.blank();
    out.doc(CText.Doc.function(w.fn("pte_hole"), "Write-protect a range without a page table")
        .param("addr", "Start of the range")
        .param("end", "End of the range")
        .param("depth", "Level of the empty entry")
        .param("walk", "The walk")
        .para(generated(w, "pte_hole", "Inside a VMA, the range gets page tables filled with"
            + " uffd-wp markers, so that the first store to any of its pages faults; outside one"
            + " there is nothing to protect.", "If any page was protected, the bits of the whole"
            + " range are set and the window of bits set widened.", ", and if any page was"
            + " protected the bits of the whole range are set"))
        .returns("0 to go on walking, or the error that ends the walk."));
    out.signature("static int", w.fn("pte_hole"), List.of("unsigned long addr",
        "unsigned long end", "int depth", "struct mm_walk *walk"), "");
    out.raw("{").in();
    out.line("struct " + walkStruct() + " *" + var + " = walk->private;");
    if (w.bitmap()) {
      bitmapLocal(out, w);
      out.line("unsigned long bit, nr;");
    }
    out.line("long pages;");
    out.blank();
    out.when("if (!walk->vma)", "return 0;");
    out.line("pages = uffd_wp_range(walk->vma, addr, end - addr, true);");
    out.when("if (pages < 0)", "return pages;");
    out.line(var + "->total += pages;");
    if (w.bitmap()) {
      out.when("if (!pages)", "return 0;");
      out.blank();
      out.line("bit = (addr - bwalk->bitmap_start) >> PAGE_SHIFT;");
      out.line("nr = (end - addr) >> PAGE_SHIFT;");
      out.line("bitmap_set(bwalk->bitmap, bit, nr);");
      out.line("bwalk->start = min(bwalk->start, bit);");
      out.line("bwalk->end = max(bwalk->end, bit + nr);");
    }
    out.blank();
    out.line("return 0;");
    out.out().raw("}");
  }

  private void entry(CText out, CWalker w) {
    String event = w.kind().event().orElseThrow().name();
    entryHead(out, w, "Under " + lockWords(w) + ", inside one " + event + " notifier bracket"
        + " over the range, applies the leaf to every PTE of each VMA registered for asynchronous"
        + " userfaultfd write-protect. Each page table's TLB flush is done under its lock, so no"
        + " pending flush count is needed. An allocation failure while filling an empty range"
        + " with markers ends the walk early.",
        "The number of PTEs changed, 0 for an empty or invalid range.");
    out.raw("{").in();
    entryState(out, w);
    out.line("struct mmu_notifier_range range;");
    out.blank();
    rangeChecks(out);
    out.blank();
    out.line(lockCall(w, false));
    out.line("mmu_notifier_range_init(&range, MMU_NOTIFY_" + event + ", 0, mm, start, end);");
    out.line("mmu_notifier_invalidate_range_start(&range);");
    out.line("walk_page_range(mm, start, end, &" + w.fn("ops") + ", " + walkArg(w) + ");");
    out.line("mmu_notifier_invalidate_range_end(&range);");
    out.line(lockCall(w, true));
    entryEnd(out, w);
  }
}
