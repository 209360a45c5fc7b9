package dev.ptwalk.tests;

import static dev.ptwalk.runtime.mm.VmFlags.VM_HUGETLB;
import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.debug.VerifierViolation;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.notifier.SecondaryMmu;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.trace.TraceEvent;
import dev.ptwalk.runtime.trace.TraceEvent.NotifierEnd;
import dev.ptwalk.runtime.trace.TraceEvent.NotifierStart;
import dev.ptwalk.runtime.trace.TraceEvent.TlbFlush;
import dev.ptwalk.samples.DirtyHelpersWalkers;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The generated walkers of the DirtyHelpers sample (and of {@link TestCallbacks}) run on the
 * simulated mm with the verifier on: exact counts, bits, windows, notifier ranges and flush
 * ranges, and a quiet verifier after each test.
 */
@Timeout(120)
class WalkerBehaviourTest {
  private static final long P = Pgtable.PAGE_SIZE;
  private static final long FLAGS = VM_READ | VM_WRITE | VM_SHARED | VM_IO;
  private static final long A0 = 0x7f00_0000_0000L;
  private static final long B0 = 0x5555_0000_0000L;
  private static final long C0 = 0x4000_0000L;
  private static final String PP = "PROTECTION_PAGE";

  private final Machine m = Machine.builder().cpus(2).verify(true).trace(true).build();
  private final AddressSpace buf = m.newAddressSpace("buf");
  private final MmStruct a = m.newMm("A");
  private final MmStruct b = m.newMm("B");
  private final MmStruct c = m.newMm("C");

  @AfterEach
  void verifierStaysQuiet() {
    m.assertQuiet();
    assertEquals(0, a.tlbFlushPending() + b.tlbFlushPending() + c.tlbFlushPending());
  }

