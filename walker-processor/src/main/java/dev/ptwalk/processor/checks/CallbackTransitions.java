package dev.ptwalk.processor.checks;

import com.sun.source.tree.AssignmentTree;
import com.sun.source.tree.BinaryTree;
import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompoundAssignmentTree;
import com.sun.source.tree.ConditionalExpressionTree;
import com.sun.source.tree.ExpressionTree;
import com.sun.source.tree.IdentifierTree;
import com.sun.source.tree.LambdaExpressionTree;
import com.sun.source.tree.LiteralTree;
import com.sun.source.tree.MethodInvocationTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.ParenthesizedTree;
import com.sun.source.tree.ReturnTree;
import com.sun.source.tree.SwitchExpressionTree;
import com.sun.source.tree.Tree;
import com.sun.source.tree.TypeCastTree;
import com.sun.source.tree.UnaryTree;
import com.sun.source.tree.VariableTree;
import com.sun.source.tree.YieldTree;
import com.sun.source.util.TreeScanner;
import dev.ptwalk.processor.Names;
import dev.ptwalk.processor.checks.Marks.Effect;
import dev.ptwalk.processor.model.PteBit;
import dev.ptwalk.processor.model.WalkerKind;
import dev.ptwalk.processor.validation.Message;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.Element;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.VariableElement;
import javax.tools.Diagnostic;

/**
 * Checks that a {@code @PteCallback} body changes the PTE only as its kind allows: the generated
 * walker's notifier event and TLB flush cover that change and no other. What each kind allows is
 * its {@link WalkerKind#transitions()} ({@code WRPROTECT} may clear RW, {@code SOFT_DIRTY} may
 * clear SOFT_DIRTY and RW, ...); {@code Pte} helpers say what they change through the runtime's
 * {@code @PteTransform} mark. Every value returned must be the PTE argument passed through such
 * helpers (and conditionals between such chains): a constant, an address, anything not derived
 * from the PTE is an error. What the check cannot follow (raw arithmetic on the PTE, the PTE
 * handed to another method) is a warning, never a silent pass. Variables are told apart by their
 * elements, never by their names.
 */
final class CallbackTransitions {
  private final TreeContext ctx;
  private final Marks marks;
  private final List<WalkerKind> kinds;

  CallbackTransitions(TreeContext ctx, Marks marks, List<WalkerKind> kinds) {
    this.ctx = ctx;
    this.marks = marks;
    this.kinds = kinds;
  }

  /** How a value relates to the PTE argument; a later constant is worse than an earlier one. */
  private enum Derivation {
    /** The PTE passed through {@code Pte} transforms and conditionals. */
    DERIVED,
    /** Computed from the PTE in a way the check cannot follow (already a warning). */
    UNFOLLOWED,
    /** Not derived from the PTE at all. */
    OTHER
  }

  /** A value's derivation and, when OTHER, how to describe it. */
  private record Value(Derivation how, String what) {
    static final Value DERIVED = new Value(Derivation.DERIVED, null);
    static final Value UNFOLLOWED = new Value(Derivation.UNFOLLOWED, null);

    Value join(Value o) {
      return o.how.compareTo(how) > 0 ? o : this;
    }
  }

