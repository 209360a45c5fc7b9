package dev.ptwalk.runtime.pgtable;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.debug.VerifierViolation;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The slot accessors walkers use: unwatched they change the PTE and nothing else; watched (trace
 * or verifier on) they are the address-based accessors, checks included.
 */
class PgtableSlotTest {
  private static final long BASE = 0x7f00_0000_0000L;
  private static final long PTE = Pte.pfnPte(0x1234, Pte.PRESENT | Pte.RW | Pte.DIRTY);

  private static Vma mapped(Machine m) {
    MmStruct mm = m.newMm("A");
    Vma vma = mm.mmap(m.newAddressSpace("f"), BASE, 8, 0, VM_READ | VM_WRITE | VM_SHARED);
    PteTable pt = mm.pgd().pteAlloc(BASE);
    pt.ptl().lock();
    try {
      Pgtable.setPteAt(mm, BASE + 0x3000, pt, PTE);
    } finally {
      pt.ptl().unlock();
    }
    return vma;
  }

  @Test
  void watchedFollowsTheTraceAndTheVerifier() {
    Machine m = Machine.builder().build();
    MmStruct mm = m.newMm("A");
    assertFalse(Pgtable.watched(mm));
    m.trace().enable();
    assertTrue(Pgtable.watched(mm));
    m.trace().disable();
    m.verifier().setEnabled(true);
    assertTrue(Pgtable.watched(mm));
  }

  @Test
  void unwatchedSlotAccessorsChangeThePteAndRecordNothing() {
    Machine m = Machine.builder().build();
    Vma vma = mapped(m);
    PteTable pt = vma.mm().pgd().pteOffset(BASE);
    int slot = pt.index(BASE + 0x3000);
    assertEquals(3, slot);
    assertEquals(PTE, pt.pte(slot));
    pt.ptl().lock();
    try {
      long old = Pgtable.ptepModifyProtStart(vma, BASE + 0x3000, pt, slot, false);
      assertEquals(PTE, old);
      assertEquals(0, pt.pte(slot), "cleared until the commit");
      Pgtable.ptepModifyProtCommit(vma, BASE + 0x3000, pt, slot, old, Pte.mkclean(old), false);
      assertEquals(Pte.mkclean(PTE), pt.get(BASE + 0x3000));
      assertTrue(Pgtable.ptepTestAndClearYoung(vma, BASE + 0x3000, pt, slot, false) == false);
      Pgtable.setPteAt(vma.mm(), BASE + 0x4000, pt, 4, Pte.mkyoung(PTE), false);
      assertTrue(Pgtable.ptepTestAndClearYoung(vma, BASE + 0x4000, pt, 4, false));
      assertEquals(PTE, pt.pte(4));
    } finally {
      pt.ptl().unlock();
    }
    assertEquals(List.of(), m.trace().events());
  }

  @Test
  void watchedSlotAccessorsTraceAsTheAddressOnesDo() {
    Machine m = Machine.builder().trace(true).build();
    Vma vma = mapped(m);
    PteTable pt = vma.mm().pgd().pteOffset(BASE);
    m.trace().clear();
    pt.ptl().lock();
    try {
      long old = Pgtable.ptepModifyProtStart(vma, BASE + 0x3000, pt, 3, true);
      Pgtable.ptepModifyProtCommit(vma, BASE + 0x3000, pt, 3, old, Pte.wrprotect(old), true);
    } finally {
      pt.ptl().unlock();
    }
    assertEquals(List.of(new TraceEvent.PteSet("A", BASE + 0x3000, PTE, Pte.wrprotect(PTE))),
        m.trace().events());
  }

  @Test
  void negativeControlAWatchedSlotThatIsNotTheAddressesIsRejected() {
    Machine m = Machine.builder().trace(true).build();
    Vma vma = mapped(m);
    PteTable pt = vma.mm().pgd().pteOffset(BASE);
    pt.ptl().lock();
    try {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Pgtable.ptepModifyProtStart(vma, BASE + 0x3000, pt, 4, true));
      assertEquals("slot 4 of PteTable[0x7f0000000000, 0x7f0000200000) does not map"
          + " 0x7f0000003000 (its slot is 3)", e.getMessage());
      assertEquals(PTE, pt.pte(3), "nothing changed");
    } finally {
      pt.ptl().unlock();
    }
  }

  @Test
  void theVerifierStillChecksTheSlotAccessors() {
    Machine m = Machine.builder().verify(true).build();
    Vma vma = mapped(m);
    MmStruct mm = vma.mm();
    PteTable pt = mm.pgd().pteOffset(BASE);
    // Without the ptl: caught at the start.
    VerifierViolation e = assertThrows(VerifierViolation.class,
        () -> Pgtable.ptepModifyProtStart(vma, BASE + 0x3000, pt, 3, Pgtable.watched(mm)));
    assertTrue(e.getMessage().contains("ptepModifyProtStart at 0x7f0000003000 in mm A without"
        + " the PTE table's ptl held"), e.getMessage());
    m.verifier().clearViolations();
    // Under the ptl but outside a bracket: the restrictive commit is caught.
    pt.ptl().lock();
    try {
      long old = Pgtable.ptepModifyProtStart(vma, BASE + 0x3000, pt, 3, true);
      e = assertThrows(VerifierViolation.class, () -> Pgtable.ptepModifyProtCommit(vma,
          BASE + 0x3000, pt, 3, old, Pte.wrprotect(old), true));
      assertTrue(e.getMessage().contains("PTE made more restrictive outside an"
          + " invalidateRangeStart/End bracket"), e.getMessage());
      // A PTE changed between start and commit by someone else is reported by the commit.
      m.verifier().clearViolations();
      MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, mm,
          BASE, BASE + 0x8000);
      MmuNotifiers.invalidateRangeStart(range);
      long taken = Pgtable.ptepModifyProtStart(vma, BASE + 0x3000, pt, 3, true);
      pt.compareAndSet(BASE + 0x3000, 0, Pte.pfnPte(0x99, Pte.PRESENT));
      e = assertThrows(VerifierViolation.class, () -> Pgtable.ptepModifyProtCommit(vma,
          BASE + 0x3000, pt, 3, taken, Pte.wrprotect(taken), true));
      assertTrue(e.getMessage().contains("found the PTE no longer cleared"), e.getMessage());
    } finally {
      pt.ptl().unlock();
    }
  }
}
