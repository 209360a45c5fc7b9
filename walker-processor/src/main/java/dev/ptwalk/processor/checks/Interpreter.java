package dev.ptwalk.processor.checks;

import com.sun.source.tree.ArrayAccessTree;
import com.sun.source.tree.AssertTree;
import com.sun.source.tree.AssignmentTree;
import com.sun.source.tree.BinaryTree;
import com.sun.source.tree.BlockTree;
import com.sun.source.tree.BreakTree;
import com.sun.source.tree.CaseTree;
import com.sun.source.tree.CatchTree;
import com.sun.source.tree.CompoundAssignmentTree;
import com.sun.source.tree.ConditionalExpressionTree;
import com.sun.source.tree.ContinueTree;
import com.sun.source.tree.DoWhileLoopTree;
import com.sun.source.tree.EnhancedForLoopTree;
import com.sun.source.tree.ExpressionStatementTree;
import com.sun.source.tree.ExpressionTree;
import com.sun.source.tree.ForLoopTree;
import com.sun.source.tree.IdentifierTree;
import com.sun.source.tree.IfTree;
import com.sun.source.tree.InstanceOfTree;
import com.sun.source.tree.LabeledStatementTree;
import com.sun.source.tree.LambdaExpressionTree;
import com.sun.source.tree.LiteralTree;
import com.sun.source.tree.MemberReferenceTree;
import com.sun.source.tree.MemberSelectTree;
import com.sun.source.tree.MethodInvocationTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.NewArrayTree;
import com.sun.source.tree.NewClassTree;
import com.sun.source.tree.ParenthesizedTree;
import com.sun.source.tree.ReturnTree;
import com.sun.source.tree.StatementTree;
import com.sun.source.tree.SwitchExpressionTree;
import com.sun.source.tree.SwitchTree;
import com.sun.source.tree.SynchronizedTree;
import com.sun.source.tree.ThrowTree;
import com.sun.source.tree.Tree;
import com.sun.source.tree.TryTree;
import com.sun.source.tree.TypeCastTree;
import com.sun.source.tree.UnaryTree;
import com.sun.source.tree.VariableTree;
import com.sun.source.tree.WhileLoopTree;
import com.sun.source.tree.YieldTree;
import com.sun.source.util.TreePath;
import com.sun.source.util.TreeScanner;
import dev.ptwalk.processor.checks.Facts.Bracket;
import dev.ptwalk.processor.checks.Facts.Change;
import dev.ptwalk.processor.checks.Facts.Cleared;
import dev.ptwalk.processor.checks.Facts.Kind;
import dev.ptwalk.processor.checks.Facts.Loc;
import dev.ptwalk.processor.checks.Facts.Obj;
import dev.ptwalk.processor.checks.Facts.Read;
import dev.ptwalk.processor.checks.Facts.State;
import dev.ptwalk.processor.checks.Marks.Effect;
import dev.ptwalk.processor.checks.Marks.Role;
import dev.ptwalk.processor.validation.Message;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.Modifier;
import javax.lang.model.element.Name;
import javax.lang.model.element.VariableElement;
import javax.lang.model.type.TypeKind;
import javax.lang.model.type.TypeMirror;

/**
 * The second part of the body check: moves {@link Facts} through one method body, statement by
 * statement and expression by expression in evaluation order, to a fixpoint. Branches are
 * followed separately and joined; loops are iterated until the facts at their head stop growing
 * (or, past {@link #MAX_ROUNDS} rounds or {@link #MAX_STATES} states, the loop is reported as not
 * followed to the end); {@code return}, {@code break}, {@code continue}, {@code yield} and
 * exceptions (from any call that is not a runtime-marked step, from {@code new}, from {@code
 * throw}) travel through every enclosing {@code finally}. Calls are recognised by the runtime's
 * marks only ({@link Marks}); what a call does to the facts is its marks' {@link Effect}s, in
 * order. What it observes on the way (a change outside a bracket, a missing flush, ...) goes to
 * the {@link Checker}, which reports once the whole method has been followed.
 */
final class Interpreter {
  /** Rounds after which a loop that still changes the facts is reported as not followed. */
  static final int MAX_ROUNDS = 32;
  /** States at one loop head past which a loop is reported as not followed. */
  static final int MAX_STATES = 200;

  private final TreeContext ctx;
  private final Marks marks;
  private final HiddenChanges hidden;
  private final Checker checker;
  private final Map<Long, String> changeCalls = new HashMap<>();
  private final Map<Long, String> startRanges = new HashMap<>();

  Interpreter(TreeContext ctx, Marks marks, HiddenChanges hidden, Checker checker) {
    this.ctx = ctx;
    this.marks = marks;
    this.hidden = hidden;
    this.checker = checker;
  }

  private enum JumpKind { RETURN, BREAK, CONTINUE, THROW, YIELD }

  /** Control leaving a statement other than by falling through. */
  private record Jump(JumpKind kind, Name label, Set<State> states, String path) {}

  /** The states falling out of a statement, and the jumps leaving it. */
  private static final class Flow {
    final Set<State> normal;
    final List<Jump> jumps = new ArrayList<>();

    Flow(Set<State> normal) {
      this.normal = normal;
    }

    Flow(Set<State> normal, List<Jump> jumps) {
      this.normal = normal;
      this.jumps.addAll(jumps);
    }
  }

  /** Follow {@code method}'s body; an {@code @InBracket} helper starts inside its caller's bracket. */
  void run(MethodTree method, boolean inCallerBracket) {
    Flow f = exec(method.getBody(), Set.of(State.initial(inCallerBracket)));
    for (State s : f.normal) {
      exit(s, "the path that reaches the end of the method");
    }
    for (Jump j : f.jumps) {
      if (j.kind == JumpKind.RETURN || j.kind == JumpKind.THROW) {
        for (State s : j.states) {
          exit(s, j.path != null ? j.path : s.via());
        }
      }
    }
  }

  /** What must hold when the method is left on {@code path}. */
  private void exit(State s, String path) {
    for (Bracket b : s.open()) {
      checker.openAtExit(b.pos(), startRanges.get(b.pos()), path);
    }
    for (Map.Entry<Obj, Integer> p : s.pending().entrySet()) {
      if (p.getValue() <= 0) {
        continue;
      }
      checker.error(s.pendingPos().get(p.getKey()), Message.UNBALANCED_PENDING,
          "incTlbFlushPending here", "a decTlbFlushPending", path);
      // The pending count let these flushes follow the end, but no decTlbFlushPending came.
      for (Change c : s.unflushed()) {
        if (c.endPos() >= 0 && Facts.sameMm(c.mm(), p.getKey())) {
          checker.error(c.pos(), Message.MISSING_FLUSH, changeCalls.get(c.pos()),
              describe(c.mm(), s), ctx.lineOf(c.endPos()), path);
        }
      }
    }
  }

  // ---- statements ----

