package dev.ptwalk.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static dev.ptwalk.processor.Sources.compile;
import static dev.ptwalk.processor.Sources.source;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.Compiler;
import com.google.testing.compile.JavaFileObjects;
import dev.ptwalk.processor.model.CallbackShape;
import dev.ptwalk.processor.model.CallbackSpec;
import dev.ptwalk.processor.model.Scope;
import dev.ptwalk.processor.model.WalkerKind;
import dev.ptwalk.processor.model.WalkersSpec;
import dev.ptwalk.processor.writing.WalkersWriter;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.Processor;
import javax.annotation.processing.RoundEnvironment;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.Element;
import javax.lang.model.element.TypeElement;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GenerationTest {
  /** The DirtyHelpers sample, read from the samples module so the golden tracks the real one. */
  private static final Path SAMPLE =
      Path.of("../samples/src/main/java/dev/ptwalk/samples/DirtyHelpers.java");
  private static final String GOLDEN = "/goldens/dev/ptwalk/samples/DirtyHelpersWalkers.java";

  static String golden() throws IOException {
    try (InputStream in = GenerationTest.class.getResourceAsStream(GOLDEN)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static String generated(Compilation c, String qualifiedName) throws IOException {
    return c.generatedSourceFile(qualifiedName).orElseThrow()
        .getCharContent(true).toString();
  }

  private static JavaFileObject sample() throws IOException {
    return sample("DirtyHelpers");
  }

  /** A class of the samples module, by its name under {@code dev.ptwalk.samples}. */
  private static JavaFileObject sample(String name) throws IOException {
    return JavaFileObjects.forSourceString("dev.ptwalk.samples." + name,
        Files.readString(Path.of("../samples/src/main/java/dev/ptwalk/samples/"
            + name.replace('.', '/') + ".java")));
  }

  /**
   * One golden file per sample class: the kernel's dirty helpers, and one class per new kind
   * (with YOUNG in both scopes). Each generated file must equal its golden byte for byte.
   */
  @ParameterizedTest
  @ValueSource(strings = {"DirtyHelpers", "kinds.SoftDirty", "kinds.UffdWp", "kinds.Young",
      "kinds.LazyFree"})
  void everySampleMatchesItsGoldenFileExactly(String name) throws IOException {
    Compilation c = compile(sample(name));
    assertThat(c).succeededWithoutWarnings();
    String actual = generated(c, "dev.ptwalk.samples." + name + "Walkers");
    Path source = Path.of("src/test/resources/goldens/dev/ptwalk/samples/"
        + name.replace('.', '/') + "Walkers.java");
    if (Boolean.getBoolean("ptwalk.updateGoldens")) {
      Files.createDirectories(source.getParent());
      Files.writeString(source, actual);
    }
    assertEquals(Files.readString(source), actual, "generated source differs from the golden"
        + " file; if the change is intended, run: mvn -pl walker-processor -am test"
        + " -Dtest=GenerationTest -Dsurefire.failIfNoSpecifiedTests=false"
        + " -Dptwalk.updateGoldens=true, and review the diff");
    for (String line : actual.split("\n")) {
      assertTrue(line.length() <= 100, line.length() + " columns: " + line);
    }
  }

  @Test
  void outputIsByteIdenticalAcrossCompilations() throws IOException {
    String first = generated(compile(sample()), "dev.ptwalk.samples.DirtyHelpersWalkers");
    String second = generated(compile(sample()), "dev.ptwalk.samples.DirtyHelpersWalkers");
    assertEquals(first, second);
    assertTrue(first.contains("@Generated(\"dev.ptwalk.processor.PteCallbackProcessor\")\n"),
        "@Generated carries the processor only, no date attribute");
    assertTrue(!first.matches("(?s).*\\b(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}.*"), "no ISO date");
  }

  @Test
  void generatedLinesFitInOneHundredColumns() throws IOException {
    for (String line : golden().split("\n")) {
      assertTrue(line.length() <= 100, line.length() + " columns: " + line);
    }
  }

  @Test
  void derivedNamesNestedClassesAndEveryCallbackShape() throws IOException {
    JavaFileObject src = source("Outer", "class Outer {", "  static final class Leaves {",
        "    @PteCallback(WRPROTECT) static long wrprotect(long pte) { return Pte.wrprotect(pte); }",
        "    @PteCallback(CLEAN) static long cleanAt(long pte, long addr) {",
        "      return addr == 0 ? pte : Pte.mkclean(pte);", "    }",
        "    @PteCallback(value = CLEAN, bitmap = true) public static long cleanIn(long pte,",
        "        long addr, Vma vma) {", "      return vma.contains(addr) ? Pte.mkclean(pte) : pte;",
        "    }", "  }", "}");
    Compilation c = compile(src);
    assertThat(c).succeededWithoutWarnings();
    String out = generated(c, "test.Outer_LeavesWalkers");
    assertTrue(out.contains("public final class Outer_LeavesWalkers {"), out);
    assertTrue(out.contains("public static long applyAsWrprotect(AddressSpace mapping, long"
        + " firstIndex, long nr) {"), out);
    assertTrue(out.contains("public static long applyAsCleanAt(AddressSpace mapping, long"
        + " firstIndex, long nr) {"), out);
    assertTrue(out.contains("public static long applyAsCleanIn(AddressSpace mapping, long"
        + " firstIndex, long nr,"), out);
    assertTrue(out.contains("while (Outer.Leaves.cleanAt(ptent, pt.address(slot)) == ptent"
        + " && ++slot < run) {"), out);
    assertTrue(out.contains("newPte = Outer.Leaves.cleanIn(oldPte, addr, vma);"), out);
    assertTrue(out.contains("{@link Outer.Leaves#cleanIn(long, long, Vma)}"), out);
    assertEquals(3, out.split("MmuNotifiers.invalidateRangeStart\\(range\\);").length - 1);
  }

  @Test
  void classesWithoutErrorsStillGenerateWhenAnotherHasErrors() throws IOException {
    Compilation c = compile(
        source("Good", "class Good {", "  @PteCallback(WRPROTECT) static long wp(long p) {",
            "    return Pte.wrprotect(p);", "  }", "}"),
        source("Bad", "class Bad {", "  @PteCallback(WRPROTECT) long wp(long p) { return p; }",
            "}"));
    assertThat(c).hadErrorContaining("[ptwalk:callback-not-static]");
    assertThat(c).hadErrorCount(1);
  }

  @Test
  void anExistingTypeOfTheGeneratedNameIsAClearError() {
    JavaFileObject src = source("C", "class C {",
        "  @PteCallback(WRPROTECT) static long wp(long p) { return p; }", "}");
    JavaFileObject clash = JavaFileObjects.forSourceLines("test.CWalkers", "package test;",
        "class CWalkers {}");
    Compilation c = compile(src, clash);
    assertThat(c).hadErrorContaining("[ptwalk:generated-class-exists] could not write"
        + " test.CWalkers").inFile(src).onLineContaining("class C {");
  }

  @Test
  void neverClaimsTheAnnotation() {
    List<String> seen = new ArrayList<>();
    Processor after = new AbstractProcessor() {
      @Override
      public Set<String> getSupportedAnnotationTypes() {
        return Set.of("dev.ptwalk.annotations.PteCallback");
      }

      @Override
      public SourceVersion getSupportedSourceVersion() {
        return SourceVersion.latestSupported();
      }

      @Override
      public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
        annotations.forEach(a -> seen.add(a.getQualifiedName().toString()));
        return false;
      }
    };
    Compilation c = Compiler.javac().withProcessors(new PteCallbackProcessor(), after)
        .compile(source("C", "class C {",
            "  @PteCallback(WRPROTECT) static long wp(long p) { return p; }", "}"));
    assertThat(c).succeeded();
    assertEquals(List.of("dev.ptwalk.annotations.PteCallback"), seen);
  }

  @Test
  void eachFileHasExactlyOneOriginatingElement() {
    Element owner = (Element) Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {TypeElement.class}, (proxy, method, args) -> {
          if (method.getName().equals("hashCode")) {
            return 7;
          }
          if (method.getName().equals("equals")) {
            return proxy == args[0];
          }
          return null;
        });
    WalkersSpec spec = new WalkersSpec("p", List.of("C"), List.of(
        new CallbackSpec("wp", CallbackShape.PTE, WalkerKind.WRPROTECT, Scope.MAPPING,
            false, "applyAsWp")));
    assertEquals(List.of(owner),
        new WalkersWriter().write(spec, owner).typeSpec().originatingElements());
  }

  @Test
  void isRegisteredAsAServiceAndAsAnIsolatingGradleProcessor() throws IOException {
    boolean found = false;
    for (Processor p : ServiceLoader.load(Processor.class, getClass().getClassLoader())) {
      found |= p instanceof PteCallbackProcessor;
    }
    assertTrue(found, "META-INF/services/javax.annotation.processing.Processor lists it");
    try (InputStream in = getClass().getResourceAsStream(
        "/META-INF/gradle/incremental.annotation.processors")) {
      assertEquals("dev.ptwalk.processor.PteCallbackProcessor,isolating",
          new String(in.readAllBytes(), StandardCharsets.UTF_8).trim());
    }
    assertEquals(SourceVersion.latestSupported(),
        new PteCallbackProcessor().getSupportedSourceVersion());
  }
}
