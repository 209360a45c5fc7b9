package dev.ptwalk.tests;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.debug.VerifierViolation;
import dev.ptwalk.runtime.mm.Folio;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Reclaim;
import dev.ptwalk.runtime.mm.ReclaimResult;
import dev.ptwalk.runtime.notifier.SecondaryMmu;
import dev.ptwalk.runtime.notifier.SecondaryMmu.Counts;
import dev.ptwalk.runtime.notifier.SecondaryMmu.DirtyMarking;
import dev.ptwalk.runtime.notifier.SecondaryMmu.InvalidationPolicy;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.samples.kinds.LazyFreeWalkers;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seed 001, sequentially: after {@code MADV_FREE} (the generated {@code LAZYFREE} walker) the
 * guest writes a page whose primary PTE stays writable and clean; only the secondary MMU knows of
 * the write. Reclaim keeps it when the folio was marked dirty (a) while {@code hva_to_pfn}'s
 * reference was held or (b) before {@code invalidate_range_start} returned, and discards it when
 * the mark comes at {@code invalidate_range_end}. A {@code LAZYFREE} walker without its bracket
 * leaves the spte writable and loses the write too.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KvmDirtyMarkingTest {
  private static final long Q0 = 0x4000_0000L;
  private static final long P = Pgtable.PAGE_SIZE;

  /** What one run did. */
  record Run(ReclaimResult reclaim, long readBack, boolean pteDirtyBeforeReclaim, Counts counts,
      Folio folio) {}

  /**
   * The host writes 1; the guest reads it (a writable spte: map_writable); MADV_FREE; the guest
   * writes 2; reclaim; the guest reads the page back.
   */
  private static Run run(Machine m, DirtyMarking marking, InvalidationPolicy policy,
      boolean bracketless) {
    MmStruct a = m.newMm("A");
    a.mmap(null, Q0, 1, 0, VM_READ | VM_WRITE);
    m.cpu(0).store(a, Q0, 1);
    SecondaryMmu kvm = SecondaryMmu.builder("kvm", a).dirtyMarking(marking).policy(policy)
        .build();
    assertEquals(1, kvm.read(Q0));
    assertTrue(kvm.spte(Q0).writable() && !kvm.spte(Q0).dirty());
    if (bracketless) {
      assertEquals(1, BrokenKvmWalkers.madviseFreeWithoutNotifier(a, Q0, Q0 + P));
      assertTrue(kvm.spte(Q0).writable(), "no bracket: the spte stayed writable");
    } else {
      assertEquals(1, LazyFreeWalkers.madviseFree(a, Q0, Q0 + P));
    }
    Folio folio = m.physMem().folio(Pte.pfn(a.followPte(Q0)));
    assertTrue(folio.lazyfree() && !folio.testDirty());
    kvm.write(Q0, 2);
    boolean pteDirty = Pte.dirty(a.followPte(Q0));
    ReclaimResult r = Reclaim.reclaimPage(a, Q0);
    long back = kvm.read(Q0);
    return new Run(r, back, pteDirty, kvm.counts(), folio);
  }

  private static Run run(DirtyMarking marking, InvalidationPolicy policy) {
    Machine m = Machine.builder().verify(true).build();
    Run r = run(m, marking, policy, false);
    m.assertQuiet();
    return r;
  }

  @Test
  void onMapKeepsAWriteOnlyTheGuestMade() {
    Run zap = run(DirtyMarking.ON_MAP, InvalidationPolicy.ZAP);
    assertFalse(zap.pteDirtyBeforeReclaim(), "the primary PTE never learnt of the write");
    assertEquals(ReclaimResult.KEPT_DIRTY, zap.reclaim());
    assertEquals(2, zap.readBack());
    assertTrue(zap.folio().swapbacked() && !zap.folio().freed());
    assertEquals(new Counts(3, 0, 2, 0, 3, 0, 0), zap.counts(), "faults: the first read, the"
        + " write after MADV_FREE's zap, the read after reclaim's; each writable install marked");
    Run wp = run(DirtyMarking.ON_MAP, InvalidationPolicy.WRPROTECT);
    assertEquals(ReclaimResult.KEPT_DIRTY, wp.reclaim());
    assertEquals(2, wp.readBack());
    assertEquals(new Counts(2, 0, 0, 2, 2, 0, 0), wp.counts(), "MADV_FREE and reclaim each"
        + " write-protected the spte; the read after reclaim went through the kept spte");
  }

  @Test
  void onZapKeepsAWriteOnlyTheGuestMade() {
    Run zap = run(DirtyMarking.ON_ZAP, InvalidationPolicy.ZAP);
    assertFalse(zap.pteDirtyBeforeReclaim());
    assertEquals(ReclaimResult.KEPT_DIRTY, zap.reclaim());
    assertEquals(2, zap.readBack());
    assertEquals(new Counts(3, 0, 2, 0, 1, 0, 0), zap.counts(),
        "marked once: at reclaim's zap of the dirty spte, before try_to_unmap_one looked");
    Run wp = run(DirtyMarking.ON_ZAP, InvalidationPolicy.WRPROTECT);
    assertEquals(ReclaimResult.KEPT_DIRTY, wp.reclaim());
    assertEquals(2, wp.readBack());
    assertEquals(new Counts(2, 0, 0, 2, 1, 0, 0), wp.counts());
  }

  @Test
  void markingAtRangeEndLosesTheWrite() {
    for (InvalidationPolicy policy : InvalidationPolicy.values()) {
      Run r = run(DirtyMarking.ON_RANGE_END, policy);
      assertFalse(r.pteDirtyBeforeReclaim(), policy.name());
      assertEquals(ReclaimResult.DISCARDED, r.reclaim(), policy + ": try_to_unmap_one saw a"
          + " clean folio with no extra reference and cleared the PTE without a swap entry");
      assertEquals(0, r.readBack(), policy + ": the guest's write of 2 is lost");
      assertTrue(r.folio().freed() && r.folio().testDirty(),
          policy + ": the dirty mark came, on a folio already freed");
    }
  }

  @Test
  void aLazyfreeWalkerWithoutItsBracketIsRejectedByTheVerifier() {
    Machine m = Machine.builder().verify(true).build();
    VerifierViolation v = assertThrows(VerifierViolation.class,
        () -> run(m, DirtyMarking.ON_MAP, InvalidationPolicy.ZAP, true));
    assertTrue(v.getMessage().startsWith("PTE made more restrictive outside an"
        + " invalidateRangeStart/End bracket of mm A covering it at 0x40000000"), v.getMessage());
  }

  @Test
  void aLazyfreeWalkerWithoutItsBracketLeavesAWritableSpteAndTheWriteIsLost() {
    Run r = run(Machine.builder().build(), DirtyMarking.ON_MAP, InvalidationPolicy.ZAP, true);
    assertEquals(ReclaimResult.DISCARDED, r.reclaim());
    assertEquals(0, r.readBack(), "the store went through the stale writable spte, unrecorded");
    assertEquals(new Counts(2, 0, 1, 0, 1, 0, 0), r.counts(), "no fault for the write: only the"
        + " first read and the read after reclaim (of the zero page, read-only) faulted");
  }

  @Test
  void theSpteShowsWhatTheGuestDidAndNothingElse() {
    Machine m = Machine.builder().verify(true).build();
    MmStruct a = m.newMm("A");
    a.mmap(null, Q0, 2, 0, VM_READ | VM_WRITE);
    SecondaryMmu kvm = SecondaryMmu.builder("kvm", a).policy(InvalidationPolicy.WRPROTECT)
        .build();
    kvm.write(Q0, 1);
    kvm.write(Q0 + P, 1);
    LazyFreeWalkers.madviseFree(a, Q0, Q0 + 2 * P);
    assertEquals(new SecondaryMmu.Spte(kvm.spte(Q0).pfn(), false, true, false), kvm.spte(Q0),
        "MADV_FREE's CLEAR under the write-protect policy: read-only, kept, D handed over");
    kvm.read(Q0);
    kvm.write(Q0 + P, 3);
    assertFalse(kvm.spte(Q0).writable(), "a read keeps it read-only");
    assertTrue(kvm.spte(Q0 + P).writable() && kvm.spte(Q0 + P).dirty());
    assertEquals(ReclaimResult.DISCARDED, Reclaim.reclaimPage(a, Q0),
        "read since MADV_FREE but never written: reclaim may free it");
    assertNull(kvm.spte(Q0), "and the end callback dropped the kept spte of the freed page");
    assertEquals(ReclaimResult.KEPT_DIRTY, Reclaim.reclaimPage(a, Q0 + P));
    m.assertQuiet();
  }
}
