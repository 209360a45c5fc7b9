package dev.ptwalk.processor;

import com.google.auto.service.AutoService;
import com.palantir.javapoet.JavaFile;
import com.sun.source.util.Trees;
import dev.ptwalk.processor.checks.BodyChecks;
import dev.ptwalk.processor.checks.LocalCallbackScanner;
import dev.ptwalk.processor.model.WalkerKind;
import dev.ptwalk.processor.model.WalkersSpec;
import dev.ptwalk.processor.validation.CallbackValidator;
import dev.ptwalk.processor.validation.Diagnostics;
import dev.ptwalk.processor.validation.Message;
import dev.ptwalk.processor.writing.WalkersWriter;
import dev.ptwalk.processor.writing.c.CEmitter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.ProcessingEnvironment;
import javax.annotation.processing.Processor;
import javax.annotation.processing.RoundEnvironment;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.util.ElementFilter;
import javax.tools.Diagnostic;

/**
 * Generates range walkers from {@code @PteCallback} methods.
 *
 * <p>Per class holding callbacks: {@linkplain CallbackValidator validate} them all (every error is
 * reported, positioned, in one build), then, if there was none, {@linkplain WalkersWriter write}
 * one {@code *Walkers} class whose single originating element is that class. The processor never
 * claims the annotation and never lets an exception escape into the compiler: an internal failure
 * becomes one error naming the class.
 */
@AutoService(Processor.class)
public final class PteCallbackProcessor extends AbstractProcessor {
  private Diagnostics diagnostics;
  private CallbackValidator validator;
  private final WalkersWriter writer = new WalkersWriter();
  /** Writes the kernel C beside the Java; null under {@code -Aptwalk.emitC=false}. */
  private CEmitter cEmitter;
  private LocalCallbackScanner localScanner;
  private boolean bodyChecks;
  private boolean skippedNoted;
  private final List<WalkerKind> kinds;
  /** The classes this processor generated, by qualified name. */
  private final Set<String> generated = new HashSet<>();
  /** Classes whose callbacks mention types not resolved yet, retried next round, by name. */
  private final Set<String> deferred = new TreeSet<>();

  /** {@code -Aptwalk.requireBodyChecks=true}: no body checks (no javac trees) is an error. */
  public static final String REQUIRE_BODY_CHECKS = "ptwalk.requireBodyChecks";
  /**
   * {@code -Aptwalk.checkGenerated=true}: run the body checks on the walkers this processor
   * generates too (they are correct by construction and golden-tested, so by default they are
   * not).
   */
  public static final String CHECK_GENERATED = "ptwalk.checkGenerated";
  /** {@code -Aptwalk.emitC=false}: write no kernel C beside the generated walkers. */
  public static final String EMIT_C = CEmitter.EMIT_C;

  /** Instantiated by the compiler through {@link java.util.ServiceLoader}. */
  public PteCallbackProcessor() {
    this(WalkerKind.builtins());
  }

  /**
   * A processor knowing {@code kinds} instead of the built-in ones: how a test shows that a new
   * kind is one more {@link WalkerKind} constant and nothing else.
   */
  PteCallbackProcessor(List<WalkerKind> kinds) {
    this.kinds = List.copyOf(kinds);
  }

  @Override
  public synchronized void init(ProcessingEnvironment env) {
    super.init(env);
    diagnostics = new Diagnostics(env.getMessager());
    validator =
        new CallbackValidator(env.getElementUtils(), env.getTypeUtils(), diagnostics, kinds);
    localScanner = trees(env).map(LocalCallbackScanner::new).orElse(null);
    cEmitter = CEmitter.create(env);
    boolean checkGenerated =
        Boolean.parseBoolean(env.getOptions().getOrDefault(CHECK_GENERATED, "false"));
    bodyChecks = BodyChecks.install(env, kinds,
        type -> !checkGenerated && generated.contains(type.getQualifiedName().toString()))
        .isPresent();
  }

  @Override
  public Set<String> getSupportedOptions() {
    return Set.of(REQUIRE_BODY_CHECKS, CHECK_GENERATED, EMIT_C);
  }

  /**
   * Every annotation: javac only calls processors for annotations it finds on members, and an
   * {@code @PteCallback} in a local or anonymous class is on no member, so a processor asking for
   * just {@code @PteCallback} would never see (nor report) one. Claiming nothing, it costs other
   * processors nothing.
   */
  @Override
  public Set<String> getSupportedAnnotationTypes() {
    return Set.of("*");
  }

  @Override
  public SourceVersion getSupportedSourceVersion() {
    return SourceVersion.latestSupported();
  }

