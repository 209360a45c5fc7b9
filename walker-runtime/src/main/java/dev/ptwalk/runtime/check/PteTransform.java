package dev.ptwalk.runtime.check;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a {@code Pte} helper that returns a changed PTE value, and says which bits it changes.
 *
 * <p>ptwalk's check of {@code @PteCallback} bodies uses it: a callback of kind {@code WRPROTECT}
 * may only call transforms that clear {@code RW}; {@code CLEAN} only ones that clear {@code
 * DIRTY}. Bits are named as in {@code Pte}: {@code RW}, {@code DIRTY}, {@code ACCESSED}, {@code
 * SOFT_DIRTY}, {@code UFFD_WP}, {@code PSE}, {@code PRESENT}.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.METHOD)
public @interface PteTransform {
  /** Bits the helper clears. */
  String[] clears() default {};

  /** Bits the helper sets. */
  String[] sets() default {};

  /** Whether the helper can change the page frame the PTE points to. */
  boolean changesPfn() default false;
}
