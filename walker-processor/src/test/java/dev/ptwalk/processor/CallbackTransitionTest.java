package dev.ptwalk.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static dev.ptwalk.processor.Sources.compile;
import static dev.ptwalk.processor.Sources.source;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.Compiler;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code @PteCallback} bodies may change the PTE only as their kind allows; what the check cannot
 * follow is a warning. The offending line carries the marker {@code // <-}.
 */
@Timeout(120)
class CallbackTransitionTest {
  private static void illegal(String kind, String body, String... fragments) {
    JavaFileObject src = source("C", "class C {",
        "  @PteCallback(" + kind + ") static long cb(long pte) {", "    " + body + " // <-",
        "  }", "}");
    Compilation c = compile(src);
    assertThat(c).failed();
    assertThat(c).hadErrorContaining("[ptwalk:illegal-transition]").inFile(src)
        .onLineContaining("// <-");
    for (String f : fragments) {
      assertThat(c).hadErrorContaining(f).inFile(src).onLineContaining("// <-");
    }
  }

  /** Compiled without -Werror, so the warning is seen as a warning. */
  private static void unchecked(String kind, String body, String fragment) {
    JavaFileObject src = source("C", "class C {",
        "  static long helper(long v) { return v; }",
        "  @PteCallback(" + kind + ") static long cb(long pte, long addr) {",
        "    " + body + " // <-", "  }", "}");
    Compilation c = Compiler.javac().withProcessors(new PteCallbackProcessor())
        .withOptions("-Xlint:all", "-Xlint:-processing").compile(src);
    assertThat(c).succeeded();
    assertThat(c).hadWarningContaining("[ptwalk:unchecked-pte-arithmetic] @PteCallback(" + kind
        + ") method cb(): " + fragment + ", which this check cannot follow, so the PTE transition"
        + " is not checked.").inFile(src).onLineContaining("// <-");
  }

  private static void legal(String kind, String... body) {
    String[] lines = new String[body.length + 4];
    lines[0] = "class C {";
    lines[1] = "  @PteCallback(" + kind + ") static long cb(long pte, long addr, Vma vma) {";
    System.arraycopy(body, 0, lines, 2, body.length);
    lines[body.length + 2] = "  }";
    lines[body.length + 3] = "}";
    assertThat(compile(source("C", lines))).succeededWithoutWarnings();
  }

  @Test
  void arithmeticOnWhatAQueryReturnsComputesNoPteAndIsNotWarnedAbout() {
    legal("WRPROTECT", "    return (Pte.flags(pte) & Pte.RW) != 0 ? Pte.wrprotect(pte) : pte;");
    legal("CLEAN", "    long pfn = Pte.pfn(pte) + 1;",
        "    return pfn > 0x1000 ? Pte.mkclean(pte) : pte;");
  }

  @Test
  void wrprotectMayNotMakeAPteWritable() {
    illegal("WRPROTECT", "return Pte.mkwrite(pte);",
        "@PteCallback(WRPROTECT) method cb() calls Pte.mkwrite, which sets RW; a WRPROTECT"
            + " walker may only clear RW (Pte.wrprotect). Its PROTECTION_PAGE notifier event and"
            + " its TLB flush cover only that change");
  }

  @Test
  void wrprotectMayNotDirtyOrClean() {
    illegal("WRPROTECT", "return Pte.mkdirty(Pte.wrprotect(pte));",
        "calls Pte.mkdirty, which sets DIRTY and SOFT_DIRTY");
    illegal("WRPROTECT", "return Pte.mkclean(pte);", "calls Pte.mkclean, which clears DIRTY");
  }

  @Test
  void cleanMayNotWriteProtectOrMakeYoung() {
    illegal("CLEAN", "return Pte.wrprotect(pte);",
        "calls Pte.wrprotect, which clears RW; a CLEAN walker may only clear DIRTY (Pte.mkclean)");
    illegal("CLEAN", "return Pte.mkyoung(Pte.mkclean(pte));", "calls Pte.mkyoung, which sets ACCESSED");
    illegal("CLEAN", "return Pte.clearSoftDirty(Pte.mkclean(pte));",
        "calls Pte.clearSoftDirty, which clears SOFT_DIRTY");
  }

  @Test
  void noKindMayChangeThePageFrame() {
    illegal("CLEAN", "return Pte.pfnPte(Pte.pfn(pte) + 1, Pte.flags(Pte.mkclean(pte)));",
        "calls Pte.pfnPte, which changes the page frame");
  }

  @Test
  void rawArithmeticIsAWarningNeverASilentPass() {
    unchecked("WRPROTECT", "return pte & ~Pte.RW;", "it computes the PTE with '&' on the raw long");
    unchecked("CLEAN", "return ~(~pte | Pte.DIRTY);", "it computes the PTE with '|' on the raw long");
    unchecked("CLEAN", "long v = pte; v ^= Pte.DIRTY; return v;",
        "it computes the PTE with a compound assignment on the raw long");
  }

  @Test
  void handingThePteToAnotherMethodIsAWarning() {
    unchecked("CLEAN", "return helper(pte);", "it passes the PTE to helper()");
  }

  @Test
  void legalTransitionsPass() {
    legal("WRPROTECT", "    return Pte.wrprotect(pte);");
    legal("WRPROTECT", "    return Pte.write(pte) && Pte.present(pte) ? Pte.wrprotect(pte) : pte;");
    legal("CLEAN", "    if (!Pte.dirty(pte)) {", "      return pte;", "    }",
        "    long cleaned = Pte.mkclean(pte);", "    return cleaned;");
    legal("CLEAN", "    long page = addr & ~4095L;",
        "    return vma.contains(page) ? Pte.mkclean(pte) : pte;");
  }
}
