package dev.ptwalk.processor.writing.c;

import com.sun.source.tree.AssignmentTree;
import com.sun.source.tree.BinaryTree;
import com.sun.source.tree.BlockTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.ConditionalExpressionTree;
import com.sun.source.tree.ExpressionStatementTree;
import com.sun.source.tree.ExpressionTree;
import com.sun.source.tree.IdentifierTree;
import com.sun.source.tree.IfTree;
import com.sun.source.tree.LiteralTree;
import com.sun.source.tree.MemberSelectTree;
import com.sun.source.tree.MethodInvocationTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.ParenthesizedTree;
import com.sun.source.tree.PrimitiveTypeTree;
import com.sun.source.tree.ReturnTree;
import com.sun.source.tree.StatementTree;
import com.sun.source.tree.Tree;
import com.sun.source.tree.UnaryTree;
import com.sun.source.tree.VariableTree;
import com.sun.source.util.SourcePositions;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.lang.model.element.TypeElement;
import javax.lang.model.element.VariableElement;
import javax.lang.model.type.TypeKind;

/**
 * Translates the body of a {@code @PteCallback} into the body of its C leaf, or says which
 * construct it cannot translate: the callback language of {@code docs/c-translation.md}, section
 * 3. It reads the body's trees as the parser left them; names are resolved by {@link
 * CNameResolver}, types follow from the language itself (a {@code long} that holds a PTE is a
 * {@code pte_t}).
 *
 * <p>The C keeps the Java's meaning: parentheses are written where C's precedence or gcc's {@code
 * -Wparentheses} needs them and nowhere else (checkpatch flags the others); a declaration after a
 * statement is hoisted to the top of its block (the kernel builds with {@code
 * -Wdeclaration-after-statement}) with its initializer left in place as an assignment; a local
 * or an assignment that nothing reads is left out (the kernel's {@code W=1} warns of variables
 * set but not used), which changes nothing since the language has no side effects.
 */
final class CLeafTranslator {
  static final String PTE = "dev.ptwalk.runtime.Pte";
  static final String VM_FLAGS = "dev.ptwalk.runtime.mm.VmFlags";

  /** A construct outside the language: the tree, what it is, why it does not translate. */
  static final class NotTranslated extends Exception {
    private static final long serialVersionUID = 1L;
    final transient Tree tree;
    final String what;
    final String why;

    NotTranslated(Tree tree, String what, String why) {
      super(what + ": " + why, null, false, false);
      this.tree = tree;
      this.what = what;
      this.why = why;
    }
  }

  /** What a C expression's value is. */
  private enum Kind {
    /** A {@code pte_t}. */
    PTE,
    /** An {@code unsigned long}. */
    LONG,
    /** A Java {@code int}: a literal or a bit-number constant, only as an operand of a long. */
    INT,
    /** A truth value. */
    BOOL
  }

  // C precedence levels, tighter binding higher.
  private static final int PRIMARY = 100;
  private static final int UNARY = 90;
  private static final int COND = 5;
  private static final Map<String, Integer> BINARY = Map.ofEntries(Map.entry("*", 80),
      Map.entry("+", 70), Map.entry("-", 70), Map.entry("<<", 60), Map.entry(">>", 60),
      Map.entry("<", 50), Map.entry(">", 50), Map.entry("<=", 50), Map.entry(">=", 50),
      Map.entry("==", 45), Map.entry("!=", 45), Map.entry("&", 40), Map.entry("^", 35),
      Map.entry("|", 30), Map.entry("&&", 20), Map.entry("||", 10));

  /** A C expression: its text, its kind, and its outermost operator with its precedence. */
  private record CExpr(String text, Kind kind, int prec, String op) {
    static CExpr primary(String text, Kind kind) {
      return new CExpr(text, kind, PRIMARY, "");
    }
  }

  /** A local variable of the body. */
  private static final class Local {
    final VariableTree tree;
    final String cName;
    Kind kind;

    Local(VariableTree tree, String cName, Kind kind) {
      this.tree = tree;
      this.cName = cName;
      this.kind = kind;
    }
  }

  private static final Map<String, String> TRANSFORMS = Map.ofEntries(
      Map.entry("wrprotect", "pte_wrprotect"), Map.entry("mkclean", "pte_mkclean"),
      Map.entry("mkdirty", "pte_mkdirty"), Map.entry("mkold", "pte_mkold"),
      Map.entry("mkyoung", "pte_mkyoung"), Map.entry("mksoftDirty", "pte_mksoft_dirty"),
      Map.entry("clearSoftDirty", "pte_clear_soft_dirty"), Map.entry("mkuffdWp", "pte_mkuffd_wp"),
      Map.entry("clearUffdWp", "pte_clear_uffd_wp"), Map.entry("mkhuge", "pte_mkhuge"));
  private static final Map<String, String> QUERIES = Map.ofEntries(
      Map.entry("none", "pte_none"), Map.entry("present", "pte_present"),
      Map.entry("write", "pte_write"), Map.entry("dirty", "pte_dirty"),
      Map.entry("young", "pte_young"), Map.entry("softDirty", "pte_soft_dirty"),
      Map.entry("uffdWp", "pte_uffd_wp"), Map.entry("huge", "pte_huge"));
  private static final Set<String> PTE_BITS = Set.of("PRESENT", "RW", "USER", "PWT", "PCD",
      "ACCESSED", "DIRTY", "PSE", "GLOBAL", "SPECIAL", "UFFD_WP", "SOFT_DIRTY", "NX");
  private static final Set<String> LEAF_PARAMS = Set.of("pte", "addr", "vma");

