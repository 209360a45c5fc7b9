package dev.ptwalk.tests;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.TlbEntry;
import dev.ptwalk.runtime.debug.VerifierViolation;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Reclaim;
import dev.ptwalk.runtime.mm.ReclaimResult;
import dev.ptwalk.runtime.mm.Userfaultfd;
import dev.ptwalk.runtime.notifier.SecondaryMmu;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.samples.kinds.LazyFreeWalkers;
import dev.ptwalk.samples.kinds.SoftDirtyWalkers;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 11 §5: each historical bug of the new kinds, reintroduced into a hand-written walker
 * ({@link BrokenKindWalkers}), is caught, the cause of the failure asserted; each generated walker
 * runs the same interleaving and keeps the write.
 */
@Timeout(60)
class KindNegativeControlTest {
  private static final long P = Pgtable.PAGE_SIZE;
  private static final long Q0 = 0x4000_0000L; // PMD aligned
  private static final long ANON = VM_READ | VM_WRITE;

  /**
   * Mel Gorman's scenario (99baac21e458): MADV_FREE A has cleaned page 1 and is still walking
   * (stopped in the next PTE table, its flush not done); MADV_FREE B finds page 1 clean and
   * returns; CPU 1 then stores through the writable, dirty TLB entry it cached before A. The store
   * sets no dirty bit; reclaim finds the page clean and discards it. With the nested flush, B
   * flushes the whole mm before returning, the store walks the page table and sets D.
   */
  private static long madviseFreeRace(boolean broken) throws Exception {
    Machine m = Machine.builder().cpus(2).build();
    MmStruct a = m.newMm("A");
    a.mmap(null, Q0, 1024, 0, ANON);
    long page = Q0 + P;
    m.cpu(1).store(a, page, 1);
    m.cpu(0).store(a, Q0 + 600 * P, 1);
    KindTestCallbacks.gateAt = Q0 + 600 * P;
    KindTestCallbacks.entered = new CountDownLatch(1);
    KindTestCallbacks.release = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread walkerA = new Thread(() -> {
      try {
        KindTestCallbacksWalkers.gatedLazyfree(a, Q0, Q0 + 1024 * P);
      } catch (Throwable t) {
        failure.set(t);
      }
    });
    walkerA.start();
    try {
      assertTrue(KindTestCallbacks.entered.await(30, TimeUnit.SECONDS));
      assertFalse(Pte.dirty(a.followPte(page)), "A cleaned page 1, its flush still to come");
      long b = broken ? BrokenKindWalkers.madviseFreeWithoutNestedFlush(a, page, page + P)
          : LazyFreeWalkers.madviseFree(a, page, page + P);
      assertEquals(0, b, "B finds page 1 already clean");
      TlbEntry stale = m.cpu(1).tlbLookup(a, page);
      if (broken) {
        assertNotNull(stale, "CPU 1 still holds the entry it cached before A cleaned the PTE");
        assertTrue(stale.writable() && stale.dirty());
      } else {
        assertNull(stale, "B's nested flush dropped every entry of the mm");
      }
      m.cpu(1).store(a, page, 42); // after B returned: this write must survive
    } finally {
      KindTestCallbacks.release.countDown();
      walkerA.join(30_000);
      KindTestCallbacks.gateAt = -1;
    }
    assertNull(failure.get());
    assertEquals(broken, !Pte.dirty(a.followPte(page)),
        "the store through the stale entry sets no D; one that walks the table does");
    ReclaimResult r = Reclaim.reclaimPage(a, page);
    assertEquals(broken ? ReclaimResult.DISCARDED : ReclaimResult.KEPT_DIRTY, r);
    return m.cpu(0).load(a, page);
  }

  @Test
  void lazyfreeWithoutTheNestedFlushLosesAWriteToReclaim() throws Exception {
    assertEquals(0, madviseFreeRace(true), "the write of 42 after MADV_FREE returned is gone");
  }

  @Test
  void generatedLazyfreeFlushesNestedAndTheWriteSurvives() throws Exception {
    assertEquals(42, madviseFreeRace(false));
  }

  /**
   * 912efa17e512: the soft-dirty clear without its TLB flush. CPU 1 cached a writable entry
   * before the clear and keeps storing through it without faulting, so the next clear finds the
   * PTE clean and the write is never recorded. The verifier rejects the walker outright.
   */
  private static long[] softDirtyRace(Machine m, MmStruct a, boolean broken) {
    a.mmap(null, Q0, 4, 0, ANON);
    m.cpu(1).store(a, Q0, 1);
    if (broken) {
      BrokenKindWalkers.clearSoftDirtyWithoutFlush(a, Q0, Q0 + 4 * P);
    } else {
      SoftDirtyWalkers.clearRefsSoftDirty(a, Q0, Q0 + 4 * P, new long[1], new DirtyWindow());
    }
    m.cpu(1).store(a, Q0, 2);
    long[] bitmap = new long[1];
    SoftDirtyWalkers.clearRefsSoftDirty(a, Q0, Q0 + 4 * P, bitmap, new DirtyWindow());
    return bitmap;
  }