  @Override
  public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
    try {
      if (localScanner != null) {
        localScanner.scan(round.getRootElements());
      }
      noteSkippedBodyChecks(round);
      TypeElement annotation = processingEnv.getElementUtils().getTypeElement(Names.PTE_CALLBACK);
      if (annotation == null) {
        return false;
      }
      Map<String, Map.Entry<TypeElement, List<ExecutableElement>>> groups =
          byClass(round, annotation);
      for (String name : deferred) {
        TypeElement owner = processingEnv.getElementUtils().getTypeElement(name);
        if (owner != null && !groups.containsKey(name)) {
          groups.put(name, Map.entry(owner, callbacks(owner)));
        }
      }
      deferred.clear();
      for (Map.Entry<String, Map.Entry<TypeElement, List<ExecutableElement>>> e
          : groups.entrySet()) {
        TypeElement owner = e.getValue().getKey();
        List<ExecutableElement> methods = e.getValue().getValue();
        if (methods.stream().noneMatch(CallbackValidator::unresolved)) {
          processClass(owner, methods);
        } else if (!round.processingOver()) {
          deferred.add(e.getKey()); // another processor may generate the missing type
        } else if (!validator.runtimePresent()) {
          // The last round: javac reports the missing symbols; say which dependency has them.
          validator.reportRuntimeMissing(owner);
        }
      }
    } catch (RuntimeException | LinkageError e) {
      processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR,
          Message.INTERNAL_ERROR.format("this round", trace(e)));
    }
    return false; // never claim: other processors may want @PteCallback too
  }

  /**
   * Without javac's trees the body checks cannot run: say so once, when there is something they
   * would have checked (an error under {@code -Aptwalk.requireBodyChecks=true}).
   */
  private void noteSkippedBodyChecks(RoundEnvironment round) {
    if (bodyChecks || skippedNoted) {
      return;
    }
    for (String name : List.of(Names.PTE_CALLBACK, Names.CHECKED_WALKER, Names.IN_BRACKET)) {
      TypeElement a = processingEnv.getElementUtils().getTypeElement(name);
      if (a != null && !round.getElementsAnnotatedWith(a).isEmpty()) {
        skippedNoted = true;
        boolean required = Boolean.parseBoolean(
            processingEnv.getOptions().getOrDefault(REQUIRE_BODY_CHECKS, "false"));
        processingEnv.getMessager().printMessage(
            required ? Diagnostic.Kind.ERROR : Diagnostic.Kind.NOTE,
            Message.BODY_CHECKS_SKIPPED.format());
        return;
      }
    }
  }

  private void processClass(TypeElement owner, List<ExecutableElement> methods) {
    try {
      Optional<WalkersSpec> spec = validator.validate(owner, methods);
      if (spec.isEmpty()) {
        return;
      }
      JavaFile file = writer.write(spec.get(), owner);
      generated.add(spec.get().generatedQualifiedName());
      try {
        file.writeTo(processingEnv.getFiler());
      } catch (IOException e) {
        diagnostics.error(owner, Message.GENERATED_CLASS_EXISTS,
            spec.get().generatedQualifiedName(), e.getMessage());
        return;
      }
      if (cEmitter != null) {
        cEmitter.emit(spec.get(), owner, methods);
      }
    } catch (RuntimeException | LinkageError e) {
      diagnostics.error(owner, Message.INTERNAL_ERROR, owner.getQualifiedName(), trace(e));
    }
  }

  /** The {@code @PteCallback} methods of {@code owner}, in source order. */
  private static List<ExecutableElement> callbacks(TypeElement owner) {
    List<ExecutableElement> out = new ArrayList<>();
    for (ExecutableElement m : ElementFilter.methodsIn(owner.getEnclosedElements())) {
      for (AnnotationMirror a : m.getAnnotationMirrors()) {
        if (((TypeElement) a.getAnnotationType().asElement()).getQualifiedName()
            .contentEquals(Names.PTE_CALLBACK)) {
          out.add(m);
        }
      }
    }
    return out;
  }

  /** Annotated methods grouped by class, classes by name, methods in source order. */
  private static Map<String, Map.Entry<TypeElement, List<ExecutableElement>>> byClass(
      RoundEnvironment round, TypeElement annotation) {
    Map<String, Map.Entry<TypeElement, List<ExecutableElement>>> groups = new TreeMap<>();
    for (Element e : round.getElementsAnnotatedWith(annotation)) {
      if (e.getKind() != ElementKind.METHOD) {
        continue;
      }
      TypeElement owner = (TypeElement) e.getEnclosingElement();
      groups.computeIfAbsent(owner.getQualifiedName().toString(),
          k -> Map.entry(owner, new ArrayList<>())).getValue().add((ExecutableElement) e);
    }
    for (Map.Entry<TypeElement, List<ExecutableElement>> g : groups.values()) {
      List<? extends Element> order = g.getKey().getEnclosedElements();
      g.getValue().sort(Comparator.comparingInt(order::indexOf));
    }
    return groups;
  }

  /** {@link Trees} when the compiler is javac (directly, not behind a wrapper), else empty. */
  private static Optional<Trees> trees(ProcessingEnvironment env) {
    try {
      return Optional.of(Trees.instance(env));
    } catch (IllegalArgumentException | LinkageError e) {
      return Optional.empty();
    }
  }

  private static String trace(Throwable t) {
    StringWriter out = new StringWriter();
    t.printStackTrace(new PrintWriter(out));
    return out.toString();
  }
}
