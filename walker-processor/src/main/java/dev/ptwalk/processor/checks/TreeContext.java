package dev.ptwalk.processor.checks;

import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.LineMap;
import com.sun.source.tree.Tree;
import com.sun.source.util.SourcePositions;
import com.sun.source.util.TreePath;
import com.sun.source.util.TreePathScanner;
import com.sun.source.util.Trees;
import dev.ptwalk.processor.validation.Message;
import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import javax.lang.model.element.Element;
import javax.lang.model.type.TypeMirror;
import javax.tools.Diagnostic;

/**
 * One compilation unit as the body checks see it: element lookups for the trees of the methods
 * being checked, positions, lines, source text, and reporting that says each problem once.
 */
final class TreeContext {
  private final Trees trees;
  private final CompilationUnitTree unit;
  private final SourcePositions positions;
  private final Map<Tree, TreePath> paths = new IdentityHashMap<>();
  private final Map<Long, Tree> byPos = new HashMap<>();
  private final Set<String> reported;
  private CharSequence source;

  TreeContext(Trees trees, CompilationUnitTree unit, Set<String> reported) {
    this.trees = trees;
    this.unit = unit;
    this.positions = trees.getSourcePositions();
    this.reported = reported;
  }

  /** Index the trees under {@code root} so that {@link #element} needs no search. */
  void index(TreePath root) {
    new TreePathScanner<Void, Void>() {
      @Override
      public Void scan(Tree tree, Void unused) {
        if (tree != null) {
          paths.put(tree, new TreePath(getCurrentPath(), tree));
        }
        return super.scan(tree, unused);
      }
    }.scan(root, null);
    paths.put(root.getLeaf(), root);
  }

  /** The element a tree refers to (a called method, a variable), or null. */
  Element element(Tree tree) {
    TreePath path = paths.get(tree);
    if (path == null) {
      path = TreePath.getPath(unit, tree);
    }
    return path == null ? null : trees.getElement(path);
  }

  /** The path of {@code tree} under the indexed root, or null. */
  TreePath path(Tree tree) {
    TreePath path = paths.get(tree);
    return path != null ? path : TreePath.getPath(unit, tree);
  }

  /** The type of an expression or variable tree, or null. */
  TypeMirror type(Tree tree) {
    TreePath path = paths.get(tree);
    if (path == null) {
      path = TreePath.getPath(unit, tree);
    }
    return path == null ? null : trees.getTypeMirror(path);
  }

  /** Start position of {@code tree}, remembered so a report can be placed on it later. */
  long pos(Tree tree) {
    long p = positions.getStartPosition(unit, tree);
    byPos.putIfAbsent(p, tree);
    return p;
  }

  /** Line of {@code tree}. */
  long line(Tree tree) {
    return lineOf(positions.getStartPosition(unit, tree));
  }

  /** Line of a position. */
  long lineOf(long pos) {
    LineMap lines = unit.getLineMap();
    return pos < 0 || lines == null ? -1 : lines.getLineNumber(pos);
  }

  /** The source text of {@code tree}, as written. */
  String text(Tree tree) {
    long start = positions.getStartPosition(unit, tree);
    long end = positions.getEndPosition(unit, tree);
    try {
      if (source == null) {
        source = unit.getSourceFile().getCharContent(true);
      }
      if (start >= 0 && end > start && end <= source.length()) {
        return source.subSequence((int) start, (int) end).toString();
      }
    } catch (IOException e) {
      // fall back to the tree's own rendering
    }
    return tree.toString();
  }

  /** Report {@code message} on the tree at {@code pos}, once per position and message. */
  void report(long pos, Diagnostic.Kind kind, Message message, Object... args) {
    Tree tree = byPos.get(pos);
    if (tree == null || !reported.add(unit.getSourceFile().toUri() + ":" + pos + ":"
        + message.name())) {
      return;
    }
    trees.printMessage(kind, message.format(args), tree, unit);
  }

  /** Report on a tree directly. */
  void report(Tree tree, Diagnostic.Kind kind, Message message, Object... args) {
    report(pos(tree), kind, message, args);
  }

  /** A context for another unit sharing this one's record of what was reported. */
  static Set<String> newReportedSet() {
    return new HashSet<>();
  }
}
