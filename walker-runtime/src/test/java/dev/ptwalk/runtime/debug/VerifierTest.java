package dev.ptwalk.runtime.debug;

import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.TlbFlush;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/** Each rule of the verifier, broken once (it must fire) and kept once (it must stay quiet). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VerifierTest {
  private static final long BASE = 0x7f00_0000_0000L;
  private static final long P1 = BASE + 0x1000;
  private static final long P2 = BASE + 0x2000;

  private final Machine machine = Machine.builder().verify(true).build();
  private final MmStruct mm = machine.newMm("A");
  private final MmStruct other = machine.newMm("B");
  private final AddressSpace file = machine.newAddressSpace("buf");
  private final Vma vma = mm.mmap(file, BASE, 4, 0, VM_READ | VM_WRITE | VM_SHARED | VM_IO);
  private final Vma otherVma = other.mmap(file, BASE, 4, 0, VM_READ | VM_WRITE | VM_SHARED);

  VerifierTest() {
    for (int p = 0; p < 4; p++) {
      machine.cpu(0).store(mm, BASE + p * 4096L, p);
      machine.cpu(0).store(other, BASE + p * 4096L, p);
    }
  }

  private PteTable pt() {
    return mm.pgd().pteOffset(BASE);
  }

  private MmuNotifierRange range(MmStruct m, long start, long end) {
    return new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, m, start, end);
  }

  /** Write-protect one PTE the right way: under its ptl, with modify-prot start/commit. */
  private void wrprotect(long addr) {
    PteTable pt = pt();
    pt.ptl().lock();
    try {
      long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
      Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.wrprotect(old));
    } finally {
      pt.ptl().unlock();
    }
  }

  private static String fires(Executable e, String... fragments) {
    VerifierViolation v = assertThrows(VerifierViolation.class, e);
    for (String f : fragments) {
      assertTrue(v.getMessage().contains(f), "missing '" + f + "' in: " + v.getMessage());
    }
    return v.getMessage();
  }

  @Test
  void aCorrectBracketedWalkIsQuiet() {
    file.iMmapLockRead();
    try {
      MmuNotifierRange r = range(mm, BASE, BASE + 0x4000);
      MmuNotifiers.invalidateRangeStart(r);
      mm.incTlbFlushPending();
      try {
        wrprotect(P1);
        wrprotect(P2);
        TlbFlush.flushTlbRange(vma, P1, P2 + 0x1000);
      } finally {
        MmuNotifiers.invalidateRangeEnd(r);
        mm.decTlbFlushPending();
      }
    } finally {
      file.iMmapUnlockRead();
    }
    machine.assertQuiet();
    assertEquals(0, machine.verifier().violations().size());
  }

  @Test
  void restrictiveChangeOutsideAnyBracketFiresNamingAddressAndWalker() {
    String msg = fires(() -> wrprotect(P1),
        "outside an invalidateRangeStart/End bracket of mm A", "0x7f0000001000",
        "[walker: dev.ptwalk.runtime.debug.VerifierTest.wrprotect");
    assertEquals(msg, machine.verifier().violations().get(0), "violations are recorded too");
  }

  @Test
  void aBracketOfAnotherMmOrAnotherRangeDoesNotCover() {
    MmuNotifierRange wrongMm = range(other, BASE, BASE + 0x4000);
    MmuNotifiers.invalidateRangeStart(wrongMm);
    fires(() -> wrprotect(P1), "bracket of mm A covering it");
    MmuNotifiers.invalidateRangeEnd(wrongMm);
    MmuNotifierRange wrongRange = range(mm, P2, P2 + 0x1000);
    MmuNotifiers.invalidateRangeStart(wrongRange);
    fires(() -> wrprotect(BASE), "covering it at 0x7f0000000000");
    MmuNotifiers.invalidateRangeEnd(wrongRange);
  }

  @Test
  void changesWithoutThePtlFire() {
    MmuNotifierRange r = range(mm, BASE, BASE + 0x4000);
    MmuNotifiers.invalidateRangeStart(r);
    fires(() -> Pgtable.ptepModifyProtStart(vma, P1, pt()), "ptepModifyProtStart",
        "without the PTE table's ptl held");
    fires(() -> Pgtable.setPteAt(mm, P1, pt(), Pte.wrprotect(pt().get(P1))),
        "PTE changed without its ptl held", "0x7f0000001000");
  }

  @Test
  void endBeforeAFlushFires() {
    MmuNotifierRange r = range(mm, BASE, BASE + 0x4000);
    MmuNotifiers.invalidateRangeStart(r);
    wrprotect(P1);
    fires(() -> MmuNotifiers.invalidateRangeEnd(r),
        "ran before a TLB flush covering the PTE at 0x7f0000001000", "stale TLB entry");
  }

  @Test
  void aFlushThatMissesOneChangedPteFiresNamingThatPte() {
    MmuNotifierRange r = range(mm, BASE, BASE + 0x4000);
    MmuNotifiers.invalidateRangeStart(r);
    wrprotect(P1);
    wrprotect(P2);
    TlbFlush.flushTlbRange(vma, P1, P1 + 0x1000); // [min, min + 1 page): P2 missed
    fires(() -> MmuNotifiers.invalidateRangeEnd(r), "PTE at 0x7f0000002000");
  }

  @Test
  void aFlushOfTheRightRangeInAnotherMmDoesNotCount() {
    MmuNotifierRange r = range(mm, BASE, BASE + 0x4000);
    MmuNotifiers.invalidateRangeStart(r);
    wrprotect(P1);
    TlbFlush.flushTlbRange(otherVma, BASE, BASE + 0x4000);
    fires(() -> MmuNotifiers.invalidateRangeEnd(r), "0x7f0000001000");
  }

  @Test
  void flushTlbMmCoversEverything() {
    MmuNotifierRange r = range(mm, BASE, BASE + 0x4000);
    MmuNotifiers.invalidateRangeStart(r);
    wrprotect(P1);
    TlbFlush.flushTlbMm(mm);
    MmuNotifiers.invalidateRangeEnd(r);
    machine.assertQuiet();
  }

  @Test
  void endWithoutStartFires() {
    fires(() -> MmuNotifiers.invalidateRangeEnd(range(mm, BASE, P1)),
        "has no matching invalidateRangeStart");
  }

  @Test
  void unbalancedFlushPendingFiresWhenTheLastLockIsDropped() {
    file.iMmapLockRead();
    mm.incTlbFlushPending();
    fires(file::iMmapUnlockRead, "iMmapUnlockRead of buf released with tlbFlushPending of mm A",
        "left unbalanced by +1");
  }

  @Test
  void decWithoutIncFires() {
    fires(mm::decTlbFlushPending, "took tlbFlushPending to -1",
        "a decTlbFlushPending has no incTlbFlushPending");
  }

  @Test
  void aBracketLeftOpenFiresAtUnlockAndInAssertQuiet() {
    mm.mmapReadLock();
    MmuNotifierRange r = range(mm, BASE, P1);
    MmuNotifiers.invalidateRangeStart(r);
    fires(mm::mmapReadUnlock, "mmapReadUnlock of mm A released with invalidateRangeStart",
        "still open");
    machine.verifier().clearViolations();
    fires(machine::assertQuiet, "still has an open invalidateRangeStart");
  }

  @Test
  void assertQuietSeesAPendingCounterLeftBehind() {
    mm.incTlbFlushPending();
    fires(machine::assertQuiet, "mm A has tlbFlushPending = 1");
  }

  @Test
  void aDisabledVerifierLetsEverythingThrough() {
    machine.verifier().setEnabled(false);
    wrprotect(P1);
    MmuNotifiers.invalidateRangeEnd(range(mm, BASE, P1));
    assertEquals(0, machine.verifier().violations().size());
    assertTrue(!Pte.write(mm.followPte(P1)));
  }

  // clear_refs_write's order: inc_tlb_flush_pending, bracket, walk, end, flush_tlb_mm, dec.

  /** Start the soft-dirty clear of clear_refs_write and end its bracket, before any flush. */
  private MmuNotifierRange clearRefsUpToTheEnd() {
    mm.incTlbFlushPending();
    MmuNotifierRange r = new MmuNotifierRange(MmuNotifierEvent.SOFT_DIRTY, 0, mm, BASE,
        BASE + 0x4000);
    MmuNotifiers.invalidateRangeStart(r);
    wrprotect(P1);
    wrprotect(P2);
    MmuNotifiers.invalidateRangeEnd(r);
    return r;
  }

  @Test
  void theClearRefsOrderFlushingAfterTheEndButBeforeTheDecIsQuiet() {
    mm.mmapWriteLock();
    try {
      clearRefsUpToTheEnd();
      TlbFlush.flushTlbMm(mm);
      mm.decTlbFlushPending();
    } finally {
      mm.mmapWriteUnlock();
    }
    machine.assertQuiet();
    assertEquals(0, machine.verifier().violations().size());
  }

  @Test
  void withThePendingCountRaisedAFlushAfterTheDecFires() {
    mm.mmapWriteLock();
    clearRefsUpToTheEnd();
    fires(mm::decTlbFlushPending, "decTlbFlushPending of mm A ran before a TLB flush covering"
        + " the PTE at 0x7f0000001000 (and 1 more)", "which ended with tlb_flush_pending raised",
        "flush (flushTlbMm or flushTlbRange) before decTlbFlushPending");
    TlbFlush.flushTlbMm(mm); // too late: the count has dropped already
    assertEquals(1, machine.verifier().violations().size());
  }

  @Test
  void withThePendingCountRaisedNoFlushAtAllFiresAtTheDec() {
    mm.mmapWriteLock();
    clearRefsUpToTheEnd();
    fires(mm::decTlbFlushPending, "decTlbFlushPending of mm A ran before a TLB flush");
  }

  @Test
  void withThePendingCountRaisedAFlushOfPartOfTheRangeFiresNamingThePteLeft() {
    mm.mmapWriteLock();
    clearRefsUpToTheEnd();
    TlbFlush.flushTlbRange(vma, P1, P1 + 0x1000);
    fires(mm::decTlbFlushPending, "covering the PTE at 0x7f0000002000 made more restrictive");
  }

  @Test
  void withThePendingCountRaisedDroppingTheLockBeforeTheFlushFires() {
    mm.mmapWriteLock();
    clearRefsUpToTheEnd();
    fires(mm::mmapWriteUnlock, "mmapWriteUnlock of mm A ran before a TLB flush covering the PTE"
        + " at 0x7f0000001000");
  }

  @Test
  void withoutThePendingCountTheSameOrderFiresAtTheEnd() {
    MmuNotifierRange r = new MmuNotifierRange(MmuNotifierEvent.SOFT_DIRTY, 0, mm, BASE,
        BASE + 0x4000);
    MmuNotifiers.invalidateRangeStart(r);
    wrprotect(P1);
    fires(() -> MmuNotifiers.invalidateRangeEnd(r),
        "ran before a TLB flush covering the PTE at 0x7f0000001000");
  }

  @Test
  void anotherThreadsPendingCountDoesNotDeferThisThreadsFlush() throws Exception {
    Thread other = new Thread(mm::incTlbFlushPending);
    other.start();
    other.join();
    assertEquals(1, mm.tlbFlushPending());
    MmuNotifierRange r = range(mm, BASE, BASE + 0x4000);
    MmuNotifiers.invalidateRangeStart(r);
    wrprotect(P1);
    fires(() -> MmuNotifiers.invalidateRangeEnd(r), "PTE at 0x7f0000001000");
  }
}
