package dev.ptwalk.annotations;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a leaf PTE callback from which ptwalk's annotation processor generates a range walker.
 *
 * <p>The callback receives one PTE and returns the new value; returning the argument unchanged
 * means "not modified". It must be a non-private {@code static} method of a top-level or static
 * nested class, with one of these signatures:
 *
 * <pre>{@code
 * long m(long pte)
 * long m(long pte, long addr)
 * long m(long pte, long addr, dev.ptwalk.runtime.mm.Vma vma)
 * }</pre>
 *
 * <p><b>A callback must be pure</b>: its result may depend only on its arguments, and it may have
 * no side effect. The generated walker calls it twice for every PTE it changes: once on a plain
 * read, to learn whether the PTE changes at all (most do not, and those are skipped without the
 * cost of an atomic exchange), and once on the value taken atomically by {@code
 * ptep_modify_prot_start}, which is the value it commits. Between the two calls hardware may have
 * set the accessed or dirty bit, so the second value can differ from the first in those bits only;
 * a pure callback handles both alike.
 *
 * <p>For a class {@code p.C} holding callbacks, the processor generates {@code p.CWalkers} (for a
 * nested {@code p.Outer.C}: {@code p.Outer_CWalkers}) with one public static walker per callback.
 * What the walker does around the leaf is the {@linkplain Kind kind}'s kernel walker, step for
 * step: its lock, its VMA filter, its {@code invalidate_range_start/end} bracket with the kind's
 * notifier event, the PTE walk under each PTE table's lock with {@code
 * ptep_modify_prot_start/commit}, and its TLB flush. The {@linkplain #scope() scope} decides what
 * the walker ranges over and so its signature:
 *
 * <pre>{@code
 * // Scope.MAPPING: file pages [firstIndex, firstIndex + nr) in every mm that maps them
 * long applyAsX(AddressSpace mapping, long firstIndex, long nr)
 * long applyAsX(AddressSpace mapping, long firstIndex, long nr,
 *               long bitmapPgoff, long[] bitmap, DirtyWindow window)          // bitmap = true
 * // Scope.MM: virtual addresses [start, end) of one mm
 * long applyAsX(MmStruct mm, long start, long end)
 * long applyAsX(MmStruct mm, long start, long end, long[] bitmap, DirtyWindow window)
 * }</pre>
 *
 * <pre>{@code
 * import static dev.ptwalk.annotations.PteCallback.Kind.*;
 *
 * final class DirtyHelpers {
 *   @PteCallback(WRPROTECT)                    static long wrprotect(long pte) { return Pte.wrprotect(pte); }
 *   @PteCallback(value = CLEAN, bitmap = true) static long clean(long pte)     { return Pte.mkclean(pte); }
 * }
 * }</pre>
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.METHOD)
public @interface PteCallback {
  /** What the callback does to a PTE; decides the walker's lock, notifier event and flush. */
  Kind value();

  /**
   * What the walker ranges over. {@link Scope#DEFAULT} is the kind's kernel scope: {@link
   * Scope#MAPPING} for {@link Kind#WRPROTECT} and {@link Kind#CLEAN} (the only scope they allow),
   * {@link Scope#MM} for the others. {@link Kind#YOUNG} also allows {@link Scope#MAPPING}.
   */
  Scope scope() default Scope.DEFAULT;

  /**
   * Whether the walker records every PTE it modifies in a caller's bitmap, as {@code
   * apply_as_clean} / {@code clean_record_shared_mapping_range} do. Allowed for {@link Kind#CLEAN},
   * {@link Kind#SOFT_DIRTY}, {@link Kind#UFFD_WP} and {@link Kind#YOUNG}. A MAPPING walker's bit
   * is the page's file offset minus {@code bitmapPgoff}; an MM walker's is {@code (addr - start)
   * >> 12}.
   */
  boolean bitmap() default false;

  /**
   * The generated walker method's name. When empty, it is {@code applyAs} followed by the
   * callback's name with its first letter capitalised: callback {@code wrprotect} gives walker
   * {@code applyAsWrprotect}, as the kernel's {@code apply_as_wrprotect}.
   */
  String name() default "";

  /** The kinds of PTE change a walker can be generated for, each one a kernel walker's. */
  enum Kind {
    /**
     * Take write permission away ({@code pte_wrprotect}), so the next store faults into {@code
     * ->page_mkwrite} or {@code ->pfn_mkwrite}: {@code apply_as_wrprotect}. Notifier event {@code
     * PROTECTION_PAGE}; scope MAPPING.
     */
    WRPROTECT,
    /**
     * Clear the dirty bit ({@code pte_mkclean}), optionally recording each cleaned page in a
     * bitmap: {@code apply_as_clean}. Notifier event {@code PROTECTION_PAGE}; scope MAPPING.
     */
    CLEAN,
    /**
     * Clear soft-dirty and write permission ({@code pte_clear_soft_dirty}, {@code
     * pte_wrprotect}), so the next store faults and sets soft-dirty again: {@code
     * clear_refs_write} with {@code CLEAR_REFS_SOFT_DIRTY}. Under the mmap write lock; notifier
     * event {@code SOFT_DIRTY}; {@code flush_tlb_mm} after the bracket. Scope MM.
     */
    SOFT_DIRTY,
    /**
     * Mark pages userfaultfd write-protected ({@code pte_mkuffd_wp}, which drops write
     * permission): {@code PAGEMAP_SCAN} with {@code PM_SCAN_WP_MATCHING}. Only VMAs registered for
     * async uffd-wp; an unpopulated page gets a uffd-wp marker. Notifier event {@code
     * PROTECTION_VMA}; a TLB flush per PTE table, under its lock. Scope MM.
     */
    UFFD_WP,
    /**
     * Clear the accessed bit ({@code pte_mkold}) as aging does with {@code
     * ptep_clear_young_notify}: no invalidate bracket, no TLB flush, and secondary MMUs asked to
     * clear theirs. Scope MM, or MAPPING.
     */
    YOUNG,
    /**
     * Clear the dirty and accessed bits ({@code pte_mkclean}, {@code pte_mkold}) of private
     * anonymous pages and mark their folios lazily freeable: {@code MADV_FREE}. Notifier event
     * {@code CLEAR}; an {@code mmu_gather}. Scope MM.
     */
    LAZYFREE
  }

  /** What a walker ranges over. */
  enum Scope {
    /** The kind's kernel scope: MAPPING for WRPROTECT and CLEAN, MM for the others. */
    DEFAULT,
    /** File pages of an {@code address_space}, in every mm mapping them ({@code walk_page_mapping}). */
    MAPPING,
    /** Virtual addresses of one mm ({@code walk_page_range}). */
    MM
  }
}
