package dev.ptwalk.processor.writing;

import static dev.ptwalk.processor.writing.RuntimeNames.ADDRESS_SPACE;
import static dev.ptwalk.processor.writing.RuntimeNames.AGING;
import static dev.ptwalk.processor.writing.RuntimeNames.BUG;
import static dev.ptwalk.processor.writing.RuntimeNames.CACHE_FLUSH;
import static dev.ptwalk.processor.writing.RuntimeNames.CHECKED_WALKER;
import static dev.ptwalk.processor.writing.RuntimeNames.DIRTY_WINDOW;
import static dev.ptwalk.processor.writing.RuntimeNames.FOLIO;
import static dev.ptwalk.processor.writing.RuntimeNames.MMU_GATHER;
import static dev.ptwalk.processor.writing.RuntimeNames.MMU_NOTIFIERS;
import static dev.ptwalk.processor.writing.RuntimeNames.MMU_NOTIFIER_EVENT;
import static dev.ptwalk.processor.writing.RuntimeNames.MMU_NOTIFIER_RANGE;
import static dev.ptwalk.processor.writing.RuntimeNames.MM_STRUCT;
import static dev.ptwalk.processor.writing.RuntimeNames.OBJECTS;
import static dev.ptwalk.processor.writing.RuntimeNames.PGTABLE;
import static dev.ptwalk.processor.writing.RuntimeNames.PTE;
import static dev.ptwalk.processor.writing.RuntimeNames.PTE_TABLE;
import static dev.ptwalk.processor.writing.RuntimeNames.PTE_TABLE_CURSOR;
import static dev.ptwalk.processor.writing.RuntimeNames.TLB_FLUSH;
import static dev.ptwalk.processor.writing.RuntimeNames.VMA;
import static dev.ptwalk.processor.writing.RuntimeNames.VM_FLAGS;
import static javax.lang.model.element.Modifier.PUBLIC;
import static javax.lang.model.element.Modifier.STATIC;