  private final CNameResolver names;
  private final CompilationUnitTree unit;
  private final SourcePositions positions;
  private CharSequence source;

  // Per translation.
  private final Map<String, Integer> params = new HashMap<>();
  private final Deque<Map<String, Local>> scopes = new ArrayDeque<>();
  private final Deque<Set<String>> cNames = new ArrayDeque<>();
  /** What this round reads: locals by their trees, parameters by their C names. */
  private Map<Object, Integer> reads = new IdentityHashMap<>();
  /** What the last round read; null in the first, when everything counts as read. */
  private Map<Object, Integer> lastReads;
  private final Map<String, Object> paramKeys = Map.of("pte", "pte", "addr", "addr");
  private boolean usesVma;

  CLeafTranslator(CNameResolver names, CompilationUnitTree unit, SourcePositions positions) {
    this.names = names;
    this.unit = unit;
    this.positions = positions;
  }

  /**
   * The leaf of {@code method}, a validated callback with {@code arity} parameters.
   *
   * @throws NotTranslated at the first construct outside the language
   */
  CLeaf translate(MethodTree method, int arity) throws NotTranslated {
    if (method.getBody() == null) {
      throw new NotTranslated(method, "no body", "there is nothing to translate");
    }
    // Locals and assignments nothing reads are left out; leaving one out may leave another
    // unread, so translate until what is read stops changing.
    CLeaf leaf = null;
    lastReads = null;
    for (int round = 0; round < 64; round++) {
      params.clear();
      scopes.clear();
      cNames.clear();
      usesVma = false;
      reads = new IdentityHashMap<>();
      for (int i = 0; i < arity; i++) {
        params.put(method.getParameters().get(i).getName().toString(), i);
      }
      CLeaf.Block body = block(method.getBody());
      leaf = new CLeaf(usesVma ? 3 : arity, body);
      if (lastReads != null && reads.keySet().equals(lastReads.keySet())) {
        break;
      }
      lastReads = reads;
    }
    return leaf;
  }

  // ---- statements ----

  private CLeaf.Block block(BlockTree block) throws NotTranslated {
    return block(block.getStatements());
  }

  private CLeaf.Block block(List<? extends StatementTree> statements) throws NotTranslated {
    scopes.push(new HashMap<>());
    cNames.push(new java.util.HashSet<>());
    List<Local> declared = new ArrayList<>();
    Map<Local, String> inits = new IdentityHashMap<>();
    List<CLeaf.Statement> out = new ArrayList<>();
    boolean statementSeen = false;
    for (StatementTree s : statements) {
      if (s instanceof VariableTree v) {
        Local local = declare(v);
        declared.add(local);
        if (v.getInitializer() != null && !unread(local)) {
          CExpr init = expr(v.getInitializer());
          assignKind(local, init, v.getInitializer());
          if (statementSeen) {
            out.add(new CLeaf.Assign(local.cName, init.text()));
          } else {
            inits.put(local, init.text());
          }
        }
      } else if (s.getKind() != Tree.Kind.EMPTY_STATEMENT) {
        CLeaf.Statement st = statement(s);
        if (st != null) {
          out.add(st);
          statementSeen = true;
        }
      }
    }
    List<CLeaf.Decl> decls = new ArrayList<>();
    for (Local l : declared) {
      if (!unread(l)) {
        decls.add(new CLeaf.Decl(cType(l.kind == null ? Kind.LONG : l.kind), l.cName,
            inits.get(l)));
      }
    }
    scopes.pop();
    cNames.pop();
    return new CLeaf.Block(decls, out);
  }

  private static String cType(Kind kind) {
    switch (kind) {
      case PTE:
        return "pte_t";
      case BOOL:
        return "bool";
      default:
        return "unsigned long";
    }
  }

