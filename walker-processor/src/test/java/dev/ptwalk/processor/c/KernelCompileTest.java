package dev.ptwalk.processor.c;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference C of every walker kind and scope, and the C the processor emits for the samples,
 * the reference classes and every form of the callback language, compile as built-in code of
 * {@code mm/} against Linux 6.12 headers, with kbuild and {@code W=1}, without an error or a
 * warning, and pass {@code checkpatch.pl --strict}; and the check fails, naming the file and line,
 * on each kind of problem it is there to catch. Skipped, with a message, where no kernel tree is
 * installed.
 */
class KernelCompileTest {
  private static final Path REFERENCE = Path.of("src/test/resources/c-reference");
  private static final Duration RUN_TIMEOUT = Duration.ofMinutes(4);

  /** One walker of the reference C: its file, its entry point, and what its kind's shape calls. */
  private record Walker(String kindAndScope, String file, String entry, List<String> calls) {}

  private static final List<Walker> WALKERS = List.of(
      new Walker("WRPROTECT MAPPING", "DirtyHelpersWalkers", "dirty_helpers_apply_as_wrprotect",
          List.of("walk_page_mapping(", "MMU_NOTIFY_PROTECTION_PAGE", "mm_tlb_flush_nested(")),
      new Walker("CLEAN MAPPING bitmap", "DirtyHelpersWalkers", "dirty_helpers_apply_as_clean",
          List.of("walk_page_mapping(", "__set_bit(")),
      new Walker("SOFT_DIRTY MM", "SoftDirtyLeavesWalkers",
          "soft_dirty_leaves_apply_as_clear_soft_dirty",
          List.of("mmap_write_lock(", "MMU_NOTIFY_SOFT_DIRTY", "flush_tlb_mm(")),
      new Walker("SOFT_DIRTY MM bitmap", "SoftDirtyLeavesWalkers",
          "soft_dirty_leaves_apply_as_record_soft_dirty", List.of("__set_bit(")),
      new Walker("UFFD_WP MM", "UffdWpLeavesWalkers", "uffd_wp_leaves_apply_as_protect",
          List.of("mmap_read_lock(", "MMU_NOTIFY_PROTECTION_VMA", "PTE_MARKER_UFFD_WP")),
      new Walker("YOUNG MM", "YoungLeavesWalkers", "young_leaves_apply_as_age",
          List.of("mmap_read_lock(", "ptep_clear_young_notify(")),
      new Walker("YOUNG MAPPING", "YoungLeavesWalkers", "young_leaves_apply_as_age_shared",
          List.of("walk_page_mapping(")),
      new Walker("LAZYFREE MM", "LazyfreeLeavesWalkers", "lazyfree_leaves_apply_as_lazyfree",
          List.of("tlb_gather_mmu(", "MMU_NOTIFY_CLEAR", "tlb_remove_tlb_entry(",
              "tlb_finish_mmu(")));

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void everyReferenceWalkerCompilesAsCodeOfMmWithoutAWarning()
      throws IOException, InterruptedException {
    Set<String> files = names(REFERENCE, ".c");
    assertEquals(WALKERS.stream().map(w -> w.file() + ".c").collect(Collectors.toSet()), files,
        "the reference C files are those of the walkers this test lists");

    KernelCompile.Result r = KernelCompile.check(REFERENCE, RUN_TIMEOUT);

    assertEquals(0, r.exitCode(), r.output());
    assertTrue(r.output().contains(
        "kbuild W=1: " + files.size() + " files, no error, no warning"), r.output());
    Set<String> checked = new TreeSet<>(files);
    checked.addAll(names(REFERENCE, ".h"));
    for (String name : checked) {
      assertTrue(r.output().contains("checkpatch --strict: " + name
          + ": total: 0 errors, 0 warnings, 0 checks"), name + " not checked:\n" + r.output());
    }
  }

