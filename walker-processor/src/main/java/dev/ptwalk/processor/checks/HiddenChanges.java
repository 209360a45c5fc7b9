package dev.ptwalk.processor.checks;

import com.sun.source.tree.MethodInvocationTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.util.TreePath;
import com.sun.source.util.TreeScanner;
import com.sun.source.util.Trees;
import dev.ptwalk.processor.checks.Marks.Effect;
import dev.ptwalk.processor.checks.Marks.Role;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.lang.model.element.Element;
import javax.lang.model.element.ExecutableElement;

/**
 * Whether an unmarked helper method changes PTEs, directly (a call marked {@code @PteChange} or
 * {@code @InBracket}) or through other helpers, so that a call to it from a checked walker would
 * hide a change. Only helpers whose source is in this compilation can be looked into; a helper
 * from a class file is taken at its word.
 *
 * <p>The helpers reachable from the one asked about form a call graph, possibly with cycles
 * ({@code a} calls {@code b} calls {@code a}); which of them change PTEs is its least fixpoint,
 * computed over the whole graph before any answer is remembered, so the answer for a helper never
 * depends on which walker asked first.
 */
final class HiddenChanges {
  /** The change found in a helper: the call that makes it, and its line. */
  record Found(String call, long line) {}

  /** One call in a helper's body, in source order. */
  private record Call(Element target, String text, long line, boolean changes) {}

  private final Trees trees;
  private final Marks marks;
  private final Map<Element, Optional<Found>> memo = new HashMap<>();

  HiddenChanges(Trees trees, Marks marks) {
    this.trees = trees;
    this.marks = marks;
  }

  /** The PTE change hidden in {@code method}, or null when it makes none (or cannot be read). */
  Found find(Element method) {
    if (!candidate(method)) {
      return null;
    }
    Optional<Found> known = memo.get(method);
    if (known != null) {
      return known.orElse(null);
    }
    // The graph of helpers reachable from method whose answers are not known yet.
    Map<Element, List<Call>> graph = new LinkedHashMap<>();
    Deque<Element> todo = new ArrayDeque<>();
    todo.add(method);
    while (!todo.isEmpty()) {
      Element m = todo.pop();
      if (graph.containsKey(m) || memo.containsKey(m)) {
        continue;
      }
      List<Call> calls = calls(m);
      graph.put(m, calls);
      for (Call c : calls) {
        if (candidate(c.target)) {
          todo.push(c.target);
        }
      }
    }
    // Least fixpoint: a helper changes PTEs if it makes a change or calls one that does.
    Set<Element> changing = new HashSet<>();
    for (boolean grew = true; grew; ) {
      grew = false;
      for (Map.Entry<Element, List<Call>> e : graph.entrySet()) {
        if (!changing.contains(e.getKey()) && first(e.getValue(), changing) != null) {
          changing.add(e.getKey());
          grew = true;
        }
      }
    }
    for (Map.Entry<Element, List<Call>> e : graph.entrySet()) {
      Call c = first(e.getValue(), changing);
      memo.put(e.getKey(), Optional.ofNullable(c == null ? null : new Found(c.text, c.line)));
    }
    return memo.get(method).orElse(null);
  }

  /** The first call of a helper that changes PTEs, given the helpers known to change them. */
  private Call first(List<Call> calls, Set<Element> changing) {
    for (Call c : calls) {
      if (c.changes || changing.contains(c.target)) {
        return c;
      }
      Optional<Found> known = c.target == null ? null : memo.get(c.target);
      if (known != null && known.isPresent()) {
        return c;
      }
    }
    return null;
  }

  /** Whether {@code method} is an unmarked method, one this class looks into. */
  private boolean candidate(Element method) {
    return method instanceof ExecutableElement && Marks.isMethod(method)
        && marks.effects(method).isEmpty() && Marks.role(method) == Role.NONE;
  }

  /** The calls in {@code method}'s body, in source order; none when its source is not here. */
  private List<Call> calls(Element method) {
    List<Call> out = new ArrayList<>();
    TreePath path = trees.getPath(method);
    if (path == null || !(path.getLeaf() instanceof MethodTree)
        || ((MethodTree) path.getLeaf()).getBody() == null) {
      return out;
    }
    TreeContext ctx = new TreeContext(trees, path.getCompilationUnit(),
        TreeContext.newReportedSet());
    ctx.index(path);
    new TreeScanner<Void, Void>() {
      @Override
      public Void visitMethodInvocation(MethodInvocationTree mi, Void unused) {
        Element target = ctx.element(mi);
        boolean changes = marks.effects(target).contains(Effect.CHANGE)
            || Marks.role(target) == Role.IN_BRACKET;
        out.add(new Call(target, ctx.text(mi.getMethodSelect()), ctx.line(mi), changes));
        return super.visitMethodInvocation(mi, unused);
      }
    }.scan(((MethodTree) path.getLeaf()).getBody(), null);
    return out;
  }
}