  private void dirty(MmStruct mm, Vma v, long... pgoffs) {
    for (long pg : pgoffs) {
      m.cpu(0).store(mm, v.addressOf(pg), pg);
    }
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

  private static List<TraceEvent> bracket(String mm, long start, long end, long... flush) {
    List<TraceEvent> out = new ArrayList<>();
    out.add(new NotifierStart(mm, PP, start, end));
    if (flush.length == 2) {
      out.add(new TlbFlush(mm, flush[0], flush[1], false));
    }
    out.add(new NotifierEnd(mm, PP, start, end));
    return out;
  }

  @SafeVarargs
  private static List<TraceEvent> concat(List<TraceEvent>... parts) {
    List<TraceEvent> out = new ArrayList<>();
    for (List<TraceEvent> p : parts) {
      out.addAll(p);
    }
    return out;
  }

  private boolean dirtyAt(MmStruct mm, long addr) {
    return Pte.dirty(mm.followPte(addr));
  }

  @Test
  void oneVma() {
    Vma va = a.mmap(buf, A0, 16, 0, FLAGS);
    dirty(a, va, 2, 5, 6);
    m.cpu(1).load(a, va.addressOf(9));
    SecondaryMmu kvm = new SecondaryMmu("kvm", a);
    kvm.write(va.addressOf(7), 7); // VM_IO: hva_to_pfn_remapped write-faults the primary PTE
    assertTrue(kvm.spte(va.addressOf(7)).writable());
    m.trace().clear();

    long[] bitmap = new long[1];
    DirtyWindow window = new DirtyWindow();
    assertEquals(4, DirtyHelpersWalkers.applyAsClean(buf, 0, 16, 0, bitmap, window));
    assertEquals((1L << 2) | (1L << 5) | (1L << 6) | (1L << 7), bitmap[0]);
    assertEquals(2, window.start);
    assertEquals(8, window.end);
    assertEquals(bracket("A", A0, A0 + 16 * P, A0 + 2 * P, A0 + 8 * P), events());
    assertEquals(List.of(new TraceEvent.CacheFlush("A", A0, A0 + 16 * P)),
        m.trace().events(TraceEvent.CacheFlush.class));
    assertNull(kvm.spte(va.addressOf(7)), "the bracket zapped the secondary MMU's spte");
    for (long pg : new long[] {2, 5, 6, 7}) {
      long pte = a.followPte(va.addressOf(pg));
      assertFalse(Pte.dirty(pte));
      assertTrue(Pte.write(pte) && Pte.present(pte), "clean leaves the PTE writable");
    }

    m.trace().clear();
    assertEquals(5, DirtyHelpersWalkers.applyAsWrprotect(buf, 0, 16), "pages 2, 5, 6, 7, 9");
    assertEquals(bracket("A", A0, A0 + 16 * P, A0 + 2 * P, A0 + 10 * P), events());
    for (long pg = 0; pg < 16; pg++) {
      assertFalse(Pte.write(a.followPte(va.addressOf(pg))));
    }

    m.trace().clear();
    assertEquals(0, DirtyHelpersWalkers.applyAsWrprotect(buf, 0, 16), "already read-only");
    assertEquals(bracket("A", A0, A0 + 16 * P), events(), "no PTE changed, no flush");

    // A store faults the page writable and dirty again; the window is widened, not reset.
    dirty(a, va, 3);
    assertEquals(1, DirtyHelpersWalkers.applyAsClean(buf, 0, 16, 0, bitmap, window));
    assertEquals(2, window.start);
    assertEquals(8, window.end);
    assertEquals((1L << 2) | (1L << 3) | (1L << 5) | (1L << 6) | (1L << 7), bitmap[0]);
    assertEquals(4, m.counters().cacheFlushRange(), "one flushCacheRange per bracket, 4 walks");
  }

  @Test
  void severalVmasOfOneMappingInSeveralMms() {
    Vma va = a.mmap(buf, A0, 16, 0, FLAGS);
    Vma vb = b.mmap(buf, B0, 16, 8, FLAGS);
    Vma vc = c.mmap(buf, C0, 4, 4, FLAGS);
    dirty(a, va, 1, 9);
    dirty(c, vc, 5);
    dirty(b, vb, 9, 20);
    m.trace().clear();

    long[] bitmap = new long[1];
    DirtyWindow window = new DirtyWindow();
    assertEquals(5, DirtyHelpersWalkers.applyAsClean(buf, 0, 24, 0, bitmap, window));
    assertEquals((1L << 1) | (1L << 5) | (1L << 9) | (1L << 20), bitmap[0],
        "pgoff 9 is dirty in A and in B: one bit, counted twice");
    assertEquals(1, window.start);
    assertEquals(21, window.end);
    // i_mmap order is by pgoff: A (0..15), C (4..7), B (8..23).
    assertEquals(concat(
            bracket("A", A0, A0 + 16 * P, A0 + P, A0 + 10 * P),
            bracket("C", C0, C0 + 4 * P, C0 + P, C0 + 2 * P),
            bracket("B", B0, B0 + 16 * P, B0 + P, B0 + 13 * P)),
        events());
  }

  @Test
  void rangesThatOnlyPartlyOverlapAreClippedPerVma() {
    Vma va = a.mmap(buf, A0, 16, 0, FLAGS);
    Vma vb = b.mmap(buf, B0, 16, 8, FLAGS);
    Vma vc = c.mmap(buf, C0, 4, 4, FLAGS);
    dirty(a, va, 1, 9, 11);
    dirty(c, vc, 7);
    dirty(b, vb, 9, 20);
    m.trace().clear();

    long[] bitmap = {1L << 60};
    DirtyWindow window = new DirtyWindow(10, 12);
    // File pages [6, 12), bits relative to pgoff 4.
    assertEquals(4, DirtyHelpersWalkers.applyAsClean(buf, 6, 6, 4, bitmap, window));
    assertEquals((1L << 60) | (1L << 3) | (1L << 5) | (1L << 7), bitmap[0],
        "the bitmap is only OR'd into");
    assertEquals(3, window.start, "widened from the caller's [10, 12)");
    assertEquals(12, window.end);
    assertEquals(concat(
            bracket("A", A0 + 6 * P, A0 + 12 * P, A0 + 9 * P, A0 + 12 * P),
            bracket("C", C0 + 2 * P, C0 + 4 * P, C0 + 3 * P, C0 + 4 * P),
            bracket("B", B0, B0 + 4 * P, B0 + P, B0 + 2 * P)),
        events());
    assertTrue(dirtyAt(a, va.addressOf(1)), "outside the range: untouched");
    assertTrue(dirtyAt(b, vb.addressOf(20)), "outside the range: untouched");
  }

  @Test
  void vmasAreSkippedForEachFlagReason() {
    MmStruct d = m.newMm("D");
    MmStruct e = m.newMm("E");
    Vma good = a.mmap(buf, A0, 4, 0, FLAGS);
    Vma priv = b.mmap(buf, B0, 4, 0, VM_READ | VM_WRITE | VM_IO);
    Vma ro = c.mmap(buf, C0, 4, 0, VM_READ | VM_SHARED | VM_IO);
    Vma notIo = d.mmap(buf, A0, 4, 0, VM_READ | VM_WRITE | VM_SHARED);
    Vma huge = e.mmap(buf, A0, 4, 0, FLAGS | VM_HUGETLB);
    dirty(a, good, 0);
    dirty(b, priv, 0);
    m.cpu(0).load(c, ro.addressOf(0));
    dirty(d, notIo, 0);
    dirty(e, huge, 0);
    m.trace().clear();

    long[] bitmap = new long[1];
    assertEquals(1, DirtyHelpersWalkers.applyAsClean(buf, 0, 4, 0, bitmap, new DirtyWindow()));
    assertEquals(1L, bitmap[0]);
    List<TraceEvent> ev = events();
    assertEquals(bracket("A", A0, A0 + 4 * P, A0, A0 + P), ev.subList(0, 3),
        "private and read-only VMAs are skipped silently");
    assertEquals(5, ev.size());
    String warnD = ((TraceEvent.Warning) ev.get(3)).message();
    String warnE = ((TraceEvent.Warning) ev.get(4)).message();
    assertTrue(warnD.startsWith("mm D: applyAsClean skips vma[0x7f0000000000-0x7f0000004000"
        + " mm=D") && warnD.endsWith("only VM_IO VMAs without VM_HUGETLB are walked"), warnD);
    assertTrue(warnE.startsWith("mm E: applyAsClean skips") && warnE.contains("VM_HUGETLB"), warnE);
    assertEquals(2, m.counters().warnings());
    assertTrue(dirtyAt(b, priv.start()) && dirtyAt(d, notIo.start()) && dirtyAt(e, huge.start()));
  }

  @Test
  void hugeLeavesAreSkippedWithAWarningNeverSplit() {
    Vma va = a.mmap(buf, C0, 1024, 0, FLAGS);
    dirty(a, va, 1);
    long leaf = Pte.pfnPte(0x80000, Pte.PRESENT | Pte.RW | Pte.USER | Pte.DIRTY);
    a.pgd().setHugeLeaf(C0 + Pgtable.PMD_SIZE, Pgtable.PMD_SHIFT, leaf);
    m.trace().clear();

    assertEquals(1, DirtyHelpersWalkers.applyAsClean(buf, 0, 1024, 0, new long[16],
        new DirtyWindow()));
    List<TraceEvent> ev = events();
    assertEquals(4, ev.size(), ev::toString);
    assertTrue(((TraceEvent.Warning) ev.get(1)).message()
        .contains("huge PMD leaf at 0x40200000"), ev::toString);
    assertEquals(new TlbFlush("A", C0 + P, C0 + 2 * P, false), ev.get(2));
    assertEquals(Pte.mkhuge(leaf), a.pgd().hugeLeaf(C0 + Pgtable.PMD_SIZE), "leaf untouched");
    assertEquals(1, a.pgd().pteTableCount(), "nothing was split");
  }

  @Test
  void aCallbackThatThrowsLeavesNothingOpenAndEveryChangeFlushed() {
    Vma va = a.mmap(buf, A0, 8, 0, FLAGS);
    dirty(a, va, 1, 2, 3);
    m.trace().clear();
    long[] bitmap = new long[1];
    DirtyWindow window = new DirtyWindow();
    TestCallbacks.failAt = va.addressOf(3);
    try {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> TestCallbacksWalkers.applyAsThrowingClean(buf, 0, 8, 0, bitmap, window));
      assertEquals("callback refuses 0x7f0000003000", e.getMessage());
    } finally {
      TestCallbacks.failAt = -1;
    }
    assertEquals((1L << 1) | (1L << 2), bitmap[0]);
    assertEquals(1, window.start, "the window is written back even on an exception");
    assertEquals(3, window.end);
    assertEquals(bracket("A", A0, A0 + 8 * P, A0 + P, A0 + 3 * P), events());
    assertTrue(dirtyAt(a, va.addressOf(3)));
    assertEquals(0, a.tlbFlushPending());
  }