  @Test
  void softDirtyWithoutItsFlushIsCaughtByTheVerifier() {
    Machine m = Machine.builder().cpus(2).verify(true).build();
    VerifierViolation v = assertThrows(VerifierViolation.class,
        () -> softDirtyRace(m, m.newMm("A"), true));
    assertTrue(v.getMessage().startsWith("decTlbFlushPending of mm A ran before a TLB flush"
        + " covering the PTE at 0x40000000"), v.getMessage());
  }

  @Test
  void softDirtyWithoutItsFlushNeverRecordsAStoreThroughAStaleEntry() {
    Machine m = Machine.builder().cpus(2).build();
    assertEquals(0, softDirtyRace(m, m.newMm("A"), true)[0], "the second store is not recorded");
    Machine good = Machine.builder().cpus(2).verify(true).build();
    assertEquals(1, softDirtyRace(good, good.newMm("A"), false)[0],
        "with flush_tlb_mm the store faults, sets soft-dirty and is recorded");
    good.assertQuiet();
  }

  /**
   * The 2013 soft-dirty fix: without a notifier bracket, a secondary MMU (KVM) keeps the writable
   * spte of a page whose PTE the clear write-protected; a guest store through it never faults and
   * is never recorded soft-dirty. The verifier rejects the walker.
   */
  private static long[] softDirtySecondaryRace(Machine m, boolean broken) {
    MmStruct a = m.newMm("A");
    a.mmap(null, Q0, 4, 0, ANON);
    SecondaryMmu kvm = new SecondaryMmu("kvm", a);
    kvm.write(Q0, 1);
    assertTrue(kvm.spte(Q0).writable());
    if (broken) {
      BrokenKindWalkers.clearSoftDirtyWithoutNotifier(a, Q0, Q0 + 4 * P);
    } else {
      SoftDirtyWalkers.clearRefsSoftDirty(a, Q0, Q0 + 4 * P, new long[1], new DirtyWindow());
    }
    kvm.write(Q0, 2);
    long[] bitmap = new long[1];
    SoftDirtyWalkers.clearRefsSoftDirty(a, Q0, Q0 + 4 * P, bitmap, new DirtyWindow());
    return bitmap;
  }

  @Test
  void softDirtyWithoutItsNotifierBracketIsCaughtByTheVerifier() {
    Machine m = Machine.builder().cpus(2).verify(true).build();
    VerifierViolation v = assertThrows(VerifierViolation.class,
        () -> softDirtySecondaryRace(m, true));
    assertTrue(v.getMessage().startsWith("PTE made more restrictive outside an"
        + " invalidateRangeStart/End bracket of mm A covering it at 0x40000000"), v.getMessage());
  }

  @Test
  void softDirtyWithoutItsNotifierBracketLeavesAWritableSpte() {
    assertEquals(0, softDirtySecondaryRace(Machine.builder().build(), true)[0],
        "the guest store through the kept spte is never recorded");
    Machine good = Machine.builder().verify(true).build();
    assertEquals(1, softDirtySecondaryRace(good, false)[0],
        "the bracket zapped the spte: the guest store faulted and was recorded");
    good.assertQuiet();
  }

  /**
   * CVE-2024-36943: a uffd-wp write-protect that computes the new PTE from a plain read before
   * ptepModifyProtStart. A store landing in between sets D; the commit writes the stale value
   * and D is lost. The page had been freed lazily, so reclaim then discards data just written.
   */
  private static long uffdWpRace(boolean broken) {
    Machine m = Machine.builder().cpus(2).verify(true).build();
    MmStruct a = m.newMm("A");
    a.mmap(null, Q0, 4, 0, ANON);
    Userfaultfd.open(a, Userfaultfd.UFFD_FEATURE_WP_ASYNC).registerWp(Q0, 4 * P);
    m.cpu(0).store(a, Q0, 1);
    LazyFreeWalkers.madviseFree(a, Q0, Q0 + 4 * P); // RW stays, D and A go, the folio is lazyfree
    Runnable store = () -> m.cpu(0).store(a, Q0, 42);
    if (broken) {
      BrokenKindWalkers.uffdWpReadBeforeStart(a, Q0, Q0 + 4 * P, store);
    } else {
      KindTestCallbacks.hookAt = Q0;
      KindTestCallbacks.hook = store;
      try {
        KindTestCallbacksWalkers.hookedUffdWp(a, Q0, Q0 + 4 * P);
      } finally {
        KindTestCallbacks.hookAt = -1;
        KindTestCallbacks.hook = null;
      }
    }
    long pte = a.followPte(Q0);
    assertTrue(Pte.uffdWp(pte), Pte.toString(pte));
    assertEquals(broken, !Pte.dirty(pte), "the racing store's D bit " + (broken ? "is lost"
        : "survives"));
    assertEquals(broken ? ReclaimResult.DISCARDED : ReclaimResult.KEPT_DIRTY,
        Reclaim.reclaimPage(a, Q0));
    m.assertQuiet();
    return m.cpu(1).load(a, Q0);
  }

  @Test
  void uffdWpReadingThePteBeforeModifyProtStartLosesTheDirtyBit() {
    assertEquals(0, uffdWpRace(true), "the store of 42 was discarded by reclaim");
  }

  @Test
  void generatedUffdWpAppliesTheLeafToTheValueTakenAndKeepsTheDirtyBit() {
    assertEquals(42, uffdWpRace(false));
  }
}