  private Flow exec(StatementTree st, Set<State> in) {
    if (st == null || in.isEmpty()) {
      return new Flow(in);
    }
    switch (st.getKind()) {
      case BLOCK:
        return block(((BlockTree) st).getStatements(), in);
      case EXPRESSION_STATEMENT:
        return expression(((ExpressionStatementTree) st).getExpression(), in);
      case VARIABLE:
        return variable((VariableTree) st, in);
      case IF:
        return ifStatement((IfTree) st, in);
      case WHILE_LOOP:
      case DO_WHILE_LOOP:
      case FOR_LOOP:
      case ENHANCED_FOR_LOOP:
        return loop(null, st, in);
      case LABELED_STATEMENT:
        return labeled((LabeledStatementTree) st, in);
      case TRY:
        return tryStatement((TryTree) st, in);
      case RETURN: {
        Flow f = expression(((ReturnTree) st).getExpression(), in);
        f.jumps.add(new Jump(JumpKind.RETURN, null, f.normal,
            "the path that returns at line " + ctx.line(st)));
        return new Flow(new LinkedHashSet<>(), f.jumps);
      }
      case THROW: {
        Flow f = expression(((ThrowTree) st).getExpression(), in);
        String why = "the exception thrown at line " + ctx.line(st);
        f.jumps.add(new Jump(JumpKind.THROW, null, Facts.map(f.normal, s -> s.thrown(why)), why));
        return new Flow(new LinkedHashSet<>(), f.jumps);
      }
      case BREAK: {
        Flow f = new Flow(new LinkedHashSet<>());
        f.jumps.add(new Jump(JumpKind.BREAK, ((BreakTree) st).getLabel(), in, null));
        return f;
      }
      case CONTINUE: {
        Flow f = new Flow(new LinkedHashSet<>());
        f.jumps.add(new Jump(JumpKind.CONTINUE, ((ContinueTree) st).getLabel(), in, null));
        return f;
      }
      case YIELD: {
        Flow f = expression(((YieldTree) st).getValue(), in);
        f.jumps.add(new Jump(JumpKind.YIELD, null, f.normal, null));
        return new Flow(new LinkedHashSet<>(), f.jumps);
      }
      case SWITCH: {
        SwitchTree t = (SwitchTree) st;
        return switchCases(t.getExpression(), t.getCases(), in, false);
      }
      case SYNCHRONIZED: {
        SynchronizedTree s = (SynchronizedTree) st;
        Flow lock = expression(s.getExpression(), in);
        Flow body = exec(s.getBlock(), lock.normal);
        body.jumps.addAll(lock.jumps);
        return body;
      }
      case ASSERT: {
        // Assertions may be disabled: the condition runs on some paths only.
        AssertTree a = (AssertTree) st;
        Flow f = expression(a.getCondition(), in);
        return new Flow(Facts.join(in, f.normal), f.jumps);
      }
      case EMPTY_STATEMENT:
      case CLASS: // a local class: its methods are checked on their own
        return new Flow(in);
      default:
        checker.warning(ctx.pos(st), Message.ANALYSIS_INCOMPLETE_FORM, "statement",
            st.getKind());
        return new Flow(in);
    }
  }

  private Flow block(List<? extends StatementTree> statements, Set<State> in) {
    List<Jump> jumps = new ArrayList<>();
    Set<State> cur = in;
    for (StatementTree s : statements) {
      Flow f = exec(s, cur);
      jumps.addAll(f.jumps);
      cur = f.normal;
    }
    return new Flow(cur, jumps);
  }

  private Flow expression(ExpressionTree e, Set<State> in) {
    List<Jump> jumps = new ArrayList<>();
    Set<State> out = eval(e, in, jumps);
    return new Flow(out, jumps);
  }

  private Flow variable(VariableTree v, Set<State> in) {
    Flow f = expression(v.getInitializer(), in);
    if (v.getInitializer() == null) {
      return f;
    }
    Element var = ctx.element(v);
    if (var instanceof VariableElement && var.asType().getKind() == TypeKind.LONG) {
      VariableElement local = (VariableElement) var;
      return new Flow(Facts.map(f.normal, s -> trackRead(s, local, v.getInitializer())), f.jumps);
    }
    if (!(var instanceof VariableElement) || var.asType().getKind().isPrimitive()) {
      return f;
    }
    Loc loc = new Loc(null, (VariableElement) var);
    return new Flow(Facts.map(f.normal, s -> s.set(loc, value(v.getInitializer(), s))), f.jumps);
  }

  private Flow ifStatement(IfTree t, Set<State> in) {
    List<Jump> jumps = new ArrayList<>();
    Set<State> cond = eval(t.getCondition(), in, jumps);
    Flow then = exec(t.getThenStatement(), refine(t.getCondition(), cond, true));
    Set<State> elseIn = refine(t.getCondition(), cond, false);
    MethodInvocationTree guarded = guardedFlush(t);
    if (guarded != null) {
      // if (end > start) flushTlbRange(vma, start, end): when the test fails the range is empty
      // and the flush would flush nothing, so the other branch counts as flushed too. A walker
      // whose own pending count is raised tells other walkers to skip PTEs it changes; it may
      // flush only its own changes where mm_tlb_flush_nested says no other walker is pending
      // (wp_clean_post_vma), else it must flush the whole range.
      Element target = ctx.element(guarded);
      boolean nestedChecked = nestedChecked(t);
      elseIn = Facts.map(elseIn, s -> {
        Obj mm = callMm(guarded, target, s);
        return nestedChecked || !ownPending(s, mm) ? flush(s, mm) : flushedUnlessNested(s, mm);
      });
    }
    if (nestedQuery(t.getCondition())) {
      // Where no other walker is pending, a flush of what this walker changed was enough.
      elseIn = Facts.map(elseIn, Interpreter::dropNestedOnly);
    }
    Flow other = exec(t.getElseStatement(), elseIn);
    Flow out = new Flow(Facts.join(then.normal, other.normal), jumps);
    out.jumps.addAll(then.jumps);
    out.jumps.addAll(other.jumps);
    return out;
  }

  /**
   * The flush when {@code t} is {@code if (end > start) flushTlbRange(x, start, end)} (or {@code
   * start < end}, {@code end != start}) with no else branch, else null. The operands are compared
   * as expressions over the same elements, not as text.
   */
  private MethodInvocationTree guardedFlush(IfTree t) {
    if (t.getElseStatement() != null || !(strip(t.getCondition()) instanceof BinaryTree)) {
      return null;
    }
    BinaryTree cond = (BinaryTree) strip(t.getCondition());
    StatementTree then = t.getThenStatement();
    if (then instanceof BlockTree && ((BlockTree) then).getStatements().size() == 1) {
      then = ((BlockTree) then).getStatements().get(0);
    }
    if (!(then instanceof ExpressionStatementTree)
        || !(((ExpressionStatementTree) then).getExpression() instanceof MethodInvocationTree)) {
      return null;
    }
    MethodInvocationTree call =
        (MethodInvocationTree) ((ExpressionStatementTree) then).getExpression();
    if (!marks.effects(ctx.element(call)).contains(Effect.FLUSH_TLB)
        || call.getArguments().size() < 3) {
      return null;
    }
    ExpressionTree start = call.getArguments().get(1);
    ExpressionTree end = call.getArguments().get(2);
    ExpressionTree l = cond.getLeftOperand();
    ExpressionTree r = cond.getRightOperand();
    boolean matches;
    switch (cond.getKind()) {
      case GREATER_THAN:
        matches = same(l, end) && same(r, start);
        break;
      case LESS_THAN:
        matches = same(l, start) && same(r, end);
        break;
      case NOT_EQUAL_TO:
        matches = same(l, start) && same(r, end) || same(l, end) && same(r, start);
        break;
      default:
        matches = false;
    }
    return matches ? call : null;
  }

  /** Whether {@code cond} is a call of {@code mm_tlb_flush_nested}. */
  private boolean nestedQuery(ExpressionTree cond) {
    ExpressionTree c = strip(cond);
    return c instanceof MethodInvocationTree
        && marks.effects(ctx.element(c)).contains(Effect.TLB_FLUSH_NESTED);
  }

