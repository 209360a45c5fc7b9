package dev.ptwalk.processor.checks;

import com.sun.source.tree.MethodTree;

/**
 * Checks the notifier bracket, the TLB flush and the pending-flush counter around the PTE changes
 * of one walker method, in three parts as the Checker Framework's dataflow is built: the domain
 * ({@link Facts}: facts keyed by program elements and the objects they hold, per mm, with a
 * join), the interpreter ({@link Interpreter}: every statement and expression form, to a
 * fixpoint), and the checker ({@link Checker}: reports after the fixpoint, once per finding).
 * Calls are recognised by the runtime's marks only ({@link Marks}).
 */
final class BracketAnalysis {
  private final TreeContext ctx;
  private final Marks marks;
  private final HiddenChanges hidden;

  BracketAnalysis(TreeContext ctx, Marks marks, HiddenChanges hidden) {
    this.ctx = ctx;
    this.marks = marks;
    this.hidden = hidden;
  }

  /** Check {@code method}; an {@code @InBracket} helper starts inside its caller's bracket. */
  void analyze(MethodTree method, boolean inCallerBracket) {
    if (method.getBody() == null) {
      return;
    }
    Checker checker = new Checker(ctx);
    new Interpreter(ctx, marks, hidden, checker).run(method, inCallerBracket);
    checker.report();
  }
}
