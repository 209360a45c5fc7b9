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
 * <p>For a class {@code p.C} holding callbacks, the processor generates {@code p.CWalkers} (for a
 * nested {@code p.Outer.C}: {@code p.Outer_CWalkers}) with one public static walker per callback,
 * carrying every step of the kernel's {@code apply_as_range} ({@code mm/as_dirty_helpers.c},
 * later {@code mm/mapping_dirty_helpers.c}): the i_mmap lock, the VMA filter, the per-VMA
 * {@code invalidate_range_start/end} bracket with {@code tlb_flush_pending}, the PTE walk under
 * each PTE table's lock with {@code ptep_modify_prot_start/commit}, and a TLB flush of exactly the
 * PTEs changed (of the whole range when the flush is nested).
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
  /** What the callback does to a PTE; decides the notifier event and what the walker records. */
  Kind value();

  /**
   * Whether the walker records every PTE it modifies in a caller's dirty bitmap, as {@code
   * apply_as_clean} / {@code clean_record_shared_mapping_range} do. Only {@link Kind#CLEAN} has a
   * bitmap. The walker then takes {@code (AddressSpace mapping, long firstIndex, long nr, long
   * bitmapPgoff, long[] bitmap, DirtyWindow window)}.
   */
  boolean bitmap() default false;

  /**
   * The generated walker method's name. When empty, it is {@code applyAs} followed by the
   * callback's name with its first letter capitalised: callback {@code wrprotect} gives walker
   * {@code applyAsWrprotect}, as the kernel's {@code apply_as_wrprotect}.
   */
  String name() default "";

  /** The kinds of PTE change a walker can be generated for. More will come. */
  enum Kind {
    /**
     * Take write permission away ({@code pte_wrprotect}), so the next store faults into {@code
     * ->page_mkwrite} or {@code ->pfn_mkwrite}. Notifier event {@code PROTECTION_PAGE}.
     */
    WRPROTECT,
    /**
     * Clear the dirty bit ({@code pte_mkclean}), optionally recording each cleaned page in a
     * bitmap. Notifier event {@code PROTECTION_PAGE}.
     */
    CLEAN
  }
}
