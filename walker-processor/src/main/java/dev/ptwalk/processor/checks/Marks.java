package dev.ptwalk.processor.checks;

import dev.ptwalk.processor.Names;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.AnnotationValue;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.type.TypeKind;
import javax.lang.model.type.TypeMirror;
import javax.lang.model.type.UnionType;
import javax.lang.model.util.ElementFilter;
import javax.lang.model.util.Elements;
import javax.lang.model.util.Types;

/**
 * What a called method is to the body checks, read from the runtime's marks ({@code
 * dev.ptwalk.runtime.check}) and the user's annotations: the only way a call is recognised. A
 * method may carry several marks ({@code MmuGather.tlbFinishMmu} flushes and then drops the
 * pending count); their {@link Effect}s apply in the enum's order. The runtime types the checks
 * reason about (VMA, mm, PTE table, lock) are looked up once, as elements, and compared as types.
 */
final class Marks {
  /** What a marked call does, in the order several marks of one method apply. */
  enum Effect {
    /** {@code inc_tlb_flush_pending}. */
    PENDING_INC(Names.TLB_FLUSH_PENDING_INC),
    /** {@code mmu_notifier_invalidate_range_start}. */
    START(Names.INVALIDATE_RANGE_START),
    /** Changes a PTE (restrictively, or not: see {@link #CHANGE_PERMISSIVE}). */
    CHANGE(Names.PTE_CHANGE),
    /** Changes a PTE in a way no bracket or flush need cover ({@code restrictive = false}). */
    CHANGE_PERMISSIVE(null),
    /** Flushes TLB entries. */
    FLUSH_TLB(Names.FLUSHES_TLB),
    /** Flushes caches. */
    FLUSH_CACHE(Names.FLUSHES_CACHE),
    /** {@code mmu_notifier_invalidate_range_end}. */
    END(Names.INVALIDATE_RANGE_END),
    /** {@code dec_tlb_flush_pending}. */
    PENDING_DEC(Names.TLB_FLUSH_PENDING_DEC),
    /** A {@code Pte} helper returning a changed value. */
    PTE_TRANSFORM(Names.PTE_TRANSFORM),
    /** A {@code Pte} query. */
    PTE_QUERY(Names.PTE_QUERY),
    /** {@code mm_tlb_flush_nested}: never throws. */
    TLB_FLUSH_NESTED(Names.TLB_FLUSH_NESTED),
    /** Never throws. */
    NEVER_THROWS(Names.NEVER_THROWS);

    private final String mark;

    Effect(String mark) {
      this.mark = mark;
    }
  }

  /** The user's annotations on a walker method. */
  enum Role {
    IN_BRACKET, CHECKED_WALKER, NONE
  }

  private final Elements elements;
  private final Types types;
  private final TypeMirror vma;
  private final TypeMirror mmStruct;
  private final TypeMirror pteTable;
  private final TypeMirror lock;
  private final ExecutableElement unlock;
  private final Set<ExecutableElement> jdkNeverThrows = new HashSet<>();

  Marks(Elements elements, Types types) {
    this.elements = elements;
    this.types = types;
    this.vma = type(Names.VMA);
    this.mmStruct = type(Names.MM_STRUCT);
    this.pteTable = type(Names.PTE_TABLE);
    this.lock = type(Names.LOCK);
    ExecutableElement u = null;
    TypeElement lockType = elements.getTypeElement(Names.LOCK);
    for (ExecutableElement m : ElementFilter.methodsIn(lockType.getEnclosedElements())) {
      if (m.getSimpleName().contentEquals("unlock") && m.getParameters().isEmpty()) {
        u = m;
      }
    }
    this.unlock = u;
    // The JDK cannot carry ptwalk's marks: Math's min, max and abs count as @NeverThrows.
    TypeElement math = elements.getTypeElement("java.lang.Math");
    for (ExecutableElement m : ElementFilter.methodsIn(math.getEnclosedElements())) {
      String n = m.getSimpleName().toString();
      if (n.equals("min") || n.equals("max") || n.equals("abs")) {
        jdkNeverThrows.add(m);
      }
    }
  }

