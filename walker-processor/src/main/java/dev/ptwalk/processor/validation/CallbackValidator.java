package dev.ptwalk.processor.validation;

import dev.ptwalk.processor.Names;
import dev.ptwalk.processor.model.CallbackShape;
import dev.ptwalk.processor.model.CallbackSpec;
import dev.ptwalk.processor.model.Scope;
import dev.ptwalk.processor.model.WalkerKind;
import dev.ptwalk.processor.model.WalkersSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.AnnotationValue;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.Modifier;
import javax.lang.model.element.NestingKind;
import javax.lang.model.element.PackageElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.element.VariableElement;
import javax.lang.model.type.DeclaredType;
import javax.lang.model.type.TypeKind;
import javax.lang.model.type.TypeMirror;
import javax.lang.model.util.Elements;
import javax.lang.model.util.Types;

/**
 * Turns the {@code @PteCallback} methods of one class into a {@link WalkersSpec}, or reports
 * every problem with them (positioned on the method or the offending annotation value) and
 * returns empty. Nothing past this class sees a {@code javax.lang.model} type.
 */
public final class CallbackValidator {
  private final Elements elements;
  private final Types types;
  private final Diagnostics diagnostics;
  private final List<WalkerKind> kinds;

  /** A validator reporting through {@code diagnostics}, knowing {@code kinds}. */
  public CallbackValidator(Elements elements, Types types, Diagnostics diagnostics,
      List<WalkerKind> kinds) {
    this.elements = elements;
    this.types = types;
    this.diagnostics = diagnostics;
    this.kinds = List.copyOf(kinds);
  }

  /** Validate the callbacks {@code methods} of {@code owner}, given in source order. */
  public Optional<WalkersSpec> validate(TypeElement owner, List<ExecutableElement> methods) {
    int errorsBefore = diagnostics.errorCount();
    String packageName = packageOf(owner).getQualifiedName().toString();
    List<String> simpleNames = simpleNames(owner);
    String generated = String.join("_", simpleNames) + "Walkers";
    if (!runtimePresent()) {
      diagnostics.error(owner, Message.RUNTIME_MISSING, owner.getQualifiedName(),
          Names.RUNTIME_PROBE);
    }
    List<CallbackSpec> specs = new ArrayList<>();
    Map<String, ExecutableElement> byWalker = new LinkedHashMap<>();
    for (ExecutableElement method : methods) {
      checkOwner(owner, method, generated, packageName);
      CallbackSpec spec = validateMethod(owner, method, generated);
      if (spec == null) {
        continue;
      }
      ExecutableElement first = byWalker.putIfAbsent(spec.walkerName(), method);
      if (first != null) {
        diagnostics.error(method, Message.DUPLICATE_WALKER_NAME, method.getSimpleName(),
            generated, spec.walkerName(), first.getSimpleName());
        continue;
      }
      specs.add(spec);
    }
    if (diagnostics.errorCount() > errorsBefore) {
      return Optional.empty();
    }
    return Optional.of(new WalkersSpec(packageName, simpleNames, specs));
  }

  /** Whether walker-runtime is on the compile class path. */
  public boolean runtimePresent() {
    return elements.getTypeElement(Names.RUNTIME_PROBE) != null;
  }

  /** Report that walker-runtime is missing, for {@code owner}'s walkers. */
  public void reportRuntimeMissing(TypeElement owner) {
    diagnostics.error(owner, Message.RUNTIME_MISSING, owner.getQualifiedName(),
        Names.RUNTIME_PROBE);
  }

  /**
   * Whether a type in {@code method}'s signature is not resolved yet: another processor may
   * generate it in a later round, so the method's class is deferred, as Dagger and AutoValue do.
   */
  public static boolean unresolved(ExecutableElement method) {
    if (method.getReturnType().getKind() == TypeKind.ERROR) {
      return true;
    }
    for (VariableElement p : method.getParameters()) {
      if (p.asType().getKind() == TypeKind.ERROR) {
        return true;
      }
    }
    for (TypeMirror t : method.getThrownTypes()) {
      if (t.getKind() == TypeKind.ERROR) {
        return true;
      }
    }
    return false;
  }

