package dev.ptwalk.processor.c;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static dev.ptwalk.processor.c.CGenerationTest.cNotes;
import static dev.ptwalk.processor.c.CSources.compileLenient;
import static dev.ptwalk.processor.c.CSources.generated;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.JavaFileObjects;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.tools.Diagnostic;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The translation of callback bodies into C leaves: every form of the callback language
 * (docs/c-translation.md, section 3) in one class whose C is a golden file and is compiled by
 * {@link KernelCompileTest}; every construct outside it named, with its line, by a {@code
 * [ptwalk:c-not-emitted]} note, while the Java walker is generated as always.
 */
@Timeout(120)
class LeafTranslationTest {
  static final Path LANGUAGE = Path.of("src/test/resources/c-translation/Language.java");

  static JavaFileObject language() {
    return JavaFileObjects.forSourceString("test.Language", CSources.read(LANGUAGE));
  }

  /** The leaf function {@code name} of {@code c}, from its head to its closing brace. */
  static String leaf(String c, String name) {
    int at = c.indexOf("\nstatic pte_t " + name + "(");
    assertTrue(at >= 0, "no leaf " + name + " in:\n" + c);
    return c.substring(at + 1, c.indexOf("\n}\n", at) + 3);
  }

  @Test
  void everyFormOfTheLanguageTranslates() throws IOException {
    Compilation c = compileLenient(language());
    assertThat(c).succeeded();
    assertEquals(List.of(), cNotes(c));
    for (String ext : List.of(".c", ".h")) {
      String actual = generated(c, "test", "LanguageWalkers" + ext).orElseThrow();
      Path golden = LANGUAGE.resolveSibling("LanguageWalkers" + ext);
      if (Boolean.getBoolean("ptwalk.updateGoldens")) {
        Files.writeString(golden, actual);
      }
      assertEquals(Files.readString(golden), actual, "LanguageWalkers" + ext + " differs from"
          + " its golden file; rerun with -Dptwalk.updateGoldens=true if intended, review the"
          + " diff and run KernelCompileTest");
      CGenerationTest.assertKernelStyle("LanguageWalkers" + ext, actual);
    }
  }

  @Test
  void declarationsComeFirstAndWhatNothingReadsIsLeftOut() {
    String c = generated(compileLenient(language()), "test", "LanguageWalkers.c").orElseThrow();
    assertEquals("""
        static pte_t language_lazyfree(pte_t pte)
        {
        \tpte_t clean_pte;
        \tpte_t old_pte;

        \tif (pte_none(pte))
        \t\treturn pte;
        \tclean_pte = pte_mkclean(pte);
        \told_pte = pte_mkold(clean_pte);
        \treturn old_pte;
        }
        """, leaf(c, "language_lazyfree"));
    String wp = leaf(c, "language_wrprotect");
    assertFalse(wp.contains("unused") || wp.contains("pte_pfn"), "unused is read by nothing:\n"
        + wp);
    assertTrue(wp.contains("\t\tpte_t protected_pte = pte_wrprotect(pte);\n\n"
        + "\t\treturn protected_pte;\n"), wp);
  }

  @Test
  void bracesWhereTheKernelWantsThemAndNowhereElse() {
    String c = generated(compileLenient(language()), "test", "LanguageWalkers.c").orElseThrow();
    // A nested if keeps its braces, or the else would change hands; so does every arm then.
    assertEquals("""
        static pte_t language_age(pte_t pte, unsigned long addr)
        {
        \tbool old = !pte_young(pte);

        \tif (addr < 0x1000UL) {
        \t\tif (old)
        \t\t\treturn pte;
        \t} else {
        \t\tpte = pte_mkold(pte);
        \t}
        \treturn old ? pte : pte_mkold(pte);
        }
        """, leaf(c, "language_age"));
    // The Java parameter p is the leaf's pte; one statement takes no braces.
    assertEquals("""
        static pte_t language_clean(pte_t pte)
        {
        \tif (pte_dirty(pte))
        \t\tpte = pte_mkclean(pte);
        \treturn pte;
        }
        """, leaf(c, "language_clean"));
  }

