package dev.ptwalk.runtime.check;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a cache flush ({@code flush_cache_range}); it never throws, so it may sit between a bracket's start and its {@code try}.
 *
 * <p>Read by ptwalk's compile-time body checks ({@code @CheckedWalker}); see {@link PteChange}.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.METHOD)
public @interface FlushesCache {}