  @Test
  void aCallbackThatThrowsAfterModifyProtStartLeavesThePteAsItWas() {
    Vma va = a.mmap(buf, A0, 8, 0, FLAGS);
    dirty(a, va, 4);
    long before = a.followPte(va.addressOf(4));
    m.trace().clear();
    TestCallbacks.lateCalls.set(0);
    TestCallbacks.failLateAt = va.addressOf(4);
    try {
      assertThrows(IllegalStateException.class,
          () -> TestCallbacksWalkers.applyAsLateThrowingClean(buf, 0, 8));
    } finally {
      TestCallbacks.failLateAt = -1;
    }
    assertEquals(before, a.followPte(va.addressOf(4)), "committed back unchanged, not cleared");
    assertEquals(bracket("A", A0, A0 + 8 * P), events());
  }

  @Test
  void aSecondWalkerPendingOnTheMmMakesTheFlushCoverTheWholeRange() throws Exception {
    Vma va = a.mmap(buf, A0, 1024, 0, FLAGS); // two PTE tables
    dirty(a, va, 1, 3, 517);
    m.trace().clear();
    TestCallbacks.gateAt = va.addressOf(3);
    TestCallbacks.entered = new CountDownLatch(1);
    TestCallbacks.release = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    long[] first = new long[1];
    Thread walkerA = new Thread(() -> {
      try {
        first[0] = TestCallbacksWalkers.applyAsGatedClean(buf, 0, 512);
      } catch (Throwable t) {
        failure.set(t);
      }
    });
    walkerA.start();
    try {
      assertTrue(TestCallbacks.entered.await(60, TimeUnit.SECONDS),
          () -> "walker A never reached the gate: " + failure.get());
      assertEquals(1, a.tlbFlushPending(), "walker A is inside its bracket");
      // Walker B, on the other PTE table of the same mm, sees tlb_flush_pending == 2.
      assertEquals(1, DirtyHelpersWalkers.applyAsClean(buf, 512, 512, 512, new long[8],
          new DirtyWindow()));
    } finally {
      TestCallbacks.release.countDown();
      walkerA.join(TimeUnit.SECONDS.toMillis(60));
      TestCallbacks.gateAt = -1;
    }
    assertFalse(walkerA.isAlive(), "walker A never finished");
    assertNull(failure.get());
    assertEquals(2, first[0]);
    assertEquals(List.of(
            new TlbFlush("A", A0 + 512 * P, A0 + 1024 * P, false), // nested: the whole range
            new TlbFlush("A", A0 + P, A0 + 4 * P, false)), // alone again: [min, max)
        m.trace().events(TlbFlush.class));

    // Control: the same walk with no other walker pending flushes only what it changed.
    m.trace().clear();
    dirty(a, va, 517);
    DirtyHelpersWalkers.applyAsClean(buf, 512, 512, 512, new long[8], new DirtyWindow());
    assertEquals(List.of(new TlbFlush("A", A0 + 517 * P, A0 + 518 * P, false)),
        m.trace().events(TlbFlush.class));
  }

