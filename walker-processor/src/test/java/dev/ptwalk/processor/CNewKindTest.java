package dev.ptwalk.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.Compiler;
import com.google.testing.compile.JavaFileObjects;
import dev.ptwalk.processor.model.NotifierEvent;
import dev.ptwalk.processor.model.PteBit;
import dev.ptwalk.processor.model.Scope;
import dev.ptwalk.processor.model.Transition;
import dev.ptwalk.processor.model.VmaFilter;
import dev.ptwalk.processor.model.WalkShape;
import dev.ptwalk.processor.model.WalkerKind;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import javax.tools.JavaFileObject;
import javax.tools.StandardLocation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The C writer reads a kind from its {@link WalkerKind}, never from its name: a new kind gets its
 * C from its shape, filter, event, lock and transitions; a kind whose combination the C writer
 * has no form for gets a {@code [ptwalk:c-not-emitted]} note, and its Java walker as always.
 */
@Timeout(60)
class CNewKindTest {
  private static final WalkerKind LAZYFREE_BITMAP = WalkerKind.builder("LAZYFREE_BITMAP")
      .verb("Lazily frees")
      .kernel("madvise_free_single_vma", "madvise_free_pte_range")
      .allow(Transition.clearing("mkclean", "pte_mkclean", PteBit.DIRTY))
      .event(NotifierEvent.CLEAR)
      .scopes(Scope.MM)
      .mmLock(dev.ptwalk.processor.model.WalkLock.MMAP_READ)
      .shape(WalkShape.MMU_GATHER)
      .filter(VmaFilter.PRIVATE_ANON)
      .bitmap()
      .build();

  private static final WalkerKind WP_ANY = WalkerKind.builder("WP_ANY")
      .verb("Write-protects")
      .kernel("apply_as_wrprotect", "wp_pte")
      .allow(Transition.clearing("wrprotect", "pte_wrprotect", PteBit.RW))
      .event(NotifierEvent.PROTECTION_PAGE)
      .scopes(Scope.MAPPING)
      .shape(WalkShape.PER_VMA_BRACKET)
      .filter(VmaFilter.NOT_PFNMAP)
      .build();

  private static final JavaFileObject ANNOTATION = JavaFileObjects.forSourceLines(
      "dev.ptwalk.annotations.PteCallback",
      "package dev.ptwalk.annotations;",
      "import java.lang.annotation.*;",
      "@Retention(RetentionPolicy.CLASS) @Target(ElementType.METHOD)",
      "public @interface PteCallback {",
      "  Kind value();",
      "  Scope scope() default Scope.DEFAULT;",
      "  boolean bitmap() default false;",
      "  String name() default \"\";",
      "  enum Kind { WRPROTECT, CLEAN, SOFT_DIRTY, UFFD_WP, YOUNG, LAZYFREE, CLEAN_YOUNG,",
      "    LAZYFREE_BITMAP, WP_ANY }",
      "  enum Scope { DEFAULT, MAPPING, MM }",
      "}");

  private static Compilation compile(JavaFileObject leaves) {
    List<WalkerKind> kinds = new ArrayList<>(WalkerKind.builtins());
    kinds.add(NewKindTest.CLEAN_YOUNG);
    kinds.add(LAZYFREE_BITMAP);
    kinds.add(WP_ANY);
    return Compiler.javac()
        .withProcessors(new PteCallbackProcessor(kinds))
        .withOptions("-Xlint:all", "-Xlint:-processing")
        .compile(ANNOTATION, leaves);
  }

  private static String c(Compilation c) throws IOException {
    return c.generatedFile(StandardLocation.SOURCE_OUTPUT, "test", "LeavesWalkers.c")
        .orElseThrow().getCharContent(true).toString();
  }

  @Test
  void aNewKindGetsItsCFromItsDescription() throws IOException {
    Compilation c = compile(Sources.source("Leaves", "public class Leaves {",
        "  @PteCallback(value = CLEAN_YOUNG, bitmap = true)",
        "  static long cleanYoung(long pte) { return Pte.mkold(Pte.mkclean(pte)); }", "}"));
    assertThat(c).succeededWithoutWarnings();
    String text = c(c);
    // Its verb, made imperative; the bits it clears, warned about on a huge PMD.
    assertTrue(text.contains(" * leaves_apply_as_clean_young - Clean and age a file range in"
        + " every mm,\n *\trecording it\n"), text);
    assertTrue(text.contains("\t\tWARN_ON(pmd_young(pmdval) || pmd_dirty(pmdval));\n"), text);
    assertTrue(text.contains(" * Translated from the CLEAN_YOUNG callback"
        + " Leaves.cleanYoung(long pte).\n"), text);
    assertTrue(text.contains("MMU_NOTIFY_PROTECTION_PAGE"), text);
  }

  @Test
  void aShapeWithoutACFormGetsANoteAndItsJavaWalker() {
    JavaFileObject src = Sources.source("Leaves", "public class Leaves {",
        "  @PteCallback(value = LAZYFREE_BITMAP, bitmap = true)",
        "  static long free(long pte) { return Pte.mkclean(pte); } // free", "}");
    Compilation c = compile(src);
    assertThat(c).succeeded();
    assertTrue(c.generatedSourceFile("test.LeavesWalkers").isPresent());
    assertFalse(c.generatedFile(StandardLocation.SOURCE_OUTPUT, "test", "LeavesWalkers.c")
        .isPresent());
    assertThat(c).hadNoteContaining("[ptwalk:c-not-emitted] @PteCallback method free() gets no"
        + " kernel C walker in LeavesWalkers.c: ptwalk's C writer has no form of the MMU_GATHER"
        + " shape with a bitmap. Its Java walker is generated as always.")
        .inFile(src).onLineContaining("// free");
  }

  @Test
  void kindsSharingAShapeShareItsFilterAndEventOrTheLaterGetsNoC() throws IOException {
    JavaFileObject src = Sources.source("Leaves", "public class Leaves {",
        "  @PteCallback(WRPROTECT) static long wp(long pte) { return Pte.wrprotect(pte); }",
        "  @PteCallback(WP_ANY) static long any(long pte) { return Pte.wrprotect(pte); } // any",
        "}");
    Compilation c = compile(src);
    assertThat(c).succeeded();
    assertThat(c).hadNoteContaining("[ptwalk:c-not-emitted] @PteCallback method any() gets no"
        + " kernel C walker in LeavesWalkers.c: its kind WP_ANY shares the PER_VMA_BRACKET shape"
        + " of WRPROTECT (wp()) but not its VMA filter and notifier event, and one file holds one"
        + " test_walk and one bracket per shape.").inFile(src).onLineContaining("// any");
    String text = c(c);
    assertTrue(text.contains("leaves_apply_as_wp("), text);
    assertFalse(text.contains("leaves_apply_as_any"), text);
    assertTrue(text.replace("\n * ", " ").contains(" * ptwalk wrote no C for Leaves.any(long"
        + " pte): the [ptwalk:c-not-emitted] note of the build says why.\n"), text);
  }
}