  void check(MethodTree method, ExecutableElement element) {
    AnnotationMirror a = Marks.annotation(element, Names.PTE_CALLBACK);
    Object kindValue = a == null ? null : Marks.value(a, "value");
    WalkerKind kind = kindValue instanceof VariableElement
        ? WalkerKind.named(kinds, ((VariableElement) kindValue).getSimpleName().toString())
        : null;
    if (kind == null || method.getBody() == null || method.getParameters().isEmpty()) {
      return;
    }
    String allowedHelper = kind.allowedHelpers();
    String name = element.getSimpleName().toString();
    Element pte = element.getParameters().get(0);
    Set<Element> tainted = new HashSet<>();
    tainted.add(pte);

    new TreeScanner<Void, Void>() {
      @Override
      public Void visitVariable(VariableTree v, Void unused) {
        if (v.getInitializer() != null && mentions(v.getInitializer(), tainted)) {
          tainted.add(ctx.element(v));
        }
        return super.visitVariable(v, unused);
      }

      @Override
      public Void visitAssignment(AssignmentTree t, Void unused) {
        if (t.getVariable() instanceof IdentifierTree && mentions(t.getExpression(), tainted)) {
          tainted.add(ctx.element(t.getVariable()));
        }
        return super.visitAssignment(t, unused);
      }

      @Override
      public Void visitMethodInvocation(MethodInvocationTree mi, Void unused) {
        Element target = ctx.element(mi);
        Set<Effect> effects = marks.effects(target);
        if (effects.contains(Effect.PTE_TRANSFORM)) {
          AnnotationMirror t = Marks.annotation(target, Names.PTE_TRANSFORM);
          List<String> clears = Marks.strings(t, "clears");
          List<String> sets = Marks.strings(t, "sets");
          boolean pfn = Boolean.TRUE.equals(Marks.value(t, "changesPfn"));
          String effect = effect(clears, sets, pfn);
          if (!kind.allows(bits(sets), bits(clears), pfn)) {
            ctx.report(mi, Diagnostic.Kind.ERROR, Message.ILLEGAL_TRANSITION, kind, name,
                target.getSimpleName(), effect, kind, kind.allowedDescription(),
                kind.coverage());
          }
        } else if (!effects.contains(Effect.PTE_QUERY) && mi.getArguments().stream()
            .anyMatch(arg -> mentions(arg, tainted))) {
          ctx.report(mi, Diagnostic.Kind.WARNING, Message.UNCHECKED_PTE_ARITHMETIC, kind, name,
              "it passes the PTE to " + ctx.text(mi.getMethodSelect()) + "()", kind,
              allowedHelper + " and the Pte queries");
        }
        return super.visitMethodInvocation(mi, unused);
      }

      @Override
      public Void visitBinary(BinaryTree b, Void unused) {
        if (arithmetic(b.getKind())
            && (mentions(b.getLeftOperand(), tainted) || mentions(b.getRightOperand(), tainted))) {
          unfollowable(b, "it computes the PTE with '" + operator(b) + "' on the raw long");
        }
        return super.visitBinary(b, unused);
      }

      @Override
      public Void visitUnary(UnaryTree u, Void unused) {
        if (u.getKind() == Tree.Kind.BITWISE_COMPLEMENT && mentions(u.getExpression(), tainted)) {
          unfollowable(u, "it computes the PTE with '~' on the raw long");
        }
        return super.visitUnary(u, unused);
      }

      @Override
      public Void visitCompoundAssignment(CompoundAssignmentTree c, Void unused) {
        if (mentions(c.getVariable(), tainted) || mentions(c.getExpression(), tainted)) {
          unfollowable(c, "it computes the PTE with a compound assignment on the raw long");
        }
        return super.visitCompoundAssignment(c, unused);
      }

      private void unfollowable(Tree t, String what) {
        ctx.report(t, Diagnostic.Kind.WARNING, Message.UNCHECKED_PTE_ARITHMETIC, kind, name, what,
            kind, allowedHelper + " and the Pte queries");
      }
    }.scan(method.getBody(), null);

    checkResults(method, kind, name, pte, tainted);
  }