  /**
   * The C the processor emits, compiled and checked as the reference is: for the samples
   * (DirtyHelpers and one class per kind, YOUNG in both scopes, bitmaps included), for the class
   * using every form of the callback language (one callback of every kind and scope, every shape
   * in one file), and for a leaf calling pte_mkwrite(). The C emitted for the reference classes
   * is the reference, byte for byte ({@code CGenerationTest}), compiled by the test above.
   */
  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void theEmittedCOfTheSamplesAndOfEveryKindAndScopeCompilesWithoutAWarning(@TempDir Path dir)
      throws IOException, InterruptedException {
    Path generated = dir.resolve("generated");
    List<JavaFileObject> sources = new ArrayList<>();
    for (String sample : List.of("DirtyHelpers", "kinds.SoftDirty", "kinds.UffdWp",
        "kinds.Young", "kinds.LazyFree")) {
      sources.add(CSources.sample(sample));
    }
    sources.add(LeafTranslationTest.language());
    sources.add(LeafTranslationTest.writable());
    CSources.emitInto(generated, sources.toArray(new JavaFileObject[0]));
    Path flat = Files.createDirectories(dir.resolve("c"));
    try (Stream<Path> files = Files.walk(generated)) {
      for (Path f : files.filter(f -> f.toString().endsWith(".c") || f.toString().endsWith(".h"))
          .toList()) {
        Files.copy(f, flat.resolve(f.getFileName()));
      }
    }
    Set<String> expected = new TreeSet<>();
    for (String cls : List.of("DirtyHelpers", "SoftDirty", "UffdWp", "Young", "LazyFree",
        "Language", "Writable")) {
      expected.add(cls + "Walkers.c");
      expected.add(cls + "Walkers.h");
    }
    Set<String> emitted = new TreeSet<>(names(flat, ".c"));
    emitted.addAll(names(flat, ".h"));
    assertEquals(expected, emitted, "the processor emits a .c and a .h per class");
    // One callback of every kind and scope: the walkers of Language.java.
    String language = Files.readString(flat.resolve("LanguageWalkers.c"), StandardCharsets.UTF_8);
    for (String walk : List.of("wp_clean_pre_vma(", "soft_dirty_pinned(", "uffd_wp_nonpresent(",
        "young_test_walk(", "lazyfree_folio_clean(", "walk_page_mapping(", "walk_page_range(",
        "PGWALK_WRLOCK", "PGWALK_RDLOCK", "bwalk->bitmap_pgoff", "bwalk->bitmap_start")) {
      assertTrue(language.contains(walk), "LanguageWalkers.c has " + walk);
    }

    KernelCompile.Result r = KernelCompile.check(flat, RUN_TIMEOUT);

    assertEquals(0, r.exitCode(), r.output());
    assertTrue(r.output().contains("kbuild W=1: " + names(flat, ".c").size()
        + " files, no error, no warning"), r.output());
    for (String name : emitted) {
      assertTrue(r.output().contains("checkpatch --strict: " + name
          + ": total: 0 errors, 0 warnings, 0 checks"), name + " not checked:\n" + r.output());
    }
  }

