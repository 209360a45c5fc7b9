package dev.ptwalk.runtime.cpu;

import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_PFNMAP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.Memory;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.mm.VmFault;
import dev.ptwalk.runtime.mm.VmFaultResult;
import dev.ptwalk.runtime.mm.VmOperations;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FaultPathTest {
  private static final long A0 = 0x7f00_0000_0000L;

  private final Machine machine = Machine.builder().cpus(2).verify(true).trace(true).build();
  private final MmStruct mm = machine.newMm("A");
  private final AddressSpace file = machine.newAddressSpace("file");
  private final Cpu cpu0 = machine.cpu(0);

  /** vm_ops of a dirty-tracking driver: records mkwrite calls, can refuse them. */
  private static final class TrackingOps implements VmOperations {
    final List<String> calls = new ArrayList<>();
    VmFaultResult answer = VmFaultResult.OK;

    @Override
    public VmFaultResult pfnMkwrite(VmFault vmf) {
      calls.add("pfn_mkwrite " + vmf.pgoff());
      return answer;
    }

    @Override
    public VmFaultResult pageMkwrite(VmFault vmf) {
      calls.add("page_mkwrite " + vmf.pgoff());
      return answer;
    }

    @Override
    public boolean wantsWriteNotify() {
      return true;
    }
  }

  private List<String> faultPaths() {
    List<String> out = new ArrayList<>();
    for (TraceEvent.Fault f : machine.trace().events(TraceEvent.Fault.class)) {
      out.add(f.path() + ":" + f.result());
    }
    return out;
  }

  @Test
  void readFaultInSharedWritableVmaMapsWritableAndClean() {
    mm.mmap(file, A0, 4, 0, VM_READ | VM_WRITE | VM_SHARED);
    assertEquals(0, cpu0.load(mm, A0 + 8));
    long pte = mm.followPte(A0);
    assertEquals(Pte.pfnPte(file.findPage(0), Pte.PRESENT | Pte.USER | Pte.ACCESSED | Pte.RW), pte);
    assertEquals(List.of("do_read_fault:OK"), faultPaths());
    assertEquals(new TlbEntry(mm.id(), A0 >>> 12, file.findPage(0), true, false),
        cpu0.tlbLookup(mm, A0));
    machine.assertQuiet();
  }

  @Test
  void writeNotifyMapsReadOnlyThenPfnMkwriteOnFirstStore() {
    TrackingOps ops = new TrackingOps();
    mm.mmap(file, A0, 4, 10, VM_READ | VM_WRITE | VM_SHARED | VM_IO | VM_PFNMAP, ops);
    cpu0.load(mm, A0 + 0x1000);
    assertFalse(Pte.write(mm.followPte(A0 + 0x1000)), "writenotify maps read faults read-only");
    cpu0.store(mm, A0 + 0x1000, 7);
    long pte = mm.followPte(A0 + 0x1000);
    assertTrue(Pte.present(pte) && Pte.write(pte) && Pte.dirty(pte) && Pte.young(pte));
    assertEquals(List.of("pfn_mkwrite 11"), ops.calls);
    assertEquals(List.of("do_read_fault:OK", "wp_pfn_shared:OK"), faultPaths());
    assertEquals(7, cpu0.load(mm, A0 + 0x1000));
    machine.assertQuiet();
  }

  @Test
  void pageBackedSharedVmaUsesPageMkwrite() {
    TrackingOps ops = new TrackingOps();
    mm.mmap(file, A0, 4, 0, VM_READ | VM_WRITE | VM_SHARED, ops);
    cpu0.load(mm, A0);
    cpu0.store(mm, A0, 1);
    assertEquals(List.of("page_mkwrite 0"), ops.calls);
    assertEquals(List.of("do_read_fault:OK", "wp_page_shared:OK"), faultPaths());
    // A store to a none PTE goes through do_shared_fault, which also asks page_mkwrite.
    cpu0.store(mm, A0 + 0x2000, 2);
    assertEquals(List.of("page_mkwrite 0", "page_mkwrite 2"), ops.calls);
    long pte = mm.followPte(A0 + 0x2000);
    assertTrue(Pte.write(pte) && Pte.dirty(pte) && Pte.young(pte));
    machine.assertQuiet();
  }

  @Test
  void writeFaultOnNonePteMapsWritableDirtyYoung() {
    mm.mmap(file, A0, 4, 0, VM_READ | VM_WRITE | VM_SHARED);
    cpu0.store(mm, A0 + 0x3008, 99);
    assertEquals(Pte.mkdirty(Pte.pfnPte(file.findPage(3),
        Pte.PRESENT | Pte.USER | Pte.ACCESSED | Pte.RW)), mm.followPte(A0 + 0x3000));
    assertEquals(List.of("do_shared_fault:OK"), faultPaths());
    assertEquals(99, machine.physMem().read(file.findPage(3), 8));
  }

  @Test
  void privateStoreCopiesOnWriteInsideAClearBracket() {
    MmStruct other = machine.newMm("B");
    other.mmap(file, A0, 1, 0, VM_READ | VM_WRITE | VM_SHARED);
    machine.cpu(1).store(other, A0, 77);
    Vma priv = mm.mmap(file, 0x1000_0000L, 1, 0, VM_READ | VM_WRITE);
    assertEquals(77, cpu0.load(mm, priv.start()));
    assertEquals(file.findPage(0), Pte.pfn(mm.followPte(priv.start())), "reads share the page");
    machine.trace().clear();

    cpu0.store(mm, priv.start(), 5);
    long pte = mm.followPte(priv.start());
    assertNotEquals(file.findPage(0), Pte.pfn(pte), "the store got a private copy");
    assertEquals(5, cpu0.load(mm, priv.start()));
    assertEquals(77, machine.cpu(1).load(other, A0), "the file page is untouched");
    assertEquals(List.of(
            new TraceEvent.NotifierStart("A", "CLEAR", 0x1000_0000L, 0x1000_1000L),
            new TraceEvent.TlbFlush("A", 0x1000_0000L, 0x1000_1000L, false),
            new TraceEvent.NotifierEnd("A", "CLEAR", 0x1000_0000L, 0x1000_1000L)),
        machine.trace().events().stream()
            .filter(e -> !(e instanceof TraceEvent.PteSet) && !(e instanceof TraceEvent.Fault))
            .toList());
    assertEquals(List.of("wp_page_copy:OK"), faultPaths());
    machine.assertQuiet();
  }

  @Test
  void privateStoreToNonePteIsACowFault() {
    mm.mmap(file, A0, 1, 0, VM_READ | VM_WRITE);
    cpu0.store(mm, A0, 3);
    assertEquals(List.of("do_cow_fault:OK"), faultPaths());
    assertNotEquals(file.findPage(0), Pte.pfn(mm.followPte(A0)));
    assertEquals(0, machine.physMem().read(file.findPage(0), 0));
  }

  @Test
  void spuriousWriteFaultJustSetsAccessFlags() {
    Vma v = mm.mmap(file, A0, 1, 0, VM_READ | VM_WRITE | VM_SHARED);
    cpu0.load(mm, A0);
    machine.trace().clear();
    mm.mmapReadLock();
    try {
      assertEquals(VmFaultResult.OK, Memory.handleMmFault(v, A0, true));
    } finally {
      mm.mmapReadUnlock();
    }
    assertTrue(Pte.dirty(mm.followPte(A0)));
    assertEquals(List.of("spurious:OK"), faultPaths());
  }

  @Test
  void segfaultsAndBusErrors() {
    mm.mmap(file, A0, 1, 0, VM_READ | VM_SHARED);
    SignalException e = assertThrows(SignalException.class, () -> cpu0.load(mm, 0x1000));
    assertEquals(SignalException.Signal.SIGSEGV, e.signal());
    assertEquals(0x1000, e.address());
    e = assertThrows(SignalException.class, () -> cpu0.store(mm, A0, 1));
    assertEquals(SignalException.Signal.SIGSEGV, e.signal());
    assertTrue(e.write());
    e = assertThrows(SignalException.class, () -> cpu0.load(mm, -8));
    assertEquals(SignalException.Signal.SIGSEGV, e.signal());
    assertThrows(IllegalArgumentException.class, () -> cpu0.load(mm, A0 + 3));
    assertEquals(List.of("bad_area:SIGSEGV", "access_error:SIGSEGV"), faultPaths());

    TrackingOps refusing = new TrackingOps();
    refusing.answer = VmFaultResult.SIGBUS;
    long b = 0x2000_0000L;
    mm.mmap(file, b, 1, 0, VM_READ | VM_WRITE | VM_SHARED | VM_PFNMAP, refusing);
    cpu0.load(mm, b);
    e = assertThrows(SignalException.class, () -> cpu0.store(mm, b, 1));
    assertEquals(SignalException.Signal.SIGBUS, e.signal());
    assertFalse(Pte.write(mm.followPte(b)), "a refused pfn_mkwrite leaves the PTE read-only");

    VmOperations noPage = new VmOperations() {
      @Override
      public VmFaultResult fault(VmFault vmf) {
        return VmFaultResult.SIGBUS;
      }
    };
    long c = 0x3000_0000L;
    mm.mmap(file, c, 1, 0, VM_READ, noPage);
    assertEquals(SignalException.Signal.SIGBUS,
        assertThrows(SignalException.class, () -> cpu0.load(mm, c)).signal());
    assertEquals(0, mm.followPte(c));
  }

  @Test
  void tlbHitWithWriteAndDirtyTouchesNoPageTable() {
    Machine bare = Machine.builder().build(); // no verifier: this test edits a PTE by hand
    MmStruct m = bare.newMm("A");
    AddressSpace f = bare.newAddressSpace("f");
    Vma v = m.mmap(f, A0, 1, 0, VM_READ | VM_WRITE | VM_SHARED);
    Cpu c = bare.cpu(0);
    c.store(m, A0, 1);
    var pt = m.pgd().pteOffset(A0);
    pt.compareAndSet(A0, pt.get(A0), Pte.mkclean(pt.get(A0))); // clean it, no flush
    c.store(m, A0, 2);
    assertFalse(Pte.dirty(m.followPte(A0)), "a W+D TLB hit does not walk the table");
    assertEquals(2, c.load(m, A0));
    TlbFlush.flushTlbPage(v, A0);
    c.store(m, A0, 3);
    assertTrue(Pte.dirty(m.followPte(A0)), "after the flush, the store walks and sets D");
  }

  @Test
  void storeThroughCleanWritableEntryRewalksToSetDirty() {
    mm.mmap(file, A0, 1, 0, VM_READ | VM_WRITE | VM_SHARED);
    cpu0.load(mm, A0);
    assertEquals(new TlbEntry(mm.id(), A0 >>> 12, file.findPage(0), true, false),
        cpu0.tlbLookup(mm, A0));
    cpu0.store(mm, A0, 5);
    assertTrue(Pte.dirty(mm.followPte(A0)));
    assertTrue(cpu0.tlbLookup(mm, A0).dirty());
    assertEquals(List.of("do_read_fault:OK"), faultPaths(), "setting D needs no fault");
  }

  @Test
  void weakHardwareWritesThroughACleanWritableEntryWithoutSettingDirty() {
    Machine weak = Machine.builder().hardware(HardwareModel.WEAK).build();
    MmStruct m = weak.newMm("A");
    Vma v = m.mmap(weak.newAddressSpace("f"), A0, 1, 0, VM_READ | VM_WRITE | VM_SHARED);
    Cpu c = weak.cpu(0);
    assertEquals(HardwareModel.WEAK, c.model());
    c.load(m, A0); // caches RW, clean
    c.store(m, A0, 5);
    assertFalse(Pte.dirty(m.followPte(A0)), "the stale entry wrote without setting D");
    assertEquals(5, c.load(m, A0));
    TlbFlush.flushTlbPage(v, A0);
    c.store(m, A0, 6);
    assertTrue(Pte.dirty(m.followPte(A0)), "after the flush, the miss walks and sets D");
    // The same sequence on x86 sets D on the first store (see the test below).
  }

  @Test
  void rewalkFaultsWhenThePteIsNoLongerWritable() {
    Machine bare = Machine.builder().trace(true).build();
    MmStruct m = bare.newMm("A");
    TrackingOps ops = new TrackingOps();
    m.mmap(bare.newAddressSpace("f"), A0, 1, 0, VM_READ | VM_WRITE | VM_SHARED | VM_PFNMAP, ops);
    Cpu c = bare.cpu(0);
    c.store(m, A0, 1);
    c.load(m, A0);
    var pt = m.pgd().pteOffset(A0);
    pt.compareAndSet(A0, pt.get(A0), Pte.mkclean(Pte.wrprotect(pt.get(A0))));
    // The TLB still says W+D: x86 writes without a walk until the entry is flushed.
    c.store(m, A0, 2);
    assertFalse(Pte.write(m.followPte(A0)));
    TlbFlush.flushTlbMm(m);
    c.store(m, A0, 3);
    assertEquals(List.of("pfn_mkwrite 0"), ops.calls);
    assertTrue(Pte.write(m.followPte(A0)) && Pte.dirty(m.followPte(A0)));
  }

  @Test
  void hugeLeafFaultsAreSpuriousWhenAllowedAndSigbusOtherwise() {
    Vma v = mm.mmap(file, 0x4000_0000L, 1024, 0, VM_READ | VM_WRITE | VM_SHARED);
    long pfn = machine.physMem().allocPage();
    long leaf = Pte.pfnPte(pfn, Pte.PRESENT | Pte.USER); // read-only huge PMD leaf
    mm.pgd().setHugeLeaf(v.start(), dev.ptwalk.runtime.pgtable.Pgtable.PMD_SHIFT, leaf);
    mm.mmapReadLock();
    try {
      assertEquals(VmFaultResult.OK, Memory.handleMmFault(v, v.start(), false));
      assertEquals(VmFaultResult.SIGBUS, Memory.handleMmFault(v, v.start(), true));
    } finally {
      mm.mmapReadUnlock();
    }
    assertEquals(List.of("huge_spurious:OK", "huge_fault:SIGBUS"), faultPaths());
    assertEquals(1, machine.counters().warnings(), "huge write faults are not modelled: warned");
    assertEquals(0, cpu0.load(mm, v.start()), "a load through the huge leaf works");
    assertEquals(SignalException.Signal.SIGBUS,
        assertThrows(SignalException.class, () -> cpu0.store(mm, v.start(), 1)).signal());
  }

  @Test
  void tlbEvictsLeastRecentlyUsed() {
    Machine small = Machine.builder().tlbEntries(2).build();
    MmStruct m = small.newMm("A");
    m.mmap(small.newAddressSpace("f"), A0, 3, 0, VM_READ | VM_WRITE | VM_SHARED);
    Cpu c = small.cpu(0);
    c.load(m, A0);
    c.load(m, A0 + 0x1000);
    c.load(m, A0);
    c.load(m, A0 + 0x2000);
    assertEquals(List.of(A0 >>> 12, (A0 >>> 12) + 2),
        c.tlbEntries().stream().map(TlbEntry::vpn).toList());
  }
}
