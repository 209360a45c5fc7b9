package dev.ptwalk.processor.writing.c;

import java.util.List;
import java.util.Set;

/**
 * {@code WHOLE_RANGE_FLUSH_MM} as {@code clear_refs_write()} (type 4, {@code fs/proc/task_mmu.c})
 * writes it: {@code VM_SOFTDIRTY} cleared on the VMAs, the pending count raised, one bracket
 * around the walk ({@code clear_refs_pte_range} / {@code clear_soft_dirty}), then {@code
 * flush_tlb_mm} and the count dropped.
 */
final class SoftDirtyShape extends CShape {
  SoftDirtyShape(String p, List<CWalker> walkers) {
    super(p, "soft_dirty", "sdwalk", walkers);
  }

  @Override
  String shapeText() {
    CWalker w = walkers.get(0);
    return "in the shape of the soft-dirty reset of clear_refs_write() in fs/proc/task_mmu.c:"
        + " under " + lockWords(w) + ", VM_SOFTDIRTY is cleared on every VMA of the range, then"
        + " one " + w.kind().event().orElseThrow() + " notifier bracket covers the walk, and the"
        + " whole mm's TLB is flushed after it, before the pending flush count drops.";
  }

  @Override
  Set<String> includes() {
    return Set.of("linux/pagewalk.h", "linux/hugetlb.h", "linux/bitops.h",
        "linux/mmu_notifier.h", "linux/mm_inline.h", "linux/swapops.h", "asm/tlbflush.h");
  }