  /** The changes of {@code mm} flushed, except where another walker is pending too. */
  private static State flushedUnlessNested(State st, Obj mm) {
    Set<Change> u = new LinkedHashSet<>();
    for (Change c : st.unflushed()) {
      u.add(Facts.sameMm(c.mm(), mm) ? c.onlyIfNested() : c);
    }
    return st.withUnflushed(u);
  }

  private static State dropNestedOnly(State st) {
    Set<Change> u = new LinkedHashSet<>();
    for (Change c : st.unflushed()) {
      if (!c.nestedOnly()) {
        u.add(c);
      }
    }
    return u.size() == st.unflushed().size() ? st : st.withUnflushed(u);
  }

  /** Whether {@code t} is the else branch of {@code if (mm.mmTlbFlushNested())}. */
  private boolean nestedChecked(IfTree t) {
    TreePath path = ctx.path(t);
    Tree child = t;
    TreePath parent = path == null ? null : path.getParentPath();
    if (parent != null && parent.getLeaf() instanceof BlockTree
        && ((BlockTree) parent.getLeaf()).getStatements().size() == 1) {
      child = parent.getLeaf();
      parent = parent.getParentPath();
    }
    if (parent == null || !(parent.getLeaf() instanceof IfTree)) {
      return false;
    }
    IfTree p = (IfTree) parent.getLeaf();
    return p.getElseStatement() == child && nestedQuery(p.getCondition());
  }

  /**
   * The states in which {@code cond} may be {@code truth}: a comparison of a reference with
   * {@code null} drops the states where the reference is known to be null, or known not to be.
   */
  private Set<State> refine(ExpressionTree cond, Set<State> in, boolean truth) {
    ExpressionTree c = strip(cond);
    if (c.getKind() == Tree.Kind.LOGICAL_COMPLEMENT) {
      return refine(((UnaryTree) c).getExpression(), in, !truth);
    }
    if (c.getKind() != Tree.Kind.EQUAL_TO && c.getKind() != Tree.Kind.NOT_EQUAL_TO) {
      return in;
    }
    BinaryTree b = (BinaryTree) c;
    ExpressionTree other;
    if (strip(b.getRightOperand()).getKind() == Tree.Kind.NULL_LITERAL) {
      other = b.getLeftOperand();
    } else if (strip(b.getLeftOperand()).getKind() == Tree.Kind.NULL_LITERAL) {
      other = b.getRightOperand();
    } else {
      return in;
    }
    boolean wantNull = (c.getKind() == Tree.Kind.EQUAL_TO) == truth;
    Set<State> out = new LinkedHashSet<>();
    for (State s : in) {
      Obj v = value(other, s);
      boolean isNull = v.kind() == Kind.NULL;
      boolean notNull = v.kind() == Kind.SITE && v.key() instanceof NewClassTree;
      if (wantNull ? !notNull : !isNull) {
        out.add(s);
      }
    }
    return out;
  }

  /** Whether two expressions compute the same value from the same elements. */
  private boolean same(ExpressionTree a, ExpressionTree b) {
    a = strip(a);
    b = strip(b);
    if (a.getKind() != b.getKind()) {
      return false;
    }
    if (a instanceof IdentifierTree) {
      Element ea = ctx.element(a);
      return ea != null && ea.equals(ctx.element(b));
    }
    if (a instanceof MemberSelectTree) {
      Element ea = ctx.element(a);
      return ea != null && ea.equals(ctx.element(b)) && same(
          ((MemberSelectTree) a).getExpression(), ((MemberSelectTree) b).getExpression());
    }
    if (a instanceof LiteralTree) {
      Object va = ((LiteralTree) a).getValue();
      return va != null && va.equals(((LiteralTree) b).getValue());
    }
    if (a instanceof BinaryTree) {
      BinaryTree x = (BinaryTree) a;
      BinaryTree y = (BinaryTree) b;
      return same(x.getLeftOperand(), y.getLeftOperand())
          && same(x.getRightOperand(), y.getRightOperand());
    }
    if (a instanceof MethodInvocationTree) {
      MethodInvocationTree x = (MethodInvocationTree) a;
      MethodInvocationTree y = (MethodInvocationTree) b;
      Element ea = ctx.element(x);
      if (ea == null || !ea.equals(ctx.element(y))
          || x.getArguments().size() != y.getArguments().size()) {
        return false;
      }
      if ((x.getMethodSelect() instanceof MemberSelectTree)
          != (y.getMethodSelect() instanceof MemberSelectTree)) {
        return false;
      }
      if (x.getMethodSelect() instanceof MemberSelectTree && !same(
          ((MemberSelectTree) x.getMethodSelect()).getExpression(),
          ((MemberSelectTree) y.getMethodSelect()).getExpression())) {
        return false;
      }
      for (int i = 0; i < x.getArguments().size(); i++) {
        if (!same(x.getArguments().get(i), y.getArguments().get(i))) {
          return false;
        }
      }
      return true;
    }
    return false;
  }

  private Flow labeled(LabeledStatementTree t, Set<State> in) {
    Name label = t.getLabel();
    StatementTree inner = t.getStatement();
    Flow f;
    switch (inner.getKind()) {
      case WHILE_LOOP:
      case DO_WHILE_LOOP:
      case FOR_LOOP:
      case ENHANCED_FOR_LOOP:
        f = loop(label, inner, in);
        break;
      default:
        f = exec(inner, in);
    }
    Flow out = new Flow(new LinkedHashSet<>(f.normal));
    for (Jump j : f.jumps) {
      if (j.kind == JumpKind.BREAK && label.equals(j.label)) {
        out.normal.addAll(j.states);
      } else {
        out.jumps.add(j);
      }
    }
    return out;
  }

