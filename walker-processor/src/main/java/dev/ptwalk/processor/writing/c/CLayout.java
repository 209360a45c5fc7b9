package dev.ptwalk.processor.writing.c;

import java.util.ArrayList;
import java.util.List;

/**
 * Kernel-style layout of C text ({@code Documentation/process/coding-style.rst}): 80 columns,
 * tabs of 8; a statement too long for one line is broken greedily at its arguments and binary
 * operators, each continuation aligned under the character after the open parenthesis it is
 * inside (tabs, then spaces), as {@code checkpatch.pl --strict} wants; a prototype whose
 * parameters cannot be aligned so puts its return type on a line of its own; comment text is
 * filled greedily.
 *
 * <p>A statement is given as its one-line text with single spaces around binary operators and
 * after commas; the expression in it is parsed (identifiers, calls, member access, unary and
 * binary operators, the conditional operator) only when the line is too long, and laid out from
 * that parse. Text the parser does not know is left on one line.
 */
final class CLayout {
  /** The column limit. */
  static final int WIDTH = 80;
  private static final int TAB = 8;

  private CLayout() {}

  /** The width of {@code line} on screen, tabs to the next multiple of 8. */
  static int width(String line) {
    int col = 0;
    for (int i = 0; i < line.length(); i++) {
      col = line.charAt(i) == '\t' ? (col / TAB + 1) * TAB : col + 1;
    }
    return col;
  }

  /** Indentation reaching column {@code col}: tabs, then spaces. */
  static String indent(int col) {
    return "\t".repeat(col / TAB) + " ".repeat(col % TAB);
  }

  /**
   * {@code text} filled greedily into lines of at most 80 columns: the first line starts with
   * {@code first}, the others with {@code cont}. A word longer than a line gets a line of its own.
   */
  static List<String> fill(String first, String cont, String text) {
    List<String> out = new ArrayList<>();
    StringBuilder line = new StringBuilder(first);
    boolean empty = true;
    for (String word : text.split(" ")) {
      if (word.isEmpty()) {
        continue;
      }
      if (!empty && width(line + " " + word) > WIDTH) {
        out.add(line.toString());
        line = new StringBuilder(cont);
        empty = true;
      }
      line.append(empty ? "" : " ").append(word);
      empty = false;
    }
    out.add(line.toString().stripTrailing());
    return out;
  }

  /**
   * A function's head ({@code end} empty) or prototype ({@code end} {@code ";"}): {@code type
   * name(params)} with the parameters packed greedily under the first one; when that does not fit,
   * {@code type} alone on the first line and the name starting the second.
   */
  static List<String> signature(String type, String name, List<String> params, String end) {
    List<Node> atoms = new ArrayList<>();
    params.forEach(p -> atoms.add(new Atom(p)));
    Node call = new Call(name, atoms);
    Out same = new Out(type + " ");
    same.layout(call, end);
    if (!same.overflows()) {
      return same.finish();
    }
    Out own = new Out("");
    own.layout(call, end);
    List<String> lines = new ArrayList<>();
    lines.add(type);
    if (!own.overflows()) {
      lines.addAll(own.finish());
      return lines;
    }
    // A name too long for even that: the parameters on the next lines, one tab in.
    lines.add(name + "(");
    Out below = new Out("\t");
    below.items(atoms, List.of(), ",", ")" + end, TAB);
    lines.addAll(below.finish());
    return lines;
  }

  /**
   * The statement {@code text} at nesting {@code depth} (tabs): as is when it fits, else broken as
   * the class comment says.
   */
  static List<String> statement(int depth, String text) {
    String ind = "\t".repeat(depth);
    if (width(ind + text) <= WIDTH) {
      return List.of(ind + text);
    }
    try {
      List<String> laid = layoutStatement(depth, text);
      if (laid != null) {
        return laid;
      }
    } catch (RuntimeException e) {
      // not an expression this layout knows: left on one line
    }
    return List.of(ind + text);
  }

  private static List<String> layoutStatement(int depth, String text) {
    String ind = "\t".repeat(depth);
    int cont = depth * TAB + TAB;
    // if (...), } else if (...) {, while (...): the condition, aligned after the parenthesis.
    for (String keyword : List.of("} else if (", "else if (", "if (", "while (")) {
      if (text.startsWith(keyword)) {
        int close = matchingParen(text, keyword.length() - 1);
        if (close < 0) {
          return null;
        }
        Out o = new Out(ind + keyword);
        o.layout(parse(text.substring(keyword.length(), close)), text.substring(close));
        return o.finish();
      }
    }
    if (!text.endsWith(";")) {
      return null;
    }
    String body = text.substring(0, text.length() - 1);
    if (body.startsWith("return ")) {
      Out o = new Out(ind + "return ");
      o.layout(parse(body.substring("return ".length())), ";");
      return o.finish();
    }
    int assign = topLevelAssignment(body);
    if (assign < 0) {
      Out o = new Out(ind);
      o.layout(parse(body), ";");
      return o.finish();
    }
    int opEnd = body.indexOf(' ', assign + 1);
    String lhs = body.substring(0, opEnd);
    Node rhs = parse(body.substring(opEnd + 1));
    int chainCont = rhs instanceof Chain ? cont : -1;
    // The value after the operator, or on a line of its own one tab deeper: whichever fits in
    // fewer lines (the first when they tie).
    Out after = new Out(ind + lhs + " ");
    after.layout(rhs, ";", chainCont);
    Out below = new Out(ind + lhs);
    below.newline(cont);
    below.layout(rhs, ";", chainCont);
    if (below.overflows()) {
      return after.finish();
    }
    if (after.overflows() || below.finish().size() < after.finish().size()) {
      return below.finish();
    }
    return after.finish();
  }

