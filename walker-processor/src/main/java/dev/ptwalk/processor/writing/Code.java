package dev.ptwalk.processor.writing;

import com.palantir.javapoet.CodeBlock;

/**
 * A {@link CodeBlock.Builder} that knows how deep it is nested, so that {@code //} comments can be
 * wrapped to end before column 100 of the generated file. Method bodies start at column 4.
 */
final class Code {
  private static final int WIDTH = 100;
  private static final int BODY_COLUMN = 4;

  private final CodeBlock.Builder b = CodeBlock.builder();
  private int depth;

  /** {@code format {}, opening a block. */
  Code begin(String format, Object... args) {
    b.beginControlFlow(format, args);
    depth++;
    return this;
  }

  /** {@code } format {}, as {@code } else {} or {@code } finally {}. */
  Code next(String format, Object... args) {
    b.nextControlFlow(format, args);
    return this;
  }

  /** Closes the innermost block. */
  Code end() {
    b.endControlFlow();
    depth--;
    return this;
  }

  /** One statement. */
  Code stmt(String format, Object... args) {
    b.addStatement(format, args);
    return this;
  }

  /** {@code if (condition) { statement; }}, both plain text naming no types. */
  Code guard(String condition, String statement) {
    b.beginControlFlow("if ($L)", condition).addStatement(statement).endControlFlow();
    return this;
  }

  /** {@code if (condition) { continue; }}, the condition a format with JavaPoet arguments. */
  Code continueIf(String condition, Object... args) {
    b.beginControlFlow("if (" + condition + ")", args).addStatement("continue").endControlFlow();
    return this;
  }

  /** A {@code //} comment wrapped so that no line passes column 100. */
  Code comment(String text) {
    int width = WIDTH - (BODY_COLUMN + 2 * depth) - 3;
    StringBuilder line = new StringBuilder();
    for (String word : text.split(" ")) {
      if (line.length() > 0 && line.length() + 1 + word.length() > width) {
        b.add("// $L\n", line.toString());
        line.setLength(0);
      }
      line.append(line.length() > 0 ? " " : "").append(word);
    }
    b.add("// $L\n", line.toString());
    return this;
  }

  /** The code written. */
  CodeBlock build() {
    if (depth != 0) {
      throw new IllegalStateException("unbalanced blocks: depth " + depth);
    }
    return b.build();
  }
}
