package dev.ptwalk.runtime.check;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a runtime method that changes a PTE in a page table ({@code set_pte_at}, {@code
 * ptep_modify_prot_start/commit}, {@code ptep_get_and_clear}).
 *
 * <p>The runtime's marks ({@code PteChange}, {@link InvalidateRangeStart}, {@link
 * InvalidateRangeEnd}, {@link FlushesTlb}, {@link FlushesCache}, {@link TlbFlushPendingInc},
 * {@link TlbFlushPendingDec}, {@link PteTransform}, {@link PteQuery}, {@link NeverThrows}) drive ptwalk's compile-time
 * body checks: the processor recognises calls by these marks, never by method names, so a new
 * runtime method is covered by marking it. A marked method never throws for valid arguments; the
 * check relies on that when it follows exception paths. The mm or VMA whose PTE changes is the
 * first argument of type {@code MmStruct} or {@code Vma}.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.METHOD)
public @interface PteChange {
  /**
   * Whether the change may take something away that a TLB or a secondary MMU caches, so that a
   * notifier bracket and a TLB flush are needed ({@code ptep_test_and_clear_young} is false).
   */
  boolean restrictive() default true;
}
