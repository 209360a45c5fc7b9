package dev.ptwalk.processor.checks;

import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.MethodInvocationTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.Tree;
import com.sun.source.util.TreePath;
import com.sun.source.util.TreeScanner;
import com.sun.source.util.Trees;
import dev.ptwalk.processor.checks.Marks.Role;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.lang.model.element.Element;
import javax.lang.model.element.ExecutableElement;

/**
 * Whether an unmarked helper method changes PTEs, directly or through other helpers, so that a
 * call to it from a checked walker would hide a change. Only helpers whose source is in this
 * compilation can be looked into; a helper from a class file is taken at its word.
 */
final class HiddenChanges {
  /** The change found in a helper: the call that makes it, and its line. */
  record Found(String call, long line) {}

  /** Runtime methods that change PTEs, for bodies javac has not attributed yet. */
  private static final Set<String> CHANGE_NAMES =
      Set.of("setPteAt", "ptepModifyProtStart", "ptepModifyProtCommit", "ptepGetAndClear");

  private final Trees trees;
  private final Map<Element, Optional<Found>> memo = new HashMap<>();

  HiddenChanges(Trees trees) {
    this.trees = trees;
  }

  /** The PTE change hidden in {@code method}, or null when it makes none (or cannot be read). */
  Found find(Element method) {
    if (!(method instanceof ExecutableElement) || Marks.role(method) != Role.NONE) {
      return null;
    }
    Optional<Found> known = memo.get(method);
    if (known != null) {
      return known.orElse(null);
    }
    memo.put(method, Optional.empty()); // recursion guard
    TreePath path = trees.getPath(method);
    Found found = null;
    if (path != null && path.getLeaf() instanceof MethodTree
        && ((MethodTree) path.getLeaf()).getBody() != null) {
      found = scan(path.getCompilationUnit(), (MethodTree) path.getLeaf());
    }
    memo.put(method, Optional.ofNullable(found));
    return found;
  }

  private Found scan(CompilationUnitTree unit, MethodTree method) {
    TreeContext ctx = new TreeContext(trees, unit, TreeContext.newReportedSet());
    ctx.index(trees.getPath(unit, method));
    Found[] found = {null};
    new TreeScanner<Void, Void>() {
      @Override
      public Void visitMethodInvocation(MethodInvocationTree mi, Void unused) {
        if (found[0] == null) {
          Element target = ctx.element(mi);
          Role role = Marks.role(target);
          String name = target != null ? target.getSimpleName().toString()
              : lastName(mi.getMethodSelect());
          if (role == Role.CHANGE || role == Role.IN_BRACKET
              || (target == null && CHANGE_NAMES.contains(name))) {
            found[0] = new Found(ctx.text(mi.getMethodSelect()), ctx.line(mi));
          } else if (role == Role.NONE && target != null && find(target) != null) {
            found[0] = new Found(ctx.text(mi.getMethodSelect()), ctx.line(mi));
          }
        }
        return super.visitMethodInvocation(mi, unused);
      }
    }.scan(method.getBody(), null);
    return found[0];
  }

  private static String lastName(Tree select) {
    String s = select.toString();
    return s.substring(s.lastIndexOf('.') + 1);
  }
}
