package dev.ptwalk.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static dev.ptwalk.processor.Sources.compile;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.JavaFileObjects;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The corpus: walkers transcribed from the kernel's own ({@code src/test/resources/corpus}, one
 * file per walker, each citing its kernel function), each accepted by the body check as the
 * kernel writes it; and each historical bug of the kernel's walkers reintroduced into one of them
 * and rejected on its line (marked {@code // <- bug}).
 */
@Timeout(300)
class CorpusTest {
  private static final Path CORPUS = Path.of("src/test/resources/corpus");

  static List<String> walkers() throws IOException {
    try (Stream<Path> files = Files.list(CORPUS)) {
      return files.map(p -> p.getFileName().toString().replace(".java", "")).sorted()
          .collect(Collectors.toList());
    }
  }

  private static String source(String walker) throws IOException {
    return Files.readString(CORPUS.resolve(walker + ".java"));
  }

  private static JavaFileObject file(String walker, String text) {
    return JavaFileObjects.forSourceString("corpus." + walker, text);
  }

  @Test
  void theCorpusHoldsAtLeastTwentyKernelWalkers() throws IOException {
    List<String> walkers = walkers();
    assertTrue(walkers.size() >= 20, walkers::toString);
    for (String w : walkers) {
      assertTrue(source(w).contains("Kingxukai/linux") || source(w).contains("torvalds/linux")
          || source(w).contains("2019 patch"), w + " cites no kernel source");
    }
  }

  @ParameterizedTest
  @MethodSource("walkers")
  void eachWalkerIsAcceptedAsTheKernelWritesIt(String walker) throws IOException {
    assertThat(compile(file(walker, source(walker)))).succeededWithoutWarnings();
  }

  /** {@code walker} with each {@code pairs[2i]} replaced by {@code pairs[2i + 1]}. */
  private static JavaFileObject reintroduce(String walker, String... pairs) throws IOException {
    String text = source(walker);
    for (int i = 0; i < pairs.length; i += 2) {
      String original = pairs[i];
      assertEquals(1, text.split(java.util.regex.Pattern.quote(original), -1).length - 1,
          "exactly one '" + original + "' in " + walker);
      text = text.replace(original, pairs[i + 1]);
    }
    assertTrue(text.contains("// <- bug"), "the bug is marked");
    return file(walker, text);
  }

  /** {@code src} is rejected with {@code code} and {@code fragments} on the line of the bug. */
  private static void rejected(JavaFileObject src, String code, String... fragments) {
    Compilation c = compile(src);
    assertThat(c).failed();
    assertThat(c).hadErrorContaining("[ptwalk:" + code + "]").inFile(src)
        .onLineContaining("// <- bug");
    for (String f : fragments) {
      assertThat(c).hadErrorContaining(f).inFile(src).onLineContaining("// <- bug");
    }
  }

  private static final String MODIFY_START = "long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt);";

  /**
   * Bug 1, 99baac21e458 "mm: fix MADV_[FREE|DONTNEED] TLB flush miss problem": before it, the
   * mmu_gather raised no pending count and finished with no nested check, so a concurrent
   * MADV_FREE that found a PTE already clean skipped its flush.
   */
  @Test
  void bug1MadviseFreeWithoutTheGathersPendingCount() throws IOException {
    rejected(reintroduce("MadviseFree",
        "      mm.incTlbFlushPending();\n", "",
        "        mm.decTlbFlushPending();\n", "",
        MODIFY_START, MODIFY_START + " // <- bug"),
        "missing-flush", "no TLB flush of VMA vma runs between it and the release of its page"
            + " table's lock", "the walker has not raised the mm's tlb_flush_pending");
  }

  /**
   * Bug 2, the mapping_dirty_helpers review (Peter Zijlstra, Oct 2019): without the {@code
   * mm_tlb_flush_nested} branch, two concurrent walkers under the read i_mmap lock each flush only
   * the PTEs they changed themselves.
   */
  @Test
  void bug2WpCleanPostVmaWithoutTheNestedFlush() throws IOException {
    rejected(reintroduce("WpSharedMappingRange",
        "          if (mm.mmTlbFlushNested()) {\n"
            + "            TlbFlush.flushTlbRange(vma, range.start(), range.end());\n"
            + "          } else if (tlbflushEnd > tlbflushStart) {",
        "          if (tlbflushEnd > tlbflushStart) {",
        MODIFY_START, MODIFY_START + " // <- bug"),
        "missing-flush", "the walker flushes only the PTEs it changed itself",
        "Flush the whole range when mm.mmTlbFlushNested() is true");
  }

  /**
   * Bug 3, 912efa17e512 "mm: proc: Invalidate TLB after clearing soft-dirty page state": the
   * soft-dirty clear with no TLB flush at all.
   */
  @Test
  void bug3ClearRefsSoftDirtyWithoutFlushTlbMm() throws IOException {
    rejected(reintroduce("ClearRefsSoftDirty",
        "        TlbFlush.flushTlbMm(mm);\n", "",
        "long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt);",
        "long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt); // <- bug"),
        "missing-flush", "between it and decTlbFlushPending at line");
  }

  /** Bug 4a, "soft-dirty: call mmu notifiers when write-protecting ptes" (2013): no bracket. */
  @Test
  void bug4aClearRefsSoftDirtyWithoutNotifiers() throws IOException {
    rejected(reintroduce("ClearRefsSoftDirty",
        "        MmuNotifiers.invalidateRangeStart(range);\n", "",
        "          MmuNotifiers.invalidateRangeEnd(range);\n", "",
        "long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt);",
        "long oldPte = Pgtable.ptepModifyProtStart(vma, addr, pt); // <- bug"),
        "change-outside-bracket", "Pgtable.ptepModifyProtStart changes a PTE where no"
            + " invalidateRangeStart has run before it on every path");
  }

  /**
   * Bug 4b, f268f6cf875f "mm/khugepaged: invoke MMU notifiers in shmem/file collapse paths": the
   * page table retracted with no bracket, so secondary MMUs keep the pages mapped.
   */
  @Test
  void bug4bRetractPageTablesWithoutNotifiers() throws IOException {
    rejected(reintroduce("RetractPageTables",
        "        MmuNotifiers.invalidateRangeStart(range);\n", "",
        "          MmuNotifiers.invalidateRangeEnd(range);\n", "",
        "Pgtable.ptepGetAndClear(mm, a, pt);", "Pgtable.ptepGetAndClear(mm, a, pt); // <- bug"),
        "change-outside-bracket", "Pgtable.ptepGetAndClear changes a PTE");
  }

  /**
   * Bug 5a, CVE-2024-26617 "fs/proc/task_mmu: move mmu notification mechanism inside mm lock":
   * the bracket outside the chunk loop, its range re-initialised for each chunk, so the end
   * announces a range no start announced.
   */
  @Test
  void bug5aPagemapScanWithTheRangeReinitialisedPerChunk() throws IOException {
    rejected(reintroduce("PagemapScanWp",
        "    long found = 0;\n",
        "    long found = 0;\n"
            + "    MmuNotifierRange range =\n"
            + "        new MmuNotifierRange(MmuNotifierEvent.PROTECTION_VMA, 0, mm, start, end);\n"
            + "    MmuNotifiers.invalidateRangeStart(range); // <- bug\n",
        "        MmuNotifierRange range =\n"
            + "            new MmuNotifierRange(MmuNotifierEvent.PROTECTION_VMA, 0, mm, walkStart, end);\n"
            + "        MmuNotifiers.invalidateRangeStart(range);\n",
        "        range = new MmuNotifierRange(MmuNotifierEvent.PROTECTION_VMA, 0, mm, walkStart,"
            + " end);\n"),
        "missing-end");
  }

  /**
   * Bug 5b, CVE-2024-36943 "fs/proc/task_mmu: fix loss of young/dirty bits during pagemap scan":
   * {@code make_uffd_wp_pte} computed the new PTE from the value {@code ptep_get} read before
   * {@code ptep_modify_prot_start} took it.
   */
  @Test
  void bug5bPagemapScanWritingTheValueReadBeforeModifyProtStart() throws IOException {
    rejected(reintroduce("PagemapScanWp",
        "                  long newPte = Pte.mkuffdWp(oldPte);\n"
            + "                  Pgtable.ptepModifyProtCommit(vma, addr, pt, oldPte, newPte);",
        "                  long newPte = Pte.mkuffdWp(ptent);\n"
            + "                  Pgtable.ptepModifyProtCommit(vma, addr, pt, oldPte, newPte); // <- bug"),
        "stale-pte-value", "Pgtable.ptepModifyProtCommit writes a PTE value computed from newPte,"
            + " which a plain read took at line", "before Pgtable.ptepModifyProtStart at line");
  }

  /**
   * Bug 6, 1cf35d47712d and 60bae7370896 ("flush TLB while holding PTL"): the per-table flush
   * moved after the ptl is dropped, with no pending count raised.
   */
  @Test
  void bug6PagemapScanFlushingAfterThePtlIsDropped() throws IOException {
    rejected(reintroduce("PagemapScanWp",
        "                if (next > flushStart) {\n"
            + "                  TlbFlush.flushTlbRange(vma, flushStart, next);\n"
            + "                }\n"
            + "                pt.ptl().unlock();\n",
        "                pt.ptl().unlock();\n"
            + "                if (next > flushStart) {\n"
            + "                  TlbFlush.flushTlbRange(vma, flushStart, next);\n"
            + "                }\n",
        MODIFY_START, MODIFY_START + " // <- bug"),
        "missing-flush", "between it and the release of its page table's lock");
  }
}
