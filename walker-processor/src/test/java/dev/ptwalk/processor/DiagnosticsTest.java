package dev.ptwalk.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static dev.ptwalk.processor.Sources.compile;
import static dev.ptwalk.processor.Sources.source;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.testing.compile.Compilation;
import javax.tools.Diagnostic;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;

/**
 * Every diagnostic of the processor: its code, what it says, and the line it is on. Each source
 * otherwise compiles, so the error is the processor's alone.
 */
class DiagnosticsTest {
  private static void fails(JavaFileObject src, String line, String... fragments) {
    Compilation c = compile(src);
    assertThat(c).failed();
    for (String f : fragments) {
      assertThat(c).hadErrorContaining(f).inFile(src).onLineContaining(line);
    }
    assertThat(c).hadErrorCount(1);
  }

  @Test
  void notStatic() {
    fails(source("C", "class C {", "  @PteCallback(WRPROTECT) long wp(long pte) { return pte; }", "}"),
        "long wp(long pte)", "[ptwalk:callback-not-static]",
        "@PteCallback method wp() must be static", "Add 'static' to the method.");
  }

  @Test
  void privateCallback() {
    fails(source("C", "class C {",
            "  @PteCallback(WRPROTECT) private static long wp(long pte) { return pte; }",
            "  static long use() { return wp(0); }", "}"),
        "private static long wp", "[ptwalk:callback-private]",
        "must not be private: the generated class CWalkers calls it from outside C",
        "Make it package-private or public.");
  }

  @Test
  void wrongParameterCount() {
    fails(source("C", "class C {", "  @PteCallback(CLEAN) static long c() { return 0; }", "}"),
        "static long c()", "[ptwalk:callback-bad-parameters]", "@PteCallback method c() has the"
            + " wrong parameters. A PTE callback takes (long pte), (long pte, long addr) or"
            + " (long pte, long addr, dev.ptwalk.runtime.mm.Vma vma).");
    fails(source("C", "class C {",
            "  @PteCallback(CLEAN) static long c(long p, long a, Vma v, long x) { return p; }", "}"),
        "static long c(long p", "[ptwalk:callback-bad-parameters]",
        "c(long, long, dev.ptwalk.runtime.mm.Vma, long) has the wrong parameters");
  }

  @Test
  void wrongParameterTypes() {
    fails(source("C", "class C {", "  @PteCallback(CLEAN) static long c(int pte) { return pte; }", "}"),
        "static long c(int pte)", "[ptwalk:callback-bad-parameters]", "c(int) has the wrong");
    fails(source("C", "class C {",
            "  @PteCallback(CLEAN) static long c(long pte, long addr, String vma) { return pte; }",
            "}"),
        "static long c(long pte", "c(long, long, java.lang.String) has the wrong");
  }

  @Test
  void wrongReturnType() {
    fails(source("C", "class C {", "  @PteCallback(CLEAN) static void c(long pte) {}", "}"),
        "static void c", "[ptwalk:callback-bad-return]",
        "@PteCallback method c() returns void; it must return long, the new PTE value");
    fails(source("C", "class C {", "  @PteCallback(CLEAN) static int c(long pte) { return 0; }", "}"),
        "static int c", "returns int; it must return long");
  }

  @Test
  void inInterface() {
    fails(source("I", "interface I {",
            "  @PteCallback(WRPROTECT) static long wp(long pte) { return pte; }", "}"),
        "static long wp", "[ptwalk:callback-in-interface]",
        "@PteCallback method wp() is declared in interface test.I", "Callbacks live in a class:"
            + " move it to a top-level or static nested class.");
  }

  @Test
  void inLocalClass() {
    fails(source("C", "class C {", "  static void m() {", "    class Local {",
            "      @PteCallback(WRPROTECT) static long wp(long pte) { return pte; }", "    }",
            "  }", "}"),
        "static long wp", "[ptwalk:callback-in-local-class]",
        "@PteCallback method wp() is declared in local class Local, which generated code cannot"
            + " name.");
  }

  @Test
  void inAnonymousClass() {
    fails(source("C", "class C {", "  static Object o = new Object() {",
            "    @PteCallback(WRPROTECT) static long wp(long pte) { return pte; }", "  };", "}"),
        "static long wp", "[ptwalk:callback-in-anonymous-class]",
        "@PteCallback method wp() is declared in an anonymous class");
  }

