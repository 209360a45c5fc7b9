package dev.ptwalk.processor.writing.c;

import java.util.List;
import java.util.Set;

/**
 * {@code MMU_GATHER} as {@code madvise(MADV_FREE)} in Linux 6.12's {@code mm/madvise.c} writes
 * it: each VMA gets its own {@code mmu_gather} and {@code CLEAR} bracket ({@code
 * madvise_free_single_vma}), and each page table is walked folio by folio ({@code
 * madvise_free_pte_range}).
 */
final class LazyfreeShape extends CShape {
  LazyfreeShape(String p, List<CWalker> walkers) {
    super(p, "lazyfree", "lfwalk", walkers);
  }

  @Override
  String shapeText() {
    CWalker w = walkers.get(0);
    return "in the shape of madvise(MADV_FREE) in mm/madvise.c (madvise_free_single_vma(),"
        + " madvise_free_pte_range()): under " + lockWords(w) + ", each private anonymous VMA"
        + " gets its own mmu_gather and " + w.kind().event().orElseThrow() + " notifier bracket;"
        + " the PTEs changed are gathered and flushed together when the gather finishes, over"
        + " the whole mm if another walker is pending on it; folios are marked lazily freeable.";
  }

  @Override
  Set<String> includes() {
    return Set.of("linux/pagewalk.h", "linux/hugetlb.h", "linux/mmu_notifier.h",
        "linux/mm_inline.h", "linux/swap.h", "linux/swapops.h", "asm/tlb.h");
  }

  @Override
  boolean needsMmInternal() {
    return true;
  }

  @Override
  void write(CText out) {
    out.blank();
    out.doc(CText.Doc.struct(walkStruct(), "State of a " + kinds(walkers, "or") + " walk")
        .param("range", "Notifier range of the VMA being walked")
        .param("tlb", "Gather of the PTEs changed in that VMA, for one TLB flush")
        .param("total", "Number of PTEs changed, over all VMAs"));
    out.open("struct " + walkStruct() + " {")
        .line("struct mmu_notifier_range range;")
        .line("struct mmu_gather tlb;")
        .line("unsigned long total;")
        .close("};");
    swap(out);
    folioClean(out);
    hugePmdHelper(out, "it holds state the " + leaves() + " would have changed");
    pudEntry(out, fn("huge_pmd"));
    testWalk(out);
    preVma(out);
    postVma(out);
    for (CWalker w : walkers) {
      ptes(out, w);
      pmdEntry(out, w);
      ops(out, w, "pmd_entry", w.fn("pmd_entry"), "pud_entry", fn("pud_entry"), "test_walk",
          fn("test_walk"), "pre_vma", fn("pre_vma"), "post_vma", fn("post_vma"));
      entry(out, w);
    }
  }

  /** {@code madvise_free_pte_range}'s handling of a swap entry. */
  private void swap(CText out) {
    out.blank();
    out.doc(CText.Doc.function(fn("swap"), "Drop the swap copy of a page")
        .param("tlb", "The gather of the walk")
        .param("addr", "Address the entry maps")
        .param("pte", "The entry, its table locked")
        .param("ptent", "Value of the entry")
        .para("A page out in swap is not worth reading back once it may be freed: its swap entry"
            + " is released and the PTE cleared, so that the next access gets a fresh zeroed page."
            + " A poisoned entry is cleared too.")
        .returns("1 if a swap entry was released, 0 otherwise."));
    out.signature("static int", fn("swap"), List.of("struct mmu_gather *tlb", "unsigned long addr",
        "pte_t *pte", "pte_t ptent"), "");
    out.raw("{").in();
    out.line("swp_entry_t entry = pte_to_swp_entry(ptent);");
    out.blank();
    out.open("if (!non_swap_entry(entry)) {");
    out.line("free_swap_and_cache(entry);");
    out.line("pte_clear_not_present_full(tlb->mm, addr, pte, tlb->fullmm);");
    out.line("return 1;");
    out.close("}");
    out.when("if (is_hwpoison_entry(entry) || is_poisoned_swp_entry(entry))",
        "pte_clear_not_present_full(tlb->mm, addr, pte, tlb->fullmm);");
    out.blank();
    out.line("return 0;");
    out.out().raw("}");
  }