  private void checkOwner(TypeElement owner, ExecutableElement method, String generated,
      String packageName) {
    Object name = method.getSimpleName();
    if (owner.getKind().isInterface()) {
      diagnostics.error(method, Message.CALLBACK_IN_INTERFACE, name, owner.getQualifiedName());
    }
    NestingKind nesting = owner.getNestingKind();
    if (nesting == NestingKind.LOCAL) {
      diagnostics.error(method, Message.CALLBACK_IN_LOCAL_CLASS, name, owner.getSimpleName());
    } else if (nesting == NestingKind.ANONYMOUS) {
      diagnostics.error(method, Message.CALLBACK_IN_ANONYMOUS_CLASS, name);
    } else if (nesting == NestingKind.MEMBER && owner.getKind() == ElementKind.CLASS
        && !owner.getModifiers().contains(Modifier.STATIC)) {
      diagnostics.error(method, Message.CALLBACK_IN_INNER_CLASS, name, owner.getQualifiedName());
    }
    for (Element e = owner; e instanceof TypeElement; e = e.getEnclosingElement()) {
      if (e.getModifiers().contains(Modifier.PRIVATE)) {
        TypeElement t = (TypeElement) e;
        diagnostics.error(method, Message.CLASS_NOT_ACCESSIBLE, name, t.getQualifiedName(),
            generated, packageName.isEmpty() ? "(unnamed)" : packageName, t.getSimpleName());
        break;
      }
    }
  }

  /** The spec of one callback, or null after reporting its problems. */
  private CallbackSpec validateMethod(TypeElement owner, ExecutableElement method,
      String generated) {
    int errorsBefore = diagnostics.errorCount();
    Object name = method.getSimpleName();
    if (!method.getModifiers().contains(Modifier.STATIC)) {
      diagnostics.error(method, Message.CALLBACK_NOT_STATIC, name);
    }
    if (method.getModifiers().contains(Modifier.PRIVATE)) {
      diagnostics.error(method, Message.CALLBACK_PRIVATE, name, generated, owner.getSimpleName());
    }
    if (!method.getTypeParameters().isEmpty()) {
      diagnostics.error(method, Message.CALLBACK_GENERIC, name, method.getTypeParameters().stream()
          .map(Object::toString).collect(Collectors.joining(", ")));
    }
    if (method.getReturnType().getKind() != TypeKind.LONG) {
      diagnostics.error(method, Message.CALLBACK_BAD_RETURN, name, method.getReturnType());
    }
    CallbackShape shape = shape(method);
    if (shape == null) {
      diagnostics.error(method, Message.CALLBACK_BAD_PARAMETERS, name, method.getParameters()
          .stream().map(p -> p.asType().toString()).collect(Collectors.joining(", ")));
    }
    for (TypeMirror thrown : method.getThrownTypes()) {
      if (isChecked(thrown)) {
        diagnostics.error(method, Message.CALLBACK_THROWS_CHECKED, name, thrown);
      }
    }

    AnnotationMirror annotation = annotationOf(method);
    Map<? extends ExecutableElement, ? extends AnnotationValue> explicit =
        annotation.getElementValues();
    Map<? extends ExecutableElement, ? extends AnnotationValue> values =
        elements.getElementValuesWithDefaults(annotation);
    String kindName = ((VariableElement) value(values, "value").getValue()).getSimpleName()
        .toString();
    WalkerKind kind = WalkerKind.named(kinds, kindName);
    if (kind == null) {
      diagnostics.error(method, annotation, value(explicit, "value"), Message.INTERNAL_ERROR,
          method, "this processor does not know PteCallback.Kind." + kindName
              + "; use a walker-processor of the same version as walker-annotations");
      return null;
    }
    boolean bitmap = (Boolean) value(values, "bitmap").getValue();
    if (bitmap && !kind.supportsBitmap()) {
      diagnostics.error(method, annotation, value(explicit, "bitmap"), Message.BITMAP_UNSUPPORTED,
          kind, WalkerKind.withBitmap(kinds));
    }
    Scope scope = scope(method, annotation, value(values, "scope"), value(explicit, "scope"),
        kind);
    String walkerName = (String) value(values, "name").getValue();
    if (walkerName.isEmpty()) {
      walkerName = CallbackSpec.defaultWalkerName(name.toString());
    } else if (!SourceVersion.isIdentifier(walkerName) || SourceVersion.isKeyword(walkerName)) {
      String why = SourceVersion.isKeyword(walkerName) ? " (it is a Java keyword)" : "";
      diagnostics.error(method, annotation, value(explicit, "name"), Message.BAD_WALKER_NAME,
          walkerName, why, CallbackSpec.defaultWalkerName(name.toString()));
    }
    if (diagnostics.errorCount() > errorsBefore) {
      return null;
    }
    return new CallbackSpec(name.toString(), shape, kind, scope, bitmap, walkerName);
  }