  /** The statement, or null when it is an assignment nothing reads. */
  private CLeaf.Statement statement(StatementTree s) throws NotTranslated {
    switch (s.getKind()) {
      case BLOCK:
        return block((BlockTree) s);
      case RETURN: {
        ReturnTree r = (ReturnTree) s;
        CExpr value = expr(r.getExpression());
        if (value.kind() != Kind.PTE) {
          throw new NotTranslated(r.getExpression(), "the return of " + quote(r.getExpression()),
              "a leaf returns a PTE: the pte parameter, a Pte transform of it, or a local holding"
                  + " one");
        }
        return new CLeaf.Return(value.text());
      }
      case IF: {
        IfTree i = (IfTree) s;
        CExpr cond = condition(i.getCondition());
        CLeaf.Statement then = branch(i.getThenStatement());
        CLeaf.Statement otherwise =
            i.getElseStatement() == null ? null : branch(i.getElseStatement());
        return new CLeaf.If(cond.text(), then, otherwise);
      }
      case EXPRESSION_STATEMENT: {
        ExpressionTree e = ((ExpressionStatementTree) s).getExpression();
        if (e instanceof AssignmentTree a) {
          return assignment(a);
        }
        throw new NotTranslated(e, describe(e), "a statement of a leaf is an if, a return, a"
            + " local variable or an assignment");
      }
      default:
        throw new NotTranslated(s, describe(s), "a leaf is straight-line code: if, return, local"
            + " variables and assignments");
    }
  }

  /** An if's branch: a block, or one statement (an empty one is an empty block). */
  private CLeaf.Statement branch(StatementTree s) throws NotTranslated {
    if (s instanceof BlockTree b) {
      return block(b);
    }
    if (s.getKind() == Tree.Kind.EMPTY_STATEMENT) {
      return new CLeaf.Block(List.of(), List.of());
    }
    CLeaf.Statement st = statement(s);
    return st != null ? st : new CLeaf.Block(List.of(), List.of());
  }

  private Local declare(VariableTree v) throws NotTranslated {
    String name = v.getName().toString();
    Tree type = v.getType();
    Kind kind;
    if (type instanceof PrimitiveTypeTree p && p.getPrimitiveTypeKind() == TypeKind.LONG) {
      kind = null; // pte_t or unsigned long: its first value says
    } else if (type instanceof PrimitiveTypeTree p
        && p.getPrimitiveTypeKind() == TypeKind.BOOLEAN) {
      kind = Kind.BOOL;
    } else if (type == null || (type instanceof IdentifierTree id
        && id.getName().contentEquals("var"))) {
      kind = null;
    } else {
      throw new NotTranslated(v, "the local variable " + quote(v), "a leaf's locals are long"
          + " or boolean");
    }
    String cName = CNames.snake(name);
    String clash = null;
    if (!CNames.isIdentifier(cName) || CNames.RESERVED.contains(cName)) {
      clash = "its C name " + cName + " is a C keyword or a kernel macro";
    } else if (LEAF_PARAMS.contains(cName)) {
      clash = "its C name " + cName + " is that of a parameter of the leaf";
    } else if (cName.startsWith("pte_") || cName.startsWith("pfn_") || cName.startsWith("vma_")
        || cName.startsWith("__")) {
      clash = "its C name " + cName + " could hide a kernel function the leaf calls";
    } else {
      for (Set<String> taken : cNames) {
        if (taken.contains(cName)) {
          clash = "its C name " + cName + " is that of another local in scope";
        }
      }
    }
    if (clash != null) {
      throw new NotTranslated(v, "the local variable '" + name + "'", clash);
    }
    Local local = new Local(v, cName, kind);
    scopes.peek().put(name, local);
    cNames.peek().add(cName);
    return local;
  }

  /** {@code local} takes a value of {@code value}'s kind. */
  private void assignKind(Local local, CExpr value, Tree where) throws NotTranslated {
    Kind k = value.kind() == Kind.INT ? Kind.LONG : value.kind();
    if (local.kind == null) {
      if (k == Kind.BOOL) {
        throw new NotTranslated(where, quote(where), "a long local holds a PTE or a number");
      }
      local.kind = k;
    } else if (local.kind != k) {
      throw new NotTranslated(where, "the value " + quote(where) + " of "
          + local.tree.getName(), local.tree.getName() + " holds "
          + (local.kind == Kind.PTE ? "a PTE" : local.kind == Kind.BOOL ? "a truth value"
              : "a number") + " elsewhere; in C a variable has one type");
    }
  }

  private CLeaf.Statement assignment(AssignmentTree a) throws NotTranslated {
    if (!(a.getVariable() instanceof IdentifierTree id)) {
      throw new NotTranslated(a, "the assignment " + quote(a), "a leaf assigns its own locals"
          + " and parameters only");
    }
    String name = id.getName().toString();
    Local local = local(name);
    if (local != null) {
      if (unread(local)) {
        return null;
      }
      CExpr value = expr(a.getExpression());
      assignKind(local, value, a.getExpression());
      return new CLeaf.Assign(local.cName, value.text());
    }
    Integer param = params.get(name);
    if (param == null || param == 2) {
      throw new NotTranslated(a, "the assignment " + quote(a), "a leaf assigns its own locals"
          + " and its pte and addr parameters only");
    }
    String cName = param == 0 ? "pte" : "addr";
    if (unread(paramKeys.get(cName))) {
      return null;
    }
    CExpr value = expr(a.getExpression());
    Kind want = param == 0 ? Kind.PTE : Kind.LONG;
    Kind got = value.kind() == Kind.INT ? Kind.LONG : value.kind();
    if (got != want) {
      throw new NotTranslated(a.getExpression(), "the value " + quote(a.getExpression()) + " of "
          + name, param == 0 ? "the pte parameter holds a PTE" : "addr holds an address");
    }
    return new CLeaf.Assign(cName, value.text());
  }