  /**
   * A loop: the body runs zero or more times (at least once for do-while) until the facts at its
   * head stop growing. An enhanced {@code for} leaves at its head, after any number of rounds.
   */
  private Flow loop(Name label, StatementTree loop, Set<State> in) {
    List<Jump> jumps = new ArrayList<>();
    ExpressionTree cond = null;
    StatementTree body;
    List<? extends ExpressionStatementTree> update = List.of();
    boolean doWhile = false;
    Set<State> head;
    Loc each = null;
    switch (loop.getKind()) {
      case WHILE_LOOP:
        cond = ((WhileLoopTree) loop).getCondition();
        body = ((WhileLoopTree) loop).getStatement();
        head = in;
        break;
      case DO_WHILE_LOOP:
        cond = ((DoWhileLoopTree) loop).getCondition();
        body = ((DoWhileLoopTree) loop).getStatement();
        doWhile = true;
        head = in;
        break;
      case FOR_LOOP: {
        ForLoopTree f = (ForLoopTree) loop;
        Flow init = block(f.getInitializer(), in);
        jumps.addAll(init.jumps);
        cond = f.getCondition();
        body = f.getStatement();
        update = f.getUpdate();
        head = init.normal;
        break;
      }
      default: {
        EnhancedForLoopTree e = (EnhancedForLoopTree) loop;
        head = eval(e.getExpression(), in, jumps);
        body = e.getStatement();
        Element var = ctx.element(e.getVariable());
        if (var instanceof VariableElement && !var.asType().getKind().isPrimitive()) {
          each = new Loc(null, (VariableElement) var);
        }
        break;
      }
    }
    boolean enhanced = loop.getKind() == Tree.Kind.ENHANCED_FOR_LOOP;
    boolean infinite = !enhanced && !doWhile && (cond == null || isTrue(cond));
    head = new LinkedHashSet<>(head);
    Set<State> exits = new LinkedHashSet<>();
    List<Jump> outJumps = new ArrayList<>();
    for (int round = 1; ; round++) {
      List<Jump> roundJumps = new ArrayList<>();
      exits.clear();
      Set<State> enter;
      if (enhanced) {
        exits.addAll(head); // the iteration may end at any round
        Loc v = each;
        enter = Facts.map(head, s -> {
          State t = s.age(loop);
          return v == null ? t : t.set(v, Obj.site(loop));
        });
      } else if (doWhile) {
        enter = head;
      } else {
        Set<State> tested = eval(cond, head, roundJumps);
        enter = cond == null ? tested : refine(cond, tested, true);
        if (!infinite) {
          exits.addAll(refine(cond, tested, false));
        }
      }
      Flow b = exec(body, enter);
      Set<State> back = new LinkedHashSet<>(b.normal);
      for (Jump j : b.jumps) {
        boolean mine = j.label == null || j.label.equals(label);
        if (j.kind == JumpKind.CONTINUE && mine) {
          back.addAll(j.states);
        } else if (j.kind == JumpKind.BREAK && mine) {
          exits.addAll(j.states);
        } else {
          roundJumps.add(j);
        }
      }
      if (!update.isEmpty()) {
        Flow u = block(update, back);
        roundJumps.addAll(u.jumps);
        back = u.normal;
      }
      if (doWhile) {
        Set<State> c = eval(cond, back, roundJumps);
        if (!isTrue(cond)) {
          exits.addAll(c);
        }
        back = c;
      }
      outJumps = roundJumps;
      Set<State> next = Facts.join(head, back);
      if (next.equals(head)) {
        break;
      }
      head = next;
      if (round >= MAX_ROUNDS || head.size() > MAX_STATES) {
        checker.warning(ctx.pos(loop), Message.ANALYSIS_INCOMPLETE_LOOP, round, head.size());
        break;
      }
    }
    Flow out = new Flow(exits);
    out.jumps.addAll(jumps);
    out.jumps.addAll(outJumps);
    return out;
  }

  private static boolean isTrue(ExpressionTree cond) {
    return cond == null || strip(cond) instanceof LiteralTree
        && Boolean.TRUE.equals(((LiteralTree) strip(cond)).getValue());
  }

  /**
   * A {@code switch} statement or expression: each case from the selector (or falling through
   * from the one before); an expression's value comes from its rules and {@code yield}s.
   */
  private Flow switchCases(ExpressionTree selector, List<? extends CaseTree> cases,
      Set<State> in, boolean expression) {
    List<Jump> jumps = new ArrayList<>();
    Set<State> sel = eval(selector, in, jumps);
    Set<State> normal = new LinkedHashSet<>();
    boolean hasDefault = false;
    Set<State> fallThrough = new LinkedHashSet<>();
    for (CaseTree c : cases) {
      hasDefault |= c.getExpressions().isEmpty();
      Set<State> caseIn = Facts.join(sel, fallThrough);
      Flow f;
      if (c.getCaseKind() == CaseTree.CaseKind.RULE) {
        Tree body = c.getBody();
        f = body instanceof StatementTree ? exec((StatementTree) body, caseIn)
            : expression((ExpressionTree) body, caseIn);
        if (body instanceof ExpressionTree || !expression) {
          normal.addAll(f.normal);
        }
        fallThrough = new LinkedHashSet<>();
      } else {
        f = block(c.getStatements(), caseIn);
        fallThrough = f.normal;
      }
      for (Jump j : f.jumps) {
        if (!expression && j.kind == JumpKind.BREAK && j.label == null
            || expression && j.kind == JumpKind.YIELD) {
          normal.addAll(j.states);
        } else {
          jumps.add(j);
        }
      }
    }
    if (!expression) {
      normal.addAll(fallThrough);
      if (!hasDefault) {
        normal.addAll(sel);
      }
    }
    return new Flow(normal, jumps);
  }

  private Flow tryStatement(TryTree t, Set<State> in) {
    List<Jump> jumps = new ArrayList<>();
    Set<State> cur = in;
    for (Tree r : t.getResources()) {
      if (r instanceof VariableTree) {
        Flow f = variable((VariableTree) r, cur);
        jumps.addAll(f.jumps);
        cur = f.normal;
      } else {
        cur = eval((ExpressionTree) r, cur, jumps);
      }
    }
    Flow body = exec(t.getBlock(), cur);
    Set<State> normal = new LinkedHashSet<>(body.normal);
    List<Jump> all = new ArrayList<>(jumps);
    all.addAll(body.jumps);
    if (!t.getResources().isEmpty()) {
      String why = "closing the resources of the try at line " + ctx.line(t);
      all.add(new Jump(JumpKind.THROW, null, Facts.map(body.normal, s -> s.thrown(why)), why));
    }
    if (!t.getCatches().isEmpty()) {
      Set<State> thrown = new LinkedHashSet<>();
      List<Jump> uncaught = new ArrayList<>();
      boolean catchesAll = false;
      for (CatchTree c : t.getCatches()) {
        catchesAll |= marks.catchesAllUnchecked(ctx.type(c.getParameter()));
      }
      for (Jump j : all) {
        if (j.kind == JumpKind.THROW) {
          thrown.addAll(j.states);
          if (!catchesAll) {
            uncaught.add(j);
          }
        } else {
          uncaught.add(j);
        }
      }
      all = uncaught;
      Set<State> handled = Facts.map(thrown, State::caught);
      for (CatchTree c : t.getCatches()) {
        Flow cf = exec(c.getBlock(), handled);
        normal.addAll(cf.normal);
        all.addAll(cf.jumps);
      }
    }
    if (t.getFinallyBlock() == null) {
      return new Flow(normal, all);
    }
    // Every exception leaves through the finally block the same way: run it once for them all,
    // each state remembering where its exception came from.
    Set<State> thrown = new LinkedHashSet<>();
    List<Jump> others = new ArrayList<>();
    for (Jump j : all) {
      if (j.kind == JumpKind.THROW) {
        thrown = Facts.join(thrown, j.states);
      } else {
        others.add(j);
      }
    }
    if (!thrown.isEmpty()) {
      others.add(new Jump(JumpKind.THROW, null, thrown, null));
    }
    all = others;
    // The finally block runs on every way out: falling through, and each jump.
    Flow fin = exec(t.getFinallyBlock(), normal);
    Flow out = new Flow(fin.normal, fin.jumps);
    for (Jump j : all) {
      Flow fj = exec(t.getFinallyBlock(), j.states);
      out.jumps.add(new Jump(j.kind, j.label, fj.normal, j.path));
      out.jumps.addAll(fj.jumps);
    }
    return out;
  }

  // ---- expressions ----

