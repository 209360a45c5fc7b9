package dev.ptwalk.processor.writing.c;

import java.util.ArrayList;
import java.util.List;

/**
 * A callback translated to C: the body of its leaf function {@code static pte_t
 * leaf(pte_t pte[, unsigned long addr[, struct vm_area_struct *vma]])}, as statements whose
 * expressions are C text.
 *
 * @param arity how many of {@code pte}, {@code addr}, {@code vma} the leaf takes: the callback's
 *     own parameters, or all three when it calls {@code pte_mkwrite()}, which needs the VMA
 * @param body the statements
 */
record CLeaf(int arity, Block body) {
  /** A statement. */
  sealed interface Statement permits Block, If, Return, Assign {}

  /**
   * A declaration, first in its block.
   *
   * @param type its C type, {@code pte_t}, {@code unsigned long} or {@code bool}
   * @param name its C name
   * @param init its initializer, or null
   */
  record Decl(String type, String name, String init) {}

  /** A block: its declarations, then its statements. */
  record Block(List<Decl> decls, List<Statement> statements) implements Statement {
    Block {
      decls = List.copyOf(decls);
      statements = List.copyOf(statements);
    }
  }

  /** {@code if (condition) then [else otherwise]}; {@code otherwise} may be null. */
  record If(String condition, Statement then, Statement otherwise) implements Statement {}

  /** {@code return value;}. */
  record Return(String value) implements Statement {}

  /** {@code target = value;}. */
  record Assign(String target, String value) implements Statement {}

  /** Write {@code block}'s contents at the current depth of {@code out}. */
  static void write(CText out, Block block) {
    for (Decl d : block.decls()) {
      out.line(d.type() + " " + d.name() + (d.init() == null ? ";" : " = " + d.init() + ";"));
    }
    if (!block.decls().isEmpty() && !block.statements().isEmpty()) {
      out.blank();
    }
    for (Statement s : block.statements()) {
      write(out, s);
    }
  }

  private static void write(CText out, Statement s) {
    if (s instanceof Return r) {
      out.line("return " + r.value() + ";");
    } else if (s instanceof Assign a) {
      out.line(a.target() + " = " + a.value() + ";");
    } else if (s instanceof Block b) {
      // A block nested in a block: C needs no braces to scope it unless it declares.
      if (b.decls().isEmpty()) {
        b.statements().forEach(x -> write(out, x));
      } else {
        out.open("{");
        write(out, b);
        out.close("}");
      }
    } else {
      writeIf(out, (If) s);
    }
  }

  /**
   * An if statement and its else-if chain, braces on every arm if one needs them (the kernel's
   * coding style, section 3): a block of more than one statement or with declarations, or a
   * nested if, which without braces could take the wrong else.
   */
  private static void writeIf(CText out, If first) {
    List<String> heads = new ArrayList<>();
    List<Statement> arms = new ArrayList<>();
    Statement rest = first;
    while (rest instanceof If i) {
      heads.add("if (" + i.condition() + ")");
      arms.add(i.then());
      rest = i.otherwise();
    }
    if (rest != null) {
      arms.add(rest);
    }
    boolean braces = arms.stream().anyMatch(CLeaf::needsBraces);
    for (int a = 0; a < arms.size(); a++) {
      String head = a < heads.size() ? heads.get(a) : null;
      String lead = a == 0 ? "" : braces ? "} else " : "else ";
      String text = head == null ? lead.stripTrailing() : lead + head;
      if (braces) {
        out.open(text + " {");
        writeArm(out, arms.get(a));
        out.out();
      } else {
        out.open(text);
        writeArm(out, arms.get(a));
        out.out();
      }
    }
    if (braces) {
      out.line("}");
    }
  }

  private static void writeArm(CText out, Statement arm) {
    if (arm instanceof Block b) {
      write(out, b);
    } else {
      write(out, arm);
    }
  }

  private static boolean needsBraces(Statement arm) {
    if (arm instanceof Block b) {
      if (!b.decls().isEmpty() || b.statements().size() != 1) {
        return true;
      }
      return needsBraces(b.statements().get(0));
    }
    return arm instanceof If;
  }
}