  private Local local(String name) {
    for (Map<String, Local> scope : scopes) {
      Local l = scope.get(name);
      if (l != null) {
        return l;
      }
    }
    return null;
  }

  /** Whether nothing read {@code key} (a local, or a parameter's C name) in the last round. */
  private boolean unread(Object key) {
    Object k = key instanceof Local l ? l.tree : key;
    return lastReads != null && !lastReads.containsKey(k);
  }

  private void read(Object key) {
    reads.merge(key instanceof Local l ? l.tree : key, 1, Integer::sum);
  }

  // ---- expressions ----

  private CExpr condition(ExpressionTree e) throws NotTranslated {
    CExpr c = expr(e);
    if (c.kind() != Kind.BOOL) {
      throw new NotTranslated(e, quote(e), "a condition is a truth value");
    }
    return c;
  }

  private CExpr expr(ExpressionTree e) throws NotTranslated {
    switch (e.getKind()) {
      case PARENTHESIZED:
        return expr(((ParenthesizedTree) e).getExpression());
      case IDENTIFIER:
        return identifier((IdentifierTree) e);
      case MEMBER_SELECT:
        return memberSelect((MemberSelectTree) e);
      case METHOD_INVOCATION:
        return call((MethodInvocationTree) e);
      case INT_LITERAL:
      case LONG_LITERAL:
        return number((LiteralTree) e);
      case BOOLEAN_LITERAL:
        return CExpr.primary(String.valueOf(((LiteralTree) e).getValue()), Kind.BOOL);
      case LOGICAL_COMPLEMENT: {
        CExpr x = expr(((UnaryTree) e).getExpression());
        return new CExpr("!" + operand(x, UNARY), Kind.BOOL, UNARY, "!");
      }
      case BITWISE_COMPLEMENT:
      case UNARY_MINUS: {
        UnaryTree u = (UnaryTree) e;
        CExpr x = expr(u.getExpression());
        String op = e.getKind() == Tree.Kind.UNARY_MINUS ? "-" : "~";
        if (x.kind() == Kind.PTE) {
          throw new NotTranslated(e, "'" + op + "' on the PTE " + quote(u.getExpression()),
              "pte_t is opaque in C: use the Pte helpers");
        }
        boolean literal = u.getExpression().getKind() == Tree.Kind.INT_LITERAL;
        if (x.kind() == Kind.INT && !(literal && op.equals("-"))) {
          throw intArithmetic(e);
        }
        return new CExpr(op + operand(x, UNARY), x.kind(), UNARY, op);
      }
      case UNARY_PLUS:
        return expr(((UnaryTree) e).getExpression());
      case CONDITIONAL_EXPRESSION:
        return conditional((ConditionalExpressionTree) e);
      default:
        if (e instanceof BinaryTree b) {
          return binary(b);
        }
        throw new NotTranslated(e, describe(e), whyNot(e));
    }
  }

  private CExpr identifier(IdentifierTree id) throws NotTranslated {
    String name = id.getName().toString();
    Local local = local(name);
    if (local != null) {
      read(local);
      return CExpr.primary(local.cName, local.kind == null ? Kind.LONG : local.kind);
    }
    Integer param = params.get(name);
    if (param != null) {
      if (param == 2) {
        throw new NotTranslated(id, "the VMA " + name + " as a value", "a leaf only calls the"
            + " Vma accessors of the table on it");
      }
      String cName = param == 0 ? "pte" : "addr";
      read(paramKeys.get(cName));
      return CExpr.primary(cName, param == 0 ? Kind.PTE : Kind.LONG);
    }
    VariableElement field = names.field(name);
    if (field == null) {
      throw new NotTranslated(id, "the name " + name, "ptwalk cannot tell what it names");
    }
    return constant(id, field);
  }

  private CExpr memberSelect(MemberSelectTree ms) throws NotTranslated {
    ExpressionTree qualifier = ms.getExpression();
    if (qualifier instanceof IdentifierTree q && (local(q.getName().toString()) != null
        || params.containsKey(q.getName().toString()))) {
      throw new NotTranslated(ms, "the field access " + quote(ms), "a leaf reads no fields");
    }
    TypeElement type = names.type(qualifier);
    if (type != null) {
      for (VariableElement f : javax.lang.model.util.ElementFilter.fieldsIn(
          type.getEnclosedElements())) {
        if (f.getSimpleName().contentEquals(ms.getIdentifier())) {
          return constant(ms, f);
        }
      }
    }
    throw new NotTranslated(ms, "the field " + quote(ms), "only the constants of Pte and"
        + " VmFlags translate");
  }

