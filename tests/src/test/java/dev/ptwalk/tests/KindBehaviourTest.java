package dev.ptwalk.tests;

import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_PFNMAP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SOFTDIRTY;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.Folio;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Reclaim;
import dev.ptwalk.runtime.mm.ReclaimResult;
import dev.ptwalk.runtime.mm.Userfaultfd;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.trace.TraceEvent;
import dev.ptwalk.runtime.trace.TraceEvent.NotifierEnd;
import dev.ptwalk.runtime.trace.TraceEvent.NotifierStart;
import dev.ptwalk.runtime.trace.TraceEvent.TlbFlush;
import dev.ptwalk.samples.kinds.YoungWalkers;
import dev.ptwalk.samples.kinds.LazyFreeWalkers;
import dev.ptwalk.samples.kinds.SoftDirtyWalkers;
import dev.ptwalk.samples.kinds.UffdWpWalkers;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The generated walkers of the four new kinds (the samples under {@code samples/kinds}, and
 * {@link KindTestCallbacks}) on the simulated mm with the verifier on: exact totals, bits,
 * notifier events and flushes, VMAs skipped by each kind's filter, huge leaves, a throwing
 * callback, and the nested flush of LAZYFREE.
 */
@Timeout(60)
class KindBehaviourTest {
  private static final long P = Pgtable.PAGE_SIZE;
  private static final long X0 = 0x7f00_0000_0000L;
  private static final long ANON = VM_READ | VM_WRITE;
  private static final long SHARED = VM_READ | VM_WRITE | VM_SHARED;

  private final Machine m = Machine.builder().cpus(2).verify(true).trace(true).build();
  private final MmStruct a = m.newMm("A");
  private final AddressSpace file = m.newAddressSpace("file");
  private final AddressSpace dev = m.newAddressSpace("dev");

  @AfterEach
  void verifierStaysQuiet() {
    m.assertQuiet();
    assertEquals(0, a.tlbFlushPending());
  }

  /** Notifier brackets, TLB flushes and warnings, in order. */
  private List<TraceEvent> events() {
    List<TraceEvent> out = new ArrayList<>();
    for (TraceEvent e : m.trace().events()) {
      if (e instanceof NotifierStart || e instanceof NotifierEnd || e instanceof TlbFlush
          || e instanceof TraceEvent.Warning) {
        out.add(e);
      }
    }
    return out;
  }

  private void write(long addr) {
    m.cpu(0).store(a, addr, addr);
  }

  private long pte(long addr) {
    return a.followPte(addr);
  }

  // ---- SOFT_DIRTY: clear_refs_write ----

  @Test
  void softDirtyClearsWrittenPagesSkipsPfnmapAndFlushesTheMmAfterTheBracket() {
    Vma anon = a.mmap(null, X0, 8, 0, ANON);
    Vma shared = a.mmap(file, X0 + 16 * P, 4, 0, SHARED);
    Vma pfnmap = a.mmap(dev, X0 + 32 * P, 2, 0, SHARED | VM_IO | VM_PFNMAP);
    write(X0);
    write(X0 + 3 * P);
    write(X0 + 17 * P);
    write(X0 + 32 * P);
    m.cpu(0).load(a, X0 + 5 * P); // the zero page, read-only and never soft-dirty
    assertTrue(Pte.softDirty(pte(X0)) && Pte.softDirty(pte(X0 + 32 * P)));
    m.trace().clear();

    long end = X0 + 34 * P;
    long[] bitmap = new long[1];
    DirtyWindow window = new DirtyWindow();
    assertEquals(3, SoftDirtyWalkers.clearRefsSoftDirty(a, X0, end, bitmap, window));
    assertEquals((1L << 0) | (1L << 3) | (1L << 17), bitmap[0]);
    assertEquals(0, window.start);
    assertEquals(18, window.end);
    assertEquals(List.of(
        new NotifierStart("A", "SOFT_DIRTY", X0, end),
        new NotifierEnd("A", "SOFT_DIRTY", X0, end),
        new TlbFlush("A", 0, -1L, true)), events(), "flush_tlb_mm after the bracket's end");
    for (Vma v : List.of(anon, shared, pfnmap)) {
      assertEquals(0, v.flags() & VM_SOFTDIRTY, v::toString);
    }
    for (long addr : new long[] {X0, X0 + 3 * P, X0 + 17 * P}) {
      assertTrue(Pte.present(pte(addr)) && !Pte.write(pte(addr)) && !Pte.softDirty(pte(addr)),
          Pte.toString(pte(addr)));
    }
    assertTrue(Pte.write(pte(X0 + 32 * P)) && Pte.softDirty(pte(X0 + 32 * P)),
        "the PFNMAP VMA is not walked");

    // A store after the clear faults on the write-protected PTE and sets soft-dirty again; so
    // does the first store to a page of the shared file, which now wants write notification.
    write(X0);
    write(X0 + 18 * P);
    assertTrue(Pte.write(pte(X0)) && Pte.softDirty(pte(X0)), Pte.toString(pte(X0)));
    long[] again = new long[1];
    assertEquals(2, SoftDirtyWalkers.clearRefsSoftDirty(a, X0, end, again, new DirtyWindow()));
    assertEquals((1L << 0) | (1L << 18), again[0]);
  }

