package dev.ptwalk.processor;

import static com.google.testing.compile.Compiler.javac;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.JavaFileObjects;
import java.util.ArrayList;
import java.util.List;
import javax.tools.JavaFileObject;

/** Small helpers to write test sources and compile them with the processor. */
final class Sources {
  private Sources() {}

  /** The imports every test source starts with. */
  static final List<String> HEADER = List.of(
      "package test;",
      "",
      "import static dev.ptwalk.annotations.PteCallback.Kind.*;",
      "",
      "import dev.ptwalk.annotations.PteCallback;",
      "import dev.ptwalk.runtime.Pte;",
      "import dev.ptwalk.runtime.mm.Vma;",
      "");

  /** {@code test.<name>} with {@link #HEADER} and then {@code body}. */
  static JavaFileObject source(String name, String... body) {
    List<String> lines = new ArrayList<>(HEADER);
    lines.addAll(List.of(body));
    return JavaFileObjects.forSourceLines("test." + name, lines);
  }

  /** Compile with the processor, and with javac as strict as users' builds are. */
  static Compilation compile(JavaFileObject... sources) {
    return javac()
        .withProcessors(new PteCallbackProcessor())
        .withOptions("-Xlint:all", "-Xlint:-processing", "-Werror")
        .compile(sources);
  }
}
