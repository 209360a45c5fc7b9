package dev.ptwalk.processor.checks;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.AnnotationValue;
import javax.lang.model.element.Element;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.TypeElement;

/**
 * What a called method is to the body checks, read from the runtime's marks ({@code
 * dev.ptwalk.runtime.check}) and the user's annotations, by name: the processor never loads them.
 */
final class Marks {
  static final String CHECK = "dev.ptwalk.runtime.check.";
  static final String CHECKED_WALKER = "dev.ptwalk.annotations.CheckedWalker";
  static final String IN_BRACKET = "dev.ptwalk.annotations.InBracket";
  static final String PTE_CALLBACK = "dev.ptwalk.annotations.PteCallback";

  /** The role of a method in a walker. */
  enum Role {
    START, END, CHANGE, CHANGE_PERMISSIVE, FLUSH_TLB, FLUSH_CACHE, PENDING_INC, PENDING_DEC,
    PTE_TRANSFORM, PTE_QUERY, NEVER_THROWS, IN_BRACKET, CHECKED_WALKER, NONE
  }

  private Marks() {}

  /** JDK methods that cannot throw, as if marked {@code @NeverThrows}: {@code Math.min} and so. */
  private static final java.util.Set<String> JDK_NEVER_THROWS =
      java.util.Set.of("java.lang.Math.min", "java.lang.Math.max", "java.lang.Math.abs");

  static Role role(Element method) {
    if (!(method instanceof ExecutableElement)) {
      return Role.NONE;
    }
    Element owner = method.getEnclosingElement();
    if (owner instanceof TypeElement && JDK_NEVER_THROWS.contains(
        ((TypeElement) owner).getQualifiedName() + "." + method.getSimpleName())) {
      return Role.NEVER_THROWS;
    }
    for (AnnotationMirror a : method.getAnnotationMirrors()) {
      String name = name(a);
      switch (name) {
        case CHECK + "InvalidateRangeStart":
          return Role.START;
        case CHECK + "InvalidateRangeEnd":
          return Role.END;
        case CHECK + "PteChange":
          Object restrictive = value(a, "restrictive");
          return Boolean.FALSE.equals(restrictive) ? Role.CHANGE_PERMISSIVE : Role.CHANGE;
        case CHECK + "FlushesTlb":
          return Role.FLUSH_TLB;
        case CHECK + "FlushesCache":
          return Role.FLUSH_CACHE;
        case CHECK + "TlbFlushPendingInc":
          return Role.PENDING_INC;
        case CHECK + "TlbFlushPendingDec":
          return Role.PENDING_DEC;
        case CHECK + "PteTransform":
          return Role.PTE_TRANSFORM;
        case CHECK + "PteQuery":
          return Role.PTE_QUERY;
        case CHECK + "NeverThrows":
          return Role.NEVER_THROWS;
        case IN_BRACKET:
          return Role.IN_BRACKET;
        case CHECKED_WALKER:
          return Role.CHECKED_WALKER;
        default:
          break;
      }
    }
    return Role.NONE;
  }

  /** Whether a call can throw, for the exception paths: runtime-marked methods never do. */
  static boolean mayThrow(Role role) {
    switch (role) {
      case START:
      case END:
      case CHANGE:
      case CHANGE_PERMISSIVE:
      case FLUSH_TLB:
      case FLUSH_CACHE:
      case PENDING_INC:
      case PENDING_DEC:
      case PTE_TRANSFORM:
      case PTE_QUERY:
      case NEVER_THROWS:
        return false;
      default:
        return true;
    }
  }

  /** The mirror of the annotation named {@code qualifiedName} on {@code e}, or null. */
  static AnnotationMirror annotation(Element e, String qualifiedName) {
    for (AnnotationMirror a : e.getAnnotationMirrors()) {
      if (name(a).equals(qualifiedName)) {
        return a;
      }
    }
    return null;
  }

  /** The string values of an array member of a {@code @PteTransform}. */
  static List<String> strings(AnnotationMirror a, String member) {
    List<String> out = new ArrayList<>();
    Object v = value(a, member);
    if (v instanceof List) {
      for (Object item : (List<?>) v) {
        out.add(String.valueOf(((AnnotationValue) item).getValue()));
      }
    }
    return out;
  }

  /** The value of a member given explicitly, or null when it has its default. */
  static Object value(AnnotationMirror a, String member) {
    for (Map.Entry<? extends ExecutableElement, ? extends AnnotationValue> e
        : a.getElementValues().entrySet()) {
      if (e.getKey().getSimpleName().contentEquals(member)) {
        return e.getValue().getValue();
      }
    }
    return null;
  }

  private static String name(AnnotationMirror a) {
    return ((TypeElement) a.getAnnotationType().asElement()).getQualifiedName().toString();
  }
}