  /**
   * Every value returned must be derived from the PTE. Locals are followed through all their
   * assignments: a local is derived only if everything ever assigned to it is.
   */
  private void checkResults(MethodTree method, WalkerKind kind, String name, Element pte,
      Set<Element> tainted) {
    List<Tree> returns = new ArrayList<>();
    Map<Element, List<ExpressionTree>> assigned = new HashMap<>();
    new TreeScanner<Void, Void>() {
      @Override
      public Void visitReturn(ReturnTree r, Void unused) {
        if (r.getExpression() != null) {
          returns.add(r.getExpression());
        }
        return super.visitReturn(r, unused);
      }

      @Override
      public Void visitVariable(VariableTree v, Void unused) {
        if (v.getInitializer() != null) {
          assigned.computeIfAbsent(ctx.element(v), k -> new ArrayList<>()).add(v.getInitializer());
        }
        return super.visitVariable(v, unused);
      }

      @Override
      public Void visitAssignment(AssignmentTree t, Void unused) {
        Element v = ctx.element(t.getVariable());
        if (v != null) {
          assigned.computeIfAbsent(v, k -> new ArrayList<>()).add(t.getExpression());
        }
        return super.visitAssignment(t, unused);
      }

      @Override
      public Void visitCompoundAssignment(CompoundAssignmentTree t, Void unused) {
        Element v = ctx.element(t.getVariable());
        if (v != null) {
          assigned.computeIfAbsent(v, k -> new ArrayList<>()).add(t);
        }
        return super.visitCompoundAssignment(t, unused);
      }

      @Override
      public Void visitLambdaExpression(LambdaExpressionTree l, Void unused) {
        return null; // its returns are the lambda's own
      }

      @Override
      public Void visitClass(ClassTree c, Void unused) {
        return null;
      }
    }.scan(method.getBody(), null);
    // Locals start as derived and lose it when anything assigned to them is not: a fixpoint.
    Map<Element, Value> locals = new HashMap<>();
    for (Element v : assigned.keySet()) {
      locals.put(v, Value.DERIVED);
    }
    for (boolean changed = true; changed; ) {
      changed = false;
      for (Map.Entry<Element, List<ExpressionTree>> e : assigned.entrySet()) {
        if (e.getKey().equals(pte)) {
          continue;
        }
        Value v = locals.get(e.getKey());
        for (ExpressionTree x : e.getValue()) {
          v = v.join(derive(x, pte, tainted, locals));
        }
        if (!v.equals(locals.get(e.getKey()))) {
          locals.put(e.getKey(), v);
          changed = true;
        }
      }
    }
    Value pteAssigned = Value.DERIVED;
    for (ExpressionTree x : assigned.getOrDefault(pte, List.of())) {
      pteAssigned = pteAssigned.join(derive(x, pte, tainted, locals));
    }
    String pteName = pte.getSimpleName().toString();
    for (Tree r : returns) {
      Value v = derive((ExpressionTree) r, pte, tainted, locals);
      if (pteAssigned.how == Derivation.OTHER && v.how == Derivation.DERIVED) {
        v = new Value(Derivation.OTHER, pteName + ", which the callback overwrites with "
            + pteAssigned.what);
      }
      if (v.how == Derivation.OTHER) {
        ctx.report(r, Diagnostic.Kind.ERROR, Message.CALLBACK_BAD_RESULT, kind, name, v.what,
            pteName, kind, kind.allowedDescription(), pteName, kind.allowedHelpers());
      }
    }
  }

  private Value derive(ExpressionTree e, Element pte, Set<Element> tainted,
      Map<Element, Value> locals) {
    switch (e.getKind()) {
      case PARENTHESIZED:
        return derive(((ParenthesizedTree) e).getExpression(), pte, tainted, locals);
      case TYPE_CAST:
        return derive(((TypeCastTree) e).getExpression(), pte, tainted, locals);
      case ASSIGNMENT:
        return derive(((AssignmentTree) e).getExpression(), pte, tainted, locals);
      case IDENTIFIER: {
        Element v = ctx.element(e);
        if (v != null && v.equals(pte)) {
          return Value.DERIVED;
        }
        Value local = v == null ? null : locals.get(v);
        if (local != null) {
          return local.how == Derivation.OTHER
              ? new Value(Derivation.OTHER, ctx.text(e) + ", which holds " + local.what)
              : local;
        }
        return other(e, "");
      }
      case CONDITIONAL_EXPRESSION: {
        ConditionalExpressionTree c = (ConditionalExpressionTree) e;
        return derive(c.getTrueExpression(), pte, tainted, locals)
            .join(derive(c.getFalseExpression(), pte, tainted, locals));
      }
      case SWITCH_EXPRESSION: {
        Value[] v = {Value.DERIVED};
        new TreeScanner<Void, Void>() {
          @Override
          public Void visitYield(YieldTree y, Void unused) {
            v[0] = v[0].join(derive(y.getValue(), pte, tainted, locals));
            return null;
          }

          @Override
          public Void visitCase(com.sun.source.tree.CaseTree c, Void unused) {
            if (c.getCaseKind() == com.sun.source.tree.CaseTree.CaseKind.RULE
                && c.getBody() instanceof ExpressionTree) {
              v[0] = v[0].join(derive((ExpressionTree) c.getBody(), pte, tainted, locals));
              return null;
            }
            return super.visitCase(c, unused);
          }

          @Override
          public Void visitSwitchExpression(SwitchExpressionTree s, Void unused) {
            return s == e ? super.visitSwitchExpression(s, unused) : null;
          }
        }.scan(e, null);
        return v[0];
      }
      case METHOD_INVOCATION: {
        MethodInvocationTree mi = (MethodInvocationTree) e;
        Element target = ctx.element(mi);
        if (marks.effects(target).contains(Effect.PTE_TRANSFORM)
            && !mi.getArguments().isEmpty()) {
          ExpressionTree from = mi.getArguments().get(0);
          Value v = derive(from, pte, tainted, locals);
          return v.how == Derivation.OTHER ? other(e, ", computed from " + ctx.text(from)
              + " rather than " + pte.getSimpleName()) : v;
        }
        return mentions(e, tainted) ? Value.UNFOLLOWED : other(e, "");
      }
      case INT_LITERAL:
      case LONG_LITERAL:
      case CHAR_LITERAL:
        return new Value(Derivation.OTHER, "the constant " + ctx.text(e));
      default:
        if (e instanceof LiteralTree) {
          return other(e, "");
        }
        if (e instanceof CompoundAssignmentTree || e instanceof BinaryTree
            || e instanceof UnaryTree) {
          return mentions(e, tainted) ? Value.UNFOLLOWED : other(e, "");
        }
        return mentions(e, tainted) ? Value.UNFOLLOWED : other(e, "");
    }
  }

