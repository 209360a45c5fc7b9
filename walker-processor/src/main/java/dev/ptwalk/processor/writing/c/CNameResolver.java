package dev.ptwalk.processor.writing.c;

import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.ExpressionTree;
import com.sun.source.tree.IdentifierTree;
import com.sun.source.tree.ImportTree;
import com.sun.source.tree.MemberSelectTree;
import java.util.ArrayList;
import java.util.List;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.PackageElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.element.VariableElement;
import javax.lang.model.util.ElementFilter;
import javax.lang.model.util.Elements;

/**
 * Resolves the names of a callback's body as javac would (JLS 6.4, 6.5), from the compilation
 * unit's imports and the members of the enclosing classes, without attributing the body: javac
 * attributes method bodies after the processing rounds, and attributing one during a round (what
 * {@code Trees.getElement} does on demand) makes javac report the class's warnings twice. The
 * translation needs only what a callback's language can name: types ({@code Pte}, {@code
 * VmFlags}), fields and methods of the enclosing classes, and static imports.
 */
final class CNameResolver {
  private final Elements elements;
  private final List<TypeElement> enclosing = new ArrayList<>();
  private final String packageName;
  private final List<String> singleTypes = new ArrayList<>();
  private final List<String> onDemand = new ArrayList<>();
  private final List<String> singleStatic = new ArrayList<>();
  private final List<String> staticOnDemand = new ArrayList<>();

  /** A resolver for a body in {@code owner}, declared in {@code unit}. */
  CNameResolver(Elements elements, TypeElement owner, CompilationUnitTree unit) {
    this.elements = elements;
    for (Element e = owner; e instanceof TypeElement; e = e.getEnclosingElement()) {
      enclosing.add((TypeElement) e);
    }
    PackageElement pkg = elements.getPackageOf(owner);
    this.packageName = pkg.isUnnamed() ? "" : pkg.getQualifiedName().toString();
    for (ImportTree imp : unit.getImports()) {
      String name = imp.getQualifiedIdentifier().toString();
      boolean star = name.endsWith(".*");
      String base = star ? name.substring(0, name.length() - 2) : name;
      if (imp.isStatic()) {
        (star ? staticOnDemand : singleStatic).add(base);
      } else {
        (star ? onDemand : singleTypes).add(base);
      }
    }
  }

  /** The type {@code tree} names, a simple or qualified name; null if it names none. */
  TypeElement type(ExpressionTree tree) {
    if (tree instanceof IdentifierTree id) {
      return simpleType(id.getName().toString());
    }
    if (tree instanceof MemberSelectTree ms) {
      String name = ms.getIdentifier().toString();
      TypeElement outer = type(ms.getExpression());
      if (outer != null) {
        return memberType(outer, name);
      }
      return elements.getTypeElement(ms.getExpression() + "." + name);
    }
    return null;
  }

  /** A simple type name: enclosing classes and their member types, imports, the package. */
  private TypeElement simpleType(String name) {
    for (TypeElement t : enclosing) {
      TypeElement member = memberType(t, name);
      if (member != null) {
        return member;
      }
      if (t.getSimpleName().contentEquals(name)) {
        return t;
      }
    }
    for (String s : singleTypes) {
      if (s.equals(name) || s.endsWith("." + name)) {
        TypeElement t = elements.getTypeElement(s);
        if (t != null) {
          return t;
        }
      }
    }
    TypeElement same = elements.getTypeElement(packageName.isEmpty() ? name
        : packageName + "." + name);
    if (same != null) {
      return same;
    }
    for (String s : onDemand) {
      TypeElement t = elements.getTypeElement(s + "." + name);
      if (t != null) {
        return t;
      }
    }
    return elements.getTypeElement("java.lang." + name);
  }

  private TypeElement memberType(TypeElement t, String name) {
    for (TypeElement m : ElementFilter.typesIn(elements.getAllMembers(t))) {
      if (m.getSimpleName().contentEquals(name)) {
        return m;
      }
    }
    return null;
  }

  /**
   * The field a simple name denotes outside the body's own variables: a field of an enclosing
   * class, else a statically imported one; null if none.
   */
  VariableElement field(String name) {
    for (TypeElement t : enclosing) {
      for (VariableElement f : ElementFilter.fieldsIn(elements.getAllMembers(t))) {
        if (f.getSimpleName().contentEquals(name)) {
          return f;
        }
      }
    }
    for (String s : singleStatic) {
      if (s.endsWith("." + name)) {
        VariableElement f = staticField(s.substring(0, s.length() - name.length() - 1), name);
        if (f != null) {
          return f;
        }
      }
    }
    for (String s : staticOnDemand) {
      VariableElement f = staticField(s, name);
      if (f != null) {
        return f;
      }
    }
    return null;
  }

  private VariableElement staticField(String type, String name) {
    TypeElement t = elements.getTypeElement(type);
    if (t == null) {
      return null;
    }
    for (VariableElement f : ElementFilter.fieldsIn(elements.getAllMembers(t))) {
      if (f.getSimpleName().contentEquals(name)) {
        return f;
      }
    }
    return null;
  }

  /**
   * The class declaring the method an unqualified call of {@code name} reaches: the innermost
   * enclosing class with a method of that name, else a static import; null if none.
   */
  TypeElement method(String name) {
    for (TypeElement t : enclosing) {
      for (Element m : elements.getAllMembers(t)) {
        if (m.getKind() == ElementKind.METHOD && m.getSimpleName().contentEquals(name)) {
          return t;
        }
      }
    }
    for (String s : singleStatic) {
      if (s.endsWith("." + name)) {
        TypeElement t = elements.getTypeElement(s.substring(0, s.length() - name.length() - 1));
        if (t != null && hasMethod(t, name)) {
          return t;
        }
      }
    }
    for (String s : staticOnDemand) {
      TypeElement t = elements.getTypeElement(s);
      if (t != null && hasMethod(t, name)) {
        return t;
      }
    }
    return null;
  }

  private boolean hasMethod(TypeElement t, String name) {
    return ElementFilter.methodsIn(elements.getAllMembers(t)).stream()
        .anyMatch(m -> m.getSimpleName().contentEquals(name));
  }

  /** Whether {@code t} is the class named {@code qualifiedName}. */
  static boolean is(Element t, String qualifiedName) {
    return t instanceof TypeElement te && te.getQualifiedName().contentEquals(qualifiedName);
  }
}
