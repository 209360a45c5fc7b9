package dev.ptwalk.processor.checks;

import com.sun.source.tree.BinaryTree;
import com.sun.source.tree.BlockTree;
import com.sun.source.tree.BreakTree;
import com.sun.source.tree.CaseTree;
import com.sun.source.tree.CatchTree;
import com.sun.source.tree.ConditionalExpressionTree;
import com.sun.source.tree.ContinueTree;
import com.sun.source.tree.DoWhileLoopTree;
import com.sun.source.tree.EnhancedForLoopTree;
import com.sun.source.tree.ExpressionStatementTree;
import com.sun.source.tree.ExpressionTree;
import com.sun.source.tree.ForLoopTree;
import com.sun.source.tree.IdentifierTree;
import com.sun.source.tree.IfTree;
import com.sun.source.tree.LabeledStatementTree;
import com.sun.source.tree.LambdaExpressionTree;
import com.sun.source.tree.MemberReferenceTree;
import com.sun.source.tree.MemberSelectTree;
import com.sun.source.tree.MethodInvocationTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.NewClassTree;
import com.sun.source.tree.ParenthesizedTree;
import com.sun.source.tree.ReturnTree;
import com.sun.source.tree.StatementTree;
import com.sun.source.tree.SwitchTree;
import com.sun.source.tree.SynchronizedTree;
import com.sun.source.tree.ThrowTree;
import com.sun.source.tree.Tree;
import com.sun.source.tree.TryTree;
import com.sun.source.tree.VariableTree;
import com.sun.source.tree.WhileLoopTree;
import com.sun.source.util.TreeScanner;
import dev.ptwalk.processor.checks.Marks.Role;
import dev.ptwalk.processor.validation.Message;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import javax.lang.model.element.Element;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.VariableElement;
import javax.tools.Diagnostic;

/**
 * Follows every path through one walker method and checks the notifier bracket, the TLB flush
 * and the pending-flush counter around its PTE changes.
 *
 * <p>An abstract interpretation over the method's syntax tree: each path carries a small {@link
 * State}; branches are followed separately and joined as sets of states, loops are iterated to a
 * fixpoint, and {@code return}, {@code break}, {@code continue} and exceptions (from any call
 * that is not a runtime-marked step) travel through every enclosing {@code finally}. Calls are
 * recognised by the runtime's marks ({@link Marks}). Which mm a bracket or a change belongs to is
 * followed syntactically: {@code vma}, {@code vma.mm()}, a local initialised from it, or an {@code
 * MmStruct} variable; anything else is "unknown" and never reported as a mismatch.
 */
final class BracketAnalysis {
  private static final String CALLER = "<caller's bracket>";
  private static final String UNKNOWN = "?";
  private static final int MAX_PENDING = 3;

  private final TreeContext ctx;
  private final HiddenChanges hidden;
  private final Map<String, String> aliases = new HashMap<>();
  private final Map<String, String> rangeMm = new HashMap<>();
  private final Map<Long, String> changeCalls = new HashMap<>();

  BracketAnalysis(TreeContext ctx, HiddenChanges hidden) {
    this.ctx = ctx;
    this.hidden = hidden;
  }

  /** One open bracket: the range expression, the mm it covers, where it was opened. */
  record Open(String range, String mm, long pos) {}