  @Test
  void inAnonymousClassWithAQualifiedAnnotation() {
    fails(source("C", "class C {", "  static Object o = new Object() {",
            "    @dev.ptwalk.annotations.PteCallback(CLEAN) static long c(long pte) { return pte; }",
            "  };", "}"),
        "static long c", "[ptwalk:callback-in-anonymous-class]");
  }

  @Test
  void inInnerClass() {
    fails(source("C", "class C {", "  class Inner {",
            "    @PteCallback(WRPROTECT) static long wp(long pte) { return pte; }", "  }", "}"),
        "static long wp", "[ptwalk:callback-in-inner-class]",
        "declared in inner class test.C.Inner. Make the class static");
  }

  @Test
  void generic() {
    fails(source("C", "class C {",
            "  @PteCallback(WRPROTECT) static <T> long wp(long pte) { return pte; }", "}"),
        "static <T> long wp", "[ptwalk:callback-generic]",
        "@PteCallback method wp() declares type parameters <T>");
  }

  @Test
  void throwsChecked() {
    fails(source("C", "class C {",
            "  @PteCallback(WRPROTECT) static long wp(long pte) throws Exception { return pte; }",
            "}"),
        "throws Exception", "[ptwalk:callback-throws-checked]",
        "declares checked exception java.lang.Exception");
  }

  @Test
  void uncheckedThrowsAreFine() {
    assertThat(compile(source("C", "class C {",
        "  @PteCallback(WRPROTECT) static long wp(long pte) throws IllegalStateException {",
        "    return Pte.wrprotect(pte);", "  }", "}"))).succeededWithoutWarnings();
  }

  @Test
  void bitmapOnAKindWithoutOne() {
    fails(source("C", "class C {", "  @PteCallback(value = WRPROTECT,",
            "      bitmap = true)", "  static long wp(long pte) { return pte; }", "}"),
        "bitmap = true", "[ptwalk:bitmap-unsupported]",
        "@PteCallback(WRPROTECT) has no dirty bitmap: only CLEAN, SOFT_DIRTY, UFFD_WP and YOUNG"
            + " walkers record the pages they change. Remove 'bitmap = true', or use one of those"
            + " kinds.");
  }

  @Test
  void bitmapOnLazyfree() {
    fails(source("C", "class C {", "  @PteCallback(value = LAZYFREE,",
            "      bitmap = true)", "  static long f(long pte) { return Pte.mkclean(pte); }", "}"),
        "bitmap = true", "[ptwalk:bitmap-unsupported]",
        "@PteCallback(LAZYFREE) has no dirty bitmap");
  }

  @Test
  void scopeTheKindCannotWalk() {
    fails(source("C", "class C {", "  @PteCallback(value = WRPROTECT,",
            "      scope = PteCallback.Scope.MM)",
            "  static long wp(long pte) { return Pte.wrprotect(pte); }", "}"),
        "scope = PteCallback.Scope.MM", "[ptwalk:scope-unsupported]",
        "@PteCallback(WRPROTECT) cannot walk scope MM: a WRPROTECT walker mirrors"
            + " apply_as_wrprotect, which walks MAPPING. Use scope = MAPPING, or leave scope to its"
            + " DEFAULT (MAPPING).");
    fails(source("D", "class D {", "  @PteCallback(value = SOFT_DIRTY,",
            "      scope = PteCallback.Scope.MAPPING)",
            "  static long sd(long pte) { return Pte.clearSoftDirty(pte); }", "}"),
        "scope = PteCallback.Scope.MAPPING", "[ptwalk:scope-unsupported]",
        "@PteCallback(SOFT_DIRTY) cannot walk scope MAPPING: a SOFT_DIRTY walker mirrors"
            + " clear_refs_write, which walks MM. Use scope = MM, or leave scope to its DEFAULT"
            + " (MM).");
  }

  @Test
  void duplicateWalkerNames() {
    fails(source("C", "class C {",
            "  @PteCallback(value = CLEAN, name = \"sync\") static long a(long pte) { return pte; }",
            "  @PteCallback(value = WRPROTECT, name = \"sync\") static long b(long pte) {",
            "    return pte;", "  }", "}"),
        "static long b", "[ptwalk:duplicate-walker-name]",
        "@PteCallback method b() would generate walker CWalkers.sync(), which a() already"
            + " generates. Give one of them a different name");
  }

  @Test
  void derivedNameCollidingWithAnExplicitOne() {
    fails(source("C", "class C {",
            "  @PteCallback(value = CLEAN, name = \"applyAsWp\") static long c(long p) { return p; }",
            "  @PteCallback(WRPROTECT) static long wp(long p) { return p; }", "}"),
        "static long wp", "walker CWalkers.applyAsWp(), which c() already generates");
  }