  /** {@code madvise_free_pte_range}'s cleaning of a dirty or swap-cached folio. */
  private void folioClean(CText out) {
    out.blank();
    out.doc(CText.Doc.function(fn("folio_clean"), "Clear the dirty state of a folio")
        .param("folio", "The folio, mapped by the PTEs about to be changed")
        .para("A dirty folio, or one in the swap cache, may only be freed lazily if this mm alone"
            + " maps it: then its dirty flag is cleared and its swap slot, if any, released, so"
            + " that reclaim may discard it while its PTEs stay clean.")
        .returns("False to leave the folio and its PTEs as they are."));
    out.signature("static bool", fn("folio_clean"), List.of("struct folio *folio"), "");
    out.raw("{").in();
    out.when("if (!folio_test_swapcache(folio) && !folio_test_dirty(folio))", "return true;");
    out.when("if (!folio_trylock(folio))", "return false;");
    out.open("if (folio_mapcount(folio) != folio_nr_pages(folio) || (folio_test_swapcache(folio)"
        + " && !folio_free_swap(folio))) {");
    out.line("folio_unlock(folio);");
    out.line("return false;");
    out.close("}");
    out.line("folio_clear_dirty(folio);");
    out.line("folio_unlock(folio);");
    out.blank();
    out.line("return true;");
    out.out().raw("}");
  }

  /** {@code madvise_free_single_vma} up to the walk. */
  private void preVma(CText out) {
    out.blank();
    out.doc(CText.Doc.function(fn("pre_vma"), "Start the gather and the bracket of a VMA")
        .param("start", "Start of the range walked in the VMA")
        .param("end", "End of that range")
        .param("walk", "The walk")
        .para("Folios still in per-CPU LRU batches are drained, so that they can be moved to the"
            + " lazyfree list. The gather counts a pending TLB flush on the mm, then secondary"
            + " MMUs drop the range.")
        .returns("0, to walk the VMA."));
    out.signature("static int", fn("pre_vma"), List.of("unsigned long start", "unsigned long end",
        "struct mm_walk *walk"), "");
    out.raw("{").in();
    out.line("struct " + walkStruct() + " *" + var + " = walk->private;");
    out.blank();
    out.line("mmu_notifier_range_init(&" + var + "->range, MMU_NOTIFY_"
        + firstKind().event().orElseThrow() + ", 0, walk->mm, start, end);");
    out.line("lru_add_drain();");
    out.line("tlb_gather_mmu(&" + var + "->tlb, walk->mm);");
    out.line("update_hiwater_rss(walk->mm);");
    out.line("mmu_notifier_invalidate_range_start(&" + var + "->range);");
    out.line("tlb_start_vma(&" + var + "->tlb, walk->vma);");
    out.blank();
    out.line("return 0;");
    out.out().raw("}");
  }

  /** {@code madvise_free_single_vma} after the walk. */
  private void postVma(CText out) {
    out.blank();
    out.doc(CText.Doc.function(fn("post_vma"), "Close the bracket and flush the gather")
        .param("walk", "The walk")
        .para("The gather flushes the TLB over the PTEs it collected when it finishes, after the"
            + " bracket closes; when another walker is pending on the mm, it may have changed PTEs"
            + " this one then found unchanged, so the whole mm is flushed. The pending flush count"
            + " drops last."));
    out.signature("static void", fn("post_vma"), List.of("struct mm_walk *walk"), "");
    out.raw("{").in();
    out.line("struct " + walkStruct() + " *" + var + " = walk->private;");
    out.blank();
    out.line("tlb_end_vma(&" + var + "->tlb, walk->vma);");
    out.line("mmu_notifier_invalidate_range_end(&" + var + "->range);");
    out.line("tlb_finish_mmu(&" + var + "->tlb);");
    out.out().raw("}");
  }

  /** The leaf on the PTEs of one folio, each gathered for the flush. */
  private void ptes(CText out, CWalker w) {
    out.blank();
    out.doc(CText.Doc.function(w.fn("ptes"), "Apply " + w.leafName() + "() to the PTEs of one"
            + " folio")
        .param("walk", "The walk")
        .param("addr", "Address the first PTE maps")
        .param("pte", "The first PTE, its table locked")
        .param("nr", "Number of PTEs, all mapping the folio")
        .para(generated(w, "ptes", "For each PTE, a plain read tells whether the leaf changes it"
            + " at all. If it does, the PTE is taken atomically and the leaf applied to the value"
            + " taken, so that no accessed or dirty bit set by the hardware in between is lost;"
            + " the PTE is gathered for the TLB flush and counted.")));
    out.signature("static void", w.fn("ptes"), List.of("struct mm_walk *walk",
        "unsigned long addr", "pte_t *pte", "int nr"), "");
    out.raw("{").in();
    out.line("struct " + walkStruct() + " *" + var + " = walk->private;");
    out.line("pte_t ptent, old_pte;");
    out.blank();
    out.open("for (; nr > 0; nr--, addr += PAGE_SIZE, pte++) {");
    out.line("ptent = ptep_get(pte);");
    out.when("if (pte_same(" + w.leafCall("ptent", "walk->vma") + ", ptent))", "continue;");
    out.line("old_pte = ptep_modify_prot_start(walk->vma, addr, pte);");
    out.line("ptent = " + w.leafCall("old_pte", "walk->vma") + ";");
    out.line("ptep_modify_prot_commit(walk->vma, addr, pte, old_pte, ptent);");
    out.line("tlb_remove_tlb_entry(&" + var + "->tlb, pte, addr);");
    out.line(var + "->total++;");
    out.close("}");
    out.out().raw("}");
  }

