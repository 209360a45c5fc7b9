package dev.ptwalk.syscalls.taskmmu;

import static dev.ptwalk.syscalls.Proc.BASE;
import static dev.ptwalk.syscalls.Proc.PAGE;
import static dev.ptwalk.syscalls.Proc.SLOT;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.trace.TraceEvent;
import dev.ptwalk.syscalls.Proc;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code PAGEMAP_SCAN} ({@code do_pagemap_scan}) on the simulated mm with the verifier on: each
 * PTE state's categories with the July 2026 fixes, the argument checks and their errno values,
 * the limits and {@code walk_end}, the three paths of {@code pagemap_scan_pmd_entry}, and the
 * write-protection, done by the generated {@code UFFD_WP} walker.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PagemapScanTest {
  private final Proc p = new Proc();

  @Test
  void eachPteStateHasTheCategoriesOfTheReference() {
    long a = BASE;
    long b = BASE + SLOT;
    long n = BASE + 2 * SLOT;
    p.anon(a, 8, true);
    p.anon(b, 8, true);
    p.anon(n, 8, false);
    p.write(a);
    p.read(a + PAGE);
    p.write(a + 2 * PAGE);
    assertEquals(0, p.wp(a + 2 * PAGE, 2, true));
    assertEquals("[0,1)WPALLOWED|WRITTEN|PRESENT [1,2)WPALLOWED|WRITTEN|PRESENT|PFNZERO"
        + " [2,3)WPALLOWED|PRESENT [3,4)WPALLOWED|SWAPPED [4,8)WPALLOWED|WRITTEN end=8",
        p.scan(a, 8), "present, zero page, protected, marker, none");
    assertEquals("[0,8)WPALLOWED|WRITTEN end=8", p.scan(b, 8), "a hole in a registered VMA");
    assertEquals("[0,8) end=8", p.scan(n, 8), "a hole in an unregistered VMA: no category");
    p.write(n + PAGE);
    assertEquals("[0,1)WRITTEN [1,2)WRITTEN|PRESENT [2,8)WRITTEN end=8", p.scan(n, 8),
        "a none PTE is written in every VMA");
    assertEquals(List.of("P", "PZ", "PW", "SW", "", "", "", ""), p.pagemap(a, 8));
    p.machine.assertQuiet();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiterString = "->", textBlock = """
      size 95                -> EINVAL end=null
      flags 4                -> EINVAL end=null
      return 512             -> EINVAL end=null
      mask 0x100000          -> EINVAL end=null
      unaligned start        -> EINVAL end=null
      end before start       -> EFAULT end=null
      end past TASK_SIZE     -> EFAULT end=null
      vec_len without vec    -> EINVAL end=null
      vec shorter            -> EFAULT end=null
      no pages               -> end=2
      end rounded up         -> [2,3)WPALLOWED|WRITTEN end=3
      no vector             -> end=8
      """)
  void theArgumentsAreCheckedAsTheKernelChecksThem(String change, String expected) {
    p.anon(BASE, 8, true);
    PmScanArg a = Proc.arg(BASE, 8);
    Consumer<PmScanArg> edit = switch (change) {
      case "size 95" -> x -> x.size = 95;
      case "flags 4" -> x -> x.flags = 4;
      case "return 512" -> x -> x.returnMask = 512;
      case "mask 0x100000" -> x -> x.categoryMask = 0x100000;
      case "unaligned start" -> x -> x.start += 8;
      case "end before start" -> x -> x.end = x.start - PAGE;
      case "end past TASK_SIZE" -> x -> x.end = p.mm.taskSize() + PAGE;
      case "vec_len without vec" -> x -> x.vec = null;
      case "vec shorter" -> x -> x.vec = new PageRegion[2];
      case "no pages" -> x -> {
        x.start = BASE + 2 * PAGE;
        x.end = x.start;
      };
      case "end rounded up" -> x -> {
        x.start = BASE + 2 * PAGE;
        x.end = x.start + 100;
      };
      case "no vector" -> x -> {
        x.vec = null;
        x.vecLen = 0;
      };
      default -> throw new AssertionError(change);
    };
    edit.accept(a);
    assertEquals(expected, p.scan(BASE, a));
    p.machine.assertQuiet();
  }

  @Test
  void maxPagesAndVecLenCutTheOutputAndWalkEndIsTheNextPageThatMatched() {
    p.anon(BASE, 8, true);
    for (int page : new int[] {0, 4, 6}) {
      p.write(BASE + page * PAGE);
    }
    PmScanArg a = Proc.arg(BASE, 8);
    a.categoryMask = PagemapScan.PAGE_IS_PRESENT;
    a.maxPages = 1;
    assertEquals("[0,1)WPALLOWED|WRITTEN|PRESENT end=4", p.scan(BASE, a));
    a = Proc.arg(BASE, 8);
    a.vecLen = 2;
    assertEquals("[0,1)WPALLOWED|WRITTEN|PRESENT [1,4)WPALLOWED|WRITTEN end=4", p.scan(BASE, a));
    a = Proc.arg(BASE, 8);
    a.maxPages = 3;
    assertEquals("[0,1)WPALLOWED|WRITTEN|PRESENT [1,3)WPALLOWED|WRITTEN end=3", p.scan(BASE, a),
        "a range is cut at the limit");
    a = Proc.arg(BASE, 8);
    a.returnMask = PagemapScan.PAGE_IS_PRESENT;
    assertEquals("[0,1)PRESENT [1,4) [4,5)PRESENT [5,6) [6,7)PRESENT [7,8) end=8",
        p.scan(BASE, a), "merged by the returned categories; empty ones reported too");
  }

  @Test
  void checkWpasyncFailsOnAnUnregisteredVmaAndWpMatchingAloneSkipsIt() {
    long a = BASE + 1016 * PAGE; // ends at its slot's end, next to N
    long n = BASE + SLOT;
    p.anon(a, 8, true);
    p.anon(n, 8, false);
    p.write(n);
    PmScanArg wponly = Proc.arg(a, 16);
    wponly.flags = PagemapScan.PM_SCAN_WP_MATCHING;
    assertEquals("[0,8)WPALLOWED|WRITTEN end=16", p.scan(a, wponly), "N skipped silently");
    assertEquals("[0,8)WPALLOWED|SWAPPED [8,9)WRITTEN|PRESENT [9,16)WRITTEN end=16",
        p.scan(a, 16), "A protected: markers; N untouched");
    PmScanArg check = Proc.arg(n, 8);
    check.flags = PagemapScan.PM_SCAN_CHECK_WPASYNC;
    assertEquals("EPERM end=8", p.scan(n, check), "walk_end written back: the window's end");
    p.machine.assertQuiet();
  }

  @Test
  void theWrittenPagesAreProtectedByTheGeneratedWalkerAfterBeingReported() {
    p.anon(BASE, 8, true);
    p.write(BASE);
    p.read(BASE + 2 * PAGE);
    p.machine.trace().clear();
    PmScanArg a = Proc.arg(BASE, 8);
    a.flags = PagemapScan.PM_SCAN_WP_MATCHING | PagemapScan.PM_SCAN_CHECK_WPASYNC;
    a.categoryMask = PagemapScan.PAGE_IS_WRITTEN;
    a.returnMask = PagemapScan.PAGE_IS_WRITTEN;
    assertEquals("[0,8)WRITTEN end=8", p.scan(BASE, a), "the state before protection");
    List<String> brackets = p.machine.trace().events(TraceEvent.NotifierStart.class).stream()
        .map(e -> e.event() + "[" + (e.start() - BASE) / PAGE + "," + (e.end() - BASE) / PAGE
            + ")")
        .collect(Collectors.toList());
    assertEquals(List.of("PROTECTION_VMA[0,8)"), brackets,
        "one run, in the generated walker's bracket");
    assertEquals("[0,1)WPALLOWED|PRESENT [1,2)WPALLOWED|SWAPPED [2,3)WPALLOWED|PRESENT|PFNZERO"
        + " [3,8)WPALLOWED|SWAPPED end=8", p.scan(BASE, 8));
    p.machine.assertQuiet();
  }

  @Test
  void theExclusivePathIgnoresMasksInPageTablesButNotInHoles() {
    long a = BASE;
    long b = BASE + SLOT;
    p.anon(a, 8, true);
    p.anon(b, 8, true);
    p.write(a);
    for (long base : new long[] {a, b}) {
      PmScanArg x = Proc.arg(base, 8);
      x.flags = PagemapScan.PM_SCAN_WP_MATCHING | PagemapScan.PM_SCAN_CHECK_WPASYNC;
      x.vec = null;
      x.vecLen = 0;
      x.categoryMask = PagemapScan.PAGE_IS_PRESENT;
      assertEquals("end=8", p.scan(base, x));
    }
    assertEquals("[0,1)WPALLOWED|PRESENT [1,8)WPALLOWED|SWAPPED end=8", p.scan(a, 8));
    assertEquals("[0,8)WPALLOWED|WRITTEN end=8", p.scan(b, 8), "the hole is not PRESENT");
  }

  /**
   * Negative control of the check that the generated walker protected every page the scan chose:
   * a run it cannot change (already protected) is warned about, naming the pages.
   */
  @Test
  void aRunTheWalkerDoesNotChangeWholeIsWarnedAbout() {
    p.anon(BASE, 4, true);
    p.write(BASE);
    assertEquals(0, p.wp(BASE, 4, true));
    long warnings = p.machine.counters().warnings();
    assertEquals(0, PagemapScan.protectRun(p.mm, BASE, BASE + 4 * PAGE));
    assertEquals(warnings + 1, p.machine.counters().warnings());
    assertEquals(List.of("mm P: PAGEMAP_SCAN protected 0 of 4 written pages at 0x7f0000000000"),
        p.machine.trace().events(TraceEvent.Warning.class).stream()
            .map(TraceEvent.Warning::message).collect(Collectors.toList()));
    assertEquals(Pte.PTE_MARKER_UFFD_WP, p.mm.followPte(BASE + PAGE));
  }
}
