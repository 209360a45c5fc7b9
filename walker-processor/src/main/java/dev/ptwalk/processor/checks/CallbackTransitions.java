package dev.ptwalk.processor.checks;

import com.sun.source.tree.AssignmentTree;
import com.sun.source.tree.BinaryTree;
import com.sun.source.tree.CompoundAssignmentTree;
import com.sun.source.tree.IdentifierTree;
import com.sun.source.tree.MethodInvocationTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.Tree;
import com.sun.source.tree.UnaryTree;
import com.sun.source.tree.VariableTree;
import com.sun.source.util.TreeScanner;
import dev.ptwalk.processor.checks.Marks.Role;
import dev.ptwalk.processor.model.PteBit;
import dev.ptwalk.processor.model.WalkerKind;
import dev.ptwalk.processor.validation.Message;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
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
 * {@code @PteTransform} mark. What the check cannot follow (raw arithmetic on the PTE, the PTE
 * handed to another method) is a warning, never a silent pass.
 */
final class CallbackTransitions {
  private final TreeContext ctx;
  private final List<WalkerKind> kinds;

  CallbackTransitions(TreeContext ctx, List<WalkerKind> kinds) {
    this.ctx = ctx;
    this.kinds = kinds;
  }

  void check(MethodTree method, ExecutableElement element) {
    AnnotationMirror a = Marks.annotation(element, Marks.PTE_CALLBACK);
    Object kindValue = a == null ? null : Marks.value(a, "value");
    WalkerKind kind = kindValue instanceof VariableElement
        ? WalkerKind.named(kinds, ((VariableElement) kindValue).getSimpleName().toString())
        : null;
    if (kind == null || method.getBody() == null || method.getParameters().isEmpty()) {
      return;
    }
    String allowedHelper = kind.allowedHelpers();
    String name = element.getSimpleName().toString();
    Set<String> tainted = new HashSet<>();
    tainted.add(method.getParameters().get(0).getName().toString());

    new TreeScanner<Void, Void>() {
      @Override
      public Void visitVariable(VariableTree v, Void unused) {
        if (v.getInitializer() != null && mentions(v.getInitializer(), tainted)) {
          tainted.add(v.getName().toString());
        }
        return super.visitVariable(v, unused);
      }

      @Override
      public Void visitAssignment(AssignmentTree t, Void unused) {
        if (t.getVariable() instanceof IdentifierTree && mentions(t.getExpression(), tainted)) {
          tainted.add(((IdentifierTree) t.getVariable()).getName().toString());
        }
        return super.visitAssignment(t, unused);
      }

      @Override
      public Void visitMethodInvocation(MethodInvocationTree mi, Void unused) {
        Element target = ctx.element(mi);
        Role role = Marks.role(target);
        if (role == Role.PTE_TRANSFORM) {
          AnnotationMirror t = Marks.annotation(target, Marks.CHECK + "PteTransform");
          List<String> clears = Marks.strings(t, "clears");
          List<String> sets = Marks.strings(t, "sets");
          boolean pfn = Boolean.TRUE.equals(Marks.value(t, "changesPfn"));
          String effect = effect(clears, sets, pfn);
          if (!kind.allows(bits(sets), bits(clears), pfn)) {
            ctx.report(mi, Diagnostic.Kind.ERROR, Message.ILLEGAL_TRANSITION, kind, name,
                target.getSimpleName(), effect, kind, kind.allowedDescription(),
                kind.coverage());
          }
        } else if (role != Role.PTE_QUERY && mi.getArguments().stream()
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

  private static boolean mentions(Tree tree, Set<String> names) {
    boolean[] found = {false};
    new TreeScanner<Void, Void>() {
      @Override
      public Void visitIdentifier(IdentifierTree id, Void unused) {
        found[0] |= names.contains(id.getName().toString());
        return null;
      }
    }.scan(tree, null);
    return found[0];
  }
}
