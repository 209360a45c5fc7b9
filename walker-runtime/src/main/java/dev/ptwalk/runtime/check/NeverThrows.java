package dev.ptwalk.runtime.check;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a runtime query that never throws ({@code mm_tlb_flush_nested}), so ptwalk's body checks
 * need not follow an exception path out of it, for example between a change and its TLB flush.
 *
 * <p>Read by ptwalk's compile-time body checks ({@code @CheckedWalker}); see {@link PteChange}.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.METHOD)
public @interface NeverThrows {}
