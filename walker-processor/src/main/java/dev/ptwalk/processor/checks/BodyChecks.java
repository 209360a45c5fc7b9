package dev.ptwalk.processor.checks;

import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.Tree;
import com.sun.source.util.JavacTask;
import com.sun.source.util.TaskEvent;
import com.sun.source.util.TaskListener;
import com.sun.source.util.TreePath;
import com.sun.source.util.Trees;
import dev.ptwalk.processor.checks.Marks.Role;
import dev.ptwalk.processor.model.WalkerKind;
import dev.ptwalk.processor.validation.Message;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.annotation.processing.ProcessingEnvironment;
import javax.lang.model.element.Element;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.TypeElement;
import javax.tools.Diagnostic;

/**
 * Runs the body checks when javac has analysed a class, when every call and name is resolved:
 * {@link BracketAnalysis} on {@code @CheckedWalker} and {@code @InBracket} methods, {@link
 * CallbackTransitions} on {@code @PteCallback} methods. Generated walkers carry
 * {@code @CheckedWalker} too, so every walker ptwalk writes passes the same check.
 */
public final class BodyChecks implements TaskListener {
  private final Trees trees;
  private final List<WalkerKind> kinds;
  private final HiddenChanges hidden;
  private final Set<String> reported = new HashSet<>();
  private final Set<Element> checked = new HashSet<>();

  private BodyChecks(Trees trees, List<WalkerKind> kinds) {
    this.trees = trees;
    this.kinds = List.copyOf(kinds);
    this.hidden = new HiddenChanges(trees);
  }

  /**
   * Install the checks on the running javac; empty when the compiler is not javac (or javac
   * behind a wrapper), which offers no {@code com.sun.source} trees.
   */
  public static Optional<BodyChecks> install(ProcessingEnvironment env, List<WalkerKind> kinds) {
    try {
      BodyChecks checks = new BodyChecks(Trees.instance(env), kinds);
      JavacTask.instance(env).addTaskListener(checks);
      return Optional.of(checks);
    } catch (IllegalArgumentException | LinkageError e) {
      return Optional.empty();
    }
  }

  @Override
  public void started(TaskEvent e) {}

  @Override
  public void finished(TaskEvent e) {
    if (e.getKind() != TaskEvent.Kind.ANALYZE || e.getTypeElement() == null) {
      return;
    }
    TypeElement type = e.getTypeElement();
    CompilationUnitTree unit = e.getCompilationUnit();
    try {
      TreePath path = trees.getPath(type);
      if (path != null && path.getLeaf() instanceof ClassTree) {
        checkClass(unit, path);
      }
    } catch (RuntimeException | LinkageError ex) {
      StringWriter trace = new StringWriter();
      ex.printStackTrace(new PrintWriter(trace));
      trees.printMessage(Diagnostic.Kind.ERROR,
          Message.INTERNAL_ERROR.format(type.getQualifiedName(), trace), path(type), unit);
    }
  }

  private Tree path(TypeElement type) {
    return trees.getTree(type);
  }

  private void checkClass(CompilationUnitTree unit, TreePath classPath) {
    for (Tree member : ((ClassTree) classPath.getLeaf()).getMembers()) {
      TreePath memberPath = new TreePath(classPath, member);
      if (member instanceof ClassTree) {
        checkClass(unit, memberPath);
      } else if (member instanceof MethodTree) {
        Element element = trees.getElement(memberPath);
        if (element instanceof ExecutableElement && checked.add(element)) {
          checkMethod(unit, memberPath, (MethodTree) member, (ExecutableElement) element);
        }
      }
    }
  }

  private void checkMethod(CompilationUnitTree unit, TreePath path, MethodTree method,
      ExecutableElement element) {
    Role role = Marks.role(element);
    boolean callback = Marks.annotation(element, Marks.PTE_CALLBACK) != null;
    if (role != Role.CHECKED_WALKER && role != Role.IN_BRACKET && !callback) {
      return;
    }
    TreeContext ctx = new TreeContext(trees, unit, reported);
    ctx.index(path);
    if (role == Role.CHECKED_WALKER || role == Role.IN_BRACKET) {
      new BracketAnalysis(ctx, hidden).analyze(method, role == Role.IN_BRACKET);
    }
    if (callback) {
      new CallbackTransitions(ctx, kinds).check(method, element);
    }
  }
}
