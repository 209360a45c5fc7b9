package dev.ptwalk.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.Compiler;
import com.google.testing.compile.JavaFileObjects;
import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import javax.tools.Diagnostic;
import javax.tools.JavaFileObject;
import org.eclipse.jdt.internal.compiler.tool.EclipseCompiler;
import org.junit.jupiter.api.Test;

/**
 * Outside javac there are no {@code com.sun.source} trees: the processor still generates every
 * walker, and says once that the body checks were skipped.
 */
class EclipseCompilerTest {
  private static File jarOf(Class<?> c) throws URISyntaxException {
    return new File(c.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  private static Compiler ecj(String... options) throws URISyntaxException {
    return Compiler.compiler(new EclipseCompiler())
        .withProcessors(new PteCallbackProcessor())
        .withClasspath(List.of(jarOf(dev.ptwalk.annotations.PteCallback.class),
            jarOf(dev.ptwalk.runtime.Pte.class)))
        .withOptions(concat(List.of("--release", "17", "-warn:-unused"), options));
  }

  /**
   * ECJ turns each source's URI into a {@code File}, which compile-testing's in-memory sources
   * cannot be: write them to a temporary directory and hand ECJ the files.
   */
  private static JavaFileObject onDisk(String qualifiedName, String text) throws Exception {
    Path dir = Files.createTempDirectory("ptwalk-ecj");
    Path file = dir.resolve(qualifiedName.replace('.', '/') + ".java");
    Files.createDirectories(file.getParent());
    Files.writeString(file, text);
    return JavaFileObjects.forResource(file.toUri().toURL());
  }

  private static JavaFileObject sample() throws Exception {
    return onDisk("dev.ptwalk.samples.DirtyHelpers",
        Files.readString(Path.of("../samples/src/main/java/dev/ptwalk/samples/DirtyHelpers.java")));
  }

  private static List<String> concat(List<String> a, String[] b) {
    List<String> out = new java.util.ArrayList<>(a);
    out.addAll(List.of(b));
    return out;
  }

  private static List<String> ptwalkNotes(Compilation c) {
    return c.diagnostics().stream()
        .filter(d -> d.getMessage(null).contains("[ptwalk:"))
        .map(d -> d.getKind() + " " + d.getMessage(null))
        .collect(Collectors.toList());
  }

  @Test
  void generatesTheSampleWalkersAndNotesOnceThatBodyChecksWereSkipped() throws Exception {
    JavaFileObject sample = sample();
    // A walker that javac would reject (no flush): ECJ cannot check it, and says so.
    JavaFileObject handWritten = onDisk("test.Hand", String.join("\n",
        "package test;",
        "import dev.ptwalk.annotations.CheckedWalker;",
        "import dev.ptwalk.runtime.mm.Vma;",
        "import dev.ptwalk.runtime.notifier.*;",
        "import dev.ptwalk.runtime.pgtable.*;",
        "final class Hand {",
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, vma.mm(), a, a + 1);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      Pgtable.setPteAt(vma.mm(), a, pt, 0);",
        "    } finally {",
        "      MmuNotifiers.invalidateRangeEnd(r);",
        "    }",
        "  }",
        "}"));
    Compilation c = ecj().compile(sample, handWritten);
    assertThat(c).succeeded();
    String generated = c.generatedSourceFile("dev.ptwalk.samples.DirtyHelpersWalkers")
        .orElseThrow().getCharContent(true).toString();
    assertEquals(GenerationTest.golden(), generated, "the same bytes as under javac");
    // No trees to translate the callbacks from: no kernel C either, and one note says so.
    assertEquals(List.of("NOTE " + dev.ptwalk.processor.validation.Message.BODY_CHECKS_SKIPPED
        .format(), "NOTE " + dev.ptwalk.processor.validation.Message.C_NOT_EMITTED_NO_TREES
        .format()), ptwalkNotes(c));
    assertTrue(c.generatedFiles().stream().noneMatch(f -> f.getName().endsWith(".c")
        || f.getName().endsWith(".h")), "no C without trees");
  }

  @Test
  void requireBodyChecksMakesTheSkipAnError() throws Exception {
    Compilation c = ecj("-Aptwalk.requireBodyChecks=true").compile(sample());
    assertThat(c).failed();
    assertTrue(c.errors().stream().anyMatch(
        d -> d.getKind() == Diagnostic.Kind.ERROR
            && d.getMessage(null).contains("[ptwalk:body-checks-skipped]")), c.errors()::toString);
  }

  @Test
  void emitCFalseAsksForNoCAndNoNote() throws Exception {
    Compilation c = ecj("-Aptwalk.emitC=false").compile(sample());
    assertThat(c).succeeded();
    assertEquals(List.of("NOTE " + dev.ptwalk.processor.validation.Message.BODY_CHECKS_SKIPPED
        .format()), ptwalkNotes(c));
  }

  @Test
  void aSourceWithoutPtwalkAnnotationsGetsNoNote() throws Exception {
    Compilation c = ecj().compile(onDisk("test.Plain", "package test;\nfinal class Plain {}\n"));
    assertThat(c).succeeded();
    assertEquals(List.of(), ptwalkNotes(c));
  }
}