  private TypeMirror type(String name) {
    TypeElement t = elements.getTypeElement(name);
    return t == null ? null : types.erasure(t.asType());
  }

  /** The effects of calling {@code method}, empty for an unmarked one. */
  Set<Effect> effects(Element method) {
    Set<Effect> out = EnumSet.noneOf(Effect.class);
    if (!(method instanceof ExecutableElement)) {
      return out;
    }
    if (jdkNeverThrows.contains(method)) {
      out.add(Effect.NEVER_THROWS);
    }
    for (AnnotationMirror a : method.getAnnotationMirrors()) {
      String name = name(a);
      for (Effect e : Effect.values()) {
        if (name.equals(e.mark)) {
          out.add(e == Effect.CHANGE && Boolean.FALSE.equals(value(a, "restrictive"))
              ? Effect.CHANGE_PERMISSIVE : e);
        }
      }
    }
    return out;
  }

  /** Whether {@code effects} do something to the facts (not just query or never throw). */
  static boolean acts(Set<Effect> effects) {
    for (Effect e : effects) {
      switch (e) {
        case PENDING_INC:
        case START:
        case CHANGE:
        case FLUSH_TLB:
        case END:
        case PENDING_DEC:
          return true;
        default:
          break;
      }
    }
    return false;
  }

  /** Whether a call to {@code method} can throw: a runtime-marked method never does. */
  boolean mayThrow(Element method) {
    return effects(method).isEmpty();
  }

  /** The user's role for {@code method}. */
  static Role role(Element method) {
    if (method == null) {
      return Role.NONE;
    }
    if (annotation(method, Names.IN_BRACKET) != null) {
      return Role.IN_BRACKET;
    }
    return annotation(method, Names.CHECKED_WALKER) != null ? Role.CHECKED_WALKER : Role.NONE;
  }

  /** Whether {@code method} releases a lock: {@code Lock.unlock} or an override of it. */
  boolean isLockRelease(Element method) {
    if (unlock == null || !(method instanceof ExecutableElement)) {
      return false;
    }
    if (method.equals(unlock)) {
      return true;
    }
    Element owner = method.getEnclosingElement();
    return owner instanceof TypeElement && elements.overrides((ExecutableElement) method, unlock,
        (TypeElement) owner);
  }

  /** Whether {@code t} is the runtime's VMA type. */
  boolean isVma(TypeMirror t) {
    return is(t, vma);
  }

  /** Whether {@code t} is the runtime's mm type. */
  boolean isMm(TypeMirror t) {
    return is(t, mmStruct);
  }

  /** Whether {@code t} is the runtime's PTE table type. */
  boolean isPteTable(TypeMirror t) {
    return is(t, pteTable);
  }

  /** Whether {@code t} is a lock. */
  boolean isLock(TypeMirror t) {
    return lock != null && t != null && t.getKind() == TypeKind.DECLARED
        && types.isAssignable(types.erasure(t), lock);
  }

  private boolean is(TypeMirror t, TypeMirror runtime) {
    return runtime != null && t != null && t.getKind() == TypeKind.DECLARED
        && types.isSameType(types.erasure(t), runtime);
  }

  /**
   * Whether a {@code catch} of {@code t} catches every unchecked exception a call may throw
   * ({@code RuntimeException}, {@code Exception}, {@code Throwable}, or a union holding one).
   */
  boolean catchesAllUnchecked(TypeMirror t) {
    if (t == null) {
      return false;
    }
    if (t.getKind() == TypeKind.UNION) {
      for (TypeMirror alt : ((UnionType) t).getAlternatives()) {
        if (catchesAllUnchecked(alt)) {
          return true;
        }
      }
      return false;
    }
    TypeElement re = elements.getTypeElement("java.lang.RuntimeException");
    return t.getKind() == TypeKind.DECLARED && types.isSubtype(re.asType(), t);
  }

  /** Whether {@code e} is a method (not a constructor). */
  static boolean isMethod(Element e) {
    return e != null && e.getKind() == ElementKind.METHOD;
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
