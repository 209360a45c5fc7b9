package dev.ptwalk.processor.writing.c;

import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.LineMap;
import com.sun.source.tree.MethodTree;
import com.sun.source.util.TreePath;
import com.sun.source.util.Trees;
import dev.ptwalk.processor.model.CallbackSpec;
import dev.ptwalk.processor.model.WalkersSpec;
import dev.ptwalk.processor.validation.Message;
import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.List;
import javax.annotation.processing.Filer;
import javax.annotation.processing.Messager;
import javax.annotation.processing.ProcessingEnvironment;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.element.VariableElement;
import javax.lang.model.type.DeclaredType;
import javax.lang.model.type.TypeMirror;
import javax.lang.model.util.Elements;
import javax.tools.Diagnostic;
import javax.tools.FileObject;
import javax.tools.StandardLocation;

/**
 * Writes, for each class with callbacks, the kernel C beside its generated Java: {@code
 * <Generated>.c} and {@code <Generated>.h} in the same package of the source output, through the
 * {@link Filer}, the class as their one originating element. Each callback is translated by
 * {@link CLeafTranslator} from its tree; one outside the callback language gets no C walker and a
 * {@code [ptwalk:c-not-emitted]} note on the construct, and the file holds the callbacks that
 * translate (none: no file). Without {@code com.sun.source} trees nothing is written, and one note
 * says so.
 */
public final class CEmitter {
  /** {@code -Aptwalk.emitC=false}: write no C. */
  public static final String EMIT_C = "ptwalk.emitC";

  private final Elements elements;
  private final Filer filer;
  private final Messager messager;
  private final Trees trees;
  private final CWalkersWriter writer = new CWalkersWriter();
  private boolean noTreesNoted;

  private CEmitter(ProcessingEnvironment env, Trees trees) {
    this.elements = env.getElementUtils();
    this.filer = env.getFiler();
    this.messager = env.getMessager();
    this.trees = trees;
  }

  /** An emitter for {@code env}, or null when {@code -Aptwalk.emitC=false}. */
  public static CEmitter create(ProcessingEnvironment env) {
    if (!Boolean.parseBoolean(env.getOptions().getOrDefault(EMIT_C, "true"))) {
      return null;
    }
    Trees trees;
    try {
      trees = Trees.instance(env);
    } catch (IllegalArgumentException | LinkageError e) {
      trees = null;
    }
    return create(env, trees);
  }

  /** An emitter reading callbacks through {@code trees} (null: none), writing through env. */
  static CEmitter create(ProcessingEnvironment env, Trees trees) {
    return new CEmitter(env, trees);
  }

  /**
   * Write the C of {@code spec}, whose callbacks are {@code methods} of {@code owner}, in the same
   * order.
   */
  public void emit(WalkersSpec spec, TypeElement owner, List<ExecutableElement> methods) {
    if (trees == null) {
      if (!noTreesNoted) {
        noTreesNoted = true;
        messager.printMessage(Diagnostic.Kind.NOTE, Message.C_NOT_EMITTED_NO_TREES.format());
      }
      return;
    }
    String cName = spec.generatedSimpleName() + ".c";
    List<CWalkersWriter.Walker> walkers = new ArrayList<>();
    List<String> signatures = new ArrayList<>();
    List<ExecutableElement> byWalker = new ArrayList<>();
    for (int i = 0; i < methods.size(); i++) {
      ExecutableElement method = methods.get(i);
      CallbackSpec cb = spec.callbacks().get(i);
      String signature = javaSignature(spec, method);
      signatures.add(signature);
      TreePath path = trees.getPath(method);
      if (path == null || !(path.getLeaf() instanceof MethodTree)) {
        messager.printMessage(Diagnostic.Kind.NOTE, Message.C_NOT_EMITTED_WALKER.format(
            method.getSimpleName(), cName, "its source is not at hand"), method);
        continue;
      }
      CompilationUnitTree unit = path.getCompilationUnit();
      CLeafTranslator translator = new CLeafTranslator(
          new CNameResolver(elements, owner, unit), unit, trees.getSourcePositions());
      try {
        CLeaf leaf = translator.translate((MethodTree) path.getLeaf(), cb.shape().arity());
        walkers.add(new CWalkersWriter.Walker(cb, signature, leaf));
        byWalker.add(method);
      } catch (CLeafTranslator.NotTranslated e) {
        long pos = trees.getSourcePositions().getStartPosition(unit, e.tree);
        LineMap lines = unit.getLineMap();
        long line = pos < 0 || lines == null ? -1 : lines.getLineNumber(pos);
        trees.printMessage(Diagnostic.Kind.NOTE, Message.C_NOT_EMITTED.format(
            method.getSimpleName(), cName, e.what, line, e.why), e.tree, unit);
      }
    }
    CWalkersWriter.Result result = writer.write(spec, walkers, signatures);
    for (CWalkersWriter.Dropped d : result.dropped()) {
      ExecutableElement method = byWalker.get(indexOf(walkers, d.cb()));
      messager.printMessage(Diagnostic.Kind.NOTE, Message.C_NOT_EMITTED_WALKER.format(
          method.getSimpleName(), cName, d.why()), method);
    }
    if (result.c() != null) {
      write(spec, owner, cName, result.c());
      write(spec, owner, spec.generatedSimpleName() + ".h", result.h());
    }
  }

  private static int indexOf(List<CWalkersWriter.Walker> walkers, CallbackSpec cb) {
    for (int i = 0; i < walkers.size(); i++) {
      if (walkers.get(i).cb() == cb) {
        return i;
      }
    }
    throw new IllegalStateException("no walker for " + cb);
  }

  private void write(WalkersSpec spec, TypeElement owner, String name, String text) {
    try {
      FileObject file = filer.createResource(StandardLocation.SOURCE_OUTPUT,
          spec.packageName(), name, owner);
      try (Writer w = file.openWriter()) {
        w.write(text);
      }
    } catch (IOException | IllegalArgumentException e) {
      messager.printMessage(Diagnostic.Kind.ERROR, Message.GENERATED_CLASS_EXISTS.format(
          (spec.packageName().isEmpty() ? "" : spec.packageName().replace('.', '/') + "/")
              + name, e.getMessage()), owner);
    }
  }

  /** {@code DirtyHelpers.wrprotect(long pte)}: the callback as the C comments name it. */
  private static String javaSignature(WalkersSpec spec, ExecutableElement method) {
    StringBuilder sb = new StringBuilder(String.join(".", spec.ownerSimpleNames()))
        .append('.').append(method.getSimpleName()).append('(');
    List<? extends VariableElement> params = method.getParameters();
    for (int i = 0; i < params.size(); i++) {
      TypeMirror t = params.get(i).asType();
      String type = t instanceof DeclaredType d ? d.asElement().getSimpleName().toString()
          : t.toString();
      sb.append(i > 0 ? ", " : "").append(type).append(' ').append(params.get(i).getSimpleName());
    }
    return sb.append(')').toString();
  }
}
