package dev.ptwalk.processor.checks;

import com.sun.source.tree.AnnotationTree;
import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.ImportTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.NewClassTree;
import com.sun.source.tree.Tree;
import com.sun.source.util.TreePath;
import com.sun.source.util.TreePathScanner;
import com.sun.source.util.Trees;
import dev.ptwalk.processor.Names;
import dev.ptwalk.processor.validation.Message;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import javax.lang.model.element.Element;
import javax.tools.Diagnostic;

/**
 * Finds {@code @PteCallback} methods declared in local or anonymous classes. The compiler never
 * hands those to a processor (they are not members of anything), so without this they would be
 * silently ignored; this reads the source through {@code com.sun.source} instead.
 *
 * <p>Annotations in method bodies are not attributed yet while processors run, so the annotation
 * is recognised by its name as written: {@code PteCallback} with a matching import, or the
 * qualified name.
 */
public final class LocalCallbackScanner {
  private final Trees trees;
  private final Set<CompilationUnitTree> seen = new HashSet<>();

  /** A scanner over the sources {@code trees} knows. */
  public LocalCallbackScanner(Trees trees) {
    this.trees = trees;
  }

  /** Scan the compilation unit of each root element once. */
  public void scan(Iterable<? extends Element> roots) {
    for (Element root : roots) {
      TreePath path = trees.getPath(root);
      if (path != null && seen.add(path.getCompilationUnit())
          && mentionsPteCallback(path.getCompilationUnit())) {
        new Scanner(path.getCompilationUnit()).scan(path.getCompilationUnit(), null);
      }
    }
  }

  /** A cheap filter: only sources that spell the annotation's name can hold one. */
  private static boolean mentionsPteCallback(CompilationUnitTree unit) {
    try {
      return unit.getSourceFile().getCharContent(true).toString().contains("PteCallback");
    } catch (IOException e) {
      return true; // cannot tell: scan it
    }
  }

  private final class Scanner extends TreePathScanner<Void, Void> {
    private final CompilationUnitTree unit;
    private final boolean imported;

    Scanner(CompilationUnitTree unit) {
      this.unit = unit;
      boolean found = unit.getPackageName() != null
          && unit.getPackageName().toString().equals(Names.ANNOTATIONS_PACKAGE);
      for (ImportTree imp : unit.getImports()) {
        String name = imp.getQualifiedIdentifier().toString();
        found |= !imp.isStatic() && (name.equals(Names.PTE_CALLBACK)
            || name.equals(Names.ANNOTATIONS_STAR));
      }
      this.imported = found;
    }

    @Override
    public Void visitClass(ClassTree tree, Void unused) {
      Tree parent = getCurrentPath().getParentPath().getLeaf();
      boolean anonymous = parent instanceof NewClassTree;
      boolean local = !anonymous && !(parent instanceof ClassTree)
          && !(parent instanceof CompilationUnitTree);
      if (anonymous || local) {
        for (Tree member : tree.getMembers()) {
          if (member instanceof MethodTree && annotated((MethodTree) member)) {
            MethodTree method = (MethodTree) member;
            String text = anonymous
                ? Message.CALLBACK_IN_ANONYMOUS_CLASS.format(method.getName())
                : Message.CALLBACK_IN_LOCAL_CLASS.format(method.getName(), tree.getSimpleName());
            trees.printMessage(Diagnostic.Kind.ERROR, text, method, unit);
          }
        }
      }
      return super.visitClass(tree, unused);
    }

    private boolean annotated(MethodTree method) {
      for (AnnotationTree a : method.getModifiers().getAnnotations()) {
        String name = a.getAnnotationType().toString();
        if (name.equals(Names.PTE_CALLBACK)
            || (name.equals("PteCallback") && imported)) {
          return true;
        }
      }
      return false;
    }
  }
}
