package dev.ptwalk.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.VmFlags;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Adding a kind is adding one {@link WalkerKind} constant: this test defines {@code CLEAN_YOUNG}
 * (clear the dirty and the accessed bit, with a bitmap, shaped as {@code apply_as_clean}) and
 * nothing else, and the writer, the callback check and the messages all follow it. The callback's
 * annotation names the new constant through a copy of {@code PteCallback} compiled with the test
 * sources, as the annotation module would gain it.
 */
@Timeout(60)
class NewKindTest {
  /** The one definition a new kind needs. */
  static final WalkerKind CLEAN_YOUNG = WalkerKind.builder("CLEAN_YOUNG")
      .verb("Cleans and ages")
      .kernel("apply_as_clean_young", "clean_young_pte")
      .allow(Transition.clearing("mkclean", "pte_mkclean", PteBit.DIRTY))
      .allow(Transition.clearing("mkold", "pte_mkold", PteBit.ACCESSED))
      .event(NotifierEvent.PROTECTION_PAGE)
      .scopes(Scope.MAPPING)
      .shape(WalkShape.PER_VMA_BRACKET)
      .filter(VmaFilter.SHARED_WRITABLE_IO)
      .bitmap()
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
      "  enum Kind { WRPROTECT, CLEAN, SOFT_DIRTY, UFFD_WP, YOUNG, LAZYFREE, CLEAN_YOUNG }",
      "  enum Scope { DEFAULT, MAPPING, MM }",
      "}");

  private static Compilation compile(JavaFileObject leaves) {
    List<WalkerKind> kinds = new ArrayList<>(WalkerKind.builtins());
    kinds.add(CLEAN_YOUNG);
    return Compiler.javac()
        .withProcessors(new PteCallbackProcessor(kinds))
        .withOptions("-Xlint:all", "-Xlint:-processing", "-Werror")
        .compile(ANNOTATION, leaves);
  }

  @Test
  void theNewKindGeneratesAWalkerThatCleansAndAges() throws Exception {
    Compilation c = compile(Sources.source("Leaves", "public class Leaves {",
        "  @PteCallback(value = CLEAN_YOUNG, bitmap = true)",
        "  static long cleanYoung(long pte) { return Pte.mkold(Pte.mkclean(pte)); }", "}"));
    assertThat(c).succeededWithoutWarnings();
    String out = c.generatedSourceFile("test.LeavesWalkers").orElseThrow().getCharContent(true)
        .toString();
    assertTrue(out.contains("Cleans and ages every PTE that maps file pages"), out);
    assertTrue(out.replaceAll("\\s+\\* ", " ").contains("This is the kernel's"
        + " {@code apply_as_clean_young} with that callback as its {@code clean_young_pte}"), out);
    assertTrue(out.contains("new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, mm,"
        + " startAddr, endAddr)"), out);

    // Run it: two dirty, young pages of a shared VM_IO mapping lose D and A and are recorded.
    Method walker = load(c, "test.LeavesWalkers").getMethod("applyAsCleanYoung",
        AddressSpace.class, long.class, long.class, long.class, long[].class, DirtyWindow.class);
    Machine m = Machine.builder().verify(true).build();
    MmStruct mm = m.newMm("A");
    AddressSpace file = m.newAddressSpace("file");
    long base = 0x7f0000000000L;
    mm.mmap(file, base, 4, 0, VmFlags.VM_READ | VmFlags.VM_WRITE | VmFlags.VM_SHARED
        | VmFlags.VM_IO);
    m.cpu(0).store(mm, base + 0x1000, 1);
    m.cpu(0).store(mm, base + 0x3000, 1);
    long[] bitmap = new long[1];
    DirtyWindow window = new DirtyWindow();
    assertEquals(2L, walker.invoke(null, file, 0L, 4L, 0L, bitmap, window));
    assertEquals(0b1010L, bitmap[0]);
    assertEquals(1, window.start);
    assertEquals(4, window.end);
    long pte = mm.followPte(base + 0x1000);
    assertTrue(Pte.present(pte) && !Pte.dirty(pte) && !Pte.young(pte), Pte.toString(pte));
    m.assertQuiet();
  }

  @Test
  void theCallbackCheckReadsTheNewKindsTransitions() {
    JavaFileObject leaves = Sources.source("Leaves", "public class Leaves {",
        "  @PteCallback(CLEAN_YOUNG)",
        "  static long cleanYoung(long pte) { return Pte.wrprotect(pte); } // <-", "}");
    Compilation c = compile(leaves);
    assertThat(c).failed();
    assertThat(c).hadErrorContaining("[ptwalk:illegal-transition] @PteCallback(CLEAN_YOUNG)"
        + " method cleanYoung() calls Pte.wrprotect, which clears RW; a CLEAN_YOUNG walker may"
        + " only clear DIRTY (Pte.mkclean) or clear ACCESSED (Pte.mkold). Its PROTECTION_PAGE"
        + " notifier event and its TLB flush cover only that change")
        .inFile(leaves).onLineContaining("// <-");
  }

  @Test
  void theMessagesReadTheNewKind() {
    JavaFileObject leaves = Sources.source("Leaves", "public class Leaves {",
        "  @PteCallback(value = CLEAN_YOUNG,",
        "      scope = PteCallback.Scope.MM)",
        "  static long cleanYoung(long pte) { return Pte.mkclean(pte); }", "}");
    Compilation c = compile(leaves);
    assertThat(c).hadErrorContaining("[ptwalk:scope-unsupported] @PteCallback(CLEAN_YOUNG)"
        + " cannot walk scope MM: a CLEAN_YOUNG walker mirrors apply_as_clean_young, which walks"
        + " MAPPING.").inFile(leaves).onLineContaining("scope = PteCallback.Scope.MM");
  }

  /** The classes of a compilation, loaded over the test's own class path. */
  private static Class<?> load(Compilation c, String name) throws ClassNotFoundException {
    ClassLoader loader = new ClassLoader(NewKindTest.class.getClassLoader()) {
      @Override
      protected Class<?> findClass(String n) throws ClassNotFoundException {
        for (JavaFileObject f : c.generatedFiles()) {
          if (f.getKind() == JavaFileObject.Kind.CLASS
              && f.toUri().getPath().endsWith("/" + n.replace('.', '/') + ".class")) {
            try (InputStream in = f.openInputStream()) {
              byte[] bytes = in.readAllBytes();
              return defineClass(n, bytes, 0, bytes.length);
            } catch (IOException e) {
              throw new ClassNotFoundException(n, e);
            }
          }
        }
        throw new ClassNotFoundException(n);
      }
    };
    return Class.forName(name, true, loader);
  }
}
