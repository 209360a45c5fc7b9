package dev.ptwalk.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static dev.ptwalk.processor.Sources.compile;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.JavaFileObjects;
import java.util.ArrayList;
import java.util.List;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The body check of hand-written {@code @CheckedWalker}s: incorrect walkers, each rejected with
 * its code, message and line (the offending line carries the marker {@code // <-}), and correct
 * variants, each accepted without a diagnostic.
 */
@Timeout(120)
class BodyCheckTest {
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
      "",
      "final class W {",
      "  static MmuNotifierRange range(Vma v, long s, long e) {",
      "    return new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, v.mm(), s, e);",
      "  }",
      "",
      "  /** Write-protect one PTE the right way, under its ptl. */",
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

  private static JavaFileObject walker(String... body) {
    List<String> lines = new ArrayList<>(HEADER);
    lines.addAll(List.of(body));
    lines.add("}");
    return JavaFileObjects.forSourceLines("test.W", lines);
  }

  private static void rejects(JavaFileObject src, String code, String... fragments) {
    Compilation c = compile(src);
    assertThat(c).failed();
    assertThat(c).hadErrorContaining("[ptwalk:" + code + "]").inFile(src).onLineContaining("// <-");
    for (String f : fragments) {
      assertThat(c).hadErrorContaining(f).inFile(src).onLineContaining("// <-");
    }
  }

  private static void accepts(JavaFileObject src) {
    assertThat(compile(src)).succeededWithoutWarnings();
  }

  // ---------------------------------------------------------------- incorrect walkers

  @Test
  void changeWithNoStart() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    pt.ptl().lock();",
        "    try {",
        "      Pgtable.setPteAt(vma.mm(), a, pt, 0); // <-",
        "    } finally {",
        "      pt.ptl().unlock();",
        "    }",
        "    TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "  }"),
        "change-outside-bracket", "Pgtable.setPteAt changes a PTE where no invalidateRangeStart"
            + " has run before it on every path: a secondary MMU (KVM, an IOMMU) keeps a stale"
            + " writable or present mapping of the page.");
  }

  @Test
  void errorsArePositionedAtTheCallsColumn() {
    JavaFileObject src = walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "      Pgtable.setPteAt(vma.mm(), a, pt, 0); // <-",
        "  }");
    Compilation c = compile(src);
    // javac places a diagnostic on a method call at the call's parenthesis.
    assertThat(c).hadErrorContaining("[ptwalk:change-outside-bracket]").inFile(src)
        .onLine(HEADER.size() + 2).atColumn(23);
  }

  @Test
  void noEndAtAll() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r); // <-",
        "    wp(vma, pt, a);",
        "    TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "  }"),
        "missing-end", "no invalidateRangeEnd(r) follows this invalidateRangeStart on any path,"
            + " so the bracket is never closed",
        "with the shape: MmuNotifiers.invalidateRangeStart(r); try { ... } finally {"
            + " MmuNotifiers.invalidateRangeEnd(r); }");
  }

  @Test
  void endNotInFinally() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r); // <-",
        "    wp(vma, pt, a);",
        "    TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeEnd(r);",
        "  }"),
        "missing-end", "an exception from wp at line " + (HEADER.size() + 4)
            + " leaves the bracket open");
  }

  @Test
  void earlyReturnSkipsEnd() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a, boolean done) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r); // <-",
        "    if (done) {",
        "      return;",
        "    }",
        "    try {",
        "      wp(vma, pt, a);",
        "      TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "    } finally {",
        "      MmuNotifiers.invalidateRangeEnd(r);",
        "    }",
        "  }"),
        "missing-end", "the path that returns at line " + (HEADER.size() + 5));
  }

  @Test
  void switchCaseThatReturnsSkipsEnd() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a, int mode) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r); // <-",
        "    switch (mode) {",
        "      case 0:",
        "        return;",
        "      default:",
        "        break;",
        "    }",
        "    MmuNotifiers.invalidateRangeEnd(r);",
        "  }"),
        "missing-end", "the path that returns at line " + (HEADER.size() + 6));
  }

  @Test
  void endSkippedOnOneBranchInALoop() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a, int n) {",
        "    for (int i = 0; i < n; i++) {",
        "      MmuNotifierRange r = range(vma, a, a + 4096);",
        "      MmuNotifiers.invalidateRangeStart(r); // <-",
        "      try {",
        "        wp(vma, pt, a);",
        "        TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "      } finally {",
        "        if (i % 2 == 0) {",
        "          MmuNotifiers.invalidateRangeEnd(r);",
        "        }",
        "      }",
        "    }",
        "  }"),
        "missing-end");
  }

  @Test
  void changeAfterEnd() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 8192);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      wp(vma, pt, a);",
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "    wp(vma, pt, a + 4096); // <-",
        "  }"),
        "change-after-end", "wp changes a PTE after invalidateRangeEnd at line "
            + (HEADER.size() + 10) + " on some path");
  }

  @Test
  void changeAfterTheBracketOfThePreviousLoopIteration() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a, int n) {",
        "    for (int i = 0; i < n; i++) {",
        "      if (i > 0) {",
        "        wp(vma, pt, a); // <-",
        "      }",
        "      MmuNotifierRange r = range(vma, a, a + 4096);",
        "      MmuNotifiers.invalidateRangeStart(r);",
        "      try {",
        "        wp(vma, pt, a);",
        "      } finally {",
        "        try {",
        "          TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "        } finally {",
        "          MmuNotifiers.invalidateRangeEnd(r);",
        "        }",
        "      }",
        "    }",
        "  }"),
        "change-after-end");
  }

  @Test
  void noFlushAtAll() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      wp(vma, pt, a); // <-",
        "    } finally {",
        "      MmuNotifiers.invalidateRangeEnd(r);",
        "    }",
        "  }"),
        "missing-flush", "wp changes a PTE, but no TLB flush of VMA vma runs between it and"
            + " invalidateRangeEnd at line " + (HEADER.size() + 7) + " on some path: another CPU"
            + " keeps reading or writing through its stale TLB entry");
  }

  @Test
  void flushAfterEnd() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      wp(vma, pt, a); // <-",
        "    } finally {",
        "      MmuNotifiers.invalidateRangeEnd(r);",
        "    }",
        "    TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "  }"),
        "missing-flush", "(a flush after invalidateRangeEnd is too late)");
  }

  @Test
  void flushOfAnotherVma() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, Vma other, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      wp(vma, pt, a); // <-",
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(other, a, a + 4096);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "  }"),
        "missing-flush", "no TLB flush of VMA vma");
  }

  @Test
  void flushSkippedOnOneBranch() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a, boolean lazy) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      wp(vma, pt, a); // <-",
        "    } finally {",
        "      try {",
        "        if (!lazy) {",
        "          TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "        }",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "  }"),
        "missing-flush");
  }

  @Test
  void flushThatAnExceptionSkips() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      pt.ptl().lock();",
        "      try {",
        "        long old = Pgtable.ptepModifyProtStart(vma, a, pt); // <-",
        "        Pgtable.ptepModifyProtCommit(vma, a, pt, old, Pte.wrprotect(old));",
        "      } finally {",
        "        pt.ptl().unlock();",
        "      }",
        "      TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "    } finally {",
        "      MmuNotifiers.invalidateRangeEnd(r);",
        "    }",
        "  }"),
        "missing-flush", "on the path where an exception from pt.ptl().unlock at line "
            + (HEADER.size() + 10) + " propagates",
        "in a finally block if an exception can come between them");
  }

  @Test
  void aHelperThatCanThrowBetweenTheChangeAndTheFlush() {
    rejects(walker(
        "  static long pageOf(long a) {",
        "    return a & ~4095L;",
        "  }",
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      wp(vma, pt, a); // <-",
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(vma, pageOf(a), pageOf(a) + 4096);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "  }"),
        "missing-flush", "on the path where an exception from pageOf at line "
            + (HEADER.size() + 11) + " propagates");
  }

  @Test
  void incWithoutDec() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    vma.mm().incTlbFlushPending(); // <-",
        "    try {",
        "      wp(vma, pt, a);",
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "  }"),
        "unbalanced-flush-pending", "incTlbFlushPending here is not matched by a"
            + " decTlbFlushPending on the path that reaches the end of the method");
  }

  @Test
  void decWithoutInc() {
    rejects(walker(
        "  @CheckedWalker static void walk(MmStruct mm) {",
        "    mm.decTlbFlushPending(); // <-",
        "  }"),
        "unbalanced-flush-pending", "decTlbFlushPending here is not matched by an earlier"
            + " incTlbFlushPending on some path");
  }

  @Test
  void decNotInFinally() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    vma.mm().incTlbFlushPending(); // <-",
        "    try {",
        "      wp(vma, pt, a);",
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "    vma.mm().decTlbFlushPending();",
        "  }"),
        "unbalanced-flush-pending", "on an exception from wp at line " + (HEADER.size() + 6));
  }

  @Test
  void startSkippedOnOneBranch() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a, boolean quiet) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    if (!quiet) {",
        "      MmuNotifiers.invalidateRangeStart(r);",
        "    }",
        "    wp(vma, pt, a); // <-",
        "    TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "  }"),
        "change-outside-bracket");
  }

  @Test
  void endWithoutStart() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, long a) {",
        "    MmuNotifiers.invalidateRangeEnd(range(vma, a, a + 4096)); // <-",
        "  }"),
        "end-without-start", "has no matching invalidateRangeStart");
  }

  @Test
  void rangeOfAnotherMm() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma a, Vma b, PteTable pt, long addr) {",
        "    MmuNotifierRange r =",
        "        new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, a.mm(), addr, addr + 1);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      wp(b, pt, addr); // <-",
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(b, addr, addr + 4096);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "  }"),
        "bracket-mm-mismatch", "wp changes a PTE of VMA b, but the open notifier bracket (line "
            + (HEADER.size() + 4) + ") is for VMA a: the secondary MMUs of the changed mm are never"
            + " told.");
  }

  @Test
  void rangeOfAnotherMmThroughALocal() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma a, Vma b, PteTable pt, long addr) {",
        "    MmStruct mm = a.mm();",
        "    MmuNotifierRange r =",
        "        new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, mm, addr, addr + 1);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      Pgtable.setPteAt(b.mm(), addr, pt, 0); // <-",
        "      TlbFlush.flushTlbMm(b.mm());",
        "    } finally {",
        "      MmuNotifiers.invalidateRangeEnd(r);",
        "    }",
        "  }"),
        "bracket-mm-mismatch", "is for VMA a");
  }

  @Test
  void changeInALambda() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      Runnable later = () ->",
        "          Pgtable.setPteAt(vma.mm(), a, pt, 0); // <-",
        "      later.run();",
        "      TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "    } finally {",
        "      MmuNotifiers.invalidateRangeEnd(r);",
        "    }",
        "  }"),
        "hidden-change", "Pgtable.setPteAt changes a PTE inside a lambda or method reference");
  }

  @Test
  void changeInAnAnonymousClass() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    Runnable later = new Runnable() {",
        "      @Override public void run() {",
        "        Pgtable.setPteAt(vma.mm(), a, pt, 0); // <-",
        "      }",
        "    };",
        "    later.run();",
        "  }"),
        "hidden-change");
  }

  @Test
  void changeInAMethodReference() {
    rejects(walker(
        "  static void zap() {",
        "    Pgtable.setPteAt(null, 0, null, 0);",
        "  }",
        "  @CheckedWalker static void walk() {",
        "    Runnable later = W::zap; // <-",
        "    later.run();",
        "  }"),
        "hidden-change", "W::zap changes a PTE inside a lambda or method reference");
  }

  @Test
  void unmarkedHelperHidesAChange() {
    rejects(walker(
        "  static void sneaky(Vma vma, PteTable pt, long a) {",
        "    Pgtable.setPteAt(vma.mm(), a, pt, 0);",
        "  }",
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      sneaky(vma, pt, a); // <-",
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "  }"),
        "hidden-change", "sneaky() changes PTEs (Pgtable.setPteAt at line " + (HEADER.size() + 2)
            + ") out of sight of this check", "Mark it @InBracket");
  }

  @Test
  void unmarkedHelperHidesAChangeTwoCallsDeep() {
    rejects(walker(
        "  static void inner(Vma vma, PteTable pt, long a) {",
        "    Pgtable.setPteAt(vma.mm(), a, pt, 0);",
        "  }",
        "  static void outer(Vma vma, PteTable pt, long a) {",
        "    inner(vma, pt, a);",
        "  }",
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    outer(vma, pt, a); // <-",
        "  }"),
        "hidden-change", "outer() changes PTEs (inner at line " + (HEADER.size() + 5) + ")");
  }

  @Test
  void inBracketHelperCalledOutsideABracket() {
    rejects(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    wp(vma, pt, a); // <-",
        "    TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "  }"),
        "change-outside-bracket", "wp changes a PTE where no invalidateRangeStart has run");
  }

  @Test
  void severalMistakesInOneWalkerAreAllReported() {
    JavaFileObject src = walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    wp(vma, pt, a); // outside",
        "    vma.mm().incTlbFlushPending(); // no dec",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      wp(vma, pt, a); // not flushed",
        "    } finally {",
        "      MmuNotifiers.invalidateRangeEnd(r);",
        "    }",
        "  }");
    Compilation c = compile(src);
    assertThat(c).hadErrorContaining("[ptwalk:change-outside-bracket]").inFile(src)
        .onLineContaining("// outside");
    assertThat(c).hadErrorContaining("[ptwalk:unbalanced-flush-pending]").inFile(src)
        .onLineContaining("// no dec");
    assertThat(c).hadErrorContaining("[ptwalk:missing-flush]").inFile(src)
        .onLineContaining("// not flushed");
    assertThat(c).hadErrorCount(3);
  }

  // ---------------------------------------------------------------- correct walkers

  /** The shape in @CheckedWalker's documentation. */
  @Test
  void theKernelShape() {
    accepts(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long start, long end) {",
        "    MmuNotifierRange range = range(vma, start, end);",
        "    MmuNotifiers.invalidateRangeStart(range);",
        "    vma.mm().incTlbFlushPending();",
        "    try {",
        "      wp(vma, pt, start);",
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(vma, start, end);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(range);",
        "        vma.mm().decTlbFlushPending();",
        "      }",
        "    }",
        "  }"));
  }

  @Test
  void aLoopOfChangesWithTheMinMaxFlushIdiom() {
    accepts(walker(
        "  @CheckedWalker static long walk(Vma vma, PteTable pt, long start, long end) {",
        "    MmStruct mm = vma.mm();",
        "    long total = 0;",
        "    long tlbflushStart = end;",
        "    long tlbflushEnd = start;",
        "    MmuNotifierRange range =",
        "        new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, mm, start, end);",
        "    MmuNotifiers.invalidateRangeStart(range);",
        "    mm.incTlbFlushPending();",
        "    try {",
        "      pt.ptl().lock();",
        "      try {",
        "        for (long addr = start; addr < end; addr += 4096) {",
        "          long ptent = Pgtable.ptepGet(pt, addr);",
        "          if (!Pte.write(ptent)) {",
        "            continue;",
        "          }",
        "          long old = Pgtable.ptepModifyProtStart(vma, addr, pt);",
        "          Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.wrprotect(old));",
        "          total++;",
        "          tlbflushStart = Math.min(tlbflushStart, addr);",
        "          tlbflushEnd = Math.max(tlbflushEnd, addr + 4096);",
        "        }",
        "      } finally {",
        "        pt.ptl().unlock();",
        "      }",
        "    } finally {",
        "      try {",
        "        if (mm.mmTlbFlushNested()) {",
        "          TlbFlush.flushTlbRange(vma, start, end);",
        "        } else if (tlbflushEnd > tlbflushStart) {",
        "          TlbFlush.flushTlbRange(vma, tlbflushStart, tlbflushEnd);",
        "        }",
        "      } finally {",
        "        try {",
        "          MmuNotifiers.invalidateRangeEnd(range);",
        "        } finally {",
        "          mm.decTlbFlushPending();",
        "        }",
        "      }",
        "    }",
        "    return total;",
        "  }"));
  }

  @Test
  void oneBracketPerLoopIteration() {
    accepts(walker(
        "  @CheckedWalker static void walk(Vma[] vmas, PteTable pt, long a) {",
        "    for (Vma vma : vmas) {",
        "      if (vma == null) {",
        "        continue;",
        "      }",
        "      MmuNotifierRange r = range(vma, a, a + 4096);",
        "      MmuNotifiers.invalidateRangeStart(r);",
        "      try {",
        "        wp(vma, pt, a);",
        "      } finally {",
        "        try {",
        "          TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "        } finally {",
        "          MmuNotifiers.invalidateRangeEnd(r);",
        "        }",
        "      }",
        "    }",
        "  }"));
  }

  @Test
  void branchesThatEachFlush() {
    accepts(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a, boolean wide) {",
        "    MmuNotifierRange r = range(vma, a, a + 8192);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      wp(vma, pt, a);",
        "    } finally {",
        "      try {",
        "        if (wide) {",
        "          TlbFlush.flushTlbMm(vma.mm());",
        "        } else {",
        "          TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "        }",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "  }"));
  }

  @Test
  void earlyReturnsBeforeTheBracketAndInsideItsTry() {
    accepts(walker(
        "  @CheckedWalker static int walk(Vma vma, PteTable pt, long a, int n) {",
        "    if (n == 0) {",
        "      return 0;",
        "    }",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      if (n < 0) {",
        "        return -1;",
        "      }",
        "      wp(vma, pt, a);",
        "      return 1;",
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "  }"));
  }

  @Test
  void nestedBracketsOverTwoMms() {
    accepts(walker(
        "  @CheckedWalker static void walk(Vma a, Vma b, PteTable pa, PteTable pb, long x) {",
        "    MmuNotifierRange ra = range(a, x, x + 4096);",
        "    MmuNotifierRange rb =",
        "        new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, b.mm(), x, x + 4096);",
        "    MmuNotifiers.invalidateRangeStart(ra);",
        "    try {",
        "      MmuNotifiers.invalidateRangeStart(rb);",
        "      try {",
        "        wp(a, pa, x);",
        "        wp(b, pb, x);",
        "      } finally {",
        "        try {",
        "          TlbFlush.flushTlbRange(a, x, x + 4096);",
        "          TlbFlush.flushTlbRange(b, x, x + 4096);",
        "        } finally {",
        "          MmuNotifiers.invalidateRangeEnd(rb);",
        "        }",
        "      }",
        "    } finally {",
        "      MmuNotifiers.invalidateRangeEnd(ra);",
        "    }",
        "  }"));
  }

  @Test
  void catchAndRethrowInsideTheBracket() {
    accepts(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      wp(vma, pt, a);",
        "    } catch (RuntimeException e) {",
        "      throw new IllegalStateException(\"walk failed\", e);",
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(vma, a, a + 4096);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "  }"));
  }

  @Test
  void clearingOnlyTheAccessedBitNeedsNoBracket() {
    accepts(walker(
        "  @CheckedWalker static boolean age(Vma vma, PteTable pt, long a) {",
        "    pt.ptl().lock();",
        "    try {",
        "      return Pgtable.ptepTestAndClearYoung(vma, a, pt);",
        "    } finally {",
        "      pt.ptl().unlock();",
        "    }",
        "  }"));
  }

  @Test
  void aWhileTrueLoopWithBreakAndAGuardedFlush() {
    accepts(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long start, long end) {",
        "    long lo = end;",
        "    long hi = start;",
        "    MmuNotifierRange r = range(vma, start, end);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      long a = start;",
        "      while (true) {",
        "        if (a >= end) {",
        "          break;",
        "        }",
        "        wp(vma, pt, a);",
        "        lo = Math.min(lo, a);",
        "        hi = Math.max(hi, a + 4096);",
        "        a += 4096;",
        "      }",
        "    } finally {",
        "      try {",
        "        if (lo < hi) {",
        "          TlbFlush.flushTlbRange(vma, lo, hi);",
        "        }",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "  }"));
  }

  @Test
  void aSwitchWhoseEveryCaseStaysInsideTheBracket() {
    accepts(walker(
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a, int mode) {",
        "    MmuNotifierRange r = range(vma, a, a + 8192);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      switch (mode) {",
        "        case 0:",
        "          wp(vma, pt, a);",
        "          break;",
        "        case 1:",
        "          wp(vma, pt, a + 4096);",
        "          break;",
        "        default:",
        "          break;",
        "      }",
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(vma, a, a + 8192);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "  }"));
  }

  @Test
  void helpersThatAreWalkersOfTheirOwnAndPlainHelpers() {
    accepts(walker(
        "  static long pageOf(long a) {",
        "    return a & ~4095L;",
        "  }",
        "  @CheckedWalker static void one(Vma vma, PteTable pt, long a) {",
        "    long page = pageOf(a);",
        "    MmuNotifierRange r = range(vma, page, page + 4096);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      wp(vma, pt, pageOf(a));",
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(vma, page, page + 4096);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "  }",
        "  @CheckedWalker static void two(Vma vma, PteTable pt, long a) {",
        "    one(vma, pt, a);",
        "    one(vma, pt, a + 4096);",
        "  }"));
  }

  @Test
  void anInBracketHelperOfItsOwnIsCheckedInsideItsCallersBracket() {
    accepts(walker(
        "  @InBracket static void wpTwo(Vma vma, PteTable pt, long a) {",
        "    wp(vma, pt, a);",
        "    wp(vma, pt, a + 4096);",
        "  }",
        "  @CheckedWalker static void walk(Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r = range(vma, a, a + 8192);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      wpTwo(vma, pt, a);",
        "    } finally {",
        "      try {",
        "        TlbFlush.flushTlbRange(vma, a, a + 8192);",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    }",
        "  }"));
  }

  @Test
  void anInBracketHelperMustNotLeaveAPendingCounterBehind() {
    rejects(walker(
        "  @InBracket static void bad(Vma vma, PteTable pt, long a) {",
        "    vma.mm().incTlbFlushPending(); // <-",
        "    wp(vma, pt, a);",
        "  }"),
        "unbalanced-flush-pending");
  }

  // ------------------------------------------- point 10: clear_refs_write's order of the flush

  /**
   * {@code clear_refs_write} with {@code CLEAR_REFS_SOFT_DIRTY}: inc_tlb_flush_pending, the
   * bracket over the walk, invalidate_range_end, then flush_tlb_mm, then dec_tlb_flush_pending.
   * {@code flush} is the statement between the end and the dec.
   */
  private static JavaFileObject clearRefs(String flush, String dec) {
    return walker(
        "  @CheckedWalker static void clearRefs(MmStruct mm, Vma vma, PteTable pt, long a) {",
        "    mm.incTlbFlushPending();",
        "    try {",
        "      MmuNotifierRange r =",
        "          new MmuNotifierRange(MmuNotifierEvent.SOFT_DIRTY, 0, mm, 0, -1L);",
        "      MmuNotifiers.invalidateRangeStart(r);",
        "      try {",
        "        wp(vma, pt, a); // <-",
        "      } finally {",
        "        MmuNotifiers.invalidateRangeEnd(r);",
        "      }",
        "    } finally {",
        "      try {",
        "        " + flush,
        "      } finally {",
        "        " + dec,
        "      }",
        "    }",
        "  }");
  }

  @Test
  void theClearRefsOrderFlushingAfterTheEndAndBeforeTheDecIsAccepted() {
    accepts(clearRefs("TlbFlush.flushTlbMm(mm);", "mm.decTlbFlushPending();"));
  }

  @Test
  void withThePendingCountRaisedAFlushAfterTheDecIsRejected() {
    rejects(clearRefs("mm.decTlbFlushPending();", "TlbFlush.flushTlbMm(mm);"),
        "missing-flush", "wp changes a PTE, but no TLB flush of VMA vma runs between it and"
            + " decTlbFlushPending at line " + (HEADER.size() + 14) + " on some path: the raised"
            + " tlb_flush_pending lets the flush follow invalidateRangeEnd");
  }

  @Test
  void withThePendingCountRaisedNoFlushAtAllIsRejected() {
    rejects(clearRefs("mm.decTlbFlushPending();", "mm.hashCode();"),
        "missing-flush", "between it and decTlbFlushPending at line " + (HEADER.size() + 14));
  }

  @Test
  void withoutThePendingCountTheClearRefsOrderIsRejectedAtTheEnd() {
    rejects(walker(
        "  @CheckedWalker static void clearRefs(MmStruct mm, Vma vma, PteTable pt, long a) {",
        "    MmuNotifierRange r =",
        "        new MmuNotifierRange(MmuNotifierEvent.SOFT_DIRTY, 0, mm, 0, -1L);",
        "    MmuNotifiers.invalidateRangeStart(r);",
        "    try {",
        "      wp(vma, pt, a); // <-",
        "    } finally {",
        "      MmuNotifiers.invalidateRangeEnd(r);",
        "    }",
        "    TlbFlush.flushTlbMm(mm);",
        "  }"),
        "missing-flush", "between it and invalidateRangeEnd at line " + (HEADER.size() + 8),
        "(a flush after invalidateRangeEnd is too late)");
  }
}
