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
 *   <li>a PTE is changed and no TLB flush of the same mm covers it in time: before {@code
 *       invalidateRangeEnd}, or, while the walker's own {@code incTlbFlushPending} on that mm is
 *       raised, before its {@code decTlbFlushPending} (clear_refs' order); and before the PTE
 *       table's lock is dropped unless that count is raised;
 *   <li>a walker that raised the pending count and flushes only what it changed does not flush
 *       the whole range when {@code mmTlbFlushNested()};
 *   <li>{@code incTlbFlushPending} and {@code decTlbFlushPending} of one mm are unbalanced on some
 *       path;
 *   <li>the notifier range and a changed PTE belong to different mms, or a range variable names
 *       another range by the time it is ended;
 *   <li>a PTE value computed from a plain read is written after the PTE was taken
 *       (CVE-2024-36943);
 *   <li>a PTE is changed out of the check's sight: in a lambda, or in a helper method that is
 *       not marked {@link InBracket}.
 * </ul>
 *
 * <p>The shape it accepts is the kernel's, for example:
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
 * <p>or clear_refs' order, where the pending count raised before the bracket keeps concurrent
 * walkers correct until {@code TlbFlush.flushTlbMm(mm)} after {@code invalidateRangeEnd}. A form
 * the check cannot follow, or a loop whose facts do not converge, is a positioned {@code
 * analysis-incomplete} warning, never a silent pass.
 *
 * <p>The check needs javac's {@code com.sun.source} trees. Where the compiler has none (the Eclipse
 * compiler, some IDE wrappers) it is skipped with one note; walkers are still generated. It runs
 * when javac analyses the class, so not under {@code -proc:only}, nor after earlier errors.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.METHOD)
public @interface CheckedWalker {}