  /** Evaluate {@code e} in evaluation order on every state; exceptions go to {@code jumps}. */
  private Set<State> eval(ExpressionTree e, Set<State> in, List<Jump> jumps) {
    if (e == null || in.isEmpty()) {
      return in;
    }
    switch (e.getKind()) {
      case PARENTHESIZED:
        return eval(((ParenthesizedTree) e).getExpression(), in, jumps);
      case TYPE_CAST:
        return eval(((TypeCastTree) e).getExpression(), in, jumps);
      case METHOD_INVOCATION:
        return invocation((MethodInvocationTree) e, in, jumps);
      case NEW_CLASS:
        return newClass((NewClassTree) e, in, jumps);
      case NEW_ARRAY: {
        NewArrayTree n = (NewArrayTree) e;
        Set<State> s = in;
        for (ExpressionTree d : n.getDimensions()) {
          s = eval(d, s, jumps);
        }
        if (n.getInitializers() != null) {
          for (ExpressionTree i : n.getInitializers()) {
            s = eval(i, s, jumps);
          }
        }
        return s;
      }
      case LAMBDA_EXPRESSION:
        hiddenInside(((LambdaExpressionTree) e).getBody());
        return in;
      case MEMBER_REFERENCE:
        if (changesPtes(ctx.element(e))) {
          checker.error(ctx.pos(e), Message.HIDDEN_CHANGE_LAMBDA, ctx.text(e));
        }
        return in;
      case CONDITIONAL_EXPRESSION: {
        ConditionalExpressionTree c = (ConditionalExpressionTree) e;
        Set<State> s = eval(c.getCondition(), in, jumps);
        return Facts.join(eval(c.getTrueExpression(), s, jumps),
            eval(c.getFalseExpression(), s, jumps));
      }
      case CONDITIONAL_AND:
      case CONDITIONAL_OR: {
        BinaryTree b = (BinaryTree) e;
        Set<State> left = eval(b.getLeftOperand(), in, jumps);
        return Facts.join(left, eval(b.getRightOperand(), left, jumps));
      }
      case ASSIGNMENT:
        return assignment((AssignmentTree) e, in, jumps);
      case INSTANCE_OF: {
        InstanceOfTree i = (InstanceOfTree) e;
        Set<State> s = eval(i.getExpression(), in, jumps);
        if (i.getPattern() instanceof com.sun.source.tree.BindingPatternTree) {
          Element var = ctx.element(
              ((com.sun.source.tree.BindingPatternTree) i.getPattern()).getVariable());
          if (var instanceof VariableElement) {
            Loc loc = new Loc(null, (VariableElement) var);
            s = Facts.map(s, st -> st.set(loc, value(i.getExpression(), st)));
          }
        }
        return s;
      }
      case ARRAY_ACCESS: {
        ArrayAccessTree a = (ArrayAccessTree) e;
        return eval(a.getIndex(), eval(a.getExpression(), in, jumps), jumps);
      }
      case MEMBER_SELECT:
        return eval(((MemberSelectTree) e).getExpression(), in, jumps);
      case SWITCH_EXPRESSION: {
        SwitchExpressionTree sw = (SwitchExpressionTree) e;
        Flow f = switchCases(sw.getExpression(), sw.getCases(), in, true);
        jumps.addAll(f.jumps);
        return f.normal;
      }
      case IDENTIFIER:
      case INT_LITERAL:
      case LONG_LITERAL:
      case FLOAT_LITERAL:
      case DOUBLE_LITERAL:
      case BOOLEAN_LITERAL:
      case CHAR_LITERAL:
      case STRING_LITERAL:
      case NULL_LITERAL:
        return in;
      default:
        if (e instanceof BinaryTree) {
          BinaryTree b = (BinaryTree) e;
          return eval(b.getRightOperand(), eval(b.getLeftOperand(), in, jumps), jumps);
        }
        if (e instanceof UnaryTree) {
          return eval(((UnaryTree) e).getExpression(), in, jumps);
        }
        if (e instanceof CompoundAssignmentTree) {
          CompoundAssignmentTree c = (CompoundAssignmentTree) e;
          return eval(c.getExpression(), eval(c.getVariable(), in, jumps), jumps);
        }
        checker.warning(ctx.pos(e), Message.ANALYSIS_INCOMPLETE_FORM, "expression", e.getKind());
        return in;
    }
  }

  private Set<State> assignment(AssignmentTree a, Set<State> in, List<Jump> jumps) {
    Set<State> s = in;
    ExpressionTree lhs = strip(a.getVariable());
    if (lhs instanceof MemberSelectTree) {
      s = eval(((MemberSelectTree) lhs).getExpression(), s, jumps);
    } else if (lhs instanceof ArrayAccessTree) {
      s = eval(lhs, s, jumps);
    }
    s = eval(a.getExpression(), s, jumps);
    TypeMirror type = ctx.type(lhs);
    Element assigned = ctx.element(lhs);
    if (type != null && type.getKind() == TypeKind.LONG && assigned instanceof VariableElement
        && lhs instanceof IdentifierTree) {
      return Facts.map(s, st -> trackRead(st, (VariableElement) assigned, a.getExpression()));
    }
    if (type == null || type.getKind().isPrimitive()) {
      return s;
    }
    return Facts.map(s, st -> {
      Loc loc = locOf(lhs, st);
      return loc == null ? st : st.set(loc, value(a.getExpression(), st));
    });
  }

  /** The variable an assignment's left side names in {@code st}, or null for an array slot. */
  private Loc locOf(ExpressionTree lhs, State st) {
    Element el = ctx.element(lhs);
    if (!(el instanceof VariableElement)) {
      return null;
    }
    if (lhs instanceof MemberSelectTree && el.getKind() == ElementKind.FIELD
        && !el.getModifiers().contains(Modifier.STATIC)) {
      return new Loc(value(((MemberSelectTree) lhs).getExpression(), st), (VariableElement) el);
    }
    return new Loc(null, (VariableElement) el);
  }

  private Set<State> newClass(NewClassTree n, Set<State> in, List<Jump> jumps) {
    Set<State> s = eval(n.getEnclosingExpression(), in, jumps);
    for (ExpressionTree arg : n.getArguments()) {
      s = eval(arg, s, jumps);
    }
    if (n.getClassBody() != null) {
      hiddenInside(n.getClassBody());
    }
    String why = "an exception from new " + ctx.text(n.getIdentifier()) + " at line "
        + ctx.line(n);
    jumps.add(new Jump(JumpKind.THROW, null, Facts.map(s, st -> st.thrown(why)), why));
    Element ctor = ctx.element(n);
    return Facts.map(s, st -> {
      State t = st.age(n);
      // An object built from an mm or a VMA (a notifier range) belongs to that mm.
      Obj mm = argumentMm(n.getArguments(), ctor, t);
      return mm.unknown() ? t : withMm(t, Obj.site(n), mm);
    });
  }