  private Value other(ExpressionTree e, String why) {
    return new Value(Derivation.OTHER, ctx.text(e) + why);
  }

  /** The bits named by a mark; a name this processor does not know stands for "anything". */
  private static Set<PteBit> bits(List<String> names) {
    Set<PteBit> out = EnumSet.noneOf(PteBit.class);
    for (String n : names) {
      PteBit b = PteBit.named(n);
      if (b == null) {
        return EnumSet.allOf(PteBit.class);
      }
      out.add(b);
    }
    return out;
  }

  private static String effect(List<String> clears, List<String> sets, boolean pfn) {
    StringBuilder sb = new StringBuilder();
    if (!sets.isEmpty()) {
      sb.append("sets ").append(String.join(" and ", sets));
    }
    if (!clears.isEmpty()) {
      sb.append(sb.length() > 0 ? " and clears " : "clears ").append(String.join(" and ", clears));
    }
    if (pfn) {
      sb.append(sb.length() > 0 ? " and " : "").append("changes the page frame");
    }
    return sb.toString();
  }

  private static boolean arithmetic(Tree.Kind k) {
    switch (k) {
      case AND:
      case OR:
      case XOR:
      case LEFT_SHIFT:
      case RIGHT_SHIFT:
      case UNSIGNED_RIGHT_SHIFT:
      case PLUS:
      case MINUS:
      case MULTIPLY:
      case DIVIDE:
      case REMAINDER:
        return true;
      default:
        return false;
    }
  }

  private static String operator(BinaryTree b) {
    switch (b.getKind()) {
      case AND:
        return "&";
      case OR:
        return "|";
      case XOR:
        return "^";
      case LEFT_SHIFT:
        return "<<";
      case RIGHT_SHIFT:
        return ">>";
      case UNSIGNED_RIGHT_SHIFT:
        return ">>>";
      case PLUS:
        return "+";
      case MINUS:
        return "-";
      case MULTIPLY:
        return "*";
      case DIVIDE:
        return "/";
      default:
        return "%";
    }
  }

  /**
   * Whether {@code tree} reads one of the variables {@code vars} for its value. What a {@code Pte}
   * query makes of them ({@code Pte.flags(pte) & Pte.RW}) is a fact about the PTE, not the PTE:
   * arithmetic on it computes no PTE, so the query's arguments do not count.
   */
  private boolean mentions(Tree tree, Set<Element> vars) {
    boolean[] found = {false};
    new TreeScanner<Void, Void>() {
      @Override
      public Void visitIdentifier(IdentifierTree id, Void unused) {
        Element e = ctx.element(id);
        found[0] |= e != null && vars.contains(e);
        return null;
      }

      @Override
      public Void visitMethodInvocation(MethodInvocationTree mi, Void unused) {
        if (marks.effects(ctx.element(mi)).contains(Effect.PTE_QUERY)) {
          return null;
        }
        return super.visitMethodInvocation(mi, unused);
      }
    }.scan(tree, null);
    return found[0];
  }
}
