package dev.ptwalk.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static dev.ptwalk.processor.Sources.compile;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.Compiler;
import com.google.testing.compile.JavaFileObjects;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.RoundEnvironment;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.TypeElement;
import javax.tools.Diagnostic;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The twelve points of issue 10, each shown twice: the bad case rejected on its line (marked
 * {@code // <-}), the correct variant accepted. Each bad case compiled silently (or a correct one
 * was rejected) before the body check was rebuilt on facts about program elements.
 */
@Timeout(120)
class CheckPointsTest {
  private static final List<String> HEADER = List.of(
      "package test;",
      "",
      "import dev.ptwalk.annotations.CheckedWalker;",
      "import dev.ptwalk.annotations.InBracket;",
      "import dev.ptwalk.runtime.Pte;",
      "import dev.ptwalk.runtime.cpu.TlbFlush;",
      "import dev.ptwalk.runtime.mm.MmStruct;",
      "import dev.ptwalk.runtime.mm.Vma;",
      "import dev.ptwalk.runtime.notifier.MmuNotifierEvent;",
      "import dev.ptwalk.runtime.notifier.MmuNotifierRange;",
      "import dev.ptwalk.runtime.notifier.MmuNotifiers;",
      "import dev.ptwalk.runtime.pgtable.Pgtable;",
      "import dev.ptwalk.runtime.pgtable.PteTable;",
      "import dev.ptwalk.runtime.walk.PteTableCursor;",
      "import java.util.List;",
      "",
      "final class W {",
      "  static MmuNotifierRange range(Vma v, long s, long e) {",
      "    return new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, v.mm(), s, e);",
      "  }",
      "",
      "  @InBracket",
      "  static void wp(Vma vma, PteTable pt, long addr) {",
      "    pt.ptl().lock();",
      "    try {",
      "      long old = Pgtable.ptepModifyProtStart(vma, addr, pt);",
      "      Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.wrprotect(old));",
      "    } finally {",
      "      pt.ptl().unlock();",
      "    }",
      "  }",
      "");

  static JavaFileObject walker(String... body) {
    List<String> lines = new ArrayList<>(HEADER);
    lines.addAll(List.of(body));
    lines.add("}");
    return JavaFileObjects.forSourceLines("test.W", lines);
  }

  static void rejects(JavaFileObject src, String code, String... fragments) {
    rejectsAt(src, "// <-", code, fragments);
  }

  static void rejectsAt(JavaFileObject src, String marker, String code, String... fragments) {
    Compilation c = compile(src);
    assertThat(c).failed();
    assertThat(c).hadErrorContaining("[ptwalk:" + code + "]").inFile(src).onLineContaining(marker);
    for (String f : fragments) {
      assertThat(c).hadErrorContaining(f).inFile(src).onLineContaining(marker);
    }
  }

  static void accepts(JavaFileObject src) {
    assertThat(compile(src)).succeededWithoutWarnings();
  }

  /** A bracket around {@code body} lines, flushed in the kernel's shape. */
  static List<String> bracketed(String... body) {
    List<String> out = new ArrayList<>(List.of(
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {"));
    for (String b : body) {
      out.add("      " + b);
    }
    out.addAll(List.of(
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }"));
    return out;
  }

  static String[] lines(List<String> head, List<String> middle, String... tail) {
    List<String> all = new ArrayList<>(head);
    all.addAll(middle);
    all.addAll(List.of(tail));
    return all.toArray(new String[0]);
  }

  @Nested
  class P1EnhancedFor {
    @Test
    void aChangeAfterAnEnhancedForOverAnArrayIsRejected() {
      rejects(walker(
          "  @CheckedWalker static void walk(Vma vma, PteTable pt, long[] xs) {",
          "    for (long x : xs) {",
          "      pt.hashCode();",
          "    }",
          "    Pgtable.setPteAt(vma.mm(), xs[0], pt, 0); // <-",
          "  }"),
          "change-outside-bracket");
    }

    @Test
    void aChangeAfterAnEmptyEnhancedForOverAListIsRejected() {
      rejects(walker(
          "  @CheckedWalker static void walk(List<Vma> vmas, PteTable pt, long a) {",
          "    for (Vma v : vmas) {}",
          "    Pgtable.setPteAt(vmas.get(0).mm(), a, pt, 0); // <-",
          "  }"),
          "change-outside-bracket");
    }

    @Test
    void clearRefsClearingVmaFlagsInALoopBeforeItsBracketIsAccepted() {
      accepts(walker(lines(List.of(
          "  @CheckedWalker static void walk(List<Vma> vmas, Vma vma, PteTable pt, long a) {",
          "    for (Vma v : vmas) {",
          "      v.flags();",
          "    }"),
          bracketed("wp(vma, pt, a);"),
          "  }")));
    }
  }

  @Nested
  class P2LocalAnonymousAndEnumConstantBodies {
    @Test
    void aCheckedWalkerInALocalClassIsChecked() {
      rejects(walker(
          "  static void outer(Vma vma, PteTable pt) {",
          "    class Local {",
          "      @CheckedWalker void walk() {",
          "        Pgtable.setPteAt(vma.mm(), 0, pt, 0); // <-",
          "      }",
          "    }",
          "    new Local().walk();",
          "  }"),
          "change-outside-bracket");
    }

    @Test
    void aCheckedWalkerInAnAnonymousClassIsChecked() {
      rejects(walker(
          "  interface Walk { void walk(Vma vma, PteTable pt); }",
          "  static final Walk WALK = new Walk() {",
          "    @CheckedWalker @Override public void walk(Vma vma, PteTable pt) {",
          "      Pgtable.setPteAt(vma.mm(), 0, pt, 0); // <-",
          "    }",
          "  };"),
          "change-outside-bracket");
    }

    @Test
    void aCheckedWalkerInAnEnumConstantBodyIsChecked() {
      rejects(walker(
          "  enum Mode {",
          "    WP {",
          "      @CheckedWalker @Override void walk(Vma vma, PteTable pt, long a) {",
          "        MmuNotifierRange r = range(vma, a, a + 4096);",
          "        MmuNotifiers.invalidateRangeStart(r); // <-",
          "        wp(vma, pt, a);",
          "      }",
          "    };",
          "    abstract void walk(Vma vma, PteTable pt, long a);",
          "  }"),
          "missing-end");
    }

    @Test
    void correctWalkersInThemAreAccepted() {
      List<String> body = bracketed("wp(vma, pt, a);");
      List<String> src = new ArrayList<>(List.of(
          "  enum Mode {",
          "    WP {",
          "      @CheckedWalker @Override void walk(Vma vma, PteTable pt, long a) {"));
      src.addAll(body);
      src.addAll(List.of("      }", "    };", "    abstract void walk(Vma vma, PteTable pt, long a);",
          "  }", "  static void outer(Vma vma, PteTable pt, long a) {", "    class Local {",
          "      @CheckedWalker void walk() {"));
      src.addAll(body);
      src.addAll(List.of("      }", "    }", "    new Local().walk();", "  }"));
      accepts(walker(src.toArray(new String[0])));
    }
  }

  @Nested
  class P3PendingPerMm {
    @Test
    void anIncOfOneMmIsNotBalancedByADecOfAnother() {
      JavaFileObject src = walker(
          "  @CheckedWalker static void walk(MmStruct a, MmStruct b) {",
          "    a.incTlbFlushPending(); // <- inc",
          "    try {",
          "      a.hashCode();",
          "    } finally {",
          "      b.decTlbFlushPending(); // <- dec",
          "    }",
          "  }");
      rejectsAt(src, "// <- inc", "unbalanced-flush-pending",
          "incTlbFlushPending here is not matched by a decTlbFlushPending");
      rejectsAt(src, "// <- dec", "unbalanced-flush-pending",
          "decTlbFlushPending here is not matched by an earlier incTlbFlushPending");
    }

    @Test
    void anIncAndADecOfTheSameMmAreBalanced() {
      accepts(walker(
          "  @CheckedWalker static void walk(MmStruct a, MmStruct b) {",
          "    a.incTlbFlushPending();",
          "    try {",
          "      b.incTlbFlushPending();",
          "      b.decTlbFlushPending();",
          "    } finally {",
          "      a.decTlbFlushPending();",
          "    }",
          "  }"));
    }
  }

  @Nested
  class P4BracketsMatchObjectsNotNames {
    @Test
    void reassigningTheRangeVariableBeforeTheEndIsRejected() {
      JavaFileObject src = walker(
          "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
          "    MmuNotifierRange r1 = range(vma, a, a + 4096);",
          "    MmuNotifierRange r2 = range(vma, a, a + 8192);",
          "    MmuNotifiers.invalidateRangeStart(r1); // <- start",
          "    try {",
          "      wp(vma, pt, a);",
          "      TlbFlush.flushTlbRange(vma, a, a + 4096);",
          "    } finally {",
          "      r1 = r2;",
          "      MmuNotifiers.invalidateRangeEnd(r1); // <- end",
          "    }",
          "  }");
      rejectsAt(src, "// <- start", "missing-end",
          "no invalidateRangeEnd(r1) follows this invalidateRangeStart on any path");
      rejectsAt(src, "// <- end", "end-without-start",
          "invalidateRangeEnd(r1) has no matching invalidateRangeStart(r1)");
    }

    @Test
    void aRangeReinitialisedInTheChunkLoopIsRejected() {
      JavaFileObject src = walker(
          "  @CheckedWalker static void walk(MmStruct mm, Vma vma, PteTable pt, long s, long e) {",
          "    MmuNotifierRange range =",
          "        new MmuNotifierRange(MmuNotifierEvent.PROTECTION_VMA, 0, mm, s, e);",
          "    MmuNotifiers.invalidateRangeStart(range); // <- start",
          "    try {",
          "      for (long a = s; a < e; a += 4096) {",
          "        range = new MmuNotifierRange(MmuNotifierEvent.PROTECTION_VMA, 0, mm, a, e);",
          "        wp(vma, pt, a);",
          "        TlbFlush.flushTlbRange(vma, a, a + 4096);",
          "      }",
          "    } finally {",
          "      MmuNotifiers.invalidateRangeEnd(range); // <- end",
          "    }",
          "  }");
      rejectsAt(src, "// <- end", "end-without-start");
      rejectsAt(src, "// <- start", "missing-end");
    }

    @Test
    void theSameObjectThroughAnotherVariableIsTheSameBracket() {
      accepts(walker(lines(List.of(
          "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
          "    MmuNotifierRange r = range(vma, a, a + 4096);",
          "    MmuNotifierRange same = r;",
          "    MmuNotifiers.invalidateRangeStart(same);",
          "    try {",
          "      wp(vma, pt, a);",
          "    } finally {",
          "      try {",
          "        TlbFlush.flushTlbRange(vma, a, a + 4096);",
          "      } finally {",
          "        MmuNotifiers.invalidateRangeEnd(r);",
          "      }",
          "    }"), List.of(), "  }")));
    }
  }

  @Nested
  class P5HiddenChangesThroughMutualRecursion {
    private final String[] helpers = {
        "  static void a(Vma vma, PteTable pt, int n) {",
        "    if (n > 0) {",
        "      b(vma, pt, n - 1);",
        "    }",
        "    Pgtable.setPteAt(vma.mm(), 0, pt, 0);",
        "  }",
        "  static void b(Vma vma, PteTable pt, int n) {",
        "    if (n > 0) {",
        "      a(vma, pt, n - 1);",
        "    }",
        "  }"};

    @Test
    void bothHelpersOfTheCycleHideTheChangeWhicheverWalkerAsksFirst() {
      List<String> src = new ArrayList<>(List.of(helpers));
      src.addAll(List.of(
          "  @CheckedWalker static void first(Vma vma, PteTable pt) {",
          "    a(vma, pt, 2); // <- a",
          "  }",
          "  @CheckedWalker static void second(Vma vma, PteTable pt) {",
          "    b(vma, pt, 2); // <- b",
          "  }"));
      JavaFileObject w = walker(src.toArray(new String[0]));
      rejectsAt(w, "// <- a", "hidden-change", "a() changes PTEs (b at line");
      rejectsAt(w, "// <- b", "hidden-change", "b() changes PTEs (a at line");
    }

    @Test
    void aHelperInAnotherSourceFileIsLookedIntoByItsMarksAlone() {
      JavaFileObject helpers = JavaFileObjects.forSourceLines("test.Helpers",
          "package test;",
          "import dev.ptwalk.runtime.mm.Vma;",
          "import dev.ptwalk.runtime.pgtable.Pgtable;",
          "import dev.ptwalk.runtime.pgtable.PteTable;",
          "final class Helpers {",
          "  static void zap(Vma vma, PteTable pt, long a) {",
          "    Pgtable.ptepGetAndClear(vma.mm(), a, pt);",
          "  }",
          "}");
      JavaFileObject w = walker(lines(List.of(
          "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {"),
          bracketed("Helpers.zap(vma, pt, a); // <-"), "  }"));
      Compilation c = compile(w, helpers);
      assertThat(c).hadErrorContaining("[ptwalk:hidden-change] Helpers.zap() changes PTEs"
          + " (Pgtable.ptepGetAndClear at line 7)").inFile(w).onLineContaining("// <-");
    }

    @Test
    void aCycleThatChangesNothingIsAccepted() {
      accepts(walker(
          "  static int a(int n) {",
          "    return n > 0 ? b(n - 1) : 0;",
          "  }",
          "  static int b(int n) {",
          "    return n > 0 ? a(n - 1) : 1;",
          "  }",
          "  @CheckedWalker static int walk() {",
          "    return a(3) + b(3);",
          "  }"));
    }
  }

  @Nested
  class P6CallbackResults {
    private void bad(String kind, String params, String body, String... fragments) {
      JavaFileObject src = Sources.source("C", "class C {",
          "  @PteCallback(" + kind + ") static long cb(" + params + ") {", "    " + body + " // <-",
          "  }", "}");
      Compilation c = compile(src);
      assertThat(c).failed();
      assertThat(c).hadErrorContaining("[ptwalk:callback-bad-result]").inFile(src)
          .onLineContaining("// <-");
      for (String f : fragments) {
        assertThat(c).hadErrorContaining(f).inFile(src).onLineContaining("// <-");
      }
    }

    @Test
    void aConstantIsNotAPte() {
      bad("WRPROTECT", "long pte", "return 0L;",
          "@PteCallback(WRPROTECT) method cb() returns the constant 0L, which is not its PTE"
              + " argument pte passed through the changes a WRPROTECT walker may make (clear RW"
              + " (Pte.wrprotect))", "Return pte itself, or Pte.wrprotect applied to it.");
    }

    @Test
    void aTransitionOfTheAddressIsNotAPte() {
      bad("CLEAN", "long pte, long addr", "return Pte.mkclean(addr);",
          "returns Pte.mkclean(addr), computed from addr rather than pte");
    }

    @Test
    void aLocalHoldingSomethingElseIsNotAPte() {
      bad("WRPROTECT", "long pte, long addr", "long v = addr; return Pte.wrprotect(v);",
          "returns Pte.wrprotect(v), computed from v rather than pte");
    }

    @Test
    void chainsOfAllowedHelpersAndConditionalsBetweenThemAreAccepted() {
      assertThat(compile(Sources.source("C", "class C {",
          "  @PteCallback(WRPROTECT) static long wp(long pte) {",
          "    long v = pte;",
          "    if (Pte.write(v)) {",
          "      v = Pte.wrprotect(v);",
          "    }",
          "    return Pte.present(v) ? Pte.wrprotect(v) : v;",
          "  }",
          "  @PteCallback(CLEAN) static long clean(long pte, long addr) {",
          "    return switch ((int) (addr >>> 12) % 2) {",
          "      case 0 -> pte;",
          "      default -> {",
          "        long cleaned = Pte.mkclean(pte);",
          "        yield Pte.dirty(pte) ? cleaned : pte;",
          "      }",
          "    };",
          "  }",
          "}"))).succeededWithoutWarnings();
    }
  }

  @Nested
  class P7LoopsThatDoNotConverge {
    @Test
    void aLoopWhoseFactsKeepGrowingIsAPositionedWarning() {
      JavaFileObject src = walker(
          "  @CheckedWalker static void walk(MmStruct a, MmStruct b, MmStruct c, MmStruct d,",
          "      int n) {",
          "    for (int i = 0; i < n; i++) { // <-",
          "      if (i == 1) { a.incTlbFlushPending(); }",
          "      if (i == 2) { b.incTlbFlushPending(); }",
          "      if (i == 3) { c.incTlbFlushPending(); }",
          "      if (i == 4) { d.incTlbFlushPending(); }",
          "    }",
          "  }");
      Compilation c = Compiler.javac().withProcessors(new PteCallbackProcessor())
          .withOptions("-Xlint:all", "-Xlint:-processing").compile(src);
      assertThat(c).hadWarningContaining("[ptwalk:analysis-incomplete] the body check could not"
          + " follow this loop to the end").inFile(src).onLineContaining("// <-");
    }

    @Test
    void anOrdinaryLoopConvergesWithoutAWarning() {
      accepts(walker(lines(List.of(
          "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a, int n) {",
          "    for (int i = 0; i < n; i++) {"),
          bracketed("wp(vma, pt, a);"),
          "    }", "  }")));
    }
  }

  @Nested
  class P8Parentheses {
    @Test
    void aParenthesisedRangeIsTheSameRange() {
      accepts(walker(
          "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
          "    MmuNotifierRange range = range(vma, a, a + 4096);",
          "    MmuNotifiers.invalidateRangeStart(range);",
          "    try {",
          "      wp(vma, pt, a);",
          "    } finally {",
          "      try {",
          "        TlbFlush.flushTlbRange(vma, a, a + 4096);",
          "      } finally {",
          "        MmuNotifiers.invalidateRangeEnd((range));",
          "      }",
          "    }",
          "  }"));
    }

    @Test
    void aParenthesisedOtherRangeIsStillAnotherRange() {
      rejects(walker(
          "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
          "    MmuNotifierRange range = range(vma, a, a + 4096);",
          "    MmuNotifierRange other = range(vma, a, a + 4096);",
          "    MmuNotifiers.invalidateRangeStart(range);",
          "    try {",
          "      wp(vma, pt, a);",
          "    } finally {",
          "      try {",
          "        TlbFlush.flushTlbRange(vma, a, a + 4096);",
          "      } finally {",
          "        MmuNotifiers.invalidateRangeEnd(range);",
          "        MmuNotifiers.invalidateRangeEnd((other)); // <-",
          "      }",
          "    }",
          "  }"),
          "end-without-start", "invalidateRangeEnd(other) has no matching");
    }
  }

  @Nested
  class P9WpCleanPostVma {
    private JavaFileObject postVma(String nestedFlush) {
      return walker(
          "  @CheckedWalker static void walk(Vma vma, PteTable pt, long start, long end) {",
          "    MmStruct mm = vma.mm();",
          "    long tlbflushStart = end;",
          "    long tlbflushEnd = start;",
          "    MmuNotifierRange range =",
          "        new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, mm, start, end);",
          "    MmuNotifiers.invalidateRangeStart(range);",
          "    mm.incTlbFlushPending();",
          "    try {",
          "      wp(vma, pt, start); // <-",
          "      tlbflushStart = Math.min(tlbflushStart, start);",
          "      tlbflushEnd = Math.max(tlbflushEnd, start + 4096);",
          "    } finally {",
          "      if (mm.mmTlbFlushNested()) {",
          "        " + nestedFlush,
          "      } else if (tlbflushEnd > tlbflushStart) {",
          "        TlbFlush.flushTlbRange(vma, tlbflushStart, tlbflushEnd);",
          "      }",
          "      MmuNotifiers.invalidateRangeEnd(range);",
          "      mm.decTlbFlushPending();",
          "    }",
          "  }");
    }

    @Test
    void theNestedFlushOverTheRangesAccessorsIsAccepted() {
      accepts(postVma("TlbFlush.flushTlbRange(vma, range.start(), range.end());"));
    }

    @Test
    void aNestedBranchThatDoesNotFlushIsRejected() {
      rejects(postVma("range.start();"), "missing-flush", "wp changes a PTE, but no TLB flush");
    }
  }

  @Nested
  class P11NoPathEnds {
    @Test
    void aBracketNoPathClosesSaysSoInsteadOfNamingAnExceptionPath() {
      JavaFileObject src = walker(
          "  @CheckedWalker static void walk(Vma vma, long a) {",
          "    MmuNotifierRange r = range(vma, a, a + 4096);",
          "    MmuNotifiers.invalidateRangeStart(r); // <-",
          "    new PteTableCursor(vma, a, a + 4096).next();",
          "  }");
      Compilation c = compile(src);
      rejects(src, "missing-end", "no invalidateRangeEnd(r) follows this invalidateRangeStart on"
          + " any path, so the bracket is never closed");
      assertFalse(c.errors().stream().anyMatch(d -> d.getMessage(null).contains("PteTableCursor")),
          c.errors()::toString);
    }

    @Test
    void aBracketClosedOnSomePathsNamesThePathThatLeavesItOpen() {
      rejects(walker(
          "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
          "    MmuNotifierRange r = range(vma, a, a + 4096);",
          "    MmuNotifiers.invalidateRangeStart(r); // <-",
          "    new PteTableCursor(vma, a, a + 4096).next();",
          "    MmuNotifiers.invalidateRangeEnd(r);",
          "  }"),
          "missing-end", "invalidateRangeEnd(r) does not follow this invalidateRangeStart on every"
              + " path: an exception from new PteTableCursor at line " + (HEADER.size() + 4)
              + " leaves the bracket open");
    }
  }

  @Nested
  class P12UnresolvedTypes {
    @Test
    void aParameterTypeThatCannotBeResolvedIsLeftToJavac() {
      JavaFileObject src = Sources.source("C", "class C {",
          "  @PteCallback(CLEAN) static long c(long pte, long addr, Missing vma) { // <-",
          "    return pte;", "  }", "}");
      Compilation c = compile(src);
      assertThat(c).failed();
      assertThat(c).hadErrorContaining("cannot find symbol").inFile(src).onLineContaining("// <-");
      assertFalse(c.errors().stream().anyMatch(d -> d.getMessage(null).contains("[ptwalk:")),
          c.errors()::toString);
    }

    @Test
    void aTypeAnotherProcessorGeneratesIsWaitedFor() {
      JavaFileObject src = Sources.source("C", "class C {",
          "  @PteCallback(CLEAN) static long c(long pte) throws test.gen.WalkFailed {",
          "    return Pte.mkclean(pte);", "  }", "}");
      Compilation c = Compiler.javac()
          .withProcessors(new GeneratesAnException(), new PteCallbackProcessor())
          .withOptions("-Xlint:all", "-Xlint:-processing", "-Werror").compile(src);
      assertThat(c).succeededWithoutWarnings();
      assertTrue(c.generatedSourceFile("test.CWalkers").isPresent());
    }

    @Test
    void withoutTheRuntimeTheVmaFormGetsOnlyRuntimeMissingAndJavacsError() throws Exception {
      File annotations = new File(dev.ptwalk.annotations.PteCallback.class.getProtectionDomain()
          .getCodeSource().getLocation().toURI());
      JavaFileObject bare = JavaFileObjects.forSourceLines("test.C",
          "package test;", "import dev.ptwalk.annotations.PteCallback;",
          "import static dev.ptwalk.annotations.PteCallback.Kind.WRPROTECT;", "class C {",
          "  @PteCallback(WRPROTECT) static long wp(long pte, long addr,",
          "      dev.ptwalk.runtime.mm.Vma vma) { return pte; }", "}");
      Compilation c = Compiler.javac().withProcessors(new PteCallbackProcessor())
          .withClasspath(List.of(annotations)).compile(bare);
      assertThat(c).hadErrorContaining("[ptwalk:runtime-missing]").inFile(bare)
          .onLineContaining("class C");
      assertFalse(c.errors().stream().anyMatch(
          d -> d.getMessage(null).contains("[ptwalk:callback-bad-parameters]")), c.errors()::toString);
      assertTrue(c.errors().stream().anyMatch(d -> d.getMessage(null).contains("dev.ptwalk.runtime")
          && !d.getMessage(null).contains("[ptwalk:")), c.errors()::toString);
    }
  }

  /** Generates {@code test.gen.WalkFailed} in its first round, as a processor of another library. */
  @javax.annotation.processing.SupportedAnnotationTypes("*")
  static final class GeneratesAnException extends AbstractProcessor {
    private boolean done;

    @Override
    public SourceVersion getSupportedSourceVersion() {
      return SourceVersion.latestSupported();
    }

    @Override
    public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
      if (!done) {
        done = true;
        try (java.io.Writer w = processingEnv.getFiler().createSourceFile("test.gen.WalkFailed")
            .openWriter()) {
          w.write("package test.gen;\n/** Thrown when a walk fails. */\n"
              + "public class WalkFailed extends RuntimeException {\n"
              + "  private static final long serialVersionUID = 1L;\n}\n");
        } catch (java.io.IOException e) {
          processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR, e.toString());
        }
      }
      return false;
    }
  }

  @Nested
  class Issue14GeneratedWalkers {
    /** A TlbFlush whose flushes are not marked: a walker calling it flushes nothing, for the check. */
    private final JavaFileObject unmarkedFlush = JavaFileObjects.forSourceLines(
        "dev.ptwalk.runtime.cpu.TlbFlush",
        "package dev.ptwalk.runtime.cpu;",
        "public final class TlbFlush {",
        "  private TlbFlush() {}",
        "  public static void flushTlbRange(dev.ptwalk.runtime.mm.Vma v, long s, long e) {}",
        "}");
    private final JavaFileObject leaves = Sources.source("Leaves", "public class Leaves {",
        "  @PteCallback(WRPROTECT) static long wp(long pte) { return Pte.wrprotect(pte); }", "}");

    /**
     * Every kind's generated walker, checked when asked: the samples hold callbacks of all six
     * kinds (YOUNG in both scopes), so CI keeps checking what the writer generates.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"DirtyHelpers", "kinds/SoftDirty",
        "kinds/UffdWp", "kinds/Young", "kinds/LazyFree"})
    void generatedWalkersOfEveryKindPassTheCheckWhenAsked(String sample) throws Exception {
      String name = "dev.ptwalk.samples." + sample.replace('/', '.');
      JavaFileObject src = JavaFileObjects.forSourceString(name, java.nio.file.Files.readString(
          java.nio.file.Path.of("../samples/src/main/java/dev/ptwalk/samples/" + sample
              + ".java")));
      Compilation c = Compiler.javac().withProcessors(new PteCallbackProcessor())
          .withOptions("-Xlint:all", "-Xlint:-processing", "-Werror",
              "-Aptwalk.checkGenerated=true")
          .compile(src);
      assertThat(c).succeededWithoutWarnings();
      assertTrue(c.generatedSourceFile(name + "Walkers").orElseThrow().getCharContent(true)
          .toString().contains("@CheckedWalker"));
    }

    @Test
    void generatedWalkersAreNotCheckedByDefault() {
      Compilation c = Compiler.javac().withProcessors(new PteCallbackProcessor())
          .compile(unmarkedFlush, leaves);
      assertThat(c).succeeded();
      assertEquals(0, c.errors().size(), c.errors()::toString);
    }

    @Test
    void checkGeneratedAsksForThem() {
      Compilation c = Compiler.javac().withProcessors(new PteCallbackProcessor())
          .withOptions("-Aptwalk.checkGenerated=true").compile(unmarkedFlush, leaves);
      assertThat(c).failed();
      assertThat(c).hadErrorContaining("[ptwalk:missing-flush] Pgtable.ptepModifyProtStart"
          + " changes a PTE, but no TLB flush of VMA vma runs");
      assertTrue(c.errors().stream().allMatch(
          d -> d.getSource().getName().endsWith("test/LeavesWalkers.java")), c.errors()::toString);
    }
  }
}
