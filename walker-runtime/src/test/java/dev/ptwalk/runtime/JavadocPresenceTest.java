package dev.ptwalk.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every public or protected declaration of the runtime, and every enum constant, carries a
 * javadoc comment (doclint checks that the comments are well-formed; this checks they exist).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class JavadocPresenceTest {
  private static final Pattern DECLARATION = Pattern.compile(
      "^\\s*(public |protected |default |record |[A-Z]\\w* [A-Z][A-Z0-9_]* = )");
  private static final Pattern ENUM_CONSTANT = Pattern.compile("^\\s*[A-Z][A-Z0-9_]*(\\(.*\\))?[,;]$");

  /** The undocumented declarations of one source text, as "line: text". */
  static List<String> undocumented(List<String> lines) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (!DECLARATION.matcher(line).find() && !ENUM_CONSTANT.matcher(line).matches()) {
        continue;
      }
      int j = i - 1;
      while (j >= 0 && lines.get(j).trim().startsWith("@")) {
        if (lines.get(j).trim().equals("@Override")) {
          j = -2; // inherits its documentation
          break;
        }
        j--;
      }
      if (j == -2) {
        continue;
      }
      if (j < 0 || !lines.get(j).trim().endsWith("*/")) {
        out.add((i + 1) + ": " + line.trim());
      }
    }
    return out;
  }

  @Test
  void everyPublicDeclarationHasJavadoc() throws IOException {
    List<String> missing = new ArrayList<>();
    int files = 0;
    try (Stream<Path> paths = Files.walk(Path.of("src/main/java"))) {
      for (Path p : paths.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
        files++;
        for (String m : undocumented(Files.readAllLines(p))) {
          missing.add(p + ":" + m);
        }
      }
    }
    assertTrue(files > 30, "scanned " + files + " files: wrong working directory?");
    assertEquals(List.of(), missing);
  }

  @Test
  void negativeControlTheScannerFindsWhatIsMissing() {
    List<String> src = List.of(
        "public final class X {",
        "  /** Documented. */",
        "  public static int a() { return 0; }",
        "  public static int b() { return 0; }",
        "  @Override",
        "  public String toString() { return \"\"; }",
        "  /** Doc. */",
        "  @Deprecated",
        "  public void c() {}",
        "  UNDOC,");
    assertEquals(List.of("1: public final class X {", "4: public static int b() { return 0; }",
        "10: UNDOC,"), undocumented(src));
  }
}