  /**
   * The scope {@code PteCallback.Scope} names, {@code DEFAULT} being the kind's own; null after
   * reporting one the kind cannot walk.
   */
  private Scope scope(ExecutableElement method, AnnotationMirror annotation, AnnotationValue value,
      AnnotationValue explicit, WalkerKind kind) {
    String name = ((VariableElement) value.getValue()).getSimpleName().toString();
    if (name.equals("DEFAULT")) {
      return kind.defaultScope();
    }
    Scope scope = null;
    for (Scope s : Scope.values()) {
      if (s.name().equals(name)) {
        scope = s;
      }
    }
    if (scope == null || !kind.supports(scope)) {
      String allowed = kind.scopes().stream().map(s -> "scope = " + s)
          .collect(Collectors.joining(" or "));
      String walks = kind.scopes().stream().map(Scope::name).collect(Collectors.joining(" or "));
      diagnostics.error(method, annotation, explicit, Message.SCOPE_UNSUPPORTED, kind, name, kind,
          kind.kernelWalker(), walks, allowed, kind.defaultScope());
      return null;
    }
    return scope;
  }

  private CallbackShape shape(ExecutableElement method) {
    List<? extends VariableElement> params = method.getParameters();
    int n = params.size();
    if (n < 1 || n > 3) {
      return null;
    }
    for (int i = 0; i < Math.min(n, 2); i++) {
      if (params.get(i).asType().getKind() != TypeKind.LONG) {
        return null;
      }
    }
    if (n == 3 && !isVma(params.get(2).asType())) {
      return null;
    }
    for (CallbackShape shape : CallbackShape.values()) {
      if (shape.arity() == n) {
        return shape;
      }
    }
    return null;
  }

  private static boolean isVma(TypeMirror type) {
    return type.getKind() == TypeKind.DECLARED
        && ((TypeElement) ((DeclaredType) type).asElement()).getQualifiedName()
        .contentEquals(Names.VMA);
  }

  private boolean isChecked(TypeMirror thrown) {
    TypeElement runtime = elements.getTypeElement("java.lang.RuntimeException");
    TypeElement error = elements.getTypeElement("java.lang.Error");
    return !types.isSubtype(thrown, runtime.asType()) && !types.isSubtype(thrown, error.asType());
  }

  /** The {@code @PteCallback} mirror on {@code method}; it is there, we were handed it for it. */
  private static AnnotationMirror annotationOf(ExecutableElement method) {
    for (AnnotationMirror m : method.getAnnotationMirrors()) {
      if (((TypeElement) m.getAnnotationType().asElement()).getQualifiedName()
          .contentEquals(Names.PTE_CALLBACK)) {
        return m;
      }
    }
    throw new IllegalStateException(method + " has no @" + Names.PTE_CALLBACK);
  }

  private static AnnotationValue value(
      Map<? extends ExecutableElement, ? extends AnnotationValue> values, String name) {
    for (Map.Entry<? extends ExecutableElement, ? extends AnnotationValue> e : values.entrySet()) {
      if (e.getKey().getSimpleName().contentEquals(name)) {
        return e.getValue();
      }
    }
    return null;
  }

  private static PackageElement packageOf(Element e) {
    while (!(e instanceof PackageElement)) {
      e = e.getEnclosingElement();
    }
    return (PackageElement) e;
  }

  private static List<String> simpleNames(TypeElement owner) {
    List<String> names = new ArrayList<>();
    for (Element e = owner; e instanceof TypeElement; e = e.getEnclosingElement()) {
      names.add(0, e.getSimpleName().toString());
    }
    return names;
  }
}