  /** What one path knows at one point. Value semantics: sets of states are joined by equality. */
  record State(List<Open> open, Map<String, Long> ended, Map<String, Long> unflushed, int pending,
      long pendingPos, String via) {
    static State initial(boolean inCallerBracket) {
      return new State(inCallerBracket ? List.of(new Open(CALLER, UNKNOWN, -1)) : List.of(),
          Map.of(), Map.of(), 0, -1, null);
    }

    /** This state on an exception path, remembering where the exception came from. */
    State thrown(String path) {
      return via != null ? this : new State(open, ended, unflushed, pending, pendingPos, path);
    }

    /** This state once a catch block has handled the exception. */
    State caught() {
      return via == null ? this : new State(open, ended, unflushed, pending, pendingPos, null);
    }

    /** Which path this is, for messages. */
    String path() {
      return via != null ? "the path where " + via + " propagates" : "some path";
    }

    State open(String range, String mm, long pos) {
      List<Open> o = new ArrayList<>(open);
      o.add(new Open(range, mm, pos));
      o.sort(Comparator.comparing(Open::range).thenComparingLong(Open::pos));
      Map<String, Long> e = new TreeMap<>(ended);
      e.remove(range);
      return new State(List.copyOf(o), Map.copyOf(e), unflushed, pending, pendingPos, via);
    }

    Open find(String range) {
      for (Open o : open) {
        if (o.range.equals(range)) {
          return o;
        }
      }
      return null;
    }

    State close(Open o, long pos) {
      List<Open> rest = new ArrayList<>(open);
      rest.remove(o);
      Map<String, Long> e = new TreeMap<>(ended);
      e.put(o.range, pos);
      Map<String, Long> u = new TreeMap<>(unflushed);
      if (pending <= 0) {
        u.keySet().removeIf(k -> sameMm(k, o.mm));
      }
      return new State(List.copyOf(rest), Map.copyOf(e), Map.copyOf(u), pending, pendingPos, via);
    }

    State changed(String mm, long pos) {
      if (unflushed.containsKey(mm)) {
        return this;
      }
      Map<String, Long> u = new TreeMap<>(unflushed);
      u.put(mm, pos);
      return new State(open, ended, Map.copyOf(u), pending, pendingPos, via);
    }

    /** This state with the changes still owing a flush forgotten, once reported. */
    State forgetUnflushed() {
      return new State(open, ended, Map.of(), pending, pendingPos, via);
    }

    State flushed(String mm) {
      Map<String, Long> u = new TreeMap<>(unflushed);
      u.keySet().removeIf(k -> sameMm(k, mm));
      return new State(open, ended, Map.copyOf(u), pending, pendingPos, via);
    }

    State pending(int delta, long pos) {
      int p = Math.max(-1, Math.min(MAX_PENDING, pending + delta));
      return new State(open, ended, unflushed, p, delta > 0 && pending == 0 ? pos : pendingPos,
          via);
    }
  }

  /**
   * Whether two mm keys may name the same mm: equal, either unknown, or one a VMA and the other an
   * mm variable (their relation is not visible). Only two visibly different VMAs, or two visibly
   * different mm variables, are different.
   */
  static boolean sameMm(String a, String b) {
    if (a.equals(UNKNOWN) || b.equals(UNKNOWN) || a.equals(b)) {
      return true;
    }
    return !a.substring(0, a.indexOf(':')).equals(b.substring(0, b.indexOf(':')));
  }

  private enum JumpKind { RETURN, BREAK, CONTINUE, THROW }

  /** Control leaving a statement other than by falling through. */
  private record Jump(JumpKind kind, String label, Set<State> states, String path) {}

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

  /** Check {@code method}; an {@code @InBracket} helper starts inside its caller's bracket. */
  void analyze(MethodTree method, boolean inCallerBracket) {
    if (method.getBody() == null) {
      return;
    }
    collectNames(method);
    Flow f = exec(method.getBody(), Set.of(State.initial(inCallerBracket)));
    for (State s : f.normal) {
      checkExit(s, "the path that reaches the end of the method");
    }
    for (Jump j : f.jumps) {
      if (j.kind == JumpKind.RETURN || j.kind == JumpKind.THROW) {
        for (State s : j.states) {
          checkExit(s, j.path);
        }
      }
    }
  }

  private void checkExit(State s, String path) {
    for (Open o : s.open) {
      if (!o.range.equals(CALLER)) {
        ctx.report(o.pos, Diagnostic.Kind.ERROR, Message.MISSING_END, o.range, path, o.range,
            o.range);
      }
    }
    if (s.pending > 0) {
      ctx.report(s.pendingPos, Diagnostic.Kind.ERROR, Message.UNBALANCED_PENDING,
          "incTlbFlushPending here", "a decTlbFlushPending", path);
      // The pending count let these flushes follow the end, but no decTlbFlushPending came.
      if (!s.ended.isEmpty()) {
        long endPos = s.ended.values().iterator().next();
        for (Map.Entry<String, Long> u : s.unflushed.entrySet()) {
          ctx.report(u.getValue(), Diagnostic.Kind.ERROR, Message.MISSING_FLUSH,
              changeCalls.get(u.getValue()), describe(u.getKey()), ctx.lineOf(endPos), path);
        }
      }
    }
  }