  private Set<State> invocation(MethodInvocationTree mi, Set<State> in, List<Jump> jumps) {
    Set<State> s = in;
    ExpressionTree receiver = receiver(mi);
    if (receiver != null) {
      s = eval(receiver, s, jumps);
    }
    for (ExpressionTree arg : mi.getArguments()) {
      s = eval(arg, s, jumps);
    }
    Element target = ctx.element(mi);
    Set<Effect> effects = marks.effects(target);
    Role role = Marks.role(target);
    long pos = ctx.pos(mi);
    String call = ctx.text(mi.getMethodSelect());
    boolean fresh = Marks.isMethod(target)
        && ((ExecutableElement) target).getReturnType().getKind() == TypeKind.DECLARED
        && accessor(mi, target, null) == null;
    boolean lockRelease = marks.isLockRelease(target);
    Set<State> out = new LinkedHashSet<>();
    for (State st : s) {
      State t = fresh ? st.age(mi) : st;
      for (Effect effect : effects) {
        t = apply(effect, t, mi, target, pos, call);
      }
      if (role == Role.IN_BRACKET) {
        t = change(t, callMm(mi, target, t), null, pos, call);
      }
      if (lockRelease && receiver != null) {
        Obj lock = value(receiver, t);
        if (lock.kind() == Kind.PTL_OF) {
          t = unlock(t, (Obj) lock.key(), pos);
        }
      }
      if (fresh && Marks.acts(effects)) {
        // What a marked call returns (an mmu_gather) acts on the mm the call acted on.
        Obj mm = callMm(mi, target, t);
        if (!mm.unknown()) {
          t = withMm(t, Obj.site(mi), mm);
        }
      }
      out.add(t);
    }
    if (effects.isEmpty() && role == Role.NONE && Marks.isMethod(target)) {
      HiddenChanges.Found found = hidden.find(target);
      if (found != null) {
        checker.error(pos, Message.HIDDEN_CHANGE_HELPER, call, found.call(), found.line());
      }
    }
    if (marks.mayThrow(target)) {
      String why = "an exception from " + call + " at line " + ctx.line(mi);
      jumps.add(new Jump(JumpKind.THROW, null,
          Facts.map(role == Role.IN_BRACKET ? out : s, st -> st.thrown(why)), why));
    }
    return out;
  }

  private State apply(Effect effect, State t, MethodInvocationTree mi, Element target, long pos,
      String call) {
    switch (effect) {
      case START: {
        ExpressionTree arg = mi.getArguments().get(0);
        startRanges.putIfAbsent(pos, ctx.text(strip(arg)));
        Obj range = value(arg, t);
        return start(t, range, mmOf(range, ctx.type(arg), t), pos);
      }
      case END: {
        ExpressionTree arg = mi.getArguments().get(0);
        return end(t, value(arg, t), pos, ctx.text(strip(arg)));
      }
      case CHANGE: {
        Obj mm = callMm(mi, target, t);
        Obj table = tableOf(mi, target, t);
        staleValues(t, mi, pos, call);
        ExpressionTree addr = addressOf(mi, target);
        // A change returning the PTE it took (ptep_get_and_clear) leaves the PTE none; one
        // returning nothing installs a value, which needs no flush where the PTE was cleared and
        // flushed before (ptep_clear_flush, then set_pte_at).
        boolean takes = ((ExecutableElement) target).getReturnType().getKind() != TypeKind.VOID;
        boolean intoFlushedNone = !takes && addr != null && clearedAndFlushed(t, table, addr);
        State after = change(t, mm, table, pos, call, !intoFlushedNone);
        Set<Cleared> cleared = new LinkedHashSet<>();
        for (Cleared c : after.cleared()) {
          if (addr == null || !Facts.sameTable(c.table(), table) || !same((ExpressionTree) c.addr(), addr)) {
            cleared.add(c);
          }
        }
        if (takes && addr != null) {
          cleared.add(new Cleared(table, mm, addr, false));
        }
        return staled(after.withCleared(cleared), table, pos);
      }
      case FLUSH_TLB:
        return flush(t, callMm(mi, target, t));
      case PENDING_INC:
        return inc(t, callMm(mi, target, t), pos);
      case PENDING_DEC:
        return dec(t, callMm(mi, target, t), pos);
      default:
        return t;
    }
  }

  // ---- transfer of the marked steps ----

  private State start(State st, Obj range, Obj mm, long pos) {
    Set<Bracket> open = new LinkedHashSet<>(st.open());
    open.add(new Bracket(range, mm, pos));
    Map<Obj, Long> ended = new LinkedHashMap<>(st.ended());
    ended.remove(range);
    return st.withBrackets(open, ended);
  }

  private State end(State st, Obj range, long pos, String text) {
    Bracket b = null;
    for (Bracket o : st.open()) {
      if (o.range().equals(range)) {
        b = o;
      }
    }
    if (b == null) {
      checker.error(pos, Message.END_WITHOUT_START, text, text, st.path());
      return st;
    }
    checker.closed(b.pos());
    Set<Change> unflushed = new LinkedHashSet<>();
    for (Change c : st.unflushed()) {
      if (!Facts.sameMm(c.mm(), b.mm()) || c.endPos() >= 0) {
        unflushed.add(c);
      } else if (ownPending(st, c.mm())) {
        // With the walker's own tlb_flush_pending raised the flush may follow the end, as in
        // clear_refs_write, but must come before decTlbFlushPending.
        unflushed.add(c.deferred(pos));
      } else {
        checker.error(c.pos(), Message.MISSING_FLUSH, changeCalls.get(c.pos()),
            describe(c.mm(), st), ctx.lineOf(pos), st.path());
      }
    }
    Set<Bracket> open = new LinkedHashSet<>(st.open());
    open.remove(b);
    Map<Obj, Long> ended = new LinkedHashMap<>(st.ended());
    ended.put(range, pos);
    return st.withBrackets(open, ended).withUnflushed(unflushed);
  }

  /**
   * {@code var = e}: what {@code var} holds from a plain PTE read. A plain read is an unmarked call
   * returning a {@code long} from a {@code PteTable} ({@code ptep_get}); a value computed from
   * variables holding reads holds them too; anything else holds none.
   */
  private State trackRead(State st, VariableElement var, ExpressionTree e) {
    Read read = readOf(e, st);
    Read now = st.reads().get(var);
    if (read == null ? now == null : read.equals(now)) {
      return st;
    }
    Map<VariableElement, Read> r = new LinkedHashMap<>(st.reads());
    if (read == null) {
      r.remove(var);
    } else {
      r.put(var, read);
    }
    return st.withReads(r);
  }

  private Read readOf(ExpressionTree e, State st) {
    ExpressionTree x = strip(e);
    if (x instanceof MethodInvocationTree) {
      Element target = ctx.element(x);
      if (Marks.isMethod(target) && marks.effects(target).isEmpty()
          && ((ExecutableElement) target).getReturnType().getKind() == TypeKind.LONG) {
        Obj table = tableOf((MethodInvocationTree) x, target, st);
        if (!table.unknown()) {
          return new Read(table, ctx.pos(x), -1);
        }
      }
    }
    Read[] found = {null};
    new TreeScanner<Void, Void>() {
      @Override
      public Void visitIdentifier(IdentifierTree id, Void unused) {
        Read r = st.reads().get(ctx.element(id));
        if (r != null && (found[0] == null || found[0].staleAt() < 0 && r.staleAt() >= 0)) {
          found[0] = r;
        }
        return null;
      }
    }.scan(x, null);
    return found[0];
  }

  /** A change of {@code table} at {@code pos} makes every earlier plain read of it stale. */
  private static State staled(State st, Obj table, long pos) {
    Map<VariableElement, Read> r = new LinkedHashMap<>();
    boolean changed = false;
    for (Map.Entry<VariableElement, Read> e : st.reads().entrySet()) {
      Read read = e.getValue();
      if (read.staleAt() < 0 && Facts.sameTable(read.table(), table)) {
        read = new Read(read.table(), read.pos(), pos);
        changed = true;
      }
      r.put(e.getKey(), read);
    }
    return changed ? st.withReads(r) : st;
  }

  /** Report a PTE value written from a read the PTE's change made stale (CVE-2024-36943). */
  private void staleValues(State st, MethodInvocationTree mi, long pos, String call) {
    for (ExpressionTree arg : mi.getArguments()) {
      new TreeScanner<Void, Void>() {
        @Override
        public Void visitIdentifier(IdentifierTree id, Void unused) {
          Element v = ctx.element(id);
          Read r = st.reads().get(v);
          if (r != null && r.staleAt() >= 0) {
            checker.error(pos, Message.STALE_PTE_VALUE, call, id.getName(), ctx.lineOf(r.pos()),
                changeCalls.get(r.staleAt()), ctx.lineOf(r.staleAt()));
          }
          return null;
        }
      }.scan(arg, null);
    }
  }

