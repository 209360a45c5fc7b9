package dev.ptwalk.runtime.check;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks the runtime's {@code mm_tlb_flush_nested}: whether another walker's TLB flush is pending
 * on the mm too, so that PTEs this walker found already changed may still be cached stale.
 *
 * <p>Read by ptwalk's compile-time body checks: a walker that raised {@code tlb_flush_pending} and
 * flushes only the PTEs it changed ({@code if (end > start) flushTlbRange(vma, start, end)}) must
 * do so in the branch where this query is false, and flush its whole range in the other, as
 * {@code wp_clean_post_vma} does. Like {@link NeverThrows}, a marked method never throws.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.METHOD)
public @interface TlbFlushNested {}