  /** A constant of {@code Pte} or {@code VmFlags}, in its kernel spelling. */
  private CExpr constant(Tree where, VariableElement field) throws NotTranslated {
    String name = field.getSimpleName().toString();
    if (CNameResolver.is(field.getEnclosingElement(), PTE)) {
      if (PTE_BITS.contains(name)) {
        return CExpr.primary("_PAGE_" + name, Kind.LONG);
      }
      if (name.startsWith("BIT_") && PTE_BITS.contains(name.substring(4))) {
        return CExpr.primary("_PAGE_BIT_" + name.substring(4), Kind.INT);
      }
      if (name.equals("PFN_MASK")) {
        return CExpr.primary("PTE_PFN_MASK", Kind.LONG);
      }
    } else if (CNameResolver.is(field.getEnclosingElement(), VM_FLAGS)
        && name.startsWith("VM_")) {
      return CExpr.primary(name, Kind.LONG);
    }
    throw new NotTranslated(where, "the field " + quote(where), "only the constants of Pte"
        + " (its bits, BIT_ numbers and PFN_MASK) and the VM_ flags of VmFlags translate");
  }

  private CExpr number(LiteralTree lit) throws NotTranslated {
    boolean isLong = lit.getKind() == Tree.Kind.LONG_LITERAL;
    String text = sourceText(lit);
    if (text == null) {
      text = String.valueOf(lit.getValue());
    }
    text = text.replace("_", "");
    if (isLong) {
      text = text.substring(0, text.length() - 1);
    }
    if (text.startsWith("0b") || text.startsWith("0B")) {
      long v = isLong ? (Long) lit.getValue() : (Integer) lit.getValue();
      text = "0x" + Long.toHexString(isLong ? v : v & 0xffffffffL);
    }
    if (!isLong && (Integer) lit.getValue() < 0) {
      throw new NotTranslated(lit, "the int literal " + quote(lit), "it is negative in Java"
          + " and not in C: write it as a long, " + quote(lit) + "L");
    }
    return isLong ? CExpr.primary(text + "UL", Kind.LONG) : CExpr.primary(text, Kind.INT);
  }

  private CExpr conditional(ConditionalExpressionTree c) throws NotTranslated {
    CExpr cond = condition(c.getCondition());
    CExpr a = expr(c.getTrueExpression());
    CExpr b = expr(c.getFalseExpression());
    Kind ka = a.kind() == Kind.INT ? Kind.LONG : a.kind();
    Kind kb = b.kind() == Kind.INT ? Kind.LONG : b.kind();
    if (ka != kb) {
      throw new NotTranslated(c, "the conditional " + quote(c), "one branch is a PTE and the"
          + " other is not");
    }
    String text = operand(cond, COND + 1) + " ? " + operand(a, COND + 1) + " : "
        + operand(b, COND + 1);
    return new CExpr(text, ka, COND, "?");
  }

  private CExpr binary(BinaryTree b) throws NotTranslated {
    String op = javaOperator(b.getKind());
    CExpr l = expr(b.getLeftOperand());
    CExpr r = expr(b.getRightOperand());
    switch (b.getKind()) {
      case CONDITIONAL_AND:
      case CONDITIONAL_OR:
        return join(op, l, r, Kind.BOOL);
      case EQUAL_TO:
      case NOT_EQUAL_TO:
        if (l.kind() == Kind.PTE && r.kind() == Kind.PTE) {
          String same = "pte_same(" + l.text() + ", " + r.text() + ")";
          return op.equals("==") ? CExpr.primary(same, Kind.BOOL)
              : new CExpr("!" + same, Kind.BOOL, UNARY, "!");
        }
        if (l.kind() == Kind.PTE || r.kind() == Kind.PTE) {
          throw new NotTranslated(b, "'" + op + "' between a PTE and a number, " + quote(b),
              "pte_t is opaque in C: compare PTEs with PTEs, or use the Pte queries");
        }
        if (l.kind() == Kind.BOOL) {
          throw booleanOperator(b, op);
        }
        return join(op, l, r, Kind.BOOL);
      case LESS_THAN:
      case GREATER_THAN:
      case LESS_THAN_EQUAL:
      case GREATER_THAN_EQUAL:
        onNumbers(b, op, l, r, false);
        if (zero(b.getRightOperand()) && (op.equals("<") || op.equals(">="))
            || zero(b.getLeftOperand()) && (op.equals(">") || op.equals("<="))) {
          throw new NotTranslated(b, "the sign test " + quote(b), "C's unsigned long has no"
              + " sign, so the C would be always true or always false: test the top bit, (x >>>"
              + " 63) != 0");
        }
        return join(op, l, r, Kind.BOOL);
      case AND:
      case OR:
      case XOR:
      case PLUS:
      case MINUS:
      case MULTIPLY:
        onNumbers(b, op, l, r, true);
        return join(op, l, r, Kind.LONG);
      case LEFT_SHIFT:
      case UNSIGNED_RIGHT_SHIFT:
        onNumbers(b, op, l, r, false);
        if (l.kind() == Kind.INT) {
          throw intArithmetic(b);
        }
        if (b.getRightOperand() instanceof LiteralTree lit && lit.getValue() instanceof Number n
            && (n.longValue() < 0 || n.longValue() > 63)) {
          throw new NotTranslated(b, "the shift " + quote(b), "C shifts a 64-bit value by 0 to"
              + " 63 only");
        }
        return join(op.equals(">>>") ? ">>" : op, l, r, Kind.LONG);
      case RIGHT_SHIFT:
        throw new NotTranslated(b, "'>>' in " + quote(b), "Java's sign-extending shift has no"
            + " counterpart on C's unsigned long: use >>>");
      default:
        throw new NotTranslated(b, "'" + op + "' in " + quote(b), "C's division of unsigned"
            + " values is not Java's signed one");
    }
  }