  private boolean clearedAndFlushed(State st, Obj table, ExpressionTree addr) {
    for (Cleared c : st.cleared()) {
      if (c.flushed() && Facts.sameTable(c.table(), table) && same((ExpressionTree) c.addr(), addr)) {
        return true;
      }
    }
    return false;
  }

  /** The address a marked change works on: its first {@code long} argument. */
  private static ExpressionTree addressOf(MethodInvocationTree mi, Element target) {
    if (!(target instanceof ExecutableElement)) {
      return null;
    }
    List<? extends VariableElement> params = ((ExecutableElement) target).getParameters();
    for (int i = 0; i < params.size() && i < mi.getArguments().size(); i++) {
      if (params.get(i).asType().getKind() == TypeKind.LONG) {
        return mi.getArguments().get(i);
      }
    }
    return null;
  }

  private State change(State st, Obj mm, Obj table, long pos, String call) {
    return change(st, mm, table, pos, call, true);
  }

  private State change(State st, Obj mm, Obj table, long pos, String call, boolean owesFlush) {
    changeCalls.putIfAbsent(pos, call);
    if (st.open().isEmpty() && !st.inCallerBracket()) {
      if (!st.ended().isEmpty()) {
        long endPos = st.ended().values().iterator().next();
        checker.error(pos, Message.CHANGE_AFTER_END, call, ctx.lineOf(endPos), st.path());
      } else {
        checker.error(pos, Message.CHANGE_OUTSIDE_BRACKET, call);
      }
      return st;
    }
    if (!st.inCallerBracket()) {
      Bracket mismatch = null;
      for (Bracket b : st.open()) {
        if (Facts.sameMm(b.mm(), mm)) {
          mismatch = null;
          break;
        }
        mismatch = b;
      }
      if (mismatch != null) {
        checker.error(pos, Message.MM_MISMATCH, call, describe(mm, st),
            ctx.lineOf(mismatch.pos()), describe(mismatch.mm(), st));
      }
    }
    if (!owesFlush) {
      return st;
    }
    Set<Change> u = new LinkedHashSet<>(st.unflushed());
    u.add(new Change(pos, mm, table, -1, false));
    return st.withUnflushed(u);
  }

  private State flush(State st, Obj mm) {
    Set<Change> u = new LinkedHashSet<>();
    for (Change c : st.unflushed()) {
      if (!Facts.sameMm(c.mm(), mm)) {
        u.add(c);
      }
    }
    Set<Cleared> cleared = new LinkedHashSet<>();
    for (Cleared c : st.cleared()) {
      cleared.add(Facts.sameMm(c.mm(), mm) ? new Cleared(c.table(), c.mm(), c.addr(), true) : c);
    }
    State out = u.size() == st.unflushed().size() ? st : st.withUnflushed(u);
    return cleared.equals(st.cleared()) ? out : out.withCleared(cleared);
  }

  private State inc(State st, Obj mm, long pos) {
    Map<Obj, Integer> p = new LinkedHashMap<>(st.pending());
    p.merge(mm, 1, (a, b) -> Math.min(Facts.MAX_PENDING, a + b));
    Map<Obj, Long> pp = new LinkedHashMap<>(st.pendingPos());
    pp.putIfAbsent(mm, pos);
    return st.withPending(p, pp);
  }

  private State dec(State st, Obj mm, long pos) {
    Obj key = null;
    if (st.pending().getOrDefault(mm, 0) > 0) {
      key = mm;
    } else {
      for (Map.Entry<Obj, Integer> e : st.pending().entrySet()) {
        if (e.getValue() > 0 && Facts.sameMm(e.getKey(), mm)) {
          key = e.getKey();
          break;
        }
      }
    }
    if (key == null) {
      checker.error(pos, Message.UNBALANCED_PENDING, "decTlbFlushPending here",
          "an earlier incTlbFlushPending", st.path());
      return st;
    }
    Map<Obj, Integer> p = new LinkedHashMap<>(st.pending());
    Map<Obj, Long> pp = new LinkedHashMap<>(st.pendingPos());
    if (p.merge(key, -1, Integer::sum) <= 0) {
      p.remove(key);
      pp.remove(key);
    }
    State after = st.withPending(p, pp);
    if (ownPending(after, mm)) {
      return after;
    }
    // The walker's own pending count let the flush follow invalidateRangeEnd (as in
    // clear_refs_write); once it drops, the flush is too late.
    Set<Change> u = new LinkedHashSet<>();
    for (Change c : after.unflushed()) {
      if (Facts.sameMm(c.mm(), mm)) {
        checker.error(c.pos(), c.nestedOnly() ? Message.MISSING_NESTED_FLUSH
            : Message.MISSING_FLUSH_BEFORE_DEC, changeCalls.get(c.pos()), describe(c.mm(), st),
            ctx.lineOf(pos), st.path());
      } else {
        u.add(c);
      }
    }
    return after.withUnflushed(u);
  }

  /**
   * The ptl of {@code table} is released: other threads may now see its changed PTEs. Unless the
   * walker has told them (a raised {@code tlb_flush_pending}) that TLB entries may be stale, the
   * flush must already have happened.
   */
  private State unlock(State st, Obj table, long pos) {
    Set<Change> u = new LinkedHashSet<>();
    for (Change c : st.unflushed()) {
      if (c.table() != null && c.endPos() < 0 && Facts.sameTable(c.table(), table)
          && !ownPending(st, c.mm())) {
        checker.error(c.pos(), Message.MISSING_FLUSH_BEFORE_UNLOCK, changeCalls.get(c.pos()),
            describe(c.mm(), st), ctx.lineOf(pos), st.path());
      } else {
        u.add(c);
      }
    }
    Set<Cleared> cleared = new LinkedHashSet<>();
    for (Cleared c : st.cleared()) {
      if (!Facts.sameTable(c.table(), table)) {
        cleared.add(c); // once the ptl is dropped, another thread may fill a cleared PTE
      }
    }
    State out = u.size() == st.unflushed().size() ? st : st.withUnflushed(u);
    return cleared.size() == st.cleared().size() ? out : out.withCleared(cleared);
  }

  /** Whether the walker's own pending count of {@code mm} is raised (or may be, its caller's). */
  private static boolean ownPending(State st, Obj mm) {
    if (st.inCallerBracket()) {
      return true;
    }
    for (Map.Entry<Obj, Integer> e : st.pending().entrySet()) {
      if (e.getValue() > 0 && Facts.sameMm(e.getKey(), mm)) {
        return true;
      }
    }
    return false;
  }

  private static State withMm(State st, Obj o, Obj mm) {
    if (mm.equals(st.mmOf().get(o))) {
      return st;
    }
    Map<Obj, Obj> m = new LinkedHashMap<>(st.mmOf());
    m.put(o, mm);
    return st.withMmOf(m);
  }

  // ---- values: which object an expression denotes ----