  /** The index of the {@code )} closing the {@code (} at {@code open}, or -1. */
  private static int matchingParen(String s, int open) {
    int depth = 0;
    for (int i = open; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')' && --depth == 0) {
        return i;
      }
    }
    return -1;
  }

  /** The index of the space before a top-level {@code =} or {@code op=}, or -1. */
  private static int topLevelAssignment(String s) {
    int depth = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '(' || c == '[' || c == '{') {
        depth++;
      } else if (c == ')' || c == ']' || c == '}') {
        depth--;
      } else if (c == ' ' && depth == 0) {
        int sp = s.indexOf(' ', i + 1);
        if (sp > i + 1) {
          String op = s.substring(i + 1, sp);
          if (op.equals("=") || (op.length() >= 2 && op.endsWith("=")
              && "+-*/|&^%<>".indexOf(op.charAt(0)) >= 0 && !op.equals("<=")
              && !op.equals(">=") && !op.equals("=="))) {
            return i;
          }
        }
      }
    }
    return -1;
  }

  // ---- the expression model: only what layout needs ----

  /** A piece of an expression. */
  private sealed interface Node permits Atom, Call, Chain, Prefix, Paren {
    String flat();
  }

  /** Text that is never broken. */
  private record Atom(String text) implements Node {
    @Override
    public String flat() {
      return text;
    }
  }

  /** {@code callee(args)}: broken after a comma. */
  private record Call(String callee, List<Node> args) implements Node {
    @Override
    public String flat() {
      StringBuilder sb = new StringBuilder(callee).append('(');
      for (int i = 0; i < args.size(); i++) {
        sb.append(i > 0 ? ", " : "").append(args.get(i).flat());
      }
      return sb.append(')').toString();
    }
  }

  /** {@code a op b op c}: broken after an operator. */
  private record Chain(List<Node> operands, List<String> ops) implements Node {
    @Override
    public String flat() {
      StringBuilder sb = new StringBuilder(operands.get(0).flat());
      for (int i = 1; i < operands.size(); i++) {
        sb.append(' ').append(ops.get(i - 1)).append(' ').append(operands.get(i).flat());
      }
      return sb.toString();
    }
  }

  /** A unary operator and its operand. */
  private record Prefix(String op, Node operand) implements Node {
    @Override
    public String flat() {
      return op + operand.flat();
    }
  }

  /** {@code (inner)}. */
  private record Paren(Node inner) implements Node {
    @Override
    public String flat() {
      return "(" + inner.flat() + ")";
    }
  }

  /** Lines being laid out, and the column reached on the last one. */
  private static final class Out {
    private final List<String> lines = new ArrayList<>();
    private StringBuilder line;
    private int col;
    /** Whether the current line holds nothing after its continuation indent yet. */
    private boolean fresh;

    Out(String start) {
      line = new StringBuilder(start);
      col = width(start);
      fresh = true;
    }

    void add(String s) {
      line.append(s);
      col += s.length();
      fresh = false;
    }

    void newline(int at) {
      lines.add(line.toString());
      line = new StringBuilder(indent(at));
      col = at;
      fresh = true;
    }

    boolean fits(String s) {
      return col + s.length() <= WIDTH;
    }

    boolean overflows() {
      if (width(line.toString()) > WIDTH) {
        return true;
      }
      return lines.stream().anyMatch(l -> width(l) > WIDTH);
    }

    List<String> finish() {
      List<String> out = new ArrayList<>(lines);
      out.add(line.toString());
      return out;
    }

    void layout(Node n, String suffix) {
      layout(n, suffix, -1);
    }

    /** Lay out {@code n} followed by {@code suffix}; a chain continues at {@code chainCont}. */
    void layout(Node n, String suffix, int chainCont) {
      if (fits(n.flat() + suffix)) {
        add(n.flat() + suffix);
        return;
      }
      if (n instanceof Call c) {
        add(c.callee() + "(");
        items(c.args(), List.of(), ",", ")" + suffix, col);
      } else if (n instanceof Chain c) {
        List<String> seps = new ArrayList<>();
        c.ops().forEach(op -> seps.add(" " + op));
        items(c.operands(), seps, null, suffix, chainCont >= 0 ? chainCont : col);
      } else if (n instanceof Prefix p) {
        add(p.op());
        layout(p.operand(), suffix);
      } else if (n instanceof Paren p) {
        add("(");
        layout(p.inner(), ")" + suffix);
      } else {
        add(n.flat() + suffix);
      }
    }

    /**
     * Items packed greedily: item {@code i} followed by {@code seps.get(i)} (or {@code sep}), the
     * last by {@code last}; a new line starts at column {@code at}.
     */
    private void items(List<Node> items, List<String> seps, String sep, String last, int at) {
      boolean first = true;
      for (int i = 0; i < items.size(); i++) {
        Node item = items.get(i);
        String s = i == items.size() - 1 ? last : sep != null ? sep : seps.get(i);
        String lead = first || fresh ? "" : " ";
        if (fits(lead + item.flat() + s)) {
          add(lead + item.flat() + s);
        } else {
          if (!first && !fresh) {
            newline(at);
          }
          if (fits(item.flat() + s)) {
            add(item.flat() + s);
          } else {
            layout(item, s);
          }
        }
        first = false;
      }
    }
  }

  // ---- a small parser for the expressions the writer emits ----

  /** Parses {@code text}; throws {@link IllegalArgumentException} on anything unknown. */
  static Node parse(String text) {
    Parser p = new Parser(text);
    Node n = p.ternary();
    if (p.pos != p.tokens.size()) {
      throw new IllegalArgumentException("trailing tokens in " + text);
    }
    return n;
  }

  /** Binary operators from the loosest to the tightest, one level per entry. */
  private static final List<List<String>> LEVELS = List.of(
      List.of("||"), List.of("&&"), List.of("|"), List.of("^"), List.of("&"),
      List.of("==", "!="), List.of("<", ">", "<=", ">="), List.of("<<", ">>"),
      List.of("+", "-"), List.of("*", "/", "%"));

  private static final List<String> OPERATORS = List.of("<<=", ">>=", "->", "<<", ">>", "<=",
      ">=", "==", "!=", "&&", "||", "++", "--", "(", ")", "[", "]", ",", ".", "?", ":", "!", "~",
      "&", "*", "+", "-", "/", "%", "<", ">", "|", "^");

  private static final class Parser {
    final List<String> tokens = new ArrayList<>();
    int pos;

    Parser(String text) {
      int i = 0;
      outer:
      while (i < text.length()) {
        char c = text.charAt(i);
        if (c == ' ') {
          i++;
          continue;
        }
        if (Character.isLetterOrDigit(c) || c == '_') {
          int j = i;
          while (j < text.length()
              && (Character.isLetterOrDigit(text.charAt(j)) || text.charAt(j) == '_')) {
            j++;
          }
          tokens.add(text.substring(i, j));
          i = j;
          continue;
        }
        for (String op : OPERATORS) {
          if (text.startsWith(op, i)) {
            tokens.add(op);
            i += op.length();
            continue outer;
          }
        }
        throw new IllegalArgumentException("unexpected '" + c + "' in " + text);
      }
    }

    String peek() {
      return pos < tokens.size() ? tokens.get(pos) : "";
    }

    String next() {
      if (pos >= tokens.size()) {
        throw new IllegalArgumentException("unexpected end");
      }
      return tokens.get(pos++);
    }

    void expect(String t) {
      if (!next().equals(t)) {
        throw new IllegalArgumentException("expected " + t);
      }
    }

    Node ternary() {
      Node c = binary(0);
      if (!peek().equals("?")) {
        return c;
      }
      next();
      Node a = ternary();
      expect(":");
      Node b = ternary();
      return new Chain(List.of(c, a, b), List.of("?", ":"));
    }

    Node binary(int level) {
      if (level == LEVELS.size()) {
        return unary();
      }
      Node first = binary(level + 1);
      List<Node> operands = new ArrayList<>(List.of(first));
      List<String> ops = new ArrayList<>();
      while (LEVELS.get(level).contains(peek())) {
        ops.add(next());
        operands.add(binary(level + 1));
      }
      return ops.isEmpty() ? first : new Chain(operands, ops);
    }

    Node unary() {
      String t = peek();
      if (List.of("!", "~", "-", "&", "*").contains(t)) {
        next();
        return new Prefix(t, unary());
      }
      return postfix();
    }

    Node postfix() {
      Node n = primary();
      while (true) {
        String t = peek();
        if (t.equals("(")) {
          next();
          List<Node> args = new ArrayList<>();
          if (!peek().equals(")")) {
            args.add(ternary());
            while (peek().equals(",")) {
              next();
              args.add(ternary());
            }
          }
          expect(")");
          n = new Call(n.flat(), args);
        } else if (t.equals("->") || t.equals(".")) {
          next();
          n = new Atom(n.flat() + t + next());
        } else if (t.equals("[")) {
          next();
          Node index = ternary();
          expect("]");
          n = new Atom(n.flat() + "[" + index.flat() + "]");
        } else if (t.equals("++") || t.equals("--")) {
          next();
          n = new Atom(n.flat() + t);
        } else {
          return n;
        }
      }
    }

    Node primary() {
      String t = next();
      if (t.equals("(")) {
        Node inner = ternary();
        expect(")");
        return new Paren(inner);
      }
      if (!Character.isLetterOrDigit(t.charAt(0)) && t.charAt(0) != '_') {
        throw new IllegalArgumentException("unexpected " + t);
      }
      return new Atom(t);
    }
  }
}
