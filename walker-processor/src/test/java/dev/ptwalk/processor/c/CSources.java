package dev.ptwalk.processor.c;

import static com.google.testing.compile.Compiler.javac;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.JavaFileObjects;
import dev.ptwalk.processor.PteCallbackProcessor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.StandardLocation;
import javax.tools.ToolProvider;

/** Sources of the C tests, compiled with the processor, and the C files they generate. */
final class CSources {
  /** The reference C and the callback classes it was written from. */
  static final Path REFERENCE = Path.of("src/test/resources/c-reference");
  /** The samples module's sources. */
  static final Path SAMPLES = Path.of("../samples/src/main/java/dev/ptwalk/samples");

  private CSources() {}

  /** A class of the samples module, by its name under {@code dev.ptwalk.samples}. */
  static JavaFileObject sample(String name) {
    return JavaFileObjects.forSourceString("dev.ptwalk.samples." + name,
        read(SAMPLES.resolve(name.replace('.', '/') + ".java")));
  }

  /** A callback class of the reference, {@code dev.ptwalk.kinds.<name>}. */
  static JavaFileObject reference(String name) {
    return JavaFileObjects.forSourceString("dev.ptwalk.kinds." + name,
        read(REFERENCE.resolve(name + ".java")));
  }

  /** {@code test.<name>}: the usual imports, then {@code body}. */
  static JavaFileObject source(String name, String... body) {
    List<String> lines = new ArrayList<>(List.of(
        "package test;",
        "",
        "import static dev.ptwalk.annotations.PteCallback.Kind.*;",
        "",
        "import dev.ptwalk.annotations.PteCallback;",
        "import dev.ptwalk.runtime.Pte;",
        "import dev.ptwalk.runtime.mm.Vma;",
        ""));
    lines.addAll(List.of(body));
    return JavaFileObjects.forSourceLines("test." + name, lines);
  }

  /** Compile with the processor, as strict as users' builds are, with {@code options} added. */
  static Compilation compile(List<String> options, JavaFileObject... sources) {
    List<String> all = new ArrayList<>(List.of("-Xlint:all", "-Xlint:-processing", "-Werror"));
    all.addAll(options);
    return javac().withProcessors(new PteCallbackProcessor()).withOptions(all).compile(sources);
  }

  static Compilation compile(JavaFileObject... sources) {
    return compile(List.of(), sources);
  }

  /**
   * Compile with the processor, warnings allowed: callbacks outside the C language often draw
   * the callback check's warnings too ({@code -Xlint:none} would hide notes as well).
   */
  static Compilation compileLenient(JavaFileObject... sources) {
    return javac().withProcessors(new PteCallbackProcessor())
        .withOptions("-Xlint:all", "-Xlint:-processing").compile(sources);
  }

  /** The generated file {@code name} of package {@code pkg}, if any. */
  static Optional<String> generated(Compilation c, String pkg, String name) {
    return c.generatedFile(StandardLocation.SOURCE_OUTPUT, pkg, name).map(f -> {
      try {
        return f.getCharContent(true).toString();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  /**
   * Compile {@code sources} with the processor through the JDK's compiler API, the generated
   * files written under {@code sourceOutput} (whatever the outcome: compile-testing hides the
   * files of a compilation that failed, whose C is written all the same).
   *
   * @return the diagnostics
   */
  static List<Diagnostic<? extends JavaFileObject>> emitInto(Path sourceOutput,
      JavaFileObject... sources) {
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    try (StandardJavaFileManager files =
        javac.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8)) {
      Files.createDirectories(sourceOutput);
      files.setLocationFromPaths(StandardLocation.SOURCE_OUTPUT, List.of(sourceOutput));
      files.setLocationFromPaths(StandardLocation.CLASS_OUTPUT,
          List.of(Files.createTempDirectory("ptwalk-classes")));
      JavaCompiler.CompilationTask task = javac.getTask(null, files, diagnostics,
          List.of("-Xlint:-processing", "-proc:full", "-classpath",
              System.getProperty("java.class.path")), null, List.of(sources));
      task.setProcessors(List.of(new PteCallbackProcessor()));
      task.call();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return diagnostics.getDiagnostics();
  }

  /** The text of a source or generated file. */
  static String content(JavaFileObject f) {
    try {
      return f.getCharContent(true).toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The lines of a source file. */
  static List<String> lines(JavaFileObject f) {
    return content(f).lines().toList();
  }

  /** The width of {@code line} on screen, tabs to the next multiple of 8. */
  static int width(String line) {
    int col = 0;
    for (char ch : line.toCharArray()) {
      col = ch == '\t' ? (col / 8 + 1) * 8 : col + 1;
    }
    return col;
  }

  static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