import com.palantir.javapoet.ClassName;
import com.palantir.javapoet.CodeBlock;
import com.palantir.javapoet.MethodSpec;
import dev.ptwalk.processor.model.CallbackShape;
import dev.ptwalk.processor.model.CallbackSpec;
import dev.ptwalk.processor.model.Scope;
import dev.ptwalk.processor.model.WalkLock;
import dev.ptwalk.processor.model.WalkShape;
import dev.ptwalk.processor.model.WalkerKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Writes one walker method: the kind's kernel walker around one callback. The body is written
 * step by step, each step a method named after the kernel function it mirrors, and each {@link
 * WalkShape} a method that strings the steps together in the kernel's order ({@link
 * #applyAsRange}, {@link #clearRefsWrite}, {@link #pagemapScanWp}, {@link #clearYoungWalk},
 * {@link #madviseFree}).
 */
final class WalkerMethodWriter {
  private final ClassName owner;
  private final CallbackSpec cb;
  private final WalkerKind kind;
  private final Scope scope;
  private final boolean bitmap;
  private final Map<ClassName, Set<String>> statics;
  private final Code c = new Code();
  /** Whether the step being written runs in {@link #walkPteRange}'s loop over slots. */
  private boolean bySlot;

  /**
   * A writer for the walker of {@code cb}, a callback of {@code owner}; the static imports it
   * uses are added to {@code statics}.
   */
  WalkerMethodWriter(ClassName owner, CallbackSpec cb, Map<ClassName, Set<String>> statics) {
    this.owner = owner;
    this.cb = cb;
    this.kind = cb.kind();
    this.scope = cb.scope();
    this.bitmap = cb.bitmap();
    this.statics = statics;
  }

  /**
   * Whether the walker asks secondary MMUs through an {@code Aging} parameter, and so also has
   * an overload without it.
   */
  boolean takesAging() {
    return kind.shape() == WalkShape.CLEAR_YOUNG_NOTIFY;
  }

  /**
   * The overload of an aging walker without its {@code Aging} parameter: the walker itself with
   * {@code Aging.standard()}.
   */
  MethodSpec writeStandardAging() {
    MethodSpec.Builder m = MethodSpec.methodBuilder(cb.walkerName())
        .addModifiers(PUBLIC, STATIC)
        .returns(long.class);
    parameters(m);
    List<String> names = new ArrayList<>();
    List<String> types = new ArrayList<>();
    for (com.palantir.javapoet.ParameterSpec p : m.build().parameters()) {
      names.add(p.name());
      types.add(p.type() instanceof ClassName ? ((ClassName) p.type()).simpleName()
          : p.type().toString());
    }
    String params = String.join(", ", names);
    String doc = "As {@link #" + cb.walkerName() + "(" + String.join(", ", types)
        + ", Aging)}, asking secondary MMUs as aging does today: {@code Aging.standard()}, every"
        + " subscription's {@code clear_young}.\n\n" + paramDocs(names);
    return m.addJavadoc("$L", Javadocs.wrap(doc, 100 - 5))
        .addStatement("return $N($L, $T.standard())", cb.walkerName(), params, AGING)
        .build();
  }

  private static String paramDocs(List<String> names) {
    StringBuilder sb = new StringBuilder();
    for (String n : names) {
      sb.append("@param ").append(n).append(" as for the walker with an {@code Aging}\n");
    }
    return sb.append("@return the walker's result\n").toString();
  }

  /** The walker method. */
  MethodSpec write() {
    MethodSpec.Builder m = MethodSpec.methodBuilder(cb.walkerName())
        .addAnnotation(CHECKED_WALKER)
        .addModifiers(PUBLIC, STATIC)
        .returns(long.class);
    parameters(m);
    if (takesAging()) {
      m.addParameter(AGING, "aging");
    }
    return m.addJavadoc(new WalkerJavadoc(owner, cb).write()).addCode(body()).build();
  }

  private void parameters(MethodSpec.Builder m) {
    if (scope == Scope.MAPPING) {
      m.addParameter(ADDRESS_SPACE, "mapping")
          .addParameter(long.class, "firstIndex")
          .addParameter(long.class, "nr");
      if (bitmap) {
        m.addParameter(long.class, "bitmapPgoff");
      }
    } else {
      m.addParameter(MM_STRUCT, "mm")
          .addParameter(long.class, "start")
          .addParameter(long.class, "end");
    }
    if (bitmap) {
      m.addParameter(long[].class, "bitmap").addParameter(DIRTY_WINDOW, "window");
    }
  }

  private CodeBlock body() {
    if (scope == Scope.MAPPING) {
      checkMappingArguments();
    } else {
      checkMmArguments();
    }
    c.stmt("long total = 0");
    switch (kind.shape()) {
      case PER_VMA_BRACKET:
        applyAsRange();
        break;
      case WHOLE_RANGE_FLUSH_MM:
        clearRefsWrite();
        break;
      case PER_TABLE_FLUSH:
        pagemapScanWp();
        break;
      case CLEAR_YOUNG_NOTIFY:
        clearYoungWalk();
        break;
      default:
        madviseFree();
        break;
    }
    c.stmt("return total");
    return c.build();
  }

  // ---- the shapes, each the kernel walker it mirrors ----

  /**
   * {@code apply_as_range} ({@code walk_page_mapping} with {@code wp_clean_pre_vma} and {@code
   * wp_clean_post_vma}): per VMA a bracket over exactly its part of the range, the walk, the
   * min/max flush, the bracket's end.
   */
  private void applyAsRange() {
    lock();
    forEachVma();
    c.comment("The TLB flush range starts empty (inverted) and grows with every PTE changed.");
    c.stmt("long tlbflushStart = endAddr");
    c.stmt("long tlbflushEnd = startAddr");
    c.comment("wp_clean_pre_vma: open the bracket, so secondary MMUs drop the range; flush "
        + "virtually indexed caches; tell the mm a TLB flush is pending, so a concurrent walker "
        + "sees its flush nested.");
    invalidateRangeStart("startAddr", "endAddr");
    c.stmt("$T.flushCacheRange(vma, startAddr, endAddr)", CACHE_FLUSH);
    c.stmt("mm.incTlbFlushPending()");
    c.begin("try");
    walkPteRange(this::modifyProtStep, Flush.MIN_MAX);
    c.next("finally");
    c.begin("try");
    c.comment("wp_clean_post_vma: flush the TLB before the bracket closes, even if a callback "
        + "threw. When another walker is pending on this mm it may have changed PTEs that this "
        + "one then saw unchanged and skipped: flush the whole range, or a stale writable entry "
        + "could outlive both brackets.");
    c.begin("if (mm.mmTlbFlushNested())")
        .stmt("$T.flushTlbRange(vma, startAddr, endAddr)", TLB_FLUSH)
        .next("else if (tlbflushEnd > tlbflushStart)")
        .stmt("$T.flushTlbRange(vma, tlbflushStart, tlbflushEnd)", TLB_FLUSH)
        .end();
    c.next("finally");
    c.begin("try");
    c.comment("Close the bracket: secondary MMUs may map the range again.");
    c.stmt("$T.invalidateRangeEnd(range)", MMU_NOTIFIERS);
    c.next("finally");
    c.stmt("mm.decTlbFlushPending()");
    c.end();
    c.end();
    c.end();
    c.end(); // for vma
    unlock();
  }

  /**
   * {@code clear_refs_write} with {@code CLEAR_REFS_SOFT_DIRTY}: clear {@code VM_SOFTDIRTY},
   * raise {@code tlb_flush_pending}, one bracket over the whole range around the walk, then
   * {@code flush_tlb_mm} after the bracket's end and before {@code dec_tlb_flush_pending}.
   */
  private void clearRefsWrite() {
    lock();
    c.comment("clear_refs_write: each VMA loses VM_SOFTDIRTY, so its pages read soft-dirty only "
        + "through their PTEs from now on, and vma_set_page_prot makes the VMA want write "
        + "notification: the next store to a page faults and sets soft-dirty again.");
    c.begin("for ($T vma : mm.forEachVmaRange(start, end))", VMA);
    c.begin("if ((vma.flags() & $L) != 0)", flag("VM_SOFTDIRTY"))
        .stmt("vma.vmFlagsClear($L)", flag("VM_SOFTDIRTY"))
        .stmt("vma.vmaSetPageProt()")
        .end();
    c.end();
    c.comment("inc_tlb_flush_pending before the PTEs change: until the flush below, other "
        + "walkers of this mm see their flushes nested and TLB entries possibly stale.");
    c.stmt("mm.incTlbFlushPending()");
    c.begin("try");
    invalidateRangeStart("start", "end");
    c.begin("try");
    forEachVma();
    walkPteRange(this::makePteStep, Flush.NONE);
    c.end(); // for vma
    c.next("finally");
    c.comment("The bracket ends before the flush, as clear_refs_write orders them: the pending "
        + "count, raised until the flush is done, is what keeps concurrent walkers correct.");
    c.stmt("$T.invalidateRangeEnd(range)", MMU_NOTIFIERS);
    c.end();
    c.next("finally");
    c.begin("try");
    c.comment("flush_tlb_mm: every CPU drops its entries of this mm, so the next store to a "
        + "write-protected page faults and records soft-dirty.");
    c.stmt("$T.flushTlbMm(mm)", TLB_FLUSH);
    c.next("finally");
    c.stmt("mm.decTlbFlushPending()");
    c.end();
    c.end();
    unlock();
  }

  /**
   * {@code do_pagemap_scan} with {@code PM_SCAN_WP_MATCHING}: one bracket over the range; per PTE
   * table, under its ptl, {@code make_uffd_wp_pte} and a flush from the first PTE changed
   * ({@code pagemap_scan_pmd_entry}). Holes get tables and markers ({@code
   * pagemap_scan_pte_hole}).
   */
  private void pagemapScanWp() {
    lock();
    c.comment("One bracket over the whole range, opened and closed under the mmap lock "
        + "(CVE-2024-26617 moved it inside the lock).");
    invalidateRangeStart("start", "end");
    c.begin("try");
    forEachVma();
    c.comment("pagemap_scan_pte_hole: a hole is write-protected too, so every page table of the "
        + "range is allocated and an unpopulated page gets a uffd-wp marker.");
    c.begin("for (long pmdAddr = startAddr, next; pmdAddr < endAddr; pmdAddr = next)");
    c.stmt("next = Math.min((pmdAddr & $L) + $L, endAddr)", staticName(PGTABLE, "PMD_MASK"),
        staticName(PGTABLE, "PMD_SIZE"));
    c.begin("if ($T.warn(mm, mm.pgd().hugeLeaf(pmdAddr) != 0,$W$S, pmdAddr))", BUG,
        cb.walkerName() + " skips the huge leaf at %#x, never split");
    c.stmt("continue");
    c.end();
    c.stmt("$T pt = mm.pgd().pteAlloc(pmdAddr)", PTE_TABLE);
    c.comment("The flush starts at the first PTE changed; while none is, it is empty.");
    c.stmt("long flushStart = next");
    c.comment("pte_offset_map_lock: the PTEs of this table change only under its ptl.");
    c.stmt("pt.ptl().lock()");
    c.begin("try");
    c.begin("for (long addr = pmdAddr; addr < next; addr += $L)", staticName(PGTABLE,
        "PAGE_SIZE"));
    makePteStep();
    record(Flush.FIRST_CHANGED);
    c.end();
    c.next("finally");
    c.begin("try");
    c.comment("flush_tlb_range from the first PTE changed to the end of this table's part, "
        + "still under the ptl: no CPU can use an old writable entry once the ptl is dropped.");
    c.begin("if (next > flushStart)")
        .stmt("$T.flushTlbRange(vma, flushStart, next)", TLB_FLUSH)
        .end();
    c.next("finally");
    c.stmt("pt.ptl().unlock()");
    c.end();
    c.end();
    c.end(); // for pmd
    c.end(); // for vma
    c.next("finally");
    c.stmt("$T.invalidateRangeEnd(range)", MMU_NOTIFIERS);
    c.end();
    unlock();
  }

  /**
   * {@code ptep_clear_young_notify} for every present PTE, as the aging walkers use it: no
   * invalidate bracket and no TLB flush.
   */
  private void clearYoungWalk() {
    lock();
    forEachVma();
    c.comment("mm_has_notifiers: secondary MMUs keep accessed bits of their own, which the "
        + "primary PTE does not show, so with notifiers every present page is asked about.");
    c.stmt("boolean notify = mm.hasNotifiers()");
    walkPteRange(this::clearYoungStep, Flush.NONE);
    c.end(); // for vma
    unlock();
  }

  /**
   * {@code madvise_free_single_vma} under an {@code mmu_gather}: a {@code CLEAR} bracket per
   * VMA, {@code tlb_start_vma}, the walk ({@code madvise_free_pte_range}), {@code tlb_end_vma}
   * (nothing on x86), the bracket's end; {@code tlb_finish_mmu}, which flushes, once for the
   * whole call.
   */
  private void madviseFree() {
    lock();
    c.comment("tlb_gather_mmu raises tlb_flush_pending for the whole call: a concurrent "
        + "MADV_FREE that finds a PTE already clean then sees its flush nested "
        + "(99baac21e458).");
    c.stmt("$T tlb = $T.tlbGatherMmu(mm)", MMU_GATHER, MMU_GATHER);
    c.begin("try");
    forEachVma();
    invalidateRangeStart("startAddr", "endAddr");
    c.begin("try");
    c.stmt("tlb.tlbStartVma(vma)");
    c.begin("try");
    walkPteRange(this::lazyfreeStep, Flush.GATHER);
    c.next("finally");
    c.comment("tlb_end_vma: x86 merges the gathered ranges of every VMA "
        + "(CONFIG_MMU_GATHER_MERGE_VMAS), so nothing is flushed here; the flush comes at "
        + "tlb_finish_mmu, after the bracket, while tlb_flush_pending is still raised.");
    c.stmt("tlb.tlbEndVma(vma)");
    c.end();
    c.next("finally");
    c.stmt("$T.invalidateRangeEnd(range)", MMU_NOTIFIERS);
    c.end();
    c.end(); // for vma
    c.next("finally");
    c.comment("tlb_finish_mmu: flush the range gathered over every VMA, the whole mm when "
        + "another gather is pending on it (mm_tlb_flush_nested), then drop tlb_flush_pending.");
    c.stmt("tlb.tlbFinishMmu()");
    c.end();
    unlock();
  }

  // ---- steps shared by the shapes ----

  /** Reject bad arguments of a MAPPING walker before touching anything. */
  private void checkMappingArguments() {
    c.comment("Check every argument before touching anything.");
    c.stmt("$T.requireNonNull(mapping, $S)", OBJECTS, "mapping");
    requireBitmap();
    c.begin("if (firstIndex < 0 || nr < 0)")
        .stmt("throw new IllegalArgumentException($S$W+ firstIndex + $S + nr)",
            "firstIndex and nr must be >= 0, were firstIndex=", ", nr=")
        .end();
    c.guard("nr == 0", "return 0");
    c.begin("if (firstIndex > Long.MAX_VALUE - nr)")
        .stmt("throw new IllegalArgumentException($S$W+ firstIndex + $S + nr)",
            "firstIndex + nr overflows: firstIndex=", ", nr=")
        .end();
    if (bitmap) {
      c.begin("if (bitmapPgoff < 0 || bitmapPgoff > firstIndex)")
          .stmt("throw new IllegalArgumentException($S$W+ bitmapPgoff + $S + firstIndex)",
              "bitmapPgoff must be in [0, firstIndex], was bitmapPgoff=", ", firstIndex=")
          .end();
      c.begin("if (bitmap.length * 64L < firstIndex + nr - bitmapPgoff)")
          .stmt("throw new IllegalArgumentException($S + bitmap.length * 64L$W+ $S"
              + " + (firstIndex + nr - bitmapPgoff)$W+ $S + bitmapPgoff + $S + firstIndex$W+ $S"
              + " + nr)", "bitmap holds ", " bits but the range needs ", ": bitmapPgoff=",
              ", firstIndex=", ", nr=")
          .end();
      c.comment("The dirty window, relative to bitmapPgoff: (nr, 0) when the caller has none "
          + "yet.");
      dirtyWindow("nr");
    }
  }

  /** Reject bad arguments of an MM walker before touching anything. */
  private void checkMmArguments() {
    c.comment("Check every argument before touching anything.");
    c.stmt("$T.requireNonNull(mm, $S)", OBJECTS, "mm");
    requireBitmap();
    String pageSize = staticName(PGTABLE, "PAGE_SIZE");
    c.begin("if (((start | end) & ($L - 1)) != 0 || start < 0 || start > end$W|| end > "
        + "mm.taskSize())", pageSize)
        .stmt("throw new IllegalArgumentException($S$W+ $S + $T.toHexString(mm.taskSize())$W+ $S"
            + " + $T.toHexString(start) + $S + $T.toHexString(end))", "start and end must be page",
            " aligned, with 0 <= start <= end <= 0x", Long.class, ", were start=0x", Long.class,
            ", end=0x", Long.class)
        .end();
    c.guard("start == end", "return 0");
    if (bitmap) {
      c.stmt("long pages = (end - start) >>> $L", staticName(PGTABLE, "PAGE_SHIFT"));
      c.begin("if (bitmap.length * 64L < pages)")
          .stmt("throw new IllegalArgumentException($S + bitmap.length * 64L$W+ $S + pages$W+ $S"
              + " + $T.toHexString(start) + $S + $T.toHexString(end))", "bitmap holds ",
              " bits but the range has ", " pages: start=0x", Long.class, ", end=0x", Long.class)
          .end();
      c.comment("The dirty window, in bits from start: (pages, 0) when the caller has none yet.");
      dirtyWindow("pages");
    }
  }

  private void requireBitmap() {
    if (bitmap) {
      c.stmt("$T.requireNonNull(bitmap, $S)", OBJECTS, "bitmap");
      c.stmt("$T.requireNonNull(window, $S)", OBJECTS, "window");
    }
  }

  private void dirtyWindow(String empty) {
    c.stmt("boolean noneSet = window.start >= window.end");
    c.stmt("long dirtyStart = noneSet ? $L : window.start", empty);
    c.stmt("long dirtyEnd = noneSet ? 0 : window.end");
  }

  /** Take the kind's lock for this scope and open the {@code try} that releases it. */
  private void lock() {
    WalkLock lock = kind.lock(scope);
    String holder = scope == Scope.MAPPING ? "mapping" : "mm";
    switch (lock) {
      case I_MMAP_READ:
        c.comment("i_mmap_lock_read: the VMAs mapping the file stay put while they are walked.");
        break;
      case MMAP_WRITE:
        c.comment("mmap_write_lock: no fault runs while the PTEs change, and the VMAs stay put.");
        break;
      default:
        c.comment("mmap_read_lock: the VMAs of the range stay put while they are walked.");
        break;
    }
    c.stmt("$L.$L()", holder, lock.lockMethod());
    c.begin("try");
  }

  /** Release the lock taken by {@link #lock} and hand the dirty window back. */
  private void unlock() {
    WalkLock lock = kind.lock(scope);
    c.next("finally");
    c.stmt("$L.$L()", scope == Scope.MAPPING ? "mapping" : "mm", lock.unlockMethod());
    if (bitmap) {
      c.stmt("window.start = dirtyStart");
      c.stmt("window.end = dirtyEnd");
    }
    c.end();
  }

  /**
   * Open the loop over the VMAs of the range ({@code vma_interval_tree_foreach} or {@code
   * for_each_vma_range}), apply the kind's {@code test_walk} and clip the range to the VMA as
   * {@code [startAddr, endAddr)}. The caller closes the loop.
   */
  private void forEachVma() {
    if (scope == Scope.MAPPING) {
      c.begin("for ($T vma : mapping.vmaIntervalTreeForeach(firstIndex, firstIndex + nr - 1))",
          VMA);
    } else {
      c.begin("for ($T vma : mm.forEachVmaRange(start, end))", VMA);
    }
    c.stmt("long vmFlags = vma.flags()");
    testWalk();
    if (scope == Scope.MAPPING) {
      String shift = staticName(PGTABLE, "PAGE_SHIFT");
      c.comment("Clip the file range to the VMA and translate it to virtual addresses.");
      c.stmt("long vba = vma.pgoff()");
      c.stmt("long vea = vba + vma.pages()");
      c.stmt("long cba = Math.max(firstIndex, vba)");
      c.stmt("long cea = Math.min(firstIndex + nr, vea)");
      c.stmt("long startAddr = ((cba - vba) << $L) + vma.start()", shift);
      c.stmt("long endAddr = ((cea - vba) << $L) + vma.start()", shift);
      c.guard("startAddr >= endAddr", "continue");
      c.stmt("$T mm = vma.mm()", MM_STRUCT);
    } else {
      c.comment("Clip the range to the VMA.");
      c.stmt("long startAddr = Math.max(start, vma.start())");
      c.stmt("long endAddr = Math.min(end, vma.end())");
    }
  }

  /** The kind's VMA filter, as its kernel {@code test_walk}. */
  private void testWalk() {
    switch (kind.filter()) {
      case SHARED_WRITABLE_IO: {
        String shared = flag("VM_SHARED");
        String write = flag("VM_WRITE");
        c.comment("Only shared, writable VMAs can dirty the file's pages.");
        c.guard("(vmFlags & (" + shared + " | " + write + ")) != (" + shared + " | " + write
            + ")", "continue");
        c.comment("WARN_ON and skip VMAs this walker is not for: hugetlb, or not VM_IO.");
        c.begin("if ($T.warn(vma.mm(), (vmFlags & ($L | $L)) != $L,$W$S, vma))", BUG,
            flag("VM_HUGETLB"), flag("VM_IO"), flag("VM_IO"), cb.walkerName()
                + " skips %s: only VM_IO VMAs without VM_HUGETLB are walked");
        c.stmt("continue");
        c.end();
        break;
      }
      case NOT_PFNMAP:
        c.comment("clear_refs_test_walk: raw pfn mappings have no pages to track.");
        c.guard("(vmFlags & " + flag("VM_PFNMAP") + ") != 0", "continue");
        break;
      case UFFD_WP_ASYNC:
        c.comment("pagemap_scan_test_walk: only VMAs registered for async uffd-wp with markers "
            + "may be write-protected; PM_SCAN_WP_MATCHING without PM_SCAN_CHECK_WPASYNC skips "
            + "the others silently. Raw pfn mappings are skipped too.");
        c.guard("!vma.userfaultfdWpAsync() || !vma.userfaultfdWpUseMarkers()", "continue");
        c.guard("(vmFlags & " + flag("VM_PFNMAP") + ") != 0", "continue");
        break;
      case NOT_PFNMAP_OR_IO:
        c.comment("should_skip_vma: raw pfn and I/O mappings hold no pages to age.");
        c.guard("(vmFlags & (" + flag("VM_PFNMAP") + " | " + flag("VM_IO") + ")) != 0",
            "continue");
        break;
      default:
        c.comment("madvise_free_single_vma: only private anonymous memory can be freed lazily.");
        c.guard("!vma.isAnonymous() || (vmFlags & " + flag("VM_SHARED") + ") != 0", "continue");
        break;
    }
  }

  /** How a walk records the range it must flush. */
  private enum Flush {
    /** No per-walk record: the shape flushes a fixed range. */
    NONE,
    /** {@code tlbflush_start/end}: min and max of the PTEs changed. */
    MIN_MAX,
    /** The first PTE changed in the table ({@code pagemap_scan_pmd_entry}). */
    FIRST_CHANGED,
    /** {@code tlb_remove_tlb_entry} into the {@code mmu_gather}. */
    GATHER
  }

  /**
   * {@code walk_pgd_range} down to {@code walk_pte_range}: every PTE table of {@code [startAddr,
   * endAddr)}, each under its ptl, calling {@code step} for each PTE that is not none (the
   * kinds that walk this way leave a none PTE alone: their callbacks only clear bits, or they
   * skip what is not present). The step addresses the PTE by its slot in the table ({@code
   * slot}, stepped with {@code addr} as the kernel steps its {@code pte_t *}), and passes {@code
   * watched}, whether the verifier or the trace is on, read once per table under the ptl.
   */
  private void walkPteRange(Runnable step, Flush flush) {
    String pageSize = staticName(PGTABLE, "PAGE_SIZE");
    if (bitmap && scope == Scope.MAPPING) {
      c.comment("The bitmap bit of the file page at addr is (addr >> PAGE_SHIFT) + bitBase.");
      c.stmt("long bitBase = vma.pgoff() - bitmapPgoff - (vma.start() >> $L)",
          staticName(PGTABLE, "PAGE_SHIFT"));
    }
    c.comment("Walk the PTE tables of the range: empty entries are skipped at every level, and "
        + "huge leaves are skipped with a warning, never split.");
    c.begin("for ($T pt = $T.first(vma, startAddr, endAddr); pt != null;$W"
        + "pt = $T.next(vma, pt, endAddr))", PTE_TABLE, PTE_TABLE_CURSOR, PTE_TABLE_CURSOR);
    c.stmt("long from = Math.max(startAddr, pt.start())");
    c.stmt("long to = Math.min(endAddr, pt.end())");
    c.comment("pte_offset_map_lock: the PTEs of this table change only under its ptl.");
    c.stmt("pt.ptl().lock()");
    c.begin("try");
    c.comment("Whether the verifier or the trace watches the changes: read once per table, "
        + "under its ptl.");
    c.stmt("boolean watched = $T.watched(mm)", PGTABLE);
    c.comment("The slots of [from, to), run by run of PTEs that are not none (the table's "
        + "population summary, exact under the ptl).");
    c.stmt("int limit = pt.index(to - $L) + 1", pageSize);
    c.begin("for (int slot = pt.nextPopulated(pt.index(from), limit); slot < limit;$W"
        + "slot = pt.nextPopulated(slot, limit))");
    c.stmt("int run = pt.nextNone(slot, limit)");
    c.begin("for (; slot < run; slot++)");
    bySlot = true;
    step.run();
    record(flush);
    bySlot = false;
    c.end();
    c.end();
    c.next("finally");
    c.stmt("pt.ptl().unlock()");
    c.end();
    c.end();
  }

  /**
   * {@code ptep_get} into {@code ptent}, passing over the PTEs for which {@code skip} (a format
   * on {@code ptent}) holds. In {@link #walkPteRange}'s run of slots, a loop that only reads
   * moves {@code slot} to the next PTE to work on, or leaves the run, and then derives its
   * {@code addr}: the JIT keeps such a loop to a load and a test per PTE. Elsewhere, one PTE at
   * {@code addr}, and {@code continue} if it is skipped.
   */
  private void scanPte(String skip, Object... args) {
    if (bySlot) {
      c.stmt("long ptent = pt.pte(slot)");
      c.begin("while (" + skip + " && ++slot < run)", args);
      c.stmt("ptent = pt.pte(slot)");
      c.end();
      c.guard("slot == run", "break");
      c.stmt("long addr = pt.address(slot)");
    } else {
      c.stmt("long ptent = $T.ptepGet(pt, addr)", PGTABLE);
      c.continueIf(skip, args);
    }
  }

  /** The leaf through {@code ptep_modify_prot_start/commit}, as {@code wp_pte} does it. */
  private void modifyProtStep() {
    c.comment("A plain read tells whether the callback changes " + (bySlot ? "a" : "this")
        + " PTE at all.");
    scanPte("$L == ptent", scanCall("ptent"));
    modifyProt();
  }

  /**
   * The leaf as {@code clear_soft_dirty} and {@code make_uffd_wp_pte} apply it: a present PTE
   * through {@code ptep_modify_prot_start/commit}, a non-present one (none, a marker) with
   * {@code set_pte_at}, which no hardware access can race.
   */
  private void makePteStep() {
    c.comment("A plain read tells whether the callback changes " + (bySlot ? "a" : "this")
        + " PTE at all.");
    scanPte("$L == ptent", scanCall("ptent"));
    c.begin("if ($T.present(ptent))", PTE);
    modifyProt();
    c.next("else");
    c.comment("Not present (none, or a marker): hardware never updates it, so it is set "
        + "directly, under the ptl.");
    if (bySlot) {
      c.stmt("$T.setPteAt(mm, addr, pt, slot,$W$L,$Wwatched)", PGTABLE, call("ptent"));
    } else {
      c.stmt("$T.setPteAt(mm, addr, pt, $L)", PGTABLE, call("ptent"));
    }
    c.end();
  }

  private void modifyProt() {
    c.comment("Take the PTE atomically and apply the callback to the value taken: a store "
        + "racing with this faults and waits on the ptl, so no accessed or dirty bit is lost "
        + "(CVE-2024-36943). The commit runs even if the callback throws, so the PTE is never "
        + "left cleared.");
    if (bySlot) {
      c.stmt("long oldPte =$W$T.ptepModifyProtStart(vma, addr, pt, slot, watched)", PGTABLE);
    } else {
      c.stmt("long oldPte = $T.ptepModifyProtStart(vma, addr, pt)", PGTABLE);
    }
    c.stmt("long newPte = oldPte");
    c.begin("try");
    c.stmt("newPte = $L", call("oldPte"));
    c.next("finally");
    if (bySlot) {
      c.stmt("$T.ptepModifyProtCommit(vma, addr, pt, slot, oldPte,$WnewPte, watched)",
          PGTABLE);
    } else {
      c.stmt("$T.ptepModifyProtCommit(vma, addr, pt, oldPte, newPte)", PGTABLE);
    }
    c.end();
  }

  /** {@code ptep_clear_young_notify}: the accessed bit, here and in secondary MMUs. */
  private void clearYoungStep() {
    scanPte("!$T.present(ptent)", PTE);
    c.stmt("boolean young = false");
    c.begin("if ($L != ptent)", call("ptent"));
    c.comment("ptep_test_and_clear_young: an atomic clear of the accessed bit; x86 flushes no "
        + "TLB for it, since a stale accessed bit costs accuracy, never data.");
    if (bySlot) {
      c.stmt("young =$W$T.ptepTestAndClearYoung(vma, addr, pt, slot, watched)", PGTABLE);
    } else {
      c.stmt("young = $T.ptepTestAndClearYoung(vma, addr, pt)", PGTABLE);
    }
    c.end();
    c.begin("if (notify)");
    c.comment("mmu_notifier_clear_young, as the caller's Aging asks it (all subscriptions, or "
        + "the fast ones only).");
    c.stmt("young |= aging.clearYoung(mm, addr, addr + $L)", staticName(PGTABLE, "PAGE_SIZE"));
    c.end();
    c.guard("!young", "continue");
  }

  /** {@code madvise_free_pte_range} for one PTE. */
  private void lazyfreeStep() {
    c.comment("Swap entries and markers are left alone; so are the zero page (no folio) and "
        + "folios another process may map.");
    scanPte("!$T.present(ptent)", PTE);
    c.stmt("$T folio = mm.machine().physMem().folio($T.pfn(ptent))", FOLIO, PTE);
    c.guard("folio == null || folio.maybeMappedShared()", "continue");
    c.comment("The folio's own dirty flag goes too: after this only the PTE tells of a write.");
    c.stmt("folio.clearDirty()");
    c.begin("if ($L != ptent)", call("ptent"));
    modifyProt();
    c.stmt("tlb.tlbRemoveTlbEntry(addr)");
    c.stmt("total++");
    if (bitmap) {
      setBit();
    }
    c.end();
    c.comment("folio_mark_lazyfree: reclaim may now discard the folio unless it is written "
        + "again.");
    c.stmt("folio.markLazyfree()");
  }

  /** Count a changed PTE, widen the flush record, set its bitmap bit. */
  private void record(Flush flush) {
    if (flush == Flush.GATHER) {
      return; // lazyfreeStep counts inside its own condition
    }
    c.stmt("total++");
    switch (flush) {
      case MIN_MAX:
        c.stmt("tlbflushStart = Math.min(tlbflushStart, addr)");
        c.stmt("tlbflushEnd = Math.max(tlbflushEnd, addr + $L)", staticName(PGTABLE,
            "PAGE_SIZE"));
        break;
      case FIRST_CHANGED:
        c.stmt("flushStart = Math.min(flushStart, addr)");
        break;
      default:
        break;
    }
    if (bitmap) {
      setBit();
    }
  }

  private void setBit() {
    String shift = staticName(PGTABLE, "PAGE_SHIFT");
    if (scope == Scope.MAPPING && bySlot) {
      c.comment("Record the file page, relative to bitmapPgoff, and widen the dirty window.");
      c.stmt("long bit = (addr >> $L) + bitBase", shift);
    } else if (scope == Scope.MAPPING) {
      c.comment("Record the file page, relative to bitmapPgoff, and widen the dirty window.");
      c.stmt("long bit = ((addr - vma.start()) >> $L) + vma.pgoff() - bitmapPgoff", shift);
    } else {
      c.comment("Record the page, relative to start, and widen the dirty window.");
      c.stmt("long bit = (addr - start) >>> $L", shift);
    }
    c.stmt("bitmap[(int) (bit >>> 6)] |= 1L << (bit & 63)");
    c.stmt("dirtyStart = Math.min(dirtyStart, bit)");
    c.stmt("dirtyEnd = Math.max(dirtyEnd, bit + 1)");
  }

  private void invalidateRangeStart(String from, String to) {
    c.stmt("$T range =$Wnew $T($T.$L, 0, mm, $L, $L)", MMU_NOTIFIER_RANGE, MMU_NOTIFIER_RANGE,
        MMU_NOTIFIER_EVENT, kind.event().orElseThrow(), from, to);
    c.stmt("$T.invalidateRangeStart(range)", MMU_NOTIFIERS);
  }

  /** The callback applied to {@code pte}, with the arguments its shape takes. */
  private CodeBlock call(String pte) {
    return call(pte, "addr");
  }

  /**
   * The callback as {@link #scanPte} tests it: in a run of slots, before {@code addr} is
   * derived, the address comes from the slot.
   */
  private CodeBlock scanCall(String pte) {
    return call(pte, bySlot ? "pt.address(slot)" : "addr");
  }

  private CodeBlock call(String pte, String addr) {
    if (cb.shape() == CallbackShape.PTE) {
      return CodeBlock.of("$T.$N($L)", owner, cb.methodName(), pte);
    }
    if (cb.shape() == CallbackShape.PTE_ADDR) {
      return CodeBlock.of("$T.$N($L, $L)", owner, cb.methodName(), pte, addr);
    }
    return CodeBlock.of("$T.$N($L, $L, vma)", owner, cb.methodName(), pte, addr);
  }

  private String flag(String name) {
    return staticName(VM_FLAGS, name);
  }

  /** {@code name}, a constant of {@code type} the file imports statically. */
  private String staticName(ClassName type, String name) {
    statics.computeIfAbsent(type, k -> new TreeSet<>()).add(name);
    return name;
  }
}