  @Test
  void everyKindAndScopeHasAReferenceWalkerDeclaredInItsHeader() throws IOException {
    for (Walker w : WALKERS) {
      String c = Files.readString(REFERENCE.resolve(w.file() + ".c"), StandardCharsets.UTF_8);
      String h = Files.readString(REFERENCE.resolve(w.file() + ".h"), StandardCharsets.UTF_8);
      String what = w.kindAndScope() + " (" + w.entry() + " in " + w.file() + ")";
      assertTrue(c.startsWith("// SPDX-License-Identifier: GPL-2.0\n"), what);
      assertTrue(h.startsWith("/* SPDX-License-Identifier: GPL-2.0 */\n"), what);
      assertTrue(c.contains("#include \"" + w.file() + ".h\""), what);
      assertTrue(h.matches("(?s).*\\n(unsigned long\\s+)" + w.entry() + "\\(.*"),
          what + ": not declared in the header");
      assertTrue(c.matches("(?s).*\\nunsigned long\\s+" + w.entry() + "\\(.*"),
          what + ": not defined as a non-static function");
      for (String call : w.calls()) {
        assertTrue(c.contains(call), what + ": its shape calls " + call);
      }
    }
    // Every walker file but the sample's comes with the Java callback class it stands for.
    for (String c : names(REFERENCE, ".c")) {
      String cls = c.replace("Walkers.c", "");
      assertTrue(cls.equals("DirtyHelpers") || Files.exists(REFERENCE.resolve(cls + ".java")),
          c + " has no " + cls + ".java beside it");
    }
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void codeIsBuiltInAndSeesTheInternalsOfMm(@TempDir Path dir)
      throws IOException, InterruptedException {
    // x86 hides flush_tlb_range() from modules; "internal.h" is mm/'s own header.
    write(dir, "builtin.c", """
        // SPDX-License-Identifier: GPL-2.0
        #include <linux/hugetlb.h>
        #include <asm/tlbflush.h>

        #include "internal.h"

        #ifdef MODULE
        #error "compiled as a module"
        #endif

        void ptwalk_flush(struct vm_area_struct *vma);

        void ptwalk_flush(struct vm_area_struct *vma)
        {
        \tflush_tlb_batched_pending(vma->vm_mm);
        \tflush_tlb_range(vma, vma->vm_start, vma->vm_end);
        }
        """);

    KernelCompile.Result r = KernelCompile.check(dir, RUN_TIMEOUT);

    assertEquals(0, r.exitCode(), r.output());
    assertTrue(r.output().contains("kbuild W=1: 1 files, no error, no warning"), r.output());
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void eachProblemFailsTheCheckAndIsNamedWithItsLine(@TempDir Path dir)
      throws IOException, InterruptedException {
    // Negative control of the built-in check: this file only compiles as a module.
    write(dir, "module_only.c", """
        // SPDX-License-Identifier: GPL-2.0
        #ifndef MODULE
        #error "compiled as built-in code"
        #endif
        """);
    write(dir, "negative.h", """
        /* SPDX-License-Identifier: GPL-2.0 */
        #ifndef _PTWALK_NEGATIVE_H
        #define _PTWALK_NEGATIVE_H

        struct mm_struct;

        void ptwalk_lock(struct mm_struct *mm);
        void ptwalk_doc(struct mm_struct *mm);
        void ptwalk_long(struct mm_struct *mm);

        #endif /* _PTWALK_NEGATIVE_H */
        """);
    write(dir, "unused_variable.c", """
        // SPDX-License-Identifier: GPL-2.0
        #include <linux/mm.h>

        #include "negative.h"

        void ptwalk_lock(struct mm_struct *mm)
        {
        \tint unused;

        \tmmap_read_lock(mm);
        \tmmap_read_unlock(mm);
        }
        """);
    write(dir, "kernel_doc.c", """
        // SPDX-License-Identifier: GPL-2.0
        #include <linux/mm.h>

        #include "negative.h"

        /**
         * ptwalk_doc - Lock and unlock an mm
         * @m: The mm
         */
        void ptwalk_doc(struct mm_struct *mm)
        {
        \tmmap_read_lock(mm);
        \tmmap_read_unlock(mm);
        }
        """);
    write(dir, "long_line.c", """
        // SPDX-License-Identifier: GPL-2.0
        #include <linux/mm.h>

        #include "negative.h"

        void ptwalk_long(struct mm_struct *mm)
        {
        \tWARN_ON_ONCE(mm->map_count < 0 || mm->total_vm < mm->locked_vm || !mm->task_size);
        }
        """);
    // The sample's reference C without the header that declares inc_tlb_flush_pending().
    String sample = Files.readString(REFERENCE.resolve("DirtyHelpersWalkers.c"));
    String broken = sample.replace("#include <linux/mm_inline.h>\n", "");
    assertTrue(broken.length() < sample.length(), "the sample includes linux/mm_inline.h");
    write(dir, "DirtyHelpersWalkers.c", broken);
    Files.copy(REFERENCE.resolve("DirtyHelpersWalkers.h"), dir.resolve("DirtyHelpersWalkers.h"));
    int incLine = lineOf(broken, "\tinc_tlb_flush_pending(walk->mm);");

    KernelCompile.Result r = KernelCompile.check(dir, RUN_TIMEOUT);

    String d = dir.toAbsolutePath().toRealPath() + "/";
    String out = r.output();
    assertEquals(1, r.exitCode(), out);
    assertTrue(out.contains(d + "module_only.c:3:2: error: #error \"compiled as built-in code\""),
        out);
    assertTrue(out.contains(d + "unused_variable.c:8:13: warning: unused variable 'unused'"),
        out);
    assertTrue(out.contains(d + "kernel_doc.c:11: warning: Function parameter or struct member"
        + " 'mm' not described in 'ptwalk_doc'"), out);
    assertTrue(out.contains(d + "DirtyHelpersWalkers.c:" + incLine
        + ":9: error: implicit declaration of function 'inc_tlb_flush_pending'"), out);
    assertTrue(out.contains("FAIL: kbuild exited with status"), out);
    assertTrue(out.contains("CHECK:LONG_LINE: line length of 90 exceeds 80 columns"), out);
    assertTrue(out.contains("FAIL: checkpatch complained about long_line.c"), out);
    assertTrue(out.contains("checkpatch --strict: unused_variable.c: total: 0 errors"),
        "checkpatch reports the files it finds nothing in:\n" + out);
  }

  private static Set<String> names(Path dir, String suffix) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(suffix))
          .collect(Collectors.toCollection(TreeSet::new));
    }
  }

  private static void write(Path dir, String name, String text) throws IOException {
    Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
  }

  /** The 1-based number of the line that is exactly {@code line}. */
  private static int lineOf(String text, String line) {
    List<String> lines = text.lines().toList();
    int i = lines.indexOf(line);
    assertTrue(i >= 0, "no line '" + line + "'");
    assertEquals(i, lines.lastIndexOf(line), "line '" + line + "' is not unique");
    return i + 1;
  }
}