  @Test
  void softDirtySkipsAHugeLeafWithAWarningNeverSplit() {
    long base = 0x4000_0000L;
    a.mmap(null, base, 1024, 0, ANON);
    write(base + P);
    long leaf = Pte.pfnPte(0x80000, Pte.PRESENT | Pte.RW | Pte.USER | Pte.DIRTY);
    a.pgd().setHugeLeaf(base + Pgtable.PMD_SIZE, Pgtable.PMD_SHIFT, leaf);
    m.trace().clear();
    assertEquals(1, SoftDirtyWalkers.clearRefsSoftDirty(a, base, base + 1024 * P, new long[16],
        new DirtyWindow()));
    List<TraceEvent> ev = events();
    assertEquals(4, ev.size(), ev::toString);
    assertTrue(((TraceEvent.Warning) ev.get(1)).message().contains("huge PMD leaf at 0x40200000"),
        ev::toString);
    assertEquals(Pte.mkhuge(leaf), a.pgd().hugeLeaf(base + Pgtable.PMD_SIZE), "leaf untouched");
  }

  @Test
  void softDirtyWithAThrowingCallbackLeavesNothingOpenAndTheMmFlushed() {
    a.mmap(null, X0, 8, 0, ANON);
    write(X0 + P);
    write(X0 + 2 * P);
    write(X0 + 5 * P);
    m.trace().clear();
    long[] bitmap = new long[1];
    DirtyWindow window = new DirtyWindow();
    KindTestCallbacks.failAt = X0 + 5 * P;
    try {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> KindTestCallbacksWalkers.throwingSoftDirty(a, X0, X0 + 8 * P, bitmap, window));
      assertEquals("callback refuses 0x7f0000005000", e.getMessage());
    } finally {
      KindTestCallbacks.failAt = -1;
    }
    assertEquals(0b110L, bitmap[0]);
    assertEquals(1, window.start, "the window is written back even on an exception");
    assertEquals(3, window.end);
    assertEquals(List.of(
        new NotifierStart("A", "SOFT_DIRTY", X0, X0 + 8 * P),
        new NotifierEnd("A", "SOFT_DIRTY", X0, X0 + 8 * P),
        new TlbFlush("A", 0, -1L, true)), events());
    assertTrue(Pte.softDirty(pte(X0 + 5 * P)), "the page the callback refused is untouched");
  }

  // ---- UFFD_WP: PAGEMAP_SCAN's PM_SCAN_WP_MATCHING ----

  @Test
  void uffdWpProtectsRegisteredVmasWithMarkersAndFlushesPerTable() {
    long n0 = X0 + 64 * P;
    a.mmap(null, X0, 8, 0, ANON);
    a.mmap(null, n0, 8, 0, ANON);
    Userfaultfd.open(a, Userfaultfd.UFFD_FEATURE_WP_ASYNC).registerWp(X0, 8 * P);
    write(X0);
    write(X0 + 3 * P);
    m.cpu(0).load(a, X0 + 5 * P);
    write(n0 + P);
    m.trace().clear();

    long end = n0 + 8 * P;
    long[] bitmap = new long[2];
    DirtyWindow window = new DirtyWindow();
    assertEquals(8, UffdWpWalkers.uffdWriteProtect(a, X0, end, bitmap, window));
    assertArrayEquals(new long[] {0xffL, 0}, bitmap, "every page of the registered VMA");
    assertEquals(0, window.start);
    assertEquals(8, window.end);
    assertEquals(List.of(
        new NotifierStart("A", "PROTECTION_VMA", X0, end),
        new TlbFlush("A", X0, X0 + 8 * P, false),
        new NotifierEnd("A", "PROTECTION_VMA", X0, end)), events());
    for (long pg = 0; pg < 8; pg++) {
      long pte = pte(X0 + pg * P);
      assertTrue(Pte.uffdWp(pte) && !Pte.write(pte), pg + ": " + Pte.toString(pte));
      boolean populated = pg == 0 || pg == 3 || pg == 5;
      assertEquals(populated, Pte.present(pte), pg + ": " + Pte.toString(pte));
      if (!populated) {
        assertEquals(Pte.PTE_MARKER_UFFD_WP, pte, "an unpopulated page gets the marker");
      }
    }
    assertTrue(Pte.write(pte(n0 + P)) && !Pte.uffdWp(pte(n0 + P)), "unregistered: untouched");

    // Async uffd-wp: a store to a protected page resolves in the kernel and leaves it written;
    // a load of a marker maps the zero page still protected.
    write(X0);
    write(X0 + P);
    m.cpu(0).load(a, X0 + 2 * P);
    assertTrue(Pte.write(pte(X0)) && !Pte.uffdWp(pte(X0)));
    assertTrue(Pte.present(pte(X0 + P)) && !Pte.uffdWp(pte(X0 + P)));
    assertTrue(Pte.present(pte(X0 + 2 * P)) && Pte.uffdWp(pte(X0 + 2 * P)));
    long[] again = new long[2];
    assertEquals(2, UffdWpWalkers.uffdWriteProtect(a, X0, end, again, new DirtyWindow()));
    assertArrayEquals(new long[] {0b11L, 0}, again, "exactly the pages written");
  }

  @Test
  void uffdWpAllocatesTheTablesOfAHoleAndFlushesEachUnderItsPtl() {
    long t0 = X0 + Pgtable.PMD_SIZE - 2 * P; // two pages in each of two PTE tables
    a.mmap(null, t0, 4, 0, ANON);
    Userfaultfd.open(a, Userfaultfd.UFFD_FEATURE_WP_ASYNC).registerWp(t0, 4 * P);
    assertNull(a.pgd().pteOffset(t0), "nothing faulted yet: a hole");
    m.trace().clear();
    assertEquals(4, KindTestCallbacksWalkers.throwingUffdWp(a, t0, t0 + 4 * P));
    assertEquals(List.of(
        new NotifierStart("A", "PROTECTION_VMA", t0, t0 + 4 * P),
        new TlbFlush("A", t0, t0 + 2 * P, false),
        new TlbFlush("A", t0 + 2 * P, t0 + 4 * P, false),
        new NotifierEnd("A", "PROTECTION_VMA", t0, t0 + 4 * P)), events());
    assertEquals(2, a.pgd().pteTableCount(), "both tables allocated by the write-protect");
    for (long pg = 0; pg < 4; pg++) {
      assertEquals(Pte.PTE_MARKER_UFFD_WP, pte(t0 + pg * P));
    }
  }

  @Test
  void uffdWpWithAThrowingCallbackFlushesWhatItChangedAndClosesTheBracket() {
    a.mmap(null, X0, 4, 0, ANON);
    Userfaultfd.open(a, Userfaultfd.UFFD_FEATURE_WP_ASYNC).registerWp(X0, 4 * P);
    write(X0 + P);
    m.trace().clear();
    KindTestCallbacks.failAt = X0 + 2 * P;
    try {
      assertThrows(IllegalStateException.class,
          () -> KindTestCallbacksWalkers.throwingUffdWp(a, X0, X0 + 4 * P));
    } finally {
      KindTestCallbacks.failAt = -1;
    }
    assertEquals(List.of(
        new NotifierStart("A", "PROTECTION_VMA", X0, X0 + 4 * P),
        new TlbFlush("A", X0, X0 + 4 * P, false),
        new NotifierEnd("A", "PROTECTION_VMA", X0, X0 + 4 * P)), events());
    assertTrue(Pte.uffdWp(pte(X0)) && Pte.uffdWp(pte(X0 + P)));
    assertEquals(0, pte(X0 + 2 * P), "the refused page is left as it was");
  }

  @Test
  void uffdWpSkipsAHugeLeafWithAWarningAndAllocatesNothingUnderIt() {
    long base = 0x4000_0000L;
    a.mmap(null, base, 1024, 0, ANON);
    Userfaultfd.open(a, Userfaultfd.UFFD_FEATURE_WP_ASYNC).registerWp(base, 1024 * P);
    long leaf = Pte.pfnPte(0x80000, Pte.PRESENT | Pte.RW | Pte.USER | Pte.DIRTY);
    a.pgd().setHugeLeaf(base + Pgtable.PMD_SIZE, Pgtable.PMD_SHIFT, leaf);
    m.trace().clear();
    assertEquals(512, UffdWpWalkers.uffdWriteProtect(a, base, base + 1024 * P, new long[16],
        new DirtyWindow()), "the 512 pages of the first table get markers; the leaf none");
    List<TraceEvent> ev = events();
    assertEquals(4, ev.size(), ev::toString);
    assertEquals(new TlbFlush("A", base, base + Pgtable.PMD_SIZE, false), ev.get(1));
    assertTrue(((TraceEvent.Warning) ev.get(2)).message()
        .contains("uffdWriteProtect skips the huge leaf at 0x40200000, never split"), ev::toString);
    assertEquals(Pte.mkhuge(leaf), a.pgd().hugeLeaf(base + Pgtable.PMD_SIZE), "leaf untouched");
    assertEquals(1, a.pgd().pteTableCount(), "no table allocated under the huge leaf");
  }

  // ---- YOUNG: ptep_clear_young_notify ----

  @Test
  void youngWithAThrowingCallbackLeavesTheRestYoungAndNothingOpen() {
    a.mmap(null, X0, 4, 0, ANON);
    write(X0);
    write(X0 + P);
    write(X0 + 2 * P);
    m.trace().clear();
    KindTestCallbacks.failAt = X0 + P;
    try {
      assertThrows(IllegalStateException.class,
          () -> KindTestCallbacksWalkers.throwingYoung(a, X0, X0 + 4 * P));
    } finally {
      KindTestCallbacks.failAt = -1;
    }
    assertFalse(Pte.young(pte(X0)), "aged before the callback threw");
    assertTrue(Pte.young(pte(X0 + P)) && Pte.young(pte(X0 + 2 * P)));
    assertEquals(List.of(), events());
  }

  @Test
  void youngClearsAccessedBitsWithNoBracketAndNoFlushAndSkipsIoVmas() {
    a.mmap(null, X0, 4, 0, ANON);
    a.mmap(dev, X0 + 8 * P, 2, 0, SHARED | VM_IO);
    write(X0);
    m.cpu(0).load(a, X0 + P);
    m.cpu(0).load(a, X0 + 8 * P);
    m.trace().clear();
    long[] bitmap = new long[1];
    DirtyWindow window = new DirtyWindow();
    assertEquals(2, YoungWalkers.ageRange(a, X0, X0 + 10 * P, bitmap, window));
    assertEquals(0b11L, bitmap[0]);
    assertEquals(List.of(), events(), "no bracket, no flush: x86 clears A without one");
    assertFalse(Pte.young(pte(X0)) || Pte.young(pte(X0 + P)));
    assertTrue(Pte.young(pte(X0 + 8 * P)), "the VM_IO VMA is skipped");
    assertTrue(Pte.dirty(pte(X0)) && Pte.write(pte(X0)), "only the accessed bit changes");

    // CPU 0 still holds a TLB entry and its next load sets no A (the accuracy x86 gives up);
    // CPU 1 walks the table and sets it.
    m.cpu(0).load(a, X0);
    assertFalse(Pte.young(pte(X0)));
    m.cpu(1).load(a, X0);
    assertEquals(1, YoungWalkers.ageRange(a, X0, X0 + 10 * P, new long[1], new DirtyWindow()));
  }

  @Test
  void youngOverAFilesMappingsAgesEveryMmAndRecordsFileOffsets() {
    MmStruct b = m.newMm("B");
    long b0 = 0x5555_0000_0000L;
    a.mmap(file, X0, 4, 0, SHARED);
    b.mmap(file, b0, 4, 2, SHARED); // pgoffs 2..5
    m.cpu(0).load(a, X0 + 2 * P); // pgoff 2 in A
    m.cpu(1).load(b, b0); // pgoff 2 in B
    m.cpu(1).load(b, b0 + 3 * P); // pgoff 5 in B
    m.trace().clear();
    long[] bitmap = new long[1];
    DirtyWindow window = new DirtyWindow();
    assertEquals(3, YoungWalkers.ageMapping(file, 0, 6, 0, bitmap, window));
    assertEquals((1L << 2) | (1L << 5), bitmap[0]);
    assertEquals(2, window.start);
    assertEquals(6, window.end);
    assertEquals(List.of(), events());
    assertFalse(Pte.young(b.followPte(b0 + 3 * P)));
    m.assertQuiet();
  }

  // ---- LAZYFREE: madvise_free ----

  @Test
  void lazyfreeCleansPrivateAnonPagesAndFlushesOnceAtTheEnd() {
    a.mmap(null, X0, 6, 0, ANON);
    a.mmap(file, X0 + 8 * P, 2, 0, SHARED);
    for (long pg = 0; pg < 4; pg++) {
      write(X0 + pg * P);
    }
    m.cpu(0).load(a, X0 + 4 * P); // the zero page: no folio, left alone
    write(X0 + 8 * P);
    m.trace().clear();

    long end = X0 + 10 * P;
    assertEquals(4, LazyFreeWalkers.madviseFree(a, X0, end));
    assertEquals(List.of(
        new NotifierStart("A", "CLEAR", X0, X0 + 6 * P),
        new NotifierEnd("A", "CLEAR", X0, X0 + 6 * P),
        new TlbFlush("A", X0, X0 + 4 * P, false)), events(),
        "one CLEAR bracket for the anon VMA; one flush of the gathered range at tlb_finish_mmu");
    for (long pg = 0; pg < 4; pg++) {
      long pte = pte(X0 + pg * P);
      assertTrue(Pte.present(pte) && !Pte.dirty(pte) && !Pte.young(pte), Pte.toString(pte));
      Folio f = m.physMem().folio(Pte.pfn(pte));
      assertTrue(f.lazyfree() && !f.testDirty(), f::toString);
    }
    assertTrue(Pte.dirty(pte(X0 + 8 * P)), "the shared file VMA is not walked");

    // Reclaim discards a lazyfree page nobody wrote again; one written again survives.
    write(X0 + 2 * P);
    assertEquals(ReclaimResult.DISCARDED, Reclaim.reclaimPage(a, X0 + P));
    assertEquals(ReclaimResult.KEPT_DIRTY, Reclaim.reclaimPage(a, X0 + 2 * P));
    assertEquals(0, m.cpu(0).load(a, X0 + P), "the discarded page reads as zeroes");
    assertEquals(X0 + 2 * P, m.cpu(0).load(a, X0 + 2 * P), "the written page kept its data");
  }

  @Test
  void lazyfreeWithAThrowingCallbackFinishesTheGather() {
    a.mmap(null, X0, 4, 0, ANON);
    write(X0);
    write(X0 + P);
    m.trace().clear();
    KindTestCallbacks.failAt = X0 + P;
    try {
      assertThrows(IllegalStateException.class,
          () -> KindTestCallbacksWalkers.throwingLazyfree(a, X0, X0 + 4 * P));
    } finally {
      KindTestCallbacks.failAt = -1;
    }
    assertEquals(List.of(
        new NotifierStart("A", "CLEAR", X0, X0 + 4 * P),
        new NotifierEnd("A", "CLEAR", X0, X0 + 4 * P),
        new TlbFlush("A", X0, X0 + P, false)), events());
    assertTrue(Pte.dirty(pte(X0 + P)));
  }

  /**
   * Two MADV_FREE calls at once (99baac21e458): the second finds the PTE the first already
   * cleaned, gathers nothing, and still flushes the whole mm because the first is pending.
   */
  @Test
  void aSecondLazyfreePendingOnTheMmFlushesTheWholeMm() throws Exception {
    long q0 = 0x4000_0000L; // PMD aligned: pages 0..511 in one table, 512..1023 in the next
    a.mmap(null, q0, 1024, 0, ANON);
    write(q0 + P);
    write(q0 + 600 * P);
    m.trace().clear();
    KindTestCallbacks.gateAt = q0 + 600 * P;
    KindTestCallbacks.entered = new CountDownLatch(1);
    KindTestCallbacks.release = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    long[] first = new long[1];
    Thread walkerA = new Thread(() -> {
      try {
        first[0] = KindTestCallbacksWalkers.gatedLazyfree(a, q0, q0 + 1024 * P);
      } catch (Throwable t) {
        failure.set(t);
      }
    });
    walkerA.start();
    try {
      assertTrue(KindTestCallbacks.entered.await(30, java.util.concurrent.TimeUnit.SECONDS));
      assertEquals(1, a.tlbFlushPending(), "walker A holds its mmu_gather");
      assertEquals(0, LazyFreeWalkers.madviseFree(a, q0 + P, q0 + 2 * P),
          "walker B finds the page clean");
    } finally {
      KindTestCallbacks.release.countDown();
      walkerA.join(30_000);
      KindTestCallbacks.gateAt = -1;
    }
    assertFalse(walkerA.isAlive());
    assertNull(failure.get());
    assertEquals(2, first[0]);
    assertEquals(List.of(
            new TlbFlush("A", 0, -1L, true), // B, nested: the whole mm
            new TlbFlush("A", q0 + P, q0 + 601 * P, false)), // A, alone again: what it gathered
        m.trace().events(TlbFlush.class));

    // Control: alone, a call that gathers nothing flushes nothing.
    m.trace().clear();
    assertEquals(0, LazyFreeWalkers.madviseFree(a, q0 + P, q0 + 2 * P));
    assertEquals(List.of(), m.trace().events(TlbFlush.class));
  }

  @Test
  void mmWalkersRejectBadRangesBeforeTouchingAnything() {
    a.mmap(null, X0, 4, 0, ANON);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LazyFreeWalkers.madviseFree(a, X0 + 1, X0 + P));
    assertEquals("start and end must be page aligned, with 0 <= start <= end <= 0x7ffffffff000,"
        + " were start=0x7f0000000001, end=0x7f0000001000", e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> LazyFreeWalkers.madviseFree(a, X0 + P, X0));
    assertThrows(IllegalArgumentException.class,
        () -> LazyFreeWalkers.madviseFree(a, X0, 0x8000_0000_1000L));
    assertEquals(0, LazyFreeWalkers.madviseFree(a, X0, X0));
    IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
        () -> SoftDirtyWalkers.clearRefsSoftDirty(a, X0, X0 + 65 * P, new long[1],
            new DirtyWindow()));
    assertEquals("bitmap holds 64 bits but the range has 65 pages: start=0x7f0000000000,"
        + " end=0x7f0000041000", small.getMessage());
    assertThrows(NullPointerException.class,
        () -> UffdWpWalkers.uffdWriteProtect(null, X0, X0 + P, new long[1], new DirtyWindow()));
    assertEquals(List.of(), m.trace().events(NotifierStart.class));
  }
}