  private static boolean zero(ExpressionTree e) {
    while (e instanceof ParenthesizedTree p) {
      e = p.getExpression();
    }
    return e instanceof LiteralTree lit && lit.getValue() instanceof Number n
        && n.longValue() == 0;
  }

  /** Both operands numbers; {@code arithmetic}: and not both ints. */
  private void onNumbers(BinaryTree b, String op, CExpr l, CExpr r, boolean arithmetic)
      throws NotTranslated {
    if (l.kind() == Kind.PTE || r.kind() == Kind.PTE) {
      throw new NotTranslated(b, "'" + op + "' on a PTE, " + quote(b), "pte_t is opaque in C:"
          + " use the Pte helpers");
    }
    if (l.kind() == Kind.BOOL || r.kind() == Kind.BOOL) {
      throw booleanOperator(b, op);
    }
    if (arithmetic && l.kind() == Kind.INT && r.kind() == Kind.INT) {
      throw intArithmetic(b);
    }
  }

  private NotTranslated booleanOperator(BinaryTree b, String op) {
    return new NotTranslated(b, "'" + op + "' on truth values, " + quote(b), "the kernel's PTE"
        + " queries return other values than 0 and 1: use &&, || and !");
  }

  private NotTranslated intArithmetic(Tree t) {
    return new NotTranslated(t, "the int arithmetic " + quote(t), "C would compute it in 32 bits"
        + " as Java does, but with undefined overflow: make an operand long");
  }

  /** {@code l op r}, each operand parenthesized where C or gcc's -Wparentheses needs it. */
  private static CExpr join(String op, CExpr l, CExpr r, Kind kind) {
    int prec = BINARY.get(op);
    String lt = needsParens(op, l, false) ? "(" + l.text() + ")" : l.text();
    String rt = needsParens(op, r, true) ? "(" + r.text() + ")" : r.text();
    return new CExpr(lt + " " + op + " " + rt, kind, prec, op);
  }

  private static boolean needsParens(String parent, CExpr child, boolean right) {
    if (child.prec() >= UNARY) {
      return false;
    }
    if (child.prec() == COND) {
      return true;
    }
    int p = BINARY.get(parent);
    if (child.prec() < p) {
      return true;
    }
    if (child.prec() == p) {
      return right || ((bitwise(parent) || shift(parent)) && !child.op().equals(parent));
    }
    // child binds tighter: parentheses gcc asks for, and clarity inside bitwise operators
    if (parent.equals("||") && child.op().equals("&&")) {
      return true;
    }
    if (bitwise(parent)) {
      return true;
    }
    return shift(parent) && child.prec() < UNARY;
  }

  private static boolean shift(String op) {
    return op.equals("<<") || op.equals(">>");
  }

  private static boolean bitwise(String op) {
    return op.equals("&") || op.equals("|") || op.equals("^");
  }

  /** {@code x} as an operand of a unary or conditional operator of precedence {@code prec}. */
  private static String operand(CExpr x, int prec) {
    return x.prec() < prec ? "(" + x.text() + ")" : x.text();
  }

  private CExpr call(MethodInvocationTree mi) throws NotTranslated {
    ExpressionTree select = mi.getMethodSelect();
    String name;
    TypeElement type;
    if (select instanceof MemberSelectTree ms) {
      name = ms.getIdentifier().toString();
      ExpressionTree q = ms.getExpression();
      if (q instanceof IdentifierTree qi) {
        String qn = qi.getName().toString();
        Integer param = params.get(qn);
        if (param != null && param == 2) {
          return vmaCall(mi, name);
        }
        if (param != null || local(qn) != null) {
          throw new NotTranslated(mi, "the call " + quote(mi), "only the Pte helpers and the"
              + " Vma accessors of the table translate");
        }
      }
      type = names.type(q);
    } else {
      name = ((IdentifierTree) select).getName().toString();
      type = names.method(name);
      if (type != null && !CNameResolver.is(type, PTE)) {
        throw new NotTranslated(mi, "the call " + quote(mi), "a leaf calls no method of its own"
            + " class: only the Pte helpers and the Vma accessors of docs/c-translation.md"
            + " translate");
      }
    }
    if (type == null || !CNameResolver.is(type, PTE)) {
      throw new NotTranslated(mi, "the call " + quote(mi), "only the Pte helpers and the Vma"
          + " accessors of docs/c-translation.md translate");
    }
    return pteCall(mi, name);
  }

