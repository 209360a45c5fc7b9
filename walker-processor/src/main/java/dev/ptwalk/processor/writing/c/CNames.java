package dev.ptwalk.processor.writing.c;

import java.util.Locale;
import java.util.Set;

/** C spellings of Java names. */
final class CNames {
  private CNames() {}

  /**
   * C keywords and the kernel's object-like macros a local might be named after; a Java local of
   * one of these names gets no C.
   */
  static final Set<String> RESERVED = Set.of("auto", "break", "case", "char", "const", "continue",
      "default", "do", "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline",
      "int", "long", "register", "restrict", "return", "short", "signed", "sizeof", "static",
      "struct", "switch", "typedef", "typeof", "union", "unsigned", "void", "volatile", "while",
      "asm", "bool", "true", "false", "current", "jiffies", "pte_t", "pgoff_t");

  /**
   * {@code camelCase} in {@code snake_case}: an underscore before an upper-case letter that
   * follows a lower-case letter or digit, or that starts a word after an acronym ({@code
   * DMABuf} is {@code dma_buf}); all in lower case. {@code DirtyHelpers} is {@code
   * dirty_helpers}, {@code applyAsWrprotect} is {@code apply_as_wrprotect}.
   */
  static String snake(String name) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == '$') {
        c = '_';
      }
      if (Character.isUpperCase(c) && i > 0 && sb.length() > 0
          && sb.charAt(sb.length() - 1) != '_') {
        char prev = name.charAt(i - 1);
        boolean afterLower = Character.isLowerCase(prev) || Character.isDigit(prev);
        boolean endsAcronym = Character.isUpperCase(prev) && i + 1 < name.length()
            && Character.isLowerCase(name.charAt(i + 1));
        if (afterLower || endsAcronym) {
          sb.append('_');
        }
      }
      sb.append(Character.toLowerCase(c));
    }
    return sb.toString();
  }

  /** Whether {@code name} is a plain C identifier: ASCII letters, digits and underscores. */
  static boolean isIdentifier(String name) {
    return !name.isEmpty() && !Character.isDigit(name.charAt(0))
        && name.chars().allMatch(c -> c < 128 && (Character.isLetterOrDigit(c) || c == '_'));
  }

  /** {@code _PTWALK_DIRTY_HELPERS_WALKERS_H} for {@code DirtyHelpersWalkers}. */
  static String guard(String generatedSimpleName) {
    return "_PTWALK_" + snake(generatedSimpleName).toUpperCase(Locale.ROOT) + "_H";
  }
}