  @Test
  void walkerNameNotAnIdentifier() {
    fails(source("C", "class C {",
            "  @PteCallback(value = CLEAN, name = \"apply-clean\") static long c(long p) {",
            "    return p;", "  }", "}"),
        "name = \"apply-clean\"", "[ptwalk:bad-walker-name]",
        "name = \"apply-clean\" is not a valid Java method name. Use an identifier such as"
            + " \"applyAsClean\", or leave name empty to get applyAsC.");
    fails(source("C", "class C {",
            "  @PteCallback(value = CLEAN, name = \"class\") static long c(long p) { return p; }",
            "}"),
        "name = \"class\"", "is not a valid Java method name (it is a Java keyword)");
  }

  @Test
  void enclosingClassNotAccessible() {
    fails(source("C", "class C {", "  private static class Hidden {",
            "    @PteCallback(WRPROTECT) static long wp(long pte) { return pte; }", "  }", "}"),
        "static long wp", "[ptwalk:class-not-accessible]",
        "@PteCallback method wp() is in test.C.Hidden, which is private, so the generated"
            + " C_HiddenWalkers in package test cannot call it. Make Hidden package-private or"
            + " public.");
    fails(source("C", "class C {", "  private static class Hidden {", "    static class Deeper {",
            "      @PteCallback(WRPROTECT) static long wp(long pte) { return pte; }", "    }",
            "  }", "}"),
        "static long wp", "is in test.C.Hidden, which is private");
  }

  @Test
  void severalMistakesAreAllReportedInOneBuild() {
    JavaFileObject src = source("C", "class C {",
        "  @PteCallback(WRPROTECT) long notStatic(long pte) { return pte; }",
        "  @PteCallback(value = WRPROTECT, bitmap = true) static long bitmap(long pte) {",
        "    return pte;", "  }",
        "  @PteCallback(CLEAN) static int badReturn(long pte) { return 0; }",
        "}");
    JavaFileObject other = source("D", "class D {",
        "  @PteCallback(CLEAN) private static long hidden(String pte) { return 0; }",
        "  static long use() { return hidden(null); }", "}");
    Compilation c = compile(src, other);
    assertThat(c).failed();
    assertThat(c).hadErrorContaining("[ptwalk:callback-not-static]").inFile(src)
        .onLineContaining("long notStatic");
    assertThat(c).hadErrorContaining("[ptwalk:bitmap-unsupported]").inFile(src)
        .onLineContaining("bitmap = true");
    assertThat(c).hadErrorContaining("[ptwalk:callback-bad-return]").inFile(src)
        .onLineContaining("static int badReturn");
    assertThat(c).hadErrorContaining("[ptwalk:callback-private]").inFile(other)
        .onLineContaining("private static long hidden");
    assertThat(c).hadErrorContaining("[ptwalk:callback-bad-parameters]").inFile(other)
        .onLineContaining("private static long hidden");
    assertThat(c).hadErrorCount(5);
  }

  @Test
  void missingRuntimeIsOneClearError() throws Exception {
    java.io.File annotations = new java.io.File(dev.ptwalk.annotations.PteCallback.class
        .getProtectionDomain().getCodeSource().getLocation().toURI());
    // Without the runtime the source itself does not compile (it imports Pte and Vma), so use one
    // that does not import them.
    JavaFileObject bare = com.google.testing.compile.JavaFileObjects.forSourceLines("test.C",
        "package test;", "import dev.ptwalk.annotations.PteCallback;",
        "import static dev.ptwalk.annotations.PteCallback.Kind.WRPROTECT;", "class C {",
        "  @PteCallback(WRPROTECT) static long wp(long pte) { return pte; }", "}");
    Compilation c = com.google.testing.compile.Compiler.javac()
        .withProcessors(new PteCallbackProcessor())
        .withClasspath(java.util.List.of(annotations))
        .compile(bare);
    assertThat(c).hadErrorContaining("[ptwalk:runtime-missing] the walkers generated for test.C"
        + " need walker-runtime on the compile classpath (dev.ptwalk.runtime.mm.AddressSpace is"
        + " missing). Add the dependency dev.ptwalk:walker-runtime.").inFile(bare)
        .onLineContaining("class C");
    assertThat(c).hadErrorCount(1);
    assertEquals(Diagnostic.Kind.ERROR, c.errors().get(0).getKind());
  }
}