  @Test
  void parenthesesAreThoseCAndGccAskFor() {
    Compilation c = compileLenient(CSources.source("Parens", "final class Parens {",
        "  @PteCallback(CLEAN) static long a(long pte, long addr) {",
        "    if (((addr & 0xfffL) == 0) && (Pte.dirty(pte) || Pte.young(pte) && addr != 0)) {",
        "      return (Pte.mkclean(pte));",
        "    }",
        "    return !(Pte.write(pte) && Pte.user(pte)) ? pte : Pte.mkclean(pte);",
        "  }",
        "  @PteCallback(CLEAN) static long b(long pte, long addr) {",
        "    long x = addr | addr & 7L ^ addr >>> 3L + 1 << 2;",
        "    return x - (addr - 1L) * 2 == Pte.flags(pte) ? pte : Pte.mkclean(pte);",
        "  }",
        "}"));
    String text = generated(c, "test", "ParensWalkers.c").orElseThrow();
    assertEquals("""
        static pte_t parens_a(pte_t pte, unsigned long addr)
        {
        \tif ((addr & 0xfffUL) == 0 &&
        \t    (pte_dirty(pte) || (pte_young(pte) && addr != 0)))
        \t\treturn pte_mkclean(pte);
        \treturn !(pte_write(pte) && (pte_flags(pte) & _PAGE_USER) != 0) ? pte :
        \t       pte_mkclean(pte);
        }
        """, leaf(text, "parens_a"));
    assertEquals("""
        static pte_t parens_b(pte_t pte, unsigned long addr)
        {
        \tunsigned long x = addr | ((addr & 7UL) ^ ((addr >> (3UL + 1)) << 2));

        \treturn x - (addr - 1UL) * 2 == pte_flags(pte) ? pte : pte_mkclean(pte);
        }
        """, leaf(text, "parens_b"));
  }

  /** A callback calling {@code Pte.mkwrite}, which no kind allows: the check rejects it. */
  static JavaFileObject writable() {
    return CSources.source("Writable", "final class Writable {",
        "  @PteCallback(CLEAN) static long w(long pte) { return Pte.mkwrite(pte); }", "}");
  }

  @Test
  void pteMkwriteGivesTheLeafTheVma(@TempDir Path dir) {
    // The callback check rejects the callback, after the round that wrote its C.
    List<Diagnostic<? extends JavaFileObject>> d = CSources.emitInto(dir, writable());
    assertTrue(d.stream().anyMatch(x -> x.getKind() == Diagnostic.Kind.ERROR
        && x.getMessage(null).contains("[ptwalk:illegal-transition]")), d::toString);
    String text = CSources.read(dir.resolve("test/WritableWalkers.c"));
    assertEquals("""
        static pte_t writable_w(pte_t pte, unsigned long addr,
        \t\t\tstruct vm_area_struct *vma)
        {
        \treturn pte_mkwrite(pte, vma);
        }
        """, leaf(text, "writable_w"));
    assertTrue(text.contains(" * pte_mkwrite() needs the VMA, so the leaf takes @addr and @vma,"
        + " which the\n * callback does not.\n"), text);
    assertTrue(text.contains("if (pte_same(writable_w(ptent, addr, walk->vma), ptent))"), text);
  }

  /** Each method of {@code Outside}: the line of the construct its note names, and the name. */
  private static final Map<String, String> OUTSIDE = new LinkedHashMap<>();

  static {
    OUTSIDE.put("loop", "the loop 'for (long i = 0; i < 1; i++) { pte = Pte.mkcl...'");
    OUTSIDE.put("max", "the call 'Math.max(pte, Pte.mkclean(pte))'");
    OUTSIDE.put("raw", "'&' on a PTE, 'pte & ~Pte.RW'");
    OUTSIDE.put("shift", "'>>' in 'addr >> 12'");
    OUTSIDE.put("help", "the call 'helper(Pte.mkclean(pte))'");
    OUTSIDE.put("cast", "the cast '(int) addr'");
    OUTSIDE.put("ints", "the int arithmetic '1 << 3'");
    OUTSIDE.put("sign", "the sign test 'addr < 0'");
    OUTSIDE.put("bools", "'&' on truth values, 'Pte.dirty(pte) & Pte.write(pte)'");
    OUTSIDE.put("field", "the field 'MASK'");
    OUTSIDE.put("marker", "the call 'Pte.isPteMarker(pte)'");
    OUTSIDE.put("mm", "the call 'vma.mm()'");
    OUTSIDE.put("compound", "the compound assignment 'addr += 1'");
    OUTSIDE.put("local", "the local variable 'int n = 0;'");
    OUTSIDE.put("ptecmp", "'==' between a PTE and a number, 'pte == 0'");
    OUTSIDE.put("div", "'/' in 'addr / 2'");
    OUTSIDE.put("keyword", "the local variable 'current'");
  }