  /** The object {@code e} evaluates to in {@code st} (after its evaluation). */
  private Obj value(ExpressionTree e, State st) {
    e = strip(e);
    switch (e.getKind()) {
      case TYPE_CAST:
        return value(((TypeCastTree) e).getExpression(), st);
      case ASSIGNMENT:
        return value(((AssignmentTree) e).getExpression(), st);
      case CONDITIONAL_EXPRESSION: {
        ConditionalExpressionTree c = (ConditionalExpressionTree) e;
        Obj a = value(c.getTrueExpression(), st);
        return a.equals(value(c.getFalseExpression(), st)) ? a : Obj.UNKNOWN;
      }
      case IDENTIFIER: {
        Element el = ctx.element(e);
        return el instanceof VariableElement ? st.get(new Loc(null, (VariableElement) el))
            : Obj.UNKNOWN;
      }
      case MEMBER_SELECT: {
        Element el = ctx.element(e);
        if (!(el instanceof VariableElement)) {
          return Obj.UNKNOWN;
        }
        Loc loc = locOf(e, st);
        return loc == null ? Obj.UNKNOWN : st.get(loc);
      }
      case METHOD_INVOCATION: {
        MethodInvocationTree mi = (MethodInvocationTree) e;
        Obj a = accessor(mi, ctx.element(mi), st);
        return a != null ? a : Obj.site(mi);
      }
      case NEW_CLASS:
        return Obj.site(e);
      case NULL_LITERAL:
        return Obj.NULL;
      default:
        return Obj.UNKNOWN;
    }
  }

  /**
   * What an unmarked accessor returns, by types: a no-argument method of an object that belongs
   * to an mm (a VMA, a notifier range, a gather) returning an mm returns that mm; one of a PTE
   * table returning a lock returns the table's ptl. Null when the call is no such accessor; with
   * {@code st} null, only whether it is one (then any non-null object).
   */
  private Obj accessor(MethodInvocationTree mi, Element target, State st) {
    ExpressionTree receiver = receiver(mi);
    if (receiver == null || !Marks.isMethod(target) || !mi.getArguments().isEmpty()
        || Marks.acts(marks.effects(target))) {
      return null;
    }
    TypeMirror returns = ((ExecutableElement) target).getReturnType();
    TypeMirror recvType = ctx.type(receiver);
    if (marks.isMm(returns)) {
      if (st == null) {
        return Obj.UNKNOWN;
      }
      return mmOf(value(receiver, st), recvType, st);
    }
    if (marks.isLock(returns) && marks.isPteTable(recvType)) {
      return st == null ? Obj.UNKNOWN : Obj.ptlOf(value(receiver, st));
    }
    return null;
  }

  /** The mm an object belongs to: itself for an mm, what it was built from, a VMA's mm. */
  private Obj mmOf(Obj o, TypeMirror type, State st) {
    if (o.unknown()) {
      return Obj.UNKNOWN;
    }
    if (marks.isMm(type)) {
      return o;
    }
    Obj known = st.mmOf().get(o);
    if (known != null) {
      return known;
    }
    return marks.isVma(type) ? Obj.mmOf(o) : Obj.UNKNOWN;
  }

  /**
   * The mm a marked call acts on: that of its receiver when the receiver belongs to one (a
   * gather acts on the mm it was created for), else its first argument of type {@code MmStruct}
   * or {@code Vma}, else its receiver's if that is an mm or a VMA.
   */
  private Obj callMm(MethodInvocationTree mi, Element target, State st) {
    ExpressionTree receiver = receiver(mi);
    if (receiver != null) {
      Obj known = st.mmOf().get(value(receiver, st));
      if (known != null) {
        return known;
      }
    }
    Obj arg = argumentMm(mi.getArguments(), target, st);
    if (!arg.unknown() || receiver == null) {
      return arg;
    }
    return mmOf(value(receiver, st), ctx.type(receiver), st);
  }

  /** The mm of the first argument whose parameter is an {@code MmStruct} or a {@code Vma}. */
  private Obj argumentMm(List<? extends ExpressionTree> args, Element target, State st) {
    if (!(target instanceof ExecutableElement)) {
      return Obj.UNKNOWN;
    }
    List<? extends VariableElement> params = ((ExecutableElement) target).getParameters();
    for (int i = 0; i < params.size() && i < args.size(); i++) {
      TypeMirror t = params.get(i).asType();
      if (marks.isMm(t) || marks.isVma(t)) {
        return mmOf(value(args.get(i), st), t, st);
      }
    }
    return Obj.UNKNOWN;
  }

  /** The PTE table a marked change works under: its first {@code PteTable} argument. */
  private Obj tableOf(MethodInvocationTree mi, Element target, State st) {
    if (!(target instanceof ExecutableElement)) {
      return Obj.UNKNOWN;
    }
    List<? extends VariableElement> params = ((ExecutableElement) target).getParameters();
    for (int i = 0; i < params.size() && i < mi.getArguments().size(); i++) {
      if (marks.isPteTable(params.get(i).asType())) {
        return value(mi.getArguments().get(i), st);
      }
    }
    return Obj.UNKNOWN;
  }

  private static ExpressionTree receiver(MethodInvocationTree mi) {
    return mi.getMethodSelect() instanceof MemberSelectTree
        ? ((MemberSelectTree) mi.getMethodSelect()).getExpression() : null;
  }

  /** How a message names an mm: {@code VMA vma}, {@code mm mm}, or {@code its mm}. */
  private String describe(Obj mm, State st) {
    if (mm.kind() == Kind.MM_OF) {
      String name = nameOf((Obj) mm.key(), st);
      return name == null ? "its mm" : "VMA " + name;
    }
    String name = nameOf(mm, st);
    return name == null ? "its mm" : "mm " + name;
  }

  /** A variable that holds {@code o}, for messages. */
  private static String nameOf(Obj o, State st) {
    if (o.kind() == Kind.PARAM) {
      return ((VariableElement) o.key()).getSimpleName().toString();
    }
    for (Map.Entry<Loc, Obj> e : st.store().entrySet()) {
      if (e.getKey().base() == null && e.getValue().equals(o)) {
        return e.getKey().var().getSimpleName().toString();
      }
    }
    return null;
  }

  // ---- code the analysis cannot follow into ----

  /** Report PTE changes inside a lambda or anonymous class body: they escape the analysis. */
  private void hiddenInside(Tree body) {
    new TreeScanner<Void, Void>() {
      @Override
      public Void visitMethodInvocation(MethodInvocationTree mi, Void unused) {
        if (changesPtes(ctx.element(mi))) {
          checker.error(ctx.pos(mi), Message.HIDDEN_CHANGE_LAMBDA,
              ctx.text(mi.getMethodSelect()));
        }
        return super.visitMethodInvocation(mi, unused);
      }

      @Override
      public Void visitMemberReference(MemberReferenceTree mr, Void unused) {
        if (changesPtes(ctx.element(mr))) {
          checker.error(ctx.pos(mr), Message.HIDDEN_CHANGE_LAMBDA, ctx.text(mr));
        }
        return super.visitMemberReference(mr, unused);
      }
    }.scan(body, null);
  }

  /** Whether calling {@code target} changes a PTE: a runtime change, an @InBracket or hidden one. */
  private boolean changesPtes(Element target) {
    return marks.effects(target).contains(Effect.CHANGE) || Marks.role(target) == Role.IN_BRACKET
        || Marks.isMethod(target) && marks.effects(target).isEmpty()
            && hidden.find(target) != null;
  }

  private static ExpressionTree strip(ExpressionTree e) {
    while (e instanceof ParenthesizedTree) {
      e = ((ParenthesizedTree) e).getExpression();
    }
    return e;
  }
}