  private CExpr pteCall(MethodInvocationTree mi, String name) throws NotTranslated {
    List<? extends ExpressionTree> args = mi.getArguments();
    if (name.equals("pfnPte") && args.size() == 2) {
      CExpr pfn = number(args.get(0));
      CExpr prot = number(args.get(1));
      return CExpr.primary("pfn_pte(" + pfn.text() + ", __pgprot(" + prot.text() + "))",
          Kind.PTE);
    }
    String transform = TRANSFORMS.get(name);
    String query = QUERIES.get(name);
    boolean known = transform != null || query != null || name.equals("mkwrite")
        || name.equals("user") || name.equals("pfn") || name.equals("flags");
    if (!known || args.size() != 1) {
      throw new NotTranslated(mi, "the call " + quote(mi), "Pte." + name + " has no Linux "
          + CWalkersWriter.LINUX + " counterpart for a leaf");
    }
    CExpr p = expr(args.get(0));
    if (p.kind() != Kind.PTE) {
      throw new NotTranslated(args.get(0), "Pte." + name + " of " + quote(args.get(0)),
          "in C it takes a pte_t: the pte parameter, a Pte transform of it, or a local holding"
              + " one");
    }
    if (transform != null) {
      return CExpr.primary(transform + "(" + p.text() + ")", Kind.PTE);
    }
    if (query != null) {
      return CExpr.primary(query + "(" + p.text() + ")", Kind.BOOL);
    }
    switch (name) {
      case "mkwrite":
        usesVma = true;
        return CExpr.primary("pte_mkwrite(" + p.text() + ", vma)", Kind.PTE);
      case "user":
        return join("!=", join("&", CExpr.primary("pte_flags(" + p.text() + ")", Kind.LONG),
            CExpr.primary("_PAGE_USER", Kind.LONG), Kind.LONG), CExpr.primary("0", Kind.INT),
            Kind.BOOL);
      case "pfn":
        return CExpr.primary("pte_pfn(" + p.text() + ")", Kind.LONG);
      default:
        return CExpr.primary("pte_flags(" + p.text() + ")", Kind.LONG);
    }
  }

  /** A number operand of a Pte helper. */
  private CExpr number(ExpressionTree e) throws NotTranslated {
    CExpr x = expr(e);
    if (x.kind() == Kind.PTE || x.kind() == Kind.BOOL) {
      throw new NotTranslated(e, quote(e), "pfnPte takes numbers");
    }
    return x;
  }

  private CExpr vmaCall(MethodInvocationTree mi, String name) throws NotTranslated {
    List<? extends ExpressionTree> args = mi.getArguments();
    CExpr flags = CExpr.primary("READ_ONCE(vma->vm_flags)", Kind.LONG);
    if (args.isEmpty()) {
      switch (name) {
        case "start":
          return CExpr.primary("vma->vm_start", Kind.LONG);
        case "end":
          return CExpr.primary("vma->vm_end", Kind.LONG);
        case "pgoff":
          return CExpr.primary("vma->vm_pgoff", Kind.LONG);
        case "pages":
          return CExpr.primary("vma_pages(vma)", Kind.LONG);
        case "lastPgoff":
          return join("-", join("+", CExpr.primary("vma->vm_pgoff", Kind.LONG),
              CExpr.primary("vma_pages(vma)", Kind.LONG), Kind.LONG),
              CExpr.primary("1", Kind.INT), Kind.LONG);
        case "flags":
          return flags;
        default:
          break;
      }
    } else if (args.size() == 1 && (name.equals("hasFlags") || name.equals("contains"))) {
      CExpr x = expr(args.get(0));
      if (x.kind() == Kind.PTE || x.kind() == Kind.BOOL) {
        throw new NotTranslated(args.get(0), quote(args.get(0)), "vma." + name + " takes a"
            + " number");
      }
      if (name.equals("hasFlags")) {
        return join("==", join("&", flags, x, Kind.LONG), x, Kind.BOOL);
      }
      return join("&&", join(">=", x, CExpr.primary("vma->vm_start", Kind.LONG), Kind.BOOL),
          join("<", x, CExpr.primary("vma->vm_end", Kind.LONG), Kind.BOOL), Kind.BOOL);
    }
    throw new NotTranslated(mi, "the call " + quote(mi), "of the Vma, only start(), end(),"
        + " pgoff(), pages(), lastPgoff(), flags(), hasFlags() and contains() translate");
  }