  // ---- statements ----

  private Flow exec(StatementTree st, Set<State> in) {
    if (st == null) {
      return new Flow(in);
    }
    switch (st.getKind()) {
      case BLOCK:
        return block(((BlockTree) st).getStatements(), in);
      case EXPRESSION_STATEMENT:
        return expression(((ExpressionStatementTree) st).getExpression(), in);
      case VARIABLE:
        return expression(((VariableTree) st).getInitializer(), in);
      case IF:
        return ifStatement((IfTree) st, in);
      case WHILE_LOOP: {
        WhileLoopTree w = (WhileLoopTree) st;
        return loop(null, w.getCondition(), w.getStatement(), null, in, false);
      }
      case DO_WHILE_LOOP: {
        DoWhileLoopTree d = (DoWhileLoopTree) st;
        return loop(null, d.getCondition(), d.getStatement(), null, in, true);
      }
      case FOR_LOOP: {
        ForLoopTree f = (ForLoopTree) st;
        Flow init = block(f.getInitializer(), in);
        Flow body = loop(null, f.getCondition(), f.getStatement(), f.getUpdate(), init.normal,
            false);
        body.jumps.addAll(init.jumps);
        return body;
      }
      case ENHANCED_FOR_LOOP: {
        EnhancedForLoopTree e = (EnhancedForLoopTree) st;
        Flow iter = expression(e.getExpression(), in);
        Flow body = loop(null, null, e.getStatement(), null, iter.normal, false);
        body.jumps.addAll(iter.jumps);
        return body;
      }
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
        f.jumps.add(new Jump(JumpKind.THROW, null, map(f.normal, s -> s.thrown(why)), why));
        return new Flow(new LinkedHashSet<>(), f.jumps);
      }
      case BREAK: {
        Flow f = new Flow(new LinkedHashSet<>());
        f.jumps.add(new Jump(JumpKind.BREAK, name(((BreakTree) st).getLabel()), in, null));
        return f;
      }
      case CONTINUE: {
        Flow f = new Flow(new LinkedHashSet<>());
        f.jumps.add(new Jump(JumpKind.CONTINUE, name(((ContinueTree) st).getLabel()), in, null));
        return f;
      }
      case SWITCH:
        return switchStatement((SwitchTree) st, in);
      case SYNCHRONIZED: {
        SynchronizedTree s = (SynchronizedTree) st;
        Flow lock = expression(s.getExpression(), in);
        Flow body = exec(s.getBlock(), lock.normal);
        body.jumps.addAll(lock.jumps);
        return body;
      }
      default:
        return new Flow(in); // empty statements, local classes, assertions
    }
  }

  private static String name(CharSequence label) {
    return label == null ? null : label.toString();
  }

  private Flow block(List<? extends StatementTree> statements, Set<State> in) {
    Flow out = new Flow(in);
    Set<State> cur = in;
    for (StatementTree s : statements) {
      Flow f = exec(s, cur);
      out.jumps.addAll(f.jumps);
      cur = f.normal;
    }
    return new Flow(cur, out.jumps);
  }

  private Flow expression(ExpressionTree e, Set<State> in) {
    Flow f = new Flow(in);
    Set<State> out = eval(e, in, f.jumps);
    return new Flow(out, f.jumps);
  }

  private Flow ifStatement(IfTree t, Set<State> in) {
    List<Jump> jumps = new ArrayList<>();
    Set<State> cond = eval(t.getCondition(), in, jumps);
    Flow then = exec(t.getThenStatement(), cond);
    Set<State> elseIn = cond;
    String guarded = guardedFlush(t);
    if (guarded != null) {
      // if (end > start) flushTlbRange(vma, start, end): when the test fails the range is empty
      // and the flush would flush nothing, so the other branch counts as flushed too.
      elseIn = map(cond, s -> s.flushed(guarded));
    }
    Flow other = exec(t.getElseStatement(), elseIn);
    Set<State> normal = new LinkedHashSet<>(then.normal);
    normal.addAll(other.normal);
    Flow out = new Flow(normal, jumps);
    out.jumps.addAll(then.jumps);
    out.jumps.addAll(other.jumps);
    return out;
  }

  /**
   * The mm key of the flush when {@code t} is {@code if (end > start) flushTlbRange(x, start,
   * end)} (or {@code start < end}, {@code end != start}) with no else branch, else null.
   */
  private String guardedFlush(IfTree t) {
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
    if (Marks.role(ctx.element(call)) != Role.FLUSH_TLB || call.getArguments().size() < 3) {
      return null;
    }
    String start = ctx.text(call.getArguments().get(1));
    String end = ctx.text(call.getArguments().get(2));
    String l = ctx.text(cond.getLeftOperand());
    String r = ctx.text(cond.getRightOperand());
    boolean matches;
    switch (cond.getKind()) {
      case GREATER_THAN:
        matches = l.equals(end) && r.equals(start);
        break;
      case LESS_THAN:
        matches = l.equals(start) && r.equals(end);
        break;
      case NOT_EQUAL_TO:
        matches = l.equals(start) && r.equals(end) || l.equals(end) && r.equals(start);
        break;
      default:
        matches = false;
    }
    return matches ? mmKeyOfCall(call) : null;
  }

  private Flow labeled(LabeledStatementTree t, Set<State> in) {
    String label = t.getLabel().toString();
    StatementTree inner = t.getStatement();
    Flow f;
    switch (inner.getKind()) {
      case WHILE_LOOP: {
        WhileLoopTree w = (WhileLoopTree) inner;
        f = loop(label, w.getCondition(), w.getStatement(), null, in, false);
        break;
      }
      case DO_WHILE_LOOP: {
        DoWhileLoopTree d = (DoWhileLoopTree) inner;
        f = loop(label, d.getCondition(), d.getStatement(), null, in, true);
        break;
      }
      case FOR_LOOP: {
        ForLoopTree fl = (ForLoopTree) inner;
        Flow init = block(fl.getInitializer(), in);
        f = loop(label, fl.getCondition(), fl.getStatement(), fl.getUpdate(), init.normal, false);
        f.jumps.addAll(init.jumps);
        break;
      }
      case ENHANCED_FOR_LOOP: {
        EnhancedForLoopTree e = (EnhancedForLoopTree) inner;
        Flow iter = expression(e.getExpression(), in);
        f = loop(label, null, e.getStatement(), null, iter.normal, false);
        f.jumps.addAll(iter.jumps);
        break;
      }
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

  /** A loop: the body runs zero or more times (at least once for do-while) to a fixpoint. */
  private Flow loop(String label, ExpressionTree cond, StatementTree body,
      List<? extends ExpressionStatementTree> update, Set<State> in, boolean doWhile) {
    Set<State> head = new LinkedHashSet<>(in);
    Set<State> exits = new LinkedHashSet<>();
    List<Jump> outJumps = new ArrayList<>();
    for (int round = 0; round < 64; round++) {
      List<Jump> jumps = new ArrayList<>();
      // A do-while body runs before its condition; a while or for condition runs first.
      Set<State> afterCond = doWhile ? head : eval(cond, head, jumps);
      Flow b = exec(body, afterCond);
      Set<State> back = new LinkedHashSet<>(b.normal);
      exits.clear();
      if (!doWhile && cond != null && !isTrue(cond)) {
        exits.addAll(afterCond);
      }
      for (Jump j : b.jumps) {
        boolean mine = j.label == null || j.label.equals(label);
        if (j.kind == JumpKind.CONTINUE && mine) {
          back.addAll(j.states);
        } else if (j.kind == JumpKind.BREAK && mine) {
          exits.addAll(j.states);
        } else {
          jumps.add(j);
        }
      }
      if (update != null) {
        back = block(update, back).normal;
      }
      if (doWhile) {
        Set<State> c = eval(cond, back, jumps);
        if (!isTrue(cond)) {
          exits.addAll(c);
        }
        back = c;
      }
      outJumps = jumps;
      Set<State> next = new LinkedHashSet<>(head);
      next.addAll(back);
      if (next.equals(head)) {
        break;
      }
      head = next;
    }
    Flow out = new Flow(exits);
    out.jumps.addAll(outJumps);
    return out;
  }

  private static boolean isTrue(ExpressionTree cond) {
    return cond == null || strip(cond).getKind() == Tree.Kind.BOOLEAN_LITERAL
        && "true".equals(String.valueOf(((com.sun.source.tree.LiteralTree) strip(cond)).getValue()));
  }

  private Flow switchStatement(SwitchTree t, Set<State> in) {
    List<Jump> jumps = new ArrayList<>();
    Set<State> selector = eval(t.getExpression(), in, jumps);
    Set<State> normal = new LinkedHashSet<>();
    boolean hasDefault = false;
    Set<State> fallThrough = new LinkedHashSet<>();
    for (CaseTree c : t.getCases()) {
      hasDefault |= c.getExpressions().isEmpty();
      Set<State> caseIn = new LinkedHashSet<>(selector);
      caseIn.addAll(fallThrough);
      Flow f;
      if (c.getCaseKind() == CaseTree.CaseKind.RULE) {
        Tree body = c.getBody();
        f = body instanceof StatementTree ? exec((StatementTree) body, caseIn)
            : expression((ExpressionTree) body, caseIn);
        normal.addAll(f.normal);
        fallThrough = new LinkedHashSet<>();
      } else {
        f = block(c.getStatements(), caseIn);
        fallThrough = f.normal;
      }
      for (Jump j : f.jumps) {
        if (j.kind == JumpKind.BREAK && j.label == null) {
          normal.addAll(j.states);
        } else {
          jumps.add(j);
        }
      }
    }
    normal.addAll(fallThrough);
    if (!hasDefault) {
      normal.addAll(selector);
    }
    Flow out = new Flow(normal);
    out.jumps.addAll(jumps);
    return out;
  }

  private Flow tryStatement(TryTree t, Set<State> in) {
    List<Jump> jumps = new ArrayList<>();
    Set<State> cur = in;
    for (Tree r : t.getResources()) {
      cur = r instanceof VariableTree ? eval(((VariableTree) r).getInitializer(), cur, jumps)
          : eval((ExpressionTree) r, cur, jumps);
    }
    Flow body = exec(t.getBlock(), cur);
    Set<State> normal = new LinkedHashSet<>(body.normal);
    List<Jump> all = new ArrayList<>(jumps);
    all.addAll(body.jumps);
    if (!t.getCatches().isEmpty()) {
      Set<State> thrown = new LinkedHashSet<>();
      for (Jump j : body.jumps) {
        if (j.kind == JumpKind.THROW) {
          thrown.addAll(j.states);
        }
      }
      Set<State> handled = map(thrown, State::caught);
      for (CatchTree c : t.getCatches()) {
        Flow cf = exec(c.getBlock(), handled);
        normal.addAll(cf.normal);
        all.addAll(cf.jumps);
      }
    }
    if (t.getFinallyBlock() == null) {
      Flow out = new Flow(normal);
      out.jumps.addAll(all);
      return out;
    }
    // The finally block runs on every way out: falling through, and each jump.
    Flow fin = exec(t.getFinallyBlock(), normal);
    Flow out = new Flow(fin.normal);
    out.jumps.addAll(fin.jumps);
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
      case METHOD_INVOCATION:
        return invocation((MethodInvocationTree) e, in, jumps);
      case NEW_CLASS: {
        NewClassTree n = (NewClassTree) e;
        Set<State> s = eval(n.getEnclosingExpression(), in, jumps);
        for (ExpressionTree arg : n.getArguments()) {
          s = eval(arg, s, jumps);
        }
        if (n.getClassBody() != null) {
          hiddenInside(n.getClassBody());
        }
        String why = "an exception from new " + n.getIdentifier() + " at line " + ctx.line(n);
        jumps.add(new Jump(JumpKind.THROW, null, map(s, st -> st.thrown(why)), why));
        return s;
      }
      case LAMBDA_EXPRESSION:
        hiddenInside(((LambdaExpressionTree) e).getBody());
        return in;
      case MEMBER_REFERENCE:
        if (changesPtes(ctx.element(e))) {
          ctx.report(ctx.pos(e), Diagnostic.Kind.ERROR, Message.HIDDEN_CHANGE_LAMBDA, ctx.text(e));
        }
        return in;
      case CONDITIONAL_EXPRESSION: {
        ConditionalExpressionTree c = (ConditionalExpressionTree) e;
        Set<State> s = eval(c.getCondition(), in, jumps);
        Set<State> out = new LinkedHashSet<>(eval(c.getTrueExpression(), s, jumps));
        out.addAll(eval(c.getFalseExpression(), s, jumps));
        return out;
      }
      case CONDITIONAL_AND:
      case CONDITIONAL_OR: {
        BinaryTree b = (BinaryTree) e;
        Set<State> left = eval(b.getLeftOperand(), in, jumps);
        Set<State> out = new LinkedHashSet<>(left);
        out.addAll(eval(b.getRightOperand(), left, jumps));
        return out;
      }
      default: {
        Cursor cur = new Cursor(in);
        new TreeScanner<Void, Void>() {
          @Override
          public Void scan(Tree tree, Void unused) {
            if (tree instanceof ExpressionTree && tree != e && special(tree.getKind())) {
              cur.states = eval((ExpressionTree) tree, cur.states, jumps);
              return null;
            }
            return super.scan(tree, unused);
          }

          @Override
          public Void visitClass(com.sun.source.tree.ClassTree tree, Void unused) {
            return null;
          }
        }.scan(e, null);
        return cur.states;
      }
    }
  }

  /** The states while the sub-expressions of an ordinary expression are evaluated in order. */
  private static final class Cursor {
    Set<State> states;

    Cursor(Set<State> states) {
      this.states = states;
    }
  }

  private static boolean special(Tree.Kind kind) {
    switch (kind) {
      case PARENTHESIZED:
      case METHOD_INVOCATION:
      case NEW_CLASS:
      case LAMBDA_EXPRESSION:
      case MEMBER_REFERENCE:
      case CONDITIONAL_EXPRESSION:
      case CONDITIONAL_AND:
      case CONDITIONAL_OR:
        return true;
      default:
        return false;
    }
  }

  private Set<State> invocation(MethodInvocationTree mi, Set<State> in, List<Jump> jumps) {
    Set<State> s = in;
    if (mi.getMethodSelect() instanceof MemberSelectTree) {
      s = eval(((MemberSelectTree) mi.getMethodSelect()).getExpression(), s, jumps);
    }
    for (ExpressionTree arg : mi.getArguments()) {
      s = eval(arg, s, jumps);
    }
    Element target = ctx.element(mi);
    Role role = Marks.role(target);
    long pos = ctx.pos(mi);
    String call = ctx.text(mi.getMethodSelect());
    Set<State> out;
    switch (role) {
      case START: {
        String range = ctx.text(mi.getArguments().get(0));
        String mm = rangeMmOf(mi.getArguments().get(0));
        out = map(s, st -> st.open(range, mm, pos));
        break;
      }
      case END: {
        String range = ctx.text(mi.getArguments().get(0));
        out = map(s, st -> end(st, range, pos));
        break;
      }
      case CHANGE:
      case IN_BRACKET: {
        String mm = mmKeyOfCall(mi);
        changeCalls.put(pos, call);
        out = map(s, st -> change(st, mm, pos, call));
        break;
      }
      case FLUSH_TLB: {
        String mm = mmKeyOfCall(mi);
        out = map(s, st -> st.flushed(mm));
        break;
      }
      case PENDING_INC:
        out = map(s, st -> st.pending(+1, pos));
        break;
      case PENDING_DEC:
        out = map(s, st -> {
          if (st.pending <= 0) {
            ctx.report(pos, Diagnostic.Kind.ERROR, Message.UNBALANCED_PENDING,
                "decTlbFlushPending here", "an earlier incTlbFlushPending", st.path());
          }
          State after = st.pending(-1, pos);
          if (after.pending > 0 || after.unflushed.isEmpty()) {
            return after;
          }
          // The walker's own pending count let the flush follow invalidateRangeEnd (as in
          // clear_refs_write); once it drops, the flush is too late.
          for (Map.Entry<String, Long> u : after.unflushed.entrySet()) {
            ctx.report(u.getValue(), Diagnostic.Kind.ERROR, Message.MISSING_FLUSH_BEFORE_DEC,
                changeCalls.get(u.getValue()), describe(u.getKey()), ctx.lineOf(pos), st.path());
          }
          return after.forgetUnflushed();
        });
        break;
      case NONE: {
        HiddenChanges.Found found = hidden.find(target);
        if (found != null) {
          ctx.report(pos, Diagnostic.Kind.ERROR, Message.HIDDEN_CHANGE_HELPER, call, found.call(),
              found.line());
        }
        out = s;
        break;
      }
      default:
        out = s;
    }
    if (Marks.mayThrow(role)) {
      String why = "an exception from " + call + " at line " + ctx.line(mi);
      jumps.add(new Jump(JumpKind.THROW, null,
          map(role == Role.IN_BRACKET ? out : s, st -> st.thrown(why)), why));
    }
    return out;
  }

  private State end(State st, String range, long pos) {
    Open o = st.find(range);
    if (o == null) {
      ctx.report(pos, Diagnostic.Kind.ERROR, Message.END_WITHOUT_START, range, range, st.path());
      return st;
    }
    for (Map.Entry<String, Long> u : st.unflushed.entrySet()) {
      // With the walker's own tlb_flush_pending raised the flush may follow the end, as in
      // clear_refs_write, but must come before decTlbFlushPending.
      if (sameMm(u.getKey(), o.mm) && st.pending <= 0) {
        ctx.report(u.getValue(), Diagnostic.Kind.ERROR, Message.MISSING_FLUSH,
            changeCalls.get(u.getValue()), describe(u.getKey()), ctx.lineOf(pos), st.path());
      }
    }
    return st.close(o, pos);
  }

  private State change(State st, String mm, long pos, String call) {
    if (st.open.isEmpty()) {
      if (!st.ended.isEmpty()) {
        long endPos = st.ended.values().iterator().next();
        ctx.report(pos, Diagnostic.Kind.ERROR, Message.CHANGE_AFTER_END, call,
            ctx.lineOf(endPos), st.path());
      } else {
        ctx.report(pos, Diagnostic.Kind.ERROR, Message.CHANGE_OUTSIDE_BRACKET, call);
      }
      return st;
    }
    Open mismatch = null;
    for (Open o : st.open) {
      if (sameMm(o.mm, mm)) {
        return st.changed(mm, pos);
      }
      mismatch = o;
    }
    ctx.report(pos, Diagnostic.Kind.ERROR, Message.MM_MISMATCH, call, describe(mm),
        ctx.lineOf(mismatch.pos), describe(mismatch.mm));
    return st.changed(mm, pos);
  }

  /** Report PTE changes inside a lambda or anonymous class body: they escape the analysis. */
  private void hiddenInside(Tree body) {
    new TreeScanner<Void, Void>() {
      @Override
      public Void visitMethodInvocation(MethodInvocationTree mi, Void unused) {
        if (changesPtes(ctx.element(mi))) {
          ctx.report(ctx.pos(mi), Diagnostic.Kind.ERROR, Message.HIDDEN_CHANGE_LAMBDA,
              ctx.text(mi.getMethodSelect()));
        }
        return super.visitMethodInvocation(mi, unused);
      }

      @Override
      public Void visitMemberReference(MemberReferenceTree mr, Void unused) {
        if (changesPtes(ctx.element(mr))) {
          ctx.report(ctx.pos(mr), Diagnostic.Kind.ERROR, Message.HIDDEN_CHANGE_LAMBDA,
              ctx.text(mr));
        }
        return super.visitMemberReference(mr, unused);
      }
    }.scan(body, null);
  }

  /** Whether calling {@code target} changes a PTE: a runtime change, an @InBracket or hidden one. */
  private boolean changesPtes(Element target) {
    Role role = Marks.role(target);
    return role == Role.CHANGE || role == Role.IN_BRACKET || hidden.find(target) != null;
  }

  private static Set<State> map(Set<State> in, java.util.function.UnaryOperator<State> f) {
    Set<State> out = new LinkedHashSet<>();
    for (State s : in) {
      out.add(f.apply(s));
    }
    return out;
  }

  // ---- which mm ----

  /** Variables that name an mm or a notifier range, in source order. */
  private void collectNames(MethodTree method) {
    new TreeScanner<Void, Void>() {
      @Override
      public Void visitVariable(VariableTree v, Void unused) {
        if (v.getInitializer() != null) {
          bind(v.getName().toString(), v.getInitializer());
        }
        return super.visitVariable(v, unused);
      }

      @Override
      public Void visitAssignment(com.sun.source.tree.AssignmentTree a, Void unused) {
        if (a.getVariable() instanceof IdentifierTree) {
          bind(((IdentifierTree) a.getVariable()).getName().toString(), a.getExpression());
        }
        return super.visitAssignment(a, unused);
      }
    }.scan(method.getBody(), null);
  }

  private void bind(String name, ExpressionTree init) {
    ExpressionTree e = strip(init);
    if (e instanceof NewClassTree && ctx.text(((NewClassTree) e).getIdentifier())
        .endsWith("MmuNotifierRange") && ((NewClassTree) e).getArguments().size() >= 3) {
      rangeMm.put(name, mmKey(((NewClassTree) e).getArguments().get(2)));
      return;
    }
    String key = mmKey(e);
    if (!key.equals(UNKNOWN) && key.startsWith("vma:")) {
      aliases.put(name, key);
    }
  }

  private String rangeMmOf(ExpressionTree range) {
    ExpressionTree e = strip(range);
    if (e instanceof IdentifierTree) {
      return rangeMm.getOrDefault(((IdentifierTree) e).getName().toString(), UNKNOWN);
    }
    if (e instanceof NewClassTree && ((NewClassTree) e).getArguments().size() >= 3) {
      return mmKey(((NewClassTree) e).getArguments().get(2));
    }
    return UNKNOWN;
  }

  /** The mm key of the first {@code Vma} or {@code MmStruct} argument of a call. */
  private String mmKeyOfCall(MethodInvocationTree mi) {
    Element target = ctx.element(mi);
    if (target instanceof ExecutableElement) {
      List<? extends VariableElement> params = ((ExecutableElement) target).getParameters();
      for (int i = 0; i < params.size() && i < mi.getArguments().size(); i++) {
        String type = params.get(i).asType().toString();
        if (type.equals("dev.ptwalk.runtime.mm.Vma")
            || type.equals("dev.ptwalk.runtime.mm.MmStruct")) {
          return mmKey(mi.getArguments().get(i));
        }
      }
    }
    if (mi.getMethodSelect() instanceof MemberSelectTree) {
      return mmKey(((MemberSelectTree) mi.getMethodSelect()).getExpression());
    }
    return UNKNOWN;
  }

  /** {@code vma:x} for a VMA {@code x} (or {@code x.mm()}), {@code mm:y} for an mm variable. */
  private String mmKey(ExpressionTree expr) {
    ExpressionTree e = strip(expr);
    if (e instanceof MethodInvocationTree) {
      MethodInvocationTree mi = (MethodInvocationTree) e;
      if (mi.getArguments().isEmpty() && mi.getMethodSelect() instanceof MemberSelectTree) {
        MemberSelectTree sel = (MemberSelectTree) mi.getMethodSelect();
        if (sel.getIdentifier().contentEquals("mm")
            && strip(sel.getExpression()) instanceof IdentifierTree) {
          return "vma:" + ((IdentifierTree) strip(sel.getExpression())).getName();
        }
      }
      return UNKNOWN;
    }
    if (e instanceof IdentifierTree) {
      String name = ((IdentifierTree) e).getName().toString();
      if (aliases.containsKey(name)) {
        return aliases.get(name);
      }
      Element v = ctx.element(e);
      if (v != null) {
        String type = v.asType().toString();
        if (type.equals("dev.ptwalk.runtime.mm.Vma")) {
          return "vma:" + name;
        }
        if (type.equals("dev.ptwalk.runtime.mm.MmStruct")) {
          return "mm:" + name;
        }
      }
    }
    return UNKNOWN;
  }

  private static String describe(String key) {
    if (key.equals(UNKNOWN)) {
      return "its mm";
    }
    return key.startsWith("vma:") ? "VMA " + key.substring(4) : "mm " + key.substring(3);
  }

  private static ExpressionTree strip(ExpressionTree e) {
    while (e instanceof ParenthesizedTree) {
      e = ((ParenthesizedTree) e).getExpression();
    }
    return e;
  }

}
