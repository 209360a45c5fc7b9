package dev.ptwalk.annotations;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a helper that changes PTEs and relies on its caller's {@code invalidateRangeStart/End}
 * bracket and TLB flush.
 *
 * <p>In a {@link CheckedWalker}, a call to such a helper counts as a PTE change at the call site:
 * it must sit inside a bracket, and a TLB flush must follow it before the bracket ends. The
 * helper's own body is checked as if a bracket were open. A helper that changes PTEs without this
 * mark is an error at every checked call, since its change would be out of the check's sight.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.METHOD)
public @interface InBracket {}
