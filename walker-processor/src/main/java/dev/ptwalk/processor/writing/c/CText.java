package dev.ptwalk.processor.writing.c;

import java.util.ArrayList;
import java.util.List;

/**
 * The lines of one C file being written, with the current nesting depth: statements are laid out
 * by {@link CLayout}, kernel-doc comments by {@link Doc}.
 */
final class CText {
  private final StringBuilder out = new StringBuilder();
  private int depth;

  /** The statement or line {@code text}, indented to the current depth and wrapped if needed. */
  CText line(String text) {
    for (String l : CLayout.statement(depth, text)) {
      out.append(l).append('\n');
    }
    return this;
  }

  /** {@code text} exactly, with no indentation added: a line written already laid out. */
  CText raw(String text) {
    out.append(text).append('\n');
    return this;
  }

  /** An empty line. */
  CText blank() {
    out.append('\n');
    return this;
  }

  /** {@code text}, then one level deeper. */
  CText open(String text) {
    line(text);
    depth++;
    return this;
  }

  /** {@code head}, then {@code body} one level deeper: an if or else without braces. */
  CText when(String head, String body) {
    line(head);
    depth++;
    line(body);
    depth--;
    return this;
  }

  /** One level shallower, then {@code text}. */
  CText close(String text) {
    depth--;
    return line(text);
  }

  /** One level deeper. */
  CText in() {
    depth++;
    return this;
  }

  /** One level shallower. */
  CText out() {
    depth--;
    return this;
  }

  /** A function head or prototype, laid out by {@link CLayout#signature}. */
  CText signature(String type, String name, List<String> params, String end) {
    CLayout.signature(type, name, params, end).forEach(this::raw);
    return this;
  }

  /**
   * {@code decl = { .field = value };}, or the initializer on lines of its own when that does not
   * fit.
   */
  CText initialized(String decl, String field, String value) {
    String one = decl + " = { ." + field + " = " + value + " };";
    if (CLayout.width("\t".repeat(depth) + one) <= CLayout.WIDTH) {
      return line(one);
    }
    return open(decl + " = {").line("." + field + " = " + value + ",").close("};");
  }

  /** A comment block. */
  CText doc(Doc doc) {
    doc.lines().forEach(this::raw);
    return this;
  }

  @Override
  public String toString() {
    return out.toString();
  }

  /**
   * A kernel-doc comment ({@code Documentation/doc-guide/kernel-doc.rst}): the name line, the
   * parameters, paragraphs, and the {@code Return:} section, each filled to 80 columns. The
   * continuation of the name line or of a parameter starts with {@code " *"} and a tab, any other
   * with {@code " * "}.
   */
  static final class Doc {
    private final String head;
    private final List<String[]> params = new ArrayList<>();
    private final List<String> paragraphs = new ArrayList<>();
    private String returns;
    private final boolean kernelDoc;

    private Doc(String head, boolean kernelDoc) {
      this.head = head;
      this.kernelDoc = kernelDoc;
    }

    /** {@code name - summary}, for a function. */
    static Doc function(String name, String summary) {
      return new Doc(name + " - " + summary, true);
    }

    /** {@code struct name - summary}. */
    static Doc struct(String name, String summary) {
      return new Doc("struct " + name + " - " + summary, true);
    }

    /** A plain block comment, not kernel-doc: its first paragraph is {@code first}. */
    static Doc plain(String first) {
      return new Doc(first, false);
    }

    /** {@code @name: text}. */
    Doc param(String name, String text) {
      params.add(new String[] {name, text});
      return this;
    }

    /** A paragraph after the parameters. */
    Doc para(String text) {
      paragraphs.add(text);
      return this;
    }

    /** The {@code Return:} section. */
    Doc returns(String text) {
      this.returns = text;
      return this;
    }

    List<String> lines() {
      List<String> out = new ArrayList<>();
      out.add(kernelDoc ? "/**" : "/*");
      out.addAll(CLayout.fill(" * ", kernelDoc ? " *\t" : " * ", head));
      for (String[] p : params) {
        out.addAll(CLayout.fill(" * @" + p[0] + ": ", " *\t", p[1]));
      }
      for (String p : paragraphs) {
        out.add(" *");
        out.addAll(CLayout.fill(" * ", " * ", p));
      }
      if (returns != null) {
        out.add(" *");
        out.addAll(CLayout.fill(" * Return: ", " * ", returns));
      }
      out.add(" */");
      return out;
    }
  }
}