  // ---- words ----

  private static String javaOperator(Tree.Kind k) {
    switch (k) {
      case CONDITIONAL_AND:
        return "&&";
      case CONDITIONAL_OR:
        return "||";
      case EQUAL_TO:
        return "==";
      case NOT_EQUAL_TO:
        return "!=";
      case LESS_THAN:
        return "<";
      case GREATER_THAN:
        return ">";
      case LESS_THAN_EQUAL:
        return "<=";
      case GREATER_THAN_EQUAL:
        return ">=";
      case AND:
        return "&";
      case OR:
        return "|";
      case XOR:
        return "^";
      case PLUS:
        return "+";
      case MINUS:
        return "-";
      case MULTIPLY:
        return "*";
      case DIVIDE:
        return "/";
      case REMAINDER:
        return "%";
      case LEFT_SHIFT:
        return "<<";
      case RIGHT_SHIFT:
        return ">>";
      default:
        return ">>>";
    }
  }

  /** The construct {@code t} in words, with its source. */
  private String describe(Tree t) {
    String kind;
    switch (t.getKind()) {
      case FOR_LOOP:
      case ENHANCED_FOR_LOOP:
      case WHILE_LOOP:
      case DO_WHILE_LOOP:
        kind = "the loop";
        break;
      case SWITCH:
      case SWITCH_EXPRESSION:
        kind = "the switch";
        break;
      case TRY:
        kind = "the try statement";
        break;
      case THROW:
        kind = "the throw";
        break;
      case SYNCHRONIZED:
        kind = "the synchronized block";
        break;
      case CLASS:
        kind = "the class declaration";
        break;
      case LAMBDA_EXPRESSION:
        kind = "the lambda";
        break;
      case MEMBER_REFERENCE:
        kind = "the method reference";
        break;
      case NEW_CLASS:
        kind = "the object creation";
        break;
      case NEW_ARRAY:
        kind = "the array creation";
        break;
      case ARRAY_ACCESS:
        kind = "the array access";
        break;
      case TYPE_CAST:
        kind = "the cast";
        break;
      case INSTANCE_OF:
        kind = "the instanceof test";
        break;
      case STRING_LITERAL:
        kind = "the string";
        break;
      case CHAR_LITERAL:
        kind = "the char literal";
        break;
      case FLOAT_LITERAL:
      case DOUBLE_LITERAL:
        kind = "the floating-point literal";
        break;
      case NULL_LITERAL:
        kind = "null";
        return kind;
      case ASSIGNMENT:
        kind = "the assignment inside an expression";
        break;
      case PREFIX_INCREMENT:
      case PREFIX_DECREMENT:
      case POSTFIX_INCREMENT:
      case POSTFIX_DECREMENT:
        kind = "the increment or decrement";
        break;
      case ASSERT:
        kind = "the assert";
        break;
      case LABELED_STATEMENT:
      case BREAK:
      case CONTINUE:
        kind = "the jump";
        break;
      default:
        kind = t instanceof com.sun.source.tree.CompoundAssignmentTree
            ? "the compound assignment" : t instanceof ExpressionTree ? "the expression"
            : "the statement";
        break;
    }
    return kind + " " + quote(t);
  }

  private static String whyNot(Tree t) {
    if (t instanceof com.sun.source.tree.CompoundAssignmentTree) {
      return "write it out: x = x op y";
    }
    switch (t.getKind()) {
      case STRING_LITERAL:
      case CHAR_LITERAL:
      case FLOAT_LITERAL:
      case DOUBLE_LITERAL:
      case NULL_LITERAL:
        return "a leaf computes with PTEs, longs and truth values only";
      case TYPE_CAST:
        return "a leaf computes with PTEs, longs and truth values only, which need no casts";
      default:
        return "a leaf's expressions are Pte helpers, Vma accessors, constants, and the"
            + " operators listed in docs/c-translation.md";
    }
  }

  /** The source of {@code t}, its first line, shortened: {@code 'Math.max(a, b)'}. */
  private String quote(Tree t) {
    String text = sourceText(t);
    if (text == null) {
      text = t.toString();
    }
    text = text.strip();
    int nl = text.indexOf('\n');
    boolean cut = false;
    if (nl >= 0) {
      text = text.substring(0, nl).strip();
      cut = true;
    }
    text = text.replaceAll("\\s+", " ");
    if (text.length() > 48) {
      text = text.substring(0, 45);
      cut = true;
    }
    return "'" + text + (cut ? "...'" : "'");
  }

  private String sourceText(Tree t) {
    long start = positions.getStartPosition(unit, t);
    long end = positions.getEndPosition(unit, t);
    try {
      if (source == null) {
        source = unit.getSourceFile().getCharContent(true);
      }
    } catch (IOException e) {
      return null;
    }
    if (start < 0 || end <= start || end > source.length()) {
      return null;
    }
    return source.subSequence((int) start, (int) end).toString();
  }
}
