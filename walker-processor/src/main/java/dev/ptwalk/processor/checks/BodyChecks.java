package dev.ptwalk.processor.checks;

import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.util.JavacTask;
import com.sun.source.util.TaskEvent;
import com.sun.source.util.TaskListener;
import com.sun.source.util.TreePath;
import com.sun.source.util.TreePathScanner;
import com.sun.source.util.Trees;
import dev.ptwalk.processor.Names;
import dev.ptwalk.processor.checks.Marks.Role;
import dev.ptwalk.processor.model.WalkerKind;
import dev.ptwalk.processor.validation.Message;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import javax.annotation.processing.ProcessingEnvironment;
import javax.lang.model.element.Element;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.TypeElement;
import javax.tools.Diagnostic;

/**
 * Runs the body checks when javac has analysed a class, when every call and name is resolved:
 * {@link BracketAnalysis} on {@code @CheckedWalker} and {@code @InBracket} methods, {@link
 * CallbackTransitions} on {@code @PteCallback} methods, wherever they are declared: in member
 * classes, local and anonymous classes, enum constant bodies. Walkers ptwalk generated itself
 * carry {@code @CheckedWalker} too; they are correct by construction and golden-tested, so they
 * are skipped unless {@code -Aptwalk.checkGenerated=true} asks for them.
 */
public final class BodyChecks implements TaskListener {
  private final Trees trees;
  private final List<WalkerKind> kinds;
  private final Marks marks;
  private final HiddenChanges hidden;
  private final Predicate<TypeElement> skip;
  private final Set<String> reported = new HashSet<>();
  private final Set<Element> checked = new HashSet<>();

  private BodyChecks(Trees trees, ProcessingEnvironment env, List<WalkerKind> kinds,
      Predicate<TypeElement> skip) {
    this.trees = trees;
    this.kinds = List.copyOf(kinds);
    this.marks = new Marks(env.getElementUtils(), env.getTypeUtils());
    this.hidden = new HiddenChanges(trees, marks);
    this.skip = skip;
  }

  /**
   * Install the checks on the running javac; empty when the compiler is not javac (or javac
   * behind a wrapper), which offers no {@code com.sun.source} trees. Top-level classes {@code
   * skip} accepts are not checked.
   */
  public static Optional<BodyChecks> install(ProcessingEnvironment env, List<WalkerKind> kinds,
      Predicate<TypeElement> skip) {
    try {
      BodyChecks checks = new BodyChecks(Trees.instance(env), env, kinds, skip);
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
      if (skip.test(type)) {
        return;
      }
      TreePath path = trees.getPath(type);
      if (path != null && path.getLeaf() instanceof ClassTree) {
        checkClass(unit, path);
      }
    } catch (RuntimeException | LinkageError ex) {
      StringWriter trace = new StringWriter();
      ex.printStackTrace(new PrintWriter(trace));
      trees.printMessage(Diagnostic.Kind.ERROR,
          Message.INTERNAL_ERROR.format(type.getQualifiedName(), trace), trees.getTree(type),
          unit);
    }
  }

  /** Every method under the class: of member, local and anonymous classes and enum constants. */
  private void checkClass(CompilationUnitTree unit, TreePath classPath) {
    new TreePathScanner<Void, Void>() {
      @Override
      public Void visitMethod(MethodTree method, Void unused) {
        Element element = trees.getElement(getCurrentPath());
        if (element instanceof ExecutableElement && checked.add(element)) {
          checkMethod(unit, getCurrentPath(), method, (ExecutableElement) element);
        }
        return super.visitMethod(method, unused);
      }
    }.scan(classPath, null);
  }

  private void checkMethod(CompilationUnitTree unit, TreePath path, MethodTree method,
      ExecutableElement element) {
    Role role = Marks.role(element);
    boolean callback = Marks.annotation(element, Names.PTE_CALLBACK) != null;
    if (role == Role.NONE && !callback) {
      return;
    }
    TreeContext ctx = new TreeContext(trees, unit, reported);
    ctx.index(path);
    if (role != Role.NONE) {
      new BracketAnalysis(ctx, marks, hidden).analyze(method, role == Role.IN_BRACKET);
    }
    if (callback) {
      new CallbackTransitions(ctx, marks, kinds).check(method, element);
    }
  }
}
