package dev.ptwalk.runtime.notifier;

import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_PFNMAP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.SignalException;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.Folio;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.notifier.SecondaryMmu.Counts;
import dev.ptwalk.runtime.notifier.SecondaryMmu.DirtyMarking;
import dev.ptwalk.runtime.notifier.SecondaryMmu.InvalidationPolicy;
import dev.ptwalk.runtime.notifier.SecondaryMmu.Spte;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The secondary MMU as KVM runs it: sptes whose A and D bits only the guest sets, {@code
 * hva_to_pfn} without marking the primary PTE dirty, the zap and write-protect policies with their
 * counts, the three dirty-marking orders seen from inside the bracket, and aging with and without
 * {@code has_fast_aging}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SecondaryMmuTest {
  private static final long BASE = 0x7f00_0000_0000L;
  private static final long P = Pgtable.PAGE_SIZE;
  private static final long ANON = VM_READ | VM_WRITE;

  private final Machine machine = Machine.builder().cpus(2).verify(true).trace(true).build();
  private final MmStruct mm = machine.newMm("A");

  private Folio folioAt(long addr) {
    return machine.physMem().folio(Pte.pfn(mm.followPte(addr)));
  }

  private void bracket(MmuNotifierEvent event, long start, long end, Runnable inside) {
    MmuNotifierRange r = new MmuNotifierRange(event, 0, mm, start, end);
    MmuNotifiers.invalidateRangeStart(r);
    try {
      inside.run();
    } finally {
      MmuNotifiers.invalidateRangeEnd(r);
    }
  }

  @Test
  void theGuestsOwnAccessesSetAccessedAndDirtyAsEptHardwareDoes() {
    mm.mmap(null, BASE, 4, 0, ANON);
    machine.cpu(0).store(mm, BASE, 1); // the host populates page 0
    SecondaryMmu kvm = new SecondaryMmu("kvm", mm);
    assertEquals(1, kvm.read(BASE));
    assertEquals(new Spte(Pte.pfn(mm.followPte(BASE)), true, true, false), kvm.spte(BASE),
        "a read fault maps the page writable (map_writable, GUP-fast for write), young, clean");
    kvm.write(BASE, 7);
    assertEquals(new Spte(Pte.pfn(mm.followPte(BASE)), true, true, true), kvm.spte(BASE),
        "the guest's store sets D in the spte");
    assertEquals(new Counts(1, 0, 0, 0, 1, 0, 0), kvm.counts(),
        "one secondary fault; (a) marked the folio dirty once, when the writable spte came");
    assertEquals(7, machine.cpu(1).load(mm, BASE), "both MMUs see one page");
    assertEquals(List.of(kvm), SecondaryMmu.attached(mm));
    assertEquals(List.of(BASE), List.copyOf(kvm.sptes().keySet()));
    machine.assertQuiet();
  }

  @Test
  void aSecondaryFaultNeverMarksThePrimaryPteDirty() {
    AddressSpace file = machine.newAddressSpace("f");
    mm.mmap(file, BASE, 2, 0, VM_READ | VM_WRITE | VM_SHARED);
    machine.cpu(0).load(mm, BASE); // do_read_fault: present, writable, clean
    long before = mm.followPte(BASE);
    assertTrue(Pte.write(before) && !Pte.dirty(before));
    SecondaryMmu kvm = SecondaryMmu.builder("kvm", mm).dirtyMarking(DirtyMarking.ON_ZAP).build();
    kvm.write(BASE, 5);
    assertEquals(before, mm.followPte(BASE),
        "GUP-fast took the page for write and touched nothing: the primary PTE stays W=1, D=0");
    assertFalse(folioAt(BASE).testDirty(), "and under (b) nothing marked the folio either");
    assertTrue(kvm.spte(BASE).dirty(), "only the spte knows of the write");
    machine.assertQuiet();
  }

  @Test
  void aStoreThatNeedsTheHostPageWritableWriteFaultsThePrimary() {
    mm.mmap(null, BASE, 1, 0, ANON);
    SecondaryMmu kvm = new SecondaryMmu("kvm", mm);
    assertEquals(0, kvm.read(BASE));
    assertEquals(new Spte(machine.physMem().zeroPfn(), false, true, false), kvm.spte(BASE),
        "a first read maps the zero page, read-only");
    kvm.write(BASE, 3);
    long pte = mm.followPte(BASE);
    assertTrue(Pte.write(pte) && Pte.dirty(pte), "wp_page_copy made the primary PTE W=1, D=1");
    assertEquals(new Spte(Pte.pfn(pte), true, true, true), kvm.spte(BASE));
    assertEquals(new Counts(2, 1, 1, 0, 1, 0, 0), kvm.counts(), "two EPT violations; the"
        + " store's fault retried once, since its own copy-on-write bracket zapped the zero page");
    machine.assertQuiet();
  }

  @Test
  void aRemappedPfnComesWithoutAFolioReferenceAndIsNeverMarkedDirty() {
    AddressSpace dev = machine.newAddressSpace("dev");
    mm.mmap(dev, BASE, 1, 0, VM_READ | VM_WRITE | VM_SHARED | VM_IO | VM_PFNMAP);
    SecondaryMmu kvm = SecondaryMmu.builder("kvm", mm).dirtyMarking(DirtyMarking.ON_ZAP).build();
    kvm.write(BASE, 9); // GUP refuses VM_IO|VM_PFNMAP: hva_to_pfn_remapped, fixup_user_fault
    long pte = mm.followPte(BASE);
    assertTrue(Pte.dirty(pte), "fixup_user_fault's write fault dirtied the primary PTE");
    bracket(MmuNotifierEvent.UNMAP, BASE, BASE + P, () -> { });
    assertEquals(0, kvm.counts().dirtyMarks(), "no refcounted page, nothing to mark");
    assertEquals(1, kvm.zapped());
    machine.assertQuiet();
  }

  @Test
  void anAccessOutsideEveryVmaIsEfault() {
    SecondaryMmu kvm = new SecondaryMmu("kvm", mm);
    SignalException e = assertThrows(SignalException.class, () -> kvm.write(BASE, 1));
    assertEquals(SignalException.Signal.SIGSEGV, e.signal());
    assertNull(kvm.spte(BASE));
  }

  @Test
  void aHugeLeafIsRefusedWithAWarningAndAnUnalignedAccessWithAnError() {
    long huge = 0x4000_0000L;
    mm.mmap(null, huge, 512, 0, ANON);
    mm.pgd().setHugeLeaf(huge, Pgtable.PMD_SHIFT, Pte.pfnPte(0x800, Pte.PRESENT | Pte.RW));
    SecondaryMmu kvm = new SecondaryMmu("kvm", mm);
    SignalException e = assertThrows(SignalException.class, () -> kvm.read(huge + P));
    assertEquals(SignalException.Signal.SIGBUS, e.signal());
    assertEquals(List.of("mm A: secondary MMU kvm at 0x40001000: a huge leaf; huge pages are not"
        + " modelled for secondary MMUs"), machine.trace().events(TraceEvent.Warning.class)
            .stream().map(TraceEvent.Warning::message).toList());
    IllegalArgumentException u = assertThrows(IllegalArgumentException.class,
        () -> kvm.write(huge + 4, 1));
    assertEquals("0x40000004 is not 8-byte aligned: accesses are 64-bit words", u.getMessage());
    assertEquals(SignalException.Signal.SIGSEGV,
        assertThrows(SignalException.class, () -> kvm.read(-8)).signal());
    assertEquals(0, kvm.spteCount());
  }

  /** Guest writes pages 0..3; one bracket of {@code event} over pages 1..2. */
  private SecondaryMmu afterBracket(InvalidationPolicy policy, MmuNotifierEvent event) {
    mm.mmap(null, BASE, 4, 0, ANON);
    SecondaryMmu kvm = SecondaryMmu.builder("kvm", mm).policy(policy).build();
    for (int i = 0; i < 4; i++) {
      kvm.write(BASE + i * P, i + 1);
    }
    bracket(event, BASE + P, BASE + 3 * P, () -> { });
    return kvm;
  }

  @Test
  void zapDropsTheRangeForEveryEvent() {
    for (MmuNotifierEvent event : MmuNotifierEvent.values()) {
      SecondaryMmuTest t = new SecondaryMmuTest();
      SecondaryMmu kvm = t.afterBracket(InvalidationPolicy.ZAP, event);
      assertEquals(List.of(BASE, BASE + 3 * P), List.copyOf(kvm.sptes().keySet()), event.name());
      assertEquals(new Counts(4, 0, 2, 0, 4, 0, 0), kvm.counts(), event.name());
    }
  }

  @Test
  void wrprotectKeepsReadOnlySptesForTheEventsThatOnlyTakeWriteAway() {
    for (MmuNotifierEvent event : MmuNotifierEvent.values()) {
      SecondaryMmuTest t = new SecondaryMmuTest();
      SecondaryMmu kvm = t.afterBracket(InvalidationPolicy.WRPROTECT, event);
      boolean kept = event == MmuNotifierEvent.PROTECTION_PAGE
          || event == MmuNotifierEvent.SOFT_DIRTY || event == MmuNotifierEvent.CLEAR;
      assertEquals(kept, InvalidationPolicy.WRPROTECT.wrprotects(event));
      if (kept) {
        assertEquals(4, kvm.spteCount(), event.name());
        assertEquals(new Spte(kvm.spte(BASE + P).pfn(), false, true, false), kvm.spte(BASE + P),
            event + ": read-only, young, D cleared");
        assertTrue(kvm.spte(BASE).writable() && kvm.spte(BASE + 3 * P).writable());
        assertEquals(new Counts(4, 0, 0, 2, 4, 0, 0), kvm.counts(), event.name());
        assertEquals(2, kvm.read(BASE + P), "a read goes through the kept spte: no fault");
        kvm.write(BASE + P, 20);
        assertEquals(new Counts(5, 0, 0, 2, 5, 0, 0), kvm.counts(),
            "a store to a read-only spte is an EPT violation and maps it writable again");
      } else {
        assertEquals(new Counts(4, 0, 2, 0, 4, 0, 0), kvm.counts(), event.name());
      }
    }
  }

  @Test
  void aKeptSpteIsZappedAtTheEndWhenThePrimaryNoLongerMapsItsPage() {
    mm.mmap(null, BASE, 2, 0, ANON);
    SecondaryMmu kvm = SecondaryMmu.builder("kvm", mm).policy(InvalidationPolicy.WRPROTECT)
        .build();
    kvm.write(BASE, 1);
    kvm.write(BASE + P, 2);
    mm.mmapReadLock();
    try {
      // MADV_DONTNEED: a CLEAR bracket that clears the PTE (and frees the page after it)
      dev.ptwalk.runtime.mm.Memory.zapPageRangeSingle(mm.vmaLookup(BASE), BASE, P);
    } finally {
      mm.mmapReadUnlock();
    }
    assertNull(kvm.spte(BASE), "the end callback found no PTE and zapped the kept spte");
    assertTrue(kvm.spte(BASE + P).writable(), "outside the range nothing changed");
    assertEquals(new Counts(2, 0, 1, 1, 2, 0, 0), kvm.counts());
    assertEquals(0, kvm.read(BASE), "the guest sees what the process sees: a fresh page");
    machine.assertQuiet();
  }

  /**
   * The folio's dirty flag as the primary sees it at three points: after the secondary write,
   * inside the bracket right after invalidate_range_start returned (where try_to_unmap_one looks),
   * and after invalidate_range_end.
   */
  private List<Boolean> dirtyAtEachPoint(DirtyMarking marking, InvalidationPolicy policy) {
    mm.mmap(machine.newAddressSpace("f"), BASE, 1, 0, VM_READ | VM_WRITE | VM_SHARED);
    machine.cpu(0).load(mm, BASE); // the PTE is writable and clean, the folio clean
    Folio folio = folioAt(BASE);
    assertFalse(folio.testDirty() || Pte.dirty(mm.followPte(BASE)));
    SecondaryMmu kvm = SecondaryMmu.builder("kvm", mm).dirtyMarking(marking).policy(policy)
        .build();
    kvm.write(BASE, 2);
    boolean afterWrite = folio.testDirty();
    boolean[] inside = new boolean[1];
    bracket(MmuNotifierEvent.CLEAR, BASE, BASE + P, () -> inside[0] = folio.testDirty());
    return List.of(afterWrite, inside[0], folio.testDirty());
  }

  @Test
  void onMapMarksTheFolioWhenTheWritableSpteIsInstalled() {
    assertEquals(List.of(true, true, true),
        dirtyAtEachPoint(DirtyMarking.ON_MAP, InvalidationPolicy.ZAP));
  }

  @Test
  void onZapMarksTheFolioBeforeInvalidateRangeStartReturns() {
    assertEquals(List.of(false, true, true),
        dirtyAtEachPoint(DirtyMarking.ON_ZAP, InvalidationPolicy.ZAP));
    SecondaryMmuTest t = new SecondaryMmuTest();
    assertEquals(List.of(false, true, true),
        t.dirtyAtEachPoint(DirtyMarking.ON_ZAP, InvalidationPolicy.WRPROTECT),
        "a write-protect hands D over to the folio as a zap does");
  }

  @Test
  void onRangeEndMarksItOnlyAfterTheStartHookReturned() {
    assertEquals(List.of(false, false, true),
        dirtyAtEachPoint(DirtyMarking.ON_RANGE_END, InvalidationPolicy.ZAP),
        "inside the bracket, where try_to_unmap_one tests it, the folio still looks clean");
  }

  @Test
  void agingTestsAndClearsTheAccessedBit() {
    mm.mmap(null, BASE, 2, 0, ANON);
    SecondaryMmu kvm = new SecondaryMmu("kvm", mm);
    kvm.write(BASE, 1);
    assertTrue(MmuNotifiers.testYoung(mm, BASE));
    assertTrue(kvm.spte(BASE).young(), "test_young does not clear");
    assertTrue(MmuNotifiers.clearYoung(mm, BASE, BASE + 2 * P));
    assertEquals(new Spte(kvm.spte(BASE).pfn(), true, false, true), kvm.spte(BASE));
    assertFalse(MmuNotifiers.clearFlushYoung(mm, BASE, BASE + 2 * P), "nothing touched since");
    assertFalse(MmuNotifiers.testYoung(mm, BASE));
    kvm.read(BASE);
    assertTrue(MmuNotifiers.clearFlushYoung(mm, BASE, BASE + P), "the read set A again");
    assertEquals(new Counts(1, 0, 0, 0, 1, 0, 5), kvm.counts(), "a slow MMU ages under its lock");
    machine.assertQuiet();
  }

  @Test
  void aFastMmuAnswersWithoutItsLockAndSaysSo() throws Exception {
    mm.mmap(null, BASE, 1, 0, ANON);
    SecondaryMmu fast = SecondaryMmu.builder("fast", mm).fastAging(true).build();
    SecondaryMmu slow = new SecondaryMmu("slow", mm);
    fast.write(BASE, 1);
    slow.read(BASE);
    assertTrue(MmuNotifiers.mmHasFastYoungNotifiers(mm));
    int[] r = new int[1];
    Thread t;
    synchronized (fast) { // hold fast's mmu_lock: lockless aging must not need it
      t = new Thread(() -> r[0] = MmuNotifiers.clearYoungFastOnly(mm, BASE, BASE + P));
      t.start();
      t.join(10_000);
    }
    assertFalse(t.isAlive(), "clear_young(fast_only) returned while mmu_lock was held");
    assertEquals(MmuNotifier.YOUNG | MmuNotifier.WAS_FAST, r[0]);
    assertFalse(fast.spte(BASE).young());
    assertTrue(slow.spte(BASE).young(), "the slow MMU was skipped, its A bit untouched");
    assertEquals(new Counts(1, 0, 0, 0, 1, 1, 0), fast.counts());
    assertEquals(0, slow.counts().lockedAgings() + slow.counts().fastAgings());
    assertEquals(MmuNotifier.YOUNG, slow.clearYoung(mm, BASE, BASE + P, false),
        "asked normally, the slow MMU answers young, without WAS_FAST");
    assertEquals(0, MmuNotifiers.testYoungFastOnly(mm, BASE));
    assertEquals(0, machine.counters().warnings());
    machine.assertQuiet();
  }

  @Test
  void aSlowMmuAskedFastOnlyWarnsThatItTakesItsLock() {
    mm.mmap(null, BASE, 1, 0, ANON);
    SecondaryMmu slow = new SecondaryMmu("slow", mm);
    slow.read(BASE);
    assertFalse(MmuNotifiers.mmHasFastYoungNotifiers(mm));
    assertEquals(0, MmuNotifiers.clearYoungFastOnly(mm, BASE, BASE + P), "the core skips it");
    assertEquals(MmuNotifier.YOUNG, slow.clearYoung(mm, BASE, BASE + P, true));
    assertEquals(1, machine.counters().warnings());
    assertEquals(List.of("mm A: secondary MMU slow without has_fast_aging was asked to age"
        + " fast-only: it takes mmu_lock to answer, and may block"),
        machine.trace().events(TraceEvent.Warning.class).stream()
            .map(TraceEvent.Warning::message).toList());
  }

  @Test
  void releaseZapsEverything() {
    mm.mmap(null, BASE, 3, 0, ANON);
    SecondaryMmu kvm = SecondaryMmu.builder("kvm", mm).dirtyMarking(DirtyMarking.ON_ZAP).build();
    for (int i = 0; i < 3; i++) {
      kvm.write(BASE + i * P, i);
    }
    MmuNotifiers.unregister(kvm, mm);
    assertEquals(0, kvm.spteCount());
    assertEquals(new Counts(3, 0, 3, 0, 3, 0, 0), kvm.counts(), "(b) marks each dirty spte");
    assertEquals(List.of(), SecondaryMmu.attached(mm));
  }
}