  /**
   * The generated walker calls the callback on a plain read of each PTE that is not none, and
   * again, for a PTE whose value that changes, on the value ptepModifyProtStart took. A pure callback sees the same
   * value both times when nothing races, and so returns the same: README says callbacks must be
   * pure for this reason.
   */
  @Test
  void aPureCallbackSeesTheSameValueOnThePlainReadAndOnTheValueTaken() {
    Vma va = a.mmap(buf, A0, 4, 0, FLAGS);
    dirty(a, va, 1, 3);
    m.cpu(0).load(a, va.addressOf(2)); // present and clean: the callback leaves it alone
    long pte1 = a.followPte(va.addressOf(1));
    long pte2 = a.followPte(va.addressOf(2));
    long pte3 = a.followPte(va.addressOf(3));
    assertTrue(Pte.dirty(pte1) && Pte.dirty(pte3) && Pte.present(pte2) && !Pte.dirty(pte2));
    TestCallbacks.seen.set(0);
    assertEquals(2, TestCallbacksWalkers.applyAsRecordingClean(buf, 0, 4));
    int calls = TestCallbacks.seen.get();
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      seen.add(Long.toHexString(TestCallbacks.seenAddr[i]) + "=" + Pte.toString(
          TestCallbacks.seenPte[i]));
    }
    // The none PTE at A0 is not visited: the table's population summary skips it, and a CLEAN
    // callback, which may only clear DIRTY, could not have changed it.
    assertEquals(List.of(
        Long.toHexString(A0 + P) + "=" + Pte.toString(pte1), // the plain read...
        Long.toHexString(A0 + P) + "=" + Pte.toString(pte1), // ...and the value taken: the same
        Long.toHexString(A0 + 2 * P) + "=" + Pte.toString(pte2), // clean: one call
        Long.toHexString(A0 + 3 * P) + "=" + Pte.toString(pte3),
        Long.toHexString(A0 + 3 * P) + "=" + Pte.toString(pte3)), seen);
    assertEquals(Pte.mkclean(pte1), a.followPte(va.addressOf(1)));
    assertEquals(Pte.mkclean(pte3), a.followPte(va.addressOf(3)));
  }

  @Test
  void badArgumentsAreRejectedBeforeAnythingIsTouched() {
    Vma va = a.mmap(buf, A0, 16, 0, FLAGS);
    dirty(a, va, 1);
    m.trace().clear();
    DirtyWindow w = new DirtyWindow();
    assertEquals("mapping", assertThrows(NullPointerException.class,
        () -> DirtyHelpersWalkers.applyAsWrprotect(null, 0, 1)).getMessage());
    assertEquals("bitmap", assertThrows(NullPointerException.class,
        () -> DirtyHelpersWalkers.applyAsClean(buf, 0, 1, 0, null, w)).getMessage());
    assertEquals("window", assertThrows(NullPointerException.class,
        () -> DirtyHelpersWalkers.applyAsClean(buf, 0, 1, 0, new long[1], null)).getMessage());
    assertEquals("firstIndex and nr must be >= 0, were firstIndex=-1, nr=4",
        assertThrows(IllegalArgumentException.class,
            () -> DirtyHelpersWalkers.applyAsWrprotect(buf, -1, 4)).getMessage());
    assertEquals("firstIndex + nr overflows: firstIndex=9223372036854775807, nr=1",
        assertThrows(IllegalArgumentException.class,
            () -> DirtyHelpersWalkers.applyAsWrprotect(buf, Long.MAX_VALUE, 1)).getMessage());
    assertEquals("bitmapPgoff must be in [0, firstIndex], was bitmapPgoff=3, firstIndex=2",
        assertThrows(IllegalArgumentException.class,
            () -> DirtyHelpersWalkers.applyAsClean(buf, 2, 4, 3, new long[1], w)).getMessage());
    assertEquals("bitmap holds 64 bits but the range needs 70: bitmapPgoff=0, firstIndex=6,"
            + " nr=64", assertThrows(IllegalArgumentException.class,
            () -> DirtyHelpersWalkers.applyAsClean(buf, 6, 64, 0, new long[1], w)).getMessage());
    assertEquals(0, DirtyHelpersWalkers.applyAsClean(buf, 0, 0, 0, new long[0], w));
    assertEquals(List.of(), m.trace().events(), "nothing was touched");
    assertTrue(w.isEmpty() && w.start == 0 && w.end == 0);
    assertTrue(dirtyAt(a, va.addressOf(1)));
  }

  @Test
  void negativeControlAWalkerThatEndsTheBracketBeforeFlushingIsCaught() {
    Machine bare = Machine.builder().verify(true).build();
    MmStruct mm = bare.newMm("X");
    AddressSpace f = bare.newAddressSpace("f");
    Vma v = mm.mmap(f, A0, 4, 0, FLAGS);
    bare.cpu(0).store(mm, A0, 1);
    VerifierViolation e = assertThrows(VerifierViolation.class,
        () -> BrokenWalkers.cleanWithoutFlush(v));
    // Its pending count was raised, so the flush could still have followed the bracket's end
    // (clear_refs' order); it never came, and the count dropped: that is where it is caught.
    assertTrue(e.getMessage().startsWith("decTlbFlushPending of mm X ran before a TLB flush"
        + " covering the PTE at 0x" + Long.toHexString(A0) + " made more restrictive in the"
        + " bracket over PROTECTION_PAGE mm=X [0x" + Long.toHexString(A0) + ", 0x"
        + Long.toHexString(A0 + 4 * P) + ")"), e.getMessage());
    assertEquals(List.of(e.getMessage()), bare.verifier().violations());
    assertTrue(e.getMessage().contains("[walker: dev.ptwalk.tests.BrokenWalkers.cleanWithoutFlush"),
        e.getMessage());
  }
}