  private static JavaFileObject outside() {
    List<String> lines = new ArrayList<>(List.of("final class Outside {",
        "  static final long MASK = 3L;",
        "  static long helper(long p) { return p; }",
        "  @PteCallback(WRPROTECT) static long good(long pte) { return Pte.wrprotect(pte); }",
        "  @PteCallback(CLEAN) static long loop(long pte) {",
        "    for (long i = 0; i < 1; i++) { pte = Pte.mkclean(pte); } // loop",
        "    return pte;",
        "  }",
        "  @PteCallback(CLEAN) static long max(long pte) {",
        "    return Math.max(pte, Pte.mkclean(pte)); // max",
        "  }",
        "  @PteCallback(WRPROTECT) static long raw(long pte) { return pte & ~Pte.RW; } // raw",
        "  @PteCallback(CLEAN) static long shift(long pte, long addr) {",
        "    return (addr >> 12) == 0 ? pte : Pte.mkclean(pte); // shift",
        "  }",
        "  @PteCallback(CLEAN) static long help(long pte) {",
        "    return helper(Pte.mkclean(pte)); // help",
        "  }",
        "  @PteCallback(CLEAN) static long cast(long pte, long addr) {",
        "    return (int) addr == 0 ? pte : Pte.mkclean(pte); // cast",
        "  }",
        "  @PteCallback(CLEAN) static long ints(long pte, long addr) {",
        "    return addr == 1 << 3 ? pte : Pte.mkclean(pte); // ints",
        "  }",
        "  @PteCallback(CLEAN) static long sign(long pte, long addr) {",
        "    return addr < 0 ? pte : Pte.mkclean(pte); // sign",
        "  }",
        "  @PteCallback(CLEAN) static long bools(long pte) {",
        "    return Pte.dirty(pte) & Pte.write(pte) ? Pte.mkclean(pte) : pte; // bools",
        "  }",
        "  @PteCallback(CLEAN) static long field(long pte, long addr) {",
        "    return (addr & MASK) == 0 ? pte : Pte.mkclean(pte); // field",
        "  }",
        "  @PteCallback(CLEAN) static long marker(long pte) {",
        "    return Pte.isPteMarker(pte) ? pte : Pte.mkclean(pte); // marker",
        "  }",
        "  @PteCallback(CLEAN) static long mm(long pte, long addr, Vma vma) {",
        "    return vma.mm() == null ? pte : Pte.mkclean(pte); // mm",
        "  }",
        "  @PteCallback(CLEAN) static long compound(long pte, long addr) {",
        "    addr += 1; // compound",
        "    return addr == 0 ? pte : Pte.mkclean(pte);",
        "  }",
        "  @PteCallback(CLEAN) static long local(long pte) {",
        "    int n = 0; // local",
        "    return n == 0 ? pte : Pte.mkclean(pte);",
        "  }",
        "  @PteCallback(CLEAN) static long ptecmp(long pte) {",
        "    return pte == 0 ? pte : Pte.mkclean(pte); // ptecmp",
        "  }",
        "  @PteCallback(CLEAN) static long div(long pte, long addr) {",
        "    return addr / 2 == 0 ? pte : Pte.mkclean(pte); // div",
        "  }",
        "  @PteCallback(CLEAN) static long keyword(long pte) {",
        "    long current = Pte.mkclean(pte); // keyword",
        "    return current;",
        "  }",
        "}"));
    return CSources.source("Outside", lines.toArray(new String[0]));
  }

