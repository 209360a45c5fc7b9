package dev.ptwalk.processor.c;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static dev.ptwalk.processor.c.CSources.compile;
import static dev.ptwalk.processor.c.CSources.generated;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.testing.compile.Compilation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import javax.tools.Diagnostic;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kernel C the processor writes beside the Java: for the callback classes of {@code
 * c-reference/} and the samples' {@code DirtyHelpers}, exactly the hand-written reference, byte
 * for byte; for the samples' other classes, their golden files; the same bytes on every
 * compilation; 80 columns; and nothing under {@code -Aptwalk.emitC=false}.
 */
@Timeout(120)
class CGenerationTest {
  private static final Path GOLDENS = Path.of("src/test/resources/goldens/dev/ptwalk/samples");

  /** The reference C, by file name, of the class {@code source} (package {@code pkg}). */
  private static void assertReference(Compilation c, String pkg, String cls) {
    assertThat(c).succeededWithoutWarnings();
    for (String ext : List.of(".c", ".h")) {
      String name = cls + "Walkers" + ext;
      String expected = CSources.read(CSources.REFERENCE.resolve(name));
      assertEquals(expected, generated(c, pkg, name).orElseThrow(() -> new AssertionError(
          "no " + name + " generated")), name + " differs from the reference in c-reference/");
    }
    assertEquals(List.of(), cNotes(c), "every callback of the reference translates");
  }

  @ParameterizedTest
  @ValueSource(strings = {"SoftDirtyLeaves", "UffdWpLeaves", "YoungLeaves", "LazyfreeLeaves"})
  void eachReferenceClassGeneratesItsReferenceCExactly(String cls) {
    assertReference(compile(CSources.reference(cls)), "dev.ptwalk.kinds", cls);
  }

  @Test
  void theDirtyHelpersSampleGeneratesTheReferenceCExactly() {
    assertReference(compile(CSources.sample("DirtyHelpers")), "dev.ptwalk.samples",
        "DirtyHelpers");
  }

  /**
   * The samples' other classes: SOFT_DIRTY, UFFD_WP and YOUNG (both scopes) with a bitmap, and
   * LAZYFREE. {@code -Dptwalk.updateGoldens=true} rewrites the golden files; review the diff.
   */
  @ParameterizedTest
  @ValueSource(strings = {"SoftDirty", "UffdWp", "Young", "LazyFree"})
  void eachSampleKindMatchesItsGoldenC(String cls) throws IOException {
    Compilation c = compile(CSources.sample("kinds." + cls));
    assertThat(c).succeededWithoutWarnings();
    assertEquals(List.of(), cNotes(c));
    for (String ext : List.of(".c", ".h")) {
      String name = cls + "Walkers" + ext;
      String actual = generated(c, "dev.ptwalk.samples.kinds", name).orElseThrow();
      Path golden = GOLDENS.resolve("kinds").resolve(name);
      if (Boolean.getBoolean("ptwalk.updateGoldens")) {
        Files.writeString(golden, actual);
      }
      assertEquals(Files.readString(golden), actual, name + " differs from its golden file; if"
          + " the change is intended, run: mvn -pl walker-processor -am test"
          + " -Dtest=CGenerationTest -Dsurefire.failIfNoSpecifiedTests=false"
          + " -Dptwalk.updateGoldens=true, review the diff, and run KernelCompileTest");
      assertKernelStyle(name, actual);
    }
  }

  @Test
  void theSameBytesOnEveryCompilation() {
    for (String cls : List.of("DirtyHelpers", "kinds.Young")) {
      String pkg = cls.contains(".") ? "dev.ptwalk.samples.kinds" : "dev.ptwalk.samples";
      String simple = cls.substring(cls.lastIndexOf('.') + 1);
      for (String ext : List.of(".c", ".h")) {
        String first = generated(compile(CSources.sample(cls)), pkg, simple + "Walkers" + ext)
            .orElseThrow();
        String second = generated(compile(CSources.sample(cls)), pkg, simple + "Walkers" + ext)
            .orElseThrow();
        assertEquals(first, second, simple + ext);
        assertFalse(first.matches("(?s).*\\b(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}.*"), "no date");
      }
    }
  }

  @Test
  void everyLineIsKernelStyle() {
    for (String cls : List.of("SoftDirtyLeaves", "UffdWpLeaves", "YoungLeaves",
        "LazyfreeLeaves")) {
      Compilation c = compile(CSources.reference(cls));
      for (String ext : List.of(".c", ".h")) {
        assertKernelStyle(cls + ext,
            generated(c, "dev.ptwalk.kinds", cls + "Walkers" + ext).orElseThrow());
      }
    }
  }

  /** 80 columns with tabs of 8, no trailing white space, indentation by tabs. */
  static void assertKernelStyle(String name, String text) {
    assertTrue(text.endsWith("\n") && !text.endsWith("\n\n"), name + ": one final newline");
    int n = 0;
    for (String line : text.split("\n", -1)) {
      n++;
      int col = 0;
      for (char ch : line.toCharArray()) {
        col = ch == '\t' ? (col / 8 + 1) * 8 : col + 1;
      }
      assertTrue(col <= 80, name + ":" + n + " is " + col + " columns: " + line);
      assertFalse(line.endsWith(" ") || line.endsWith("\t"), name + ":" + n + " trailing space");
      assertFalse(line.startsWith("        "), name + ":" + n + " indented with spaces");
    }
  }

  @Test
  void emitCFalseWritesNoCAndNoNote() {
    JavaFileObject src = CSources.source("Leaves", "final class Leaves {",
        "  @PteCallback(WRPROTECT) static long wp(long pte) { return Pte.wrprotect(pte); }",
        "  @PteCallback(CLEAN) static long loop(long pte) {",
        "    for (long i = 0; i < 1; i++) { pte = Pte.mkclean(pte); }",
        "    return pte;",
        "  }",
        "}");
    Compilation off = compile(List.of("-Aptwalk.emitC=false"), src);
    assertThat(off).succeeded();
    assertTrue(off.generatedSourceFile("test.LeavesWalkers").isPresent(), "the Java, as always");
    assertFalse(generated(off, "test", "LeavesWalkers.c").isPresent());
    assertFalse(generated(off, "test", "LeavesWalkers.h").isPresent());
    assertEquals(List.of(), cNotes(off));

    Compilation on = compile(src);
    assertTrue(generated(on, "test", "LeavesWalkers.c").isPresent(), "by default, C is written");
    assertEquals(1, cNotes(on).size(), cNotes(on)::toString);
  }

  @Test
  void theEmitCOptionIsDeclared() {
    assertTrue(new dev.ptwalk.processor.PteCallbackProcessor().getSupportedOptions()
        .contains("ptwalk.emitC"));
  }

  /** The {@code [ptwalk:c-not-emitted]} notes of {@code c}, with their lines. */
  static List<String> cNotes(Compilation c) {
    return c.diagnostics().stream()
        .filter(d -> d.getMessage(null).contains("[ptwalk:c-not-emitted]"))
        .map(d -> d.getKind() + " " + d.getLineNumber() + " " + d.getMessage(null))
        .collect(Collectors.toList());
  }

  /** The notes of {@code c} by kind, to assert nothing but notes is said. */
  static Map<Diagnostic.Kind, Long> kinds(Compilation c) {
    return c.diagnostics().stream()
        .collect(Collectors.groupingBy(Diagnostic::getKind, Collectors.counting()));
  }
}
