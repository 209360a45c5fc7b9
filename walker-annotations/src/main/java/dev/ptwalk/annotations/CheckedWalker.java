package dev.ptwalk.annotations;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Asks ptwalk's processor to check the body of a hand-written page-table walker.
 *
 * <p>Not every walker fits a {@link PteCallback} leaf. For one written by hand, the processor
 * follows every path through the method (branches, loops, early returns and exceptions) and
 * reports an error, on the offending statement, when:
 *
 * <ul>
 *   <li>a PTE is changed where no {@code invalidateRangeStart} has run before it on every path;
 *   <li>{@code invalidateRangeEnd} does not follow a start on every path, exceptions and early
 *       returns included (so it belongs in a {@code finally});
 *   <li>a PTE is changed after {@code invalidateRangeEnd};
 *   <li>a PTE is changed and no TLB flush of the same mm or VMA runs between the change and
 *       {@code invalidateRangeEnd};
 *   <li>{@code incTlbFlushPending} and {@code decTlbFlushPending} are unbalanced on some path;
 *   <li>the notifier range and a changed PTE visibly belong to different mms;
 *   <li>a PTE is changed out of the check's sight: in a lambda, or in a helper method that is
 *       not marked {@link InBracket}.
 * </ul>
 *
 * <p>The shape it accepts is the kernel's:
 *
 * <pre>{@code
 * MmuNotifiers.invalidateRangeStart(range);
 * mm.incTlbFlushPending();
 * try {
 *   ... change PTEs under their ptl ...
 * } finally {
 *   try {
 *     TlbFlush.flushTlbRange(vma, start, end);   // may be guarded by if (end > start)
 *   } finally {
 *     MmuNotifiers.invalidateRangeEnd(range);
 *     mm.decTlbFlushPending();
 *   }
 * }
 * }</pre>
 *
 * <p>The check needs javac's {@code com.sun.source} trees. Where the compiler has none (the Eclipse
 * compiler, some IDE wrappers) it is skipped with one note; walkers are still generated. It runs
 * when javac analyses the class, so not under {@code -proc:only}, nor after earlier errors.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.METHOD)
public @interface CheckedWalker {}
