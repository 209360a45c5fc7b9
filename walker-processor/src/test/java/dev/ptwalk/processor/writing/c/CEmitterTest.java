package dev.ptwalk.processor.writing.c;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.Compiler;
import com.google.testing.compile.JavaFileObjects;
import com.sun.source.util.Trees;
import dev.ptwalk.processor.model.WalkerKind;
import dev.ptwalk.processor.model.WalkersSpec;
import dev.ptwalk.processor.validation.CallbackValidator;
import dev.ptwalk.processor.validation.Diagnostics;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.Filer;
import javax.annotation.processing.ProcessingEnvironment;
import javax.annotation.processing.RoundEnvironment;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.Element;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.util.ElementFilter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Each C file and header is created through the Filer in the source output, next to the
 * generated Java, with the callbacks' class as its one originating element: what Gradle's
 * isolating incremental processing needs to know which source a file comes from.
 */
@Timeout(60)
class CEmitterTest {
  /** One createResource call: where, what, and the originating elements. */
  private record Created(String location, String pkg, String name, List<Element> originating) {}

  /** Runs the emitter on each class with callbacks, through a Filer that records its calls. */
  private static final class Recording extends AbstractProcessor {
    final List<Created> created = new ArrayList<>();
    final List<TypeElement> owners = new ArrayList<>();
    private CEmitter emitter;
    private CallbackValidator validator;

    @Override
    public Set<String> getSupportedAnnotationTypes() {
      return Set.of("dev.ptwalk.annotations.PteCallback");
    }

    @Override
    public SourceVersion getSupportedSourceVersion() {
      return SourceVersion.latestSupported();
    }

    @Override
    public synchronized void init(ProcessingEnvironment env) {
      super.init(env);
      Filer real = env.getFiler();
      Filer filer = (Filer) Proxy.newProxyInstance(getClass().getClassLoader(),
          new Class<?>[] {Filer.class}, (proxy, method, args) -> {
            if (method.getName().equals("createResource")) {
              created.add(new Created(String.valueOf(args[0]), String.valueOf(args[1]),
                  String.valueOf(args[2]), List.of((Element[]) args[3])));
            }
            try {
              return method.invoke(real, args);
            } catch (InvocationTargetException e) {
              throw e.getCause();
            }
          });
      ProcessingEnvironment recording = (ProcessingEnvironment) Proxy.newProxyInstance(
          getClass().getClassLoader(), new Class<?>[] {ProcessingEnvironment.class},
          (proxy, method, args) -> method.getName().equals("getFiler") ? filer
              : method.invoke(env, args));
      emitter = CEmitter.create(recording, Trees.instance(env));
      validator = new CallbackValidator(env.getElementUtils(), env.getTypeUtils(),
          new Diagnostics(env.getMessager()), WalkerKind.builtins());
    }

    @Override
    public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
      for (TypeElement a : annotations) {
        for (TypeElement owner : ElementFilter.typesIn(round.getRootElements())) {
          List<ExecutableElement> methods = new ArrayList<>();
          for (ExecutableElement m : ElementFilter.methodsIn(owner.getEnclosedElements())) {
            if (m.getAnnotationMirrors().stream()
                .anyMatch(x -> x.getAnnotationType().asElement().equals(a))) {
              methods.add(m);
            }
          }
          if (!methods.isEmpty()) {
            WalkersSpec spec = validator.validate(owner, methods).orElseThrow();
            owners.add(owner);
            emitter.emit(spec, owner, methods);
          }
        }
      }
      return false;
    }
  }

  @Test
  void eachFileHasTheCallbacksClassAsItsOneOriginatingElement() {
    Recording p = new Recording();
    Compilation c = Compiler.javac().withProcessors(p).compile(JavaFileObjects.forSourceLines(
        "test.Leaves", "package test;",
        "import dev.ptwalk.annotations.PteCallback;",
        "import dev.ptwalk.runtime.Pte;",
        "final class Leaves {",
        "  @PteCallback(PteCallback.Kind.WRPROTECT)",
        "  static long wp(long pte) { return Pte.wrprotect(pte); }",
        "}"));
    assertThat(c).succeeded();
    assertEquals(1, p.owners.size());
    TypeElement owner = p.owners.get(0);
    assertEquals(List.of(
        new Created("SOURCE_OUTPUT", "test", "LeavesWalkers.c", List.of(owner)),
        new Created("SOURCE_OUTPUT", "test", "LeavesWalkers.h", List.of(owner))), p.created);
  }
}
