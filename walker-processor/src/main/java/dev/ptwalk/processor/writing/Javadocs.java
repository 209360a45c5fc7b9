package dev.ptwalk.processor.writing;

import java.util.ArrayList;
import java.util.List;

/**
 * Wraps javadoc text written one sentence or clause per line into lines that fit: each paragraph,
 * list item and block tag is re-flowed at word boundaries, continuation lines indented as the
 * generated files' style has them.
 */
final class Javadocs {
  private Javadocs() {}

  /**
   * {@code text} re-flowed so that no line is longer than {@code width}. A block starts at a blank
   * line, at {@code <p>}, at a list tag or item, and at a block tag ({@code @param}); the lines
   * that follow it, up to the next such line, are its continuation.
   */
  static String wrap(String text, int width) {
    List<String> blocks = new ArrayList<>();
    for (String line : text.split("\n", -1)) {
      if (blocks.isEmpty() || startsBlock(line) || blocks.get(blocks.size() - 1).isEmpty()) {
        blocks.add(line);
      } else {
        int last = blocks.size() - 1;
        blocks.set(last, blocks.get(last) + " " + line.strip());
      }
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < blocks.size(); i++) {
      String block = blocks.get(i);
      if (i == blocks.size() - 1 && block.isEmpty()) {
        break; // the text's own final newline
      }
      out.append(reflow(block, width, continuation(block))).append('\n');
    }
    return out.toString();
  }

  private static boolean startsBlock(String line) {
    String t = line.strip();
    return t.isEmpty() || t.startsWith("<p>") || t.startsWith("<li>") || t.startsWith("<ol>")
        || t.startsWith("</ol>") || t.startsWith("<ul>") || t.startsWith("</ul>")
        || t.startsWith("@");
  }

  private static String continuation(String block) {
    if (block.startsWith("  <li>")) {
      return "      ";
    }
    return block.startsWith("@") ? "    " : "";
  }

  /** The words of {@code text}; an inline tag such as {@code {@code a b}} is one word. */
  private static List<String> words(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder word = new StringBuilder();
    int depth = 0;
    for (int i = 0; i < text.length(); i++) {
      char ch = text.charAt(i);
      if (ch == ' ' && depth == 0) {
        if (word.length() > 0) {
          out.add(word.toString());
          word.setLength(0);
        }
        continue;
      }
      if (ch == '{' && i + 1 < text.length() && text.charAt(i + 1) == '@') {
        depth++;
      } else if (ch == '}' && depth > 0) {
        depth--;
      }
      word.append(ch);
    }
    if (word.length() > 0) {
      out.add(word.toString());
    }
    return out;
  }

  private static String reflow(String block, int width, String indent) {
    int lead = block.length() - block.stripLeading().length();
    StringBuilder out = new StringBuilder(block.substring(0, lead));
    int lineLength = lead;
    boolean first = true;
    for (String word : words(block.strip())) {
      if (!first && lineLength + 1 + word.length() > width) {
        out.append('\n').append(indent).append(word);
        lineLength = indent.length() + word.length();
      } else {
        if (!first) {
          out.append(' ');
          lineLength++;
        }
        out.append(word);
        lineLength += word.length();
      }
      first = false;
    }
    return out.toString();
  }
}