  @Override
  void write(CText out) {
    out.blank();
    out.doc(CText.Doc.struct(walkStruct(), "State of a " + kinds(walkers, "or") + " walk")
        .param("total", "Number of PTEs changed"));
    out.open("struct " + walkStruct() + " {").line("unsigned long total;").close("};");
    bitmapStructs(out);
    pinned(out);
    swap(out);
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

  /** {@code clear_soft_dirty}'s check of a page that may be pinned for DMA. */
  private void pinned(CText out) {
    out.blank();
    out.doc(CText.Doc.function(fn("pinned"), "Whether a PTE must stay writable")
        .param("vma", "VMA of the PTE")
        .param("addr", "Address the PTE maps")
        .param("pte", "Value of the PTE")
        .para("A writable PTE of a private mapping whose page may be pinned for DMA is left"
            + " alone: write-protecting it would make the next store copy the page away from the"
            + " device that reads it.")
        .returns("True to leave the PTE as it is."));
    out.signature("static bool", fn("pinned"), List.of("struct vm_area_struct *vma",
        "unsigned long addr", "pte_t pte"), "");
    out.raw("{").in();
    out.line("struct folio *folio;");
    out.blank();
    out.when("if (!pte_write(pte) || !is_cow_mapping(vma->vm_flags))", "return false;");
    out.when("if (likely(!test_bit(MMF_HAS_PINNED, &vma->vm_mm->flags)))", "return false;");
    out.line("folio = vm_normal_folio(vma, addr, pte);");
    out.blank();
    out.line("return folio && folio_maybe_dma_pinned(folio);");
    out.out().raw("}");
  }

  /** {@code clear_soft_dirty}'s handling of a swap entry. */
  private void swap(CText out) {
    out.blank();
    out.doc(CText.Doc.function(fn("swap"), "Clear soft-dirty in a swap entry")
        .param("walk", "The walk")
        .param("addr", "Address the entry maps")
        .param("pte", "The entry, its table locked")
        .param("ptent", "Value of the entry")
        .para("A page out in swap keeps its soft-dirty bit in the swap entry, which the leaf"
            + " cannot read: the bit is cleared here.")
        .returns("True if the entry was soft-dirty and has been changed."));
    out.signature("static bool", fn("swap"), List.of("struct mm_walk *walk", "unsigned long addr",
        "pte_t *pte", "pte_t ptent"), "");
    out.raw("{").in();
    out.when("if (!is_swap_pte(ptent) || !pte_swp_soft_dirty(ptent))", "return false;");
    out.line("set_pte_at(walk->mm, addr, pte, pte_swp_clear_soft_dirty(ptent));");
    out.blank();
    out.line("return true;");
    out.out().raw("}");
  }

  private void pmdEntry(CText out) {
    boolean one = walkers.size() == 1;
    out.blank();
    out.doc(CText.Doc.function(fn("pmd_entry"), "Skip a huge PMD, never split it")
        .param("pmd", "The PMD")
        .param("addr", "Start of the range it maps")
        .param("end", "End of that range")
        .param("walk", "The walk")
        .para("The " + leaves() + (one ? " works" : " work") + " on PTEs only: a huge PMD is"
            + " stepped over, with a warning if it holds state " + (one ? "the leaf" : "they")
            + " would have changed. A walk may cover a whole mm, so the CPU is given up between"
            + " page tables when needed.")
        .returns("0, to go on walking."));
    out.signature("static int", fn("pmd_entry"), entryParams("pmd_t", "pmd", "addr"), "");
    out.raw("{").in();
    skipHugePmd(out, true);
    out.out().raw("}");
  }

  /** {@code clear_refs_pte_range} for one PTE, {@code clear_soft_dirty} around the leaf. */
  private void pte(CText out, CWalker w) {
    pteEntryOpen(out, w, pteEntryDoc(w, "Apply " + w.leafName() + "()")
        .para(generated(w, "pte", "A plain read tells whether the leaf changes the PTE at all."
            + " If it does, the PTE is taken atomically and the leaf applied to the value taken,"
            + " so that no accessed or dirty bit set by the hardware in between is lost. A swap"
            + " entry has its soft-dirty bit cleared without the leaf."))
        .returns("0, to go on walking."),
        "pte_t old_pte;");
    if (w.bitmap()) {
      out.open("if (!pte_present(ptent)) {");
      out.when("if (!" + fn("swap") + "(walk, addr, pte, ptent))", "return 0;");
      out.close("} else {").in();
      applyLeaf(out, w);
      out.close("}");
      out.line(var + "->total++;");
      out.blank();
      recordBit(out, w, "walk->vma");
    } else {
      out.open("if (!pte_present(ptent)) {");
      out.when("if (" + fn("swap") + "(walk, addr, pte, ptent))", var + "->total++;");
      out.line("return 0;");
      out.close("}");
      applyLeaf(out, w);
      out.line(var + "->total++;");
    }
    out.blank();
    out.line("return 0;");
    out.out().raw("}");
  }

  private void applyLeaf(CText out, CWalker w) {
    out.when("if (pte_same(" + w.leafCall("ptent", "walk->vma") + ", ptent))", "return 0;");
    out.when("if (" + fn("pinned") + "(walk->vma, addr, ptent))", "return 0;");
    out.blank();
    out.line("old_pte = ptep_modify_prot_start(walk->vma, addr, pte);");
    out.line("ptent = " + w.leafCall("old_pte", "walk->vma") + ";");
    out.line("ptep_modify_prot_commit(walk->vma, addr, pte, old_pte, ptent);");
  }

  private void entry(CText out, CWalker w) {
    String event = w.kind().event().orElseThrow().name();
    entryHead(out, w, "Under " + lockWords(w) + ": clears VM_SOFTDIRTY on each VMA of the range,"
        + " so that from then on only its PTEs say which pages are soft-dirty; counts a pending"
        + " TLB flush; applies the leaf to every PTE of the range inside a " + event + " notifier"
        + " bracket; then flushes the whole mm's TLB and drops the pending count.",
        "The number of PTEs changed, 0 for an empty or invalid range.");
    out.raw("{").in();
    out.line("VMA_ITERATOR(vmi, mm, start);");
    entryState(out, w);
    out.line("struct mmu_notifier_range range;");
    out.line("struct vm_area_struct *vma;");
    out.blank();
    rangeChecks(out);
    out.blank();
    out.line(lockCall(w, false));
    out.open("for_each_vma_range(vmi, vma, end) {");
    out.when("if (!(vma->vm_flags & VM_SOFTDIRTY))", "continue;");
    out.line("vm_flags_clear(vma, VM_SOFTDIRTY);");
    out.line("vma_set_page_prot(vma);");
    out.close("}");
    out.blank();
    out.line("inc_tlb_flush_pending(mm);");
    out.line("mmu_notifier_range_init(&range, MMU_NOTIFY_" + event + ", 0, mm, start, end);");
    out.line("mmu_notifier_invalidate_range_start(&range);");
    out.line("walk_page_range(mm, start, end, &" + w.fn("ops") + ", " + walkArg(w) + ");");
    out.line("mmu_notifier_invalidate_range_end(&range);");
    out.line("flush_tlb_mm(mm);");
    out.line("dec_tlb_flush_pending(mm);");
    out.line(lockCall(w, true));
    entryEnd(out, w);
  }
}