  /** {@code madvise_free_pte_range}. */
  private void pmdEntry(CText out, CWalker w) {
    out.blank();
    out.doc(CText.Doc.function(w.fn("pmd_entry"), "Free lazily the pages of one page table")
        .param("pmd", "The PMD pointing to the page table")
        .param("addr", "Start of the range walked in it")
        .param("end", "End of that range")
        .param("walk", "The walk")
        .para(generated(w, "pmd_entry", "Under the page table lock, after any TLB flush that"
            + " reclaim left pending on the mm: swap entries are released; each folio mapped is"
            + " handled once, a large one split first unless the range maps all of it; its PTEs"
            + " go through the leaf and it is marked lazily freeable."))
        .returns("0, to go on walking."));
    out.signature("static int", w.fn("pmd_entry"), entryParams("pmd_t", "pmd", "addr"), "");
    out.raw("{").in();
    out.line("const fpb_t fpb_flags = FPB_IGNORE_DIRTY | FPB_IGNORE_SOFT_DIRTY;");
    out.line("struct " + walkStruct() + " *" + var + " = walk->private;");
    out.line("struct mmu_gather *tlb = &" + var + "->tlb;");
    out.line("struct mm_struct *mm = walk->mm;");
    out.line("pte_t *start_pte, *pte, ptent;");
    out.line("struct folio *folio;");
    out.line("spinlock_t *ptl;");
    out.line("int nr_swap = 0;");
    out.line("int nr, err;");
    out.blank();
    out.when("if (" + fn("huge_pmd") + "(pmd, walk))", "return 0;");
    out.blank();
    out.line("tlb_change_page_size(tlb, PAGE_SIZE);");
    out.line("start_pte = pte_offset_map_lock(mm, pmd, addr, &ptl);");
    out.when("if (!start_pte)", "return 0;");
    out.line("flush_tlb_batched_pending(mm);");
    out.open("for (pte = start_pte; addr != end; pte += nr, addr += nr * PAGE_SIZE) {");
    out.line("nr = 1;");
    out.line("ptent = ptep_get(pte);");
    out.when("if (pte_none(ptent))", "continue;");
    out.open("if (!pte_present(ptent)) {");
    out.line("nr_swap -= " + fn("swap") + "(tlb, addr, pte, ptent);");
    out.line("continue;");
    out.close("}");
    out.blank();
    out.line("folio = vm_normal_folio(walk->vma, addr, ptent);");
    out.when("if (!folio || folio_is_zone_device(folio))", "continue;");
    out.when("if (folio_test_large(folio))", "nr = folio_pte_batch(folio, addr, pte, ptent, (end -"
        + " addr) >> PAGE_SHIFT, fpb_flags, NULL, NULL, NULL);");
    out.open("if (nr < folio_nr_pages(folio)) {");
    out.when("if (folio_likely_mapped_shared(folio) || !folio_trylock(folio))", "continue;");
    out.line("folio_get(folio);");
    out.line("pte_unmap_unlock(start_pte, ptl);");
    out.line("err = split_folio(folio);");
    out.line("folio_unlock(folio);");
    out.line("folio_put(folio);");
    out.line("pte = pte_offset_map_lock(mm, pmd, addr, &ptl);");
    out.line("start_pte = pte;");
    out.when("if (!start_pte)", "break;");
    out.line("flush_tlb_batched_pending(mm);");
    out.when("if (!err)", "nr = 0;");
    out.line("continue;");
    out.close("}");
    out.blank();
    out.when("if (!" + fn("folio_clean") + "(folio))", "continue;");
    out.line(w.fn("ptes") + "(walk, addr, pte, nr);");
    out.line("folio_mark_lazyfree(folio);");
    out.close("}");
    out.when("if (nr_swap)", "add_mm_counter(mm, MM_SWAPENTS, nr_swap);");
    out.when("if (start_pte)", "pte_unmap_unlock(start_pte, ptl);");
    out.blank();
    out.line("cond_resched();");
    out.line("return 0;");
    out.out().raw("}");
  }

  private void entry(CText out, CWalker w) {
    entryHead(out, w, "Under " + lockWords(w) + ", walks each private anonymous VMA of the range"
        + " inside its own mmu_gather and " + w.kind().event().orElseThrow() + " notifier bracket,"
        + " applying the leaf to the PTEs of every folio it may free lazily.",
        "The number of PTEs changed, 0 for an empty or invalid range.");
    out.raw("{").in();
    entryState(out, w);
    out.blank();
    rangeChecks(out);
    out.blank();
    out.line(lockCall(w, false));
    out.line("walk_page_range(mm, start, end, &" + w.fn("ops") + ", " + walkArg(w) + ");");
    out.line(lockCall(w, true));
    entryEnd(out, w);
  }
}