  @Test
  void eachConstructOutsideTheLanguageIsANoteOnItsLine() {
    JavaFileObject src = outside();
    Compilation c = compileLenient(src);
    List<Diagnostic<? extends JavaFileObject>> notes = c.diagnostics().stream()
        .filter(d -> d.getMessage(null).contains("[ptwalk:c-not-emitted]")).toList();
    assertEquals(OUTSIDE.size(), notes.size(), cNotes(c)::toString);
    List<String> source = CSources.lines(src);
    int i = 0;
    for (Map.Entry<String, String> e : OUTSIDE.entrySet()) {
      Diagnostic<? extends JavaFileObject> d = notes.get(i++);
      long line = source.indexOf(source.stream().filter(l -> l.endsWith("// " + e.getKey()))
          .findFirst().orElseThrow()) + 1;
      assertEquals(Diagnostic.Kind.NOTE, d.getKind());
      assertEquals(line, d.getLineNumber(), d.getMessage(null));
      assertTrue(d.getMessage(null).startsWith("[ptwalk:c-not-emitted] @PteCallback method "
          + e.getKey() + "() gets no kernel C walker in OutsideWalkers.c: it has " + e.getValue()
          + " at line " + line + ", which the C translation does not accept ("),
          d.getMessage(null));
    }
    assertEquals("[ptwalk:c-not-emitted] @PteCallback method loop() gets no kernel C walker in"
        + " OutsideWalkers.c: it has the loop 'for (long i = 0; i < 1; i++) { pte = Pte.mkcl...'"
        + " at line 14, which the C translation does not accept (a leaf is straight-line code:"
        + " if, return, local variables and assignments). Its Java walker is generated as"
        + " always; docs/c-translation.md, section 3, lists the callback language.",
        notes.get(0).getMessage(null));

    // The Java walkers of every callback, as always; the C of the one that translates.
    String java = CSources.content(c.generatedSourceFile("test.OutsideWalkers").orElseThrow());
    for (String m : OUTSIDE.keySet()) {
      String walker = "applyAs" + Character.toUpperCase(m.charAt(0)) + m.substring(1) + "(";
      assertTrue(java.contains(walker), "the Java walkers lack " + walker);
    }
    String cText = generated(c, "test", "OutsideWalkers.c").orElseThrow();
    assertTrue(cText.contains("\nunsigned long outside_apply_as_good(struct address_space"
        + " *mapping,\n"), cText);
    assertFalse(cText.contains("outside_apply_as_loop"), cText);
    assertTrue(cText.contains(" * ptwalk wrote no C for Outside.loop(long pte), Outside.max(long"
        + " pte),\n"), cText);
    assertTrue(cText.contains("Outside.keyword(long pte): the [ptwalk:c-not-emitted] notes of"
        + " the\n * build say why.\n"), cText);
    assertTrue(generated(c, "test", "OutsideWalkers.h").orElseThrow().contains(" * The entry"
        + " points of OutsideWalkers.c, one per @PteCallback method translated\n * to C.\n"));
  }

  @Test
  void aClassWithNoCallbackThatTranslatesGetsNoCFile() {
    Compilation c = compileLenient(CSources.source("None", "final class None {",
        "  @PteCallback(CLEAN) static long a(long pte, long addr) {",
        "    return addr % 2 == 0 ? pte : Pte.mkclean(pte);",
        "  }",
        "}"));
    assertThat(c).succeeded();
    assertTrue(c.generatedSourceFile("test.NoneWalkers").isPresent());
    assertFalse(generated(c, "test", "NoneWalkers.c").isPresent());
    assertFalse(generated(c, "test", "NoneWalkers.h").isPresent());
    assertThat(c).hadNoteContaining("[ptwalk:c-not-emitted] @PteCallback method a() gets no"
        + " kernel C walker in NoneWalkers.c: it has '%' in 'addr % 2' at line 11")
        .inFile(c.sourceFiles().get(0)).onLine(11);
  }

  @Test
  void callbacksSharingANameGetLeavesNamedAfterTheirWalkers() {
    Compilation c = compileLenient(CSources.source("Same", "final class Same {",
        "  @PteCallback(value = CLEAN, name = \"first\")",
        "  static long clean(long pte) { return Pte.mkclean(pte); }",
        "  @PteCallback(value = CLEAN, name = \"second\")",
        "  static long clean(long pte, long addr) { return Pte.mkclean(pte); }",
        "  @PteCallback(value = CLEAN, name = \"fooBar\")",
        "  static long a(long pte) { return Pte.mkclean(pte); }",
        "  @PteCallback(value = CLEAN, name = \"foo_bar\")",
        "  static long b(long pte) { return Pte.mkclean(pte); } // b",
        "}"));
    assertThat(c).succeeded();
    String text = generated(c, "test", "SameWalkers.c").orElseThrow();
    assertTrue(text.contains("\nstatic pte_t same_first_leaf(pte_t pte)\n"), text);
    assertTrue(text.contains("\nstatic pte_t same_second_leaf(pte_t pte, unsigned long addr)\n"),
        text);
    assertTrue(text.contains("\nstatic pte_t same_a(pte_t pte)\n"), text);
    assertFalse(text.contains("same_b("), text);
    assertThat(c).hadNoteContaining("[ptwalk:c-not-emitted] @PteCallback method b() gets no"
        + " kernel C walker in SameWalkers.c: its C name same_foo_bar is taken by the walker of"
        + " a(). Its Java walker is generated as always.").inFile(c.sourceFiles().get(0))
        .onLineContaining("// b");
  }
}
