package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Counters;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.cpu.Cpu;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.notifier.MmuNotifier;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import java.io.IOException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime's boundary: its module exports the API packages and not the internal one, a
 * module using it can reach the API and not the internals, and the internal mutators are not
 * public API on the class path either. (Here, in {@code tests}, the runtime is on the class path, as
 * users have it; the consumer module is compiled against it on the module path.)
 */
@Timeout(60)
class RuntimeModuleBoundaryTest {
  private static final Path CLASSES = Path.of("../walker-runtime/target/classes");

  @TempDir
  Path dir;

  @Test
  void theModuleExportsTheApiPackagesAndNotTheInternalOne() {
    ModuleDescriptor d = ModuleFinder.of(CLASSES).find("dev.ptwalk.runtime").orElseThrow()
        .descriptor();
    Set<String> exported = d.exports().stream().map(ModuleDescriptor.Exports::source)
        .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(new TreeSet<>(List.of("dev.ptwalk.runtime", "dev.ptwalk.runtime.check",
        "dev.ptwalk.runtime.cpu", "dev.ptwalk.runtime.debug", "dev.ptwalk.runtime.mm",
        "dev.ptwalk.runtime.notifier", "dev.ptwalk.runtime.pgtable", "dev.ptwalk.runtime.trace",
        "dev.ptwalk.runtime.walk")), exported);
    assertTrue(d.packages().contains("dev.ptwalk.runtime.internal"));
    assertTrue(d.exports().stream().noneMatch(e -> e.isQualified()), "no qualified exports");
  }

  /** Compile a module {@code consumer} whose one class has {@code body}, against the runtime. */
  private List<Diagnostic<? extends JavaFileObject>> compileConsumer(String imports, String body)
      throws IOException {
    Path src = Files.createDirectories(dir.resolve("src/consumer/p"));
    Files.writeString(dir.resolve("src/consumer/module-info.java"),
        "module consumer { requires dev.ptwalk.runtime; }\n", StandardCharsets.UTF_8);
    Path use = src.resolve("Use.java");
    Files.writeString(use, "package p;\n" + imports + "\npublic class Use {\n  public static Object"
        + " use() {\n    " + body + "\n  }\n}\n", StandardCharsets.UTF_8);
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null,
        StandardCharsets.UTF_8)) {
      List<String> options = new ArrayList<>(List.of("--module-path", CLASSES.toString(), "-d",
          dir.resolve("out").toString(), "--module-source-path", dir.resolve("src").toString(),
          "-proc:none"));
      javac.getTask(null, files, diagnostics, options, null, files.getJavaFileObjects(
          dir.resolve("src/consumer/module-info.java"), use)).call();
    }
    return diagnostics.getDiagnostics();
  }

  @Test
  void aModuleReachesTheApi() throws IOException {
    List<Diagnostic<? extends JavaFileObject>> d = compileConsumer(
        "import dev.ptwalk.runtime.Machine;",
        "return Machine.builder().build().newMm(\"A\").notifierSubscriptions();");
    assertEquals(List.of(), d.stream().filter(x -> x.getKind() == Diagnostic.Kind.ERROR)
        .map(x -> x.getMessage(null)).collect(Collectors.toList()));
  }

  @Test
  void aModuleCannotReachTheInternals() throws IOException {
    List<Diagnostic<? extends JavaFileObject>> d = compileConsumer(
        "import dev.ptwalk.runtime.internal.RuntimeInternals;",
        "return RuntimeInternals.counters();");
    List<String> errors = d.stream().filter(x -> x.getKind() == Diagnostic.Kind.ERROR)
        .map(Diagnostic::getCode).distinct().collect(Collectors.toList());
    assertEquals(List.of("compiler.err.package.not.visible"), errors, d::toString);
  }

  @Test
  void theInternalMutatorsAreNotPublic() throws Exception {
    for (Class<?> c : List.of(MmStruct.class, AddressSpace.class, Cpu.class, Counters.class)) {
      for (Constructor<?> k : c.getDeclaredConstructors()) {
        assertFalse(Modifier.isPublic(k.getModifiers()), k + " is public");
      }
    }
    for (Method m : Counters.class.getDeclaredMethods()) {
      if (m.getName().startsWith("count")) {
        assertFalse(Modifier.isPublic(m.getModifiers()), m + " is public");
      }
    }
    Machine machine = Machine.builder().build();
    MmStruct mm = machine.newMm("A");
    MmuNotifier n = new MmuNotifier() {};
    assertThrows(UnsupportedOperationException.class, () -> mm.notifierSubscriptions().add(n));
    MmuNotifiers.register(n, mm);
    assertEquals(List.of(n), mm.notifierSubscriptions(), "a view of the live list");
    MmuNotifiers.unregister(n, mm);
    assertEquals(List.of(), mm.notifierSubscriptions());
  }
}
