package dev.ptwalk.processor.validation;

import java.util.Locale;

/**
 * Every diagnostic ptwalk's processor reports, each with a stable code that users can search for.
 * A message says what is wrong and how to fix it; it is printed as {@code [ptwalk:code] text}.
 */
public enum Message {
  /** The callback is an instance method. */
  CALLBACK_NOT_STATIC("callback-not-static",
      "@PteCallback method %s() must be static: the generated walker calls it without an"
          + " instance. Add 'static' to the method."),
  /** The callback is private. */
  CALLBACK_PRIVATE("callback-private",
      "@PteCallback method %s() must not be private: the generated class %s calls it from"
          + " outside %s. Make it package-private or public."),
  /** Wrong number or types of parameters. */
  CALLBACK_BAD_PARAMETERS("callback-bad-parameters",
      "@PteCallback method %s(%s) has the wrong parameters. A PTE callback takes (long pte),"
          + " (long pte, long addr) or (long pte, long addr, dev.ptwalk.runtime.mm.Vma vma)."),
  /** Return type is not long. */
  CALLBACK_BAD_RETURN("callback-bad-return",
      "@PteCallback method %s() returns %s; it must return long, the new PTE value (return the"
          + " argument unchanged for \"not modified\")."),
  /** Declared in an interface or annotation type. */
  CALLBACK_IN_INTERFACE("callback-in-interface",
      "@PteCallback method %s() is declared in interface %s. Callbacks live in a class: move it"
          + " to a top-level or static nested class."),
  /** Declared in a local class. */
  CALLBACK_IN_LOCAL_CLASS("callback-in-local-class",
      "@PteCallback method %s() is declared in local class %s, which generated code cannot name."
          + " Move it to a top-level or static nested class."),
  /** Declared in an anonymous class. */
  CALLBACK_IN_ANONYMOUS_CLASS("callback-in-anonymous-class",
      "@PteCallback method %s() is declared in an anonymous class, which generated code cannot"
          + " name. Move it to a top-level or static nested class."),
  /** Declared in a non-static nested class. */
  CALLBACK_IN_INNER_CLASS("callback-in-inner-class",
      "@PteCallback method %s() is declared in inner class %s. Make the class static: callbacks"
          + " live in top-level or static nested classes."),
  /** Has type parameters. */
  CALLBACK_GENERIC("callback-generic",
      "@PteCallback method %s() declares type parameters <%s>; a PTE callback is not generic."
          + " Remove them."),
  /** Declares a checked exception. */
  CALLBACK_THROWS_CHECKED("callback-throws-checked",
      "@PteCallback method %s() declares checked exception %s, which the generated walker cannot"
          + " propagate. Handle it inside the callback, or throw an unchecked exception."),
  /** {@code bitmap = true} on a kind without a bitmap. */
  BITMAP_UNSUPPORTED("bitmap-unsupported",
      "@PteCallback(%s) has no dirty bitmap: only %s walkers record the pages they change."
          + " Remove 'bitmap = true', or use one of those kinds."),
  /** {@code scope} names a scope the kind cannot walk. */
  SCOPE_UNSUPPORTED("scope-unsupported",
      "@PteCallback(%s) cannot walk scope %s: a %s walker mirrors %s, which walks %s. Use %s, or"
          + " leave scope to its DEFAULT (%s)."),
  /** Two callbacks of one class generate the same walker. */
  DUPLICATE_WALKER_NAME("duplicate-walker-name",
      "@PteCallback method %s() would generate walker %s.%s(), which %s() already generates."
          + " Give one of them a different name = \"...\"."),
  /** {@code name()} is not a Java identifier. */
  BAD_WALKER_NAME("bad-walker-name",
      "name = \"%s\" is not a valid Java method name%s. Use an identifier such as"
          + " \"applyAsClean\", or leave name empty to get %s."),
  /** The class holding the callback is private, or inside a private class. */
  CLASS_NOT_ACCESSIBLE("class-not-accessible",
      "@PteCallback method %s() is in %s, which is private, so the generated %s in package %s"
          + " cannot call it. Make %s package-private or public."),
  /** walker-runtime is not on the compile classpath. */
  RUNTIME_MISSING("runtime-missing",
      "the walkers generated for %s need walker-runtime on the compile classpath (%s is"
          + " missing). Add the dependency dev.ptwalk:walker-runtime."),
  /** The Filer refused the generated file. */
  GENERATED_CLASS_EXISTS("generated-class-exists",
      "could not write %s: %s. Rename the class holding the callbacks, or the other type."),
  /** A PTE change with no open bracket on some path. */
  CHANGE_OUTSIDE_BRACKET("change-outside-bracket",
      "%s changes a PTE where no invalidateRangeStart has run before it on every path: a"
          + " secondary MMU (KVM, an IOMMU) keeps a stale writable or present mapping of the page."
          + " Open a bracket first: MmuNotifiers.invalidateRangeStart(range); try { ... } finally"
          + " { MmuNotifiers.invalidateRangeEnd(range); }"),
  /** A PTE change after the bracket ended. */
  CHANGE_AFTER_END("change-after-end",
      "%s changes a PTE after invalidateRangeEnd at line %d on %s: secondary MMUs may"
          + " already have mapped the page again from the old PTE, and nothing tells them to drop"
          + " it. Make every change before invalidateRangeEnd."),
  /** A bracket not closed on some path. */
  MISSING_END("missing-end",
      "invalidateRangeEnd(%s) does not follow this invalidateRangeStart on every path: %s leaves"
          + " the bracket open, so secondary MMUs stay blocked and never re-read the page table."
          + " Use the shape: MmuNotifiers.invalidateRangeStart(%s); try { ... } finally {"
          + " MmuNotifiers.invalidateRangeEnd(%s); }"),
  /** A bracket that no path closes at all. */
  MISSING_END_NEVER("missing-end",
      "no invalidateRangeEnd(%s) follows this invalidateRangeStart on any path, so the bracket is"
          + " never closed: secondary MMUs stay blocked and never re-read the page table. Close"
          + " it on every path with the shape: MmuNotifiers.invalidateRangeStart(%s); try { ... }"
          + " finally { MmuNotifiers.invalidateRangeEnd(%s); }"),
  /** An end with no start. */
  END_WITHOUT_START("end-without-start",
      "invalidateRangeEnd(%s) has no matching invalidateRangeStart(%s) before it on %s:"
          + " secondary MMUs would see an end they never saw start. Call invalidateRangeStart"
          + " first, on every path."),
  /** A PTE change not flushed before the bracket ends. */
  MISSING_FLUSH("missing-flush",
      "%s changes a PTE, but no TLB flush of %s runs between it and invalidateRangeEnd at line"
          + " %d on %s: another CPU keeps reading or writing through its stale TLB entry after"
          + " the bracket ends (a flush after invalidateRangeEnd is too late). Call"
          + " TlbFlush.flushTlbRange over the changed PTEs, of the same VMA or mm, before"
          + " invalidateRangeEnd, in a finally block if an exception can come between them."),
  /**
   * A PTE change whose flush was allowed past invalidateRangeEnd by a raised tlb_flush_pending,
   * not flushed before the decTlbFlushPending that drops it.
   */
  MISSING_FLUSH_BEFORE_DEC("missing-flush",
      "%s changes a PTE, but no TLB flush of %s runs between it and decTlbFlushPending at line"
          + " %d on %s: the raised tlb_flush_pending lets the flush follow invalidateRangeEnd (as"
          + " clear_refs_write does), but once it drops other walkers of the mm take its TLB"
          + " entries for current while another CPU still reads or writes through a stale one."
          + " Call TlbFlush.flushTlbMm (or flushTlbRange over the changed PTEs) before"
          + " decTlbFlushPending, in a finally block if an exception can come between them."),
  /**
   * A walker with its pending count raised flushes only what it changed, with no whole-range flush
   * where mm_tlb_flush_nested is true.
   */
  MISSING_NESTED_FLUSH("missing-flush",
      "%s changes a PTE of %s, and the walker flushes only the PTEs it changed itself; but its"
          + " raised tlb_flush_pending tells concurrent walkers to leave PTEs they find already"
          + " changed unflushed, so where another walker is pending too some of its PTEs may still"
          + " be cached stale when decTlbFlushPending at line %d runs on %s. Flush the whole range"
          + " when mm.mmTlbFlushNested() is true, as wp_clean_post_vma and tlb_finish_mmu do."),
  /** A PTE change whose table's ptl is released before the flush, with no pending count. */
  MISSING_FLUSH_BEFORE_UNLOCK("missing-flush",
      "%s changes a PTE, but no TLB flush of %s runs between it and the release of its page"
          + " table's lock at line %d on %s, and the walker has not raised the mm's"
          + " tlb_flush_pending: once the ptl is dropped another walker or a fault may see the new"
          + " PTE and act on it (skip it as already changed, free the page) while another CPU"
          + " still writes through its stale TLB entry. Flush before releasing the ptl, as"
          + " pagemap_scan_pmd_entry does, or call incTlbFlushPending before the change and flush"
          + " before decTlbFlushPending, as the dirty helpers do."),
  /** A PTE value computed from a plain read that a change of the PTE made stale. */
  STALE_PTE_VALUE("stale-pte-value",
      "%s writes a PTE value computed from %s, which a plain read took at line %d before %s at"
          + " line %d took the PTE: the accessed and dirty bits hardware set in between are lost"
          + " (CVE-2024-36943). Compute the new value from the value ptepModifyProtStart returned."),
  /** inc/dec of tlb_flush_pending unbalanced. */
  UNBALANCED_PENDING("unbalanced-flush-pending",
      "%s is not matched by %s on %s: tlb_flush_pending stays off balance, so mm_tlb_flush_nested"
          + " is wrong for every later walker of this mm (whole-range flushes forever, or a"
          + " concurrent walker that misses the nesting and flushes too little). Pair them:"
          + " mm.incTlbFlushPending(); try { ... } finally { mm.decTlbFlushPending(); }"),
  /** The bracket and the change are visibly in different mms. */
  MM_MISMATCH("bracket-mm-mismatch",
      "%s changes a PTE of %s, but the open notifier bracket (line %d) is for %s: the secondary"
          + " MMUs of the changed mm are never told. Bracket the change with a range of the same"
          + " mm."),
  /** A helper changes PTEs out of the check's sight. */
  HIDDEN_CHANGE_HELPER("hidden-change",
      "%s() changes PTEs (%s at line %d) out of sight of this check, which therefore cannot"
          + " tell whether a bracket and a flush cover them. Mark it @InBracket so that calls to"
          + " it count as PTE changes, or make it a @CheckedWalker of its own."),
  /** A lambda or method reference changes PTEs. */
  HIDDEN_CHANGE_LAMBDA("hidden-change",
      "%s changes a PTE inside a lambda or method reference, which runs whenever it is called:"
          + " this check cannot follow that. Change the PTE in the walker's own body, or in an"
          + " @InBracket helper."),
  /** A callback changes the PTE in a way its kind does not allow. */
  ILLEGAL_TRANSITION("illegal-transition",
      "@PteCallback(%s) method %s() calls Pte.%s, which %s; a %s walker may only %s. %s cover"
          + " only that change, so anything else would reach secondary MMUs and other CPUs' TLBs"
          + " unannounced."),
  /** A callback returns a value not derived from its PTE argument. */
  CALLBACK_BAD_RESULT("callback-bad-result",
      "@PteCallback(%s) method %s() returns %s, which is not its PTE argument %s passed through"
          + " the changes a %s walker may make (%s): the walker writes whatever the callback"
          + " returns into the page table, under a notifier event and a TLB flush that cover only"
          + " those changes. Return %s itself, or %s applied to it."),
  /** A callback computes the PTE in a way the check cannot follow. */
  UNCHECKED_PTE_ARITHMETIC("unchecked-pte-arithmetic",
      "@PteCallback(%s) method %s(): %s, which this check cannot follow, so the PTE transition"
          + " is not checked. Use the Pte helpers (a %s callback may call %s)."),
  /** A loop the body check could not follow to a fixpoint. */
  ANALYSIS_INCOMPLETE_LOOP("analysis-incomplete",
      "the body check could not follow this loop to the end (after %d rounds the facts at its"
          + " head, %d states, still change), so a mistake after it may go unreported. Split the"
          + " walker into smaller @CheckedWalker or @InBracket methods."),
  /** A statement or expression form the body check does not follow. */
  ANALYSIS_INCOMPLETE_FORM("analysis-incomplete",
      "the body check does not follow this %s (%s), so a mistake in or after it may go"
          + " unreported. Rewrite it with the ordinary statement forms, or move it into a helper"
          + " method."),
  /** No com.sun.source trees: body checks skipped. */
  BODY_CHECKS_SKIPPED("body-checks-skipped",
      "ptwalk's body checks (notifier brackets in @CheckedWalker methods, PTE transitions in"
          + " @PteCallback methods) were skipped: this compiler offers no com.sun.source trees"
          + " (it is not javac, or javac behind a wrapper). Walkers are still generated. Pass"
          + " -Aptwalk.requireBodyChecks=true to make this an error."),
  /** A callback's body holds a construct the C translation does not accept. */
  C_NOT_EMITTED("c-not-emitted",
      "@PteCallback method %s() gets no kernel C walker in %s: it has %s at line %d, which the C"
          + " translation does not accept (%s). Its Java walker is generated as always;"
          + " docs/c-translation.md, section 3, lists the callback language."),
  /** A callback the C writer has no walker for, for a reason other than its body. */
  C_NOT_EMITTED_WALKER("c-not-emitted",
      "@PteCallback method %s() gets no kernel C walker in %s: %s. Its Java walker is generated"
          + " as always."),
  /** No com.sun.source trees: no C at all. */
  C_NOT_EMITTED_NO_TREES("c-not-emitted",
      "no kernel C was written beside the generated walkers: this compiler offers no"
          + " com.sun.source trees to translate the @PteCallback bodies from (it is not javac, or"
          + " javac behind a wrapper). The Java walkers are generated as always. Pass"
          + " -Aptwalk.emitC=false to ask for no C, and no note."),
  /** A bug in the processor. */
  INTERNAL_ERROR("internal-error",
      "ptwalk's processor failed on %s; this is a bug in ptwalk, please report it with this"
          + " trace: %s");

  private final String code;
  private final String template;

  Message(String code, String template) {
    this.code = code;
    this.template = template;
  }

  /** The stable code, as in {@code [ptwalk:callback-not-static]}. */
  public String code() {
    return code;
  }

  /** The full text for {@code args}, prefixed by the code. */
  public String format(Object... args) {
    return "[ptwalk:" + code + "] " + String.format(Locale.ROOT, template, args);
  }
}
