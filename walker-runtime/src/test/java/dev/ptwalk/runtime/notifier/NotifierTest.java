package dev.ptwalk.runtime.notifier;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NotifierTest {
  private static final long BASE = 0x7f00_0000_0000L;
  private final Machine machine = Machine.builder().trace(true).build();
  private final MmStruct mm = machine.newMm("A");

  /** Records every callback it receives, prefixed by its name. */
  private static final class Recorder implements MmuNotifier {
    final String name;
    final List<String> log;

    Recorder(String name, List<String> log) {
      this.name = name;
      this.log = log;
    }

    @Override
    public void invalidateRangeStart(MmuNotifierRange r) {
      log.add(name + " start " + r + (r.blockable() ? " blockable" : ""));
    }

    @Override
    public void invalidateRangeEnd(MmuNotifierRange r) {
      log.add(name + " end " + r);
    }

    @Override
    public void release(MmStruct m) {
      log.add(name + " release " + m.name());
    }

    @Override
    public boolean clearYoung(MmStruct m, long s, long e) {
      log.add(name + " clear_young");
      return name.equals("b");
    }

    @Override
    public boolean clearFlushYoung(MmStruct m, long s, long e) {
      log.add(name + " clear_flush_young");
      return false;
    }

    @Override
    public boolean testYoung(MmStruct m, long a) {
      log.add(name + " test_young");
      return true;
    }

    @Override
    public void archInvalidateSecondaryTlbs(MmStruct m, long s, long e) {
      log.add(name + " secondary_tlbs 0x" + Long.toHexString(s) + "-0x" + Long.toHexString(e));
    }
  }

  @Test
  void eventValuesAreTheKernels() {
    assertEquals(List.of("UNMAP", "CLEAR", "PROTECTION_VMA", "PROTECTION_PAGE", "SOFT_DIRTY",
            "RELEASE", "MIGRATE", "EXCLUSIVE"),
        java.util.Arrays.stream(MmuNotifierEvent.values()).map(Enum::name).toList());
    assertEquals(3, MmuNotifierEvent.PROTECTION_PAGE.ordinal());
    assertEquals(1, MmuNotifierRange.BLOCKABLE);
  }

  @Test
  void everySubscriptionSeesEveryCallbackInRegistrationOrder() {
    List<String> log = new ArrayList<>();
    Recorder a = new Recorder("a", log);
    MmuNotifiers.register(a, mm);
    MmuNotifiers.register(new Recorder("b", log), mm);
    assertThrows(IllegalArgumentException.class, () -> MmuNotifiers.register(a, mm));
    MmuNotifierRange r = new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, mm, 0x1000, 0x3000);
    assertFalse(r.blockable());
    MmuNotifiers.invalidateRangeStart(r);
    assertTrue(r.blockable(), "invalidate_range_start sets BLOCKABLE");
    MmuNotifiers.invalidateRangeEnd(r);
    assertTrue(MmuNotifiers.clearYoung(mm, 0, 0x1000));
    assertFalse(MmuNotifiers.clearFlushYoung(mm, 0, 0x1000));
    assertTrue(MmuNotifiers.testYoung(mm, 0));
    MmuNotifiers.unregister(a, mm);
    MmuNotifiers.release(mm);
    assertEquals(List.of(
        "a start PROTECTION_PAGE mm=A [0x1000, 0x3000) blockable",
        "b start PROTECTION_PAGE mm=A [0x1000, 0x3000) blockable",
        "a end PROTECTION_PAGE mm=A [0x1000, 0x3000)",
        "b end PROTECTION_PAGE mm=A [0x1000, 0x3000)",
        "a clear_young", "b clear_young",
        "a clear_flush_young", "b clear_flush_young",
        "a test_young",
        "a release A",
        "b release A"), log);
    assertEquals(List.of(new TraceEvent.NotifierStart("A", "PROTECTION_PAGE", 0x1000, 0x3000),
            new TraceEvent.NotifierEnd("A", "PROTECTION_PAGE", 0x1000, 0x3000)),
        machine.trace().events().stream().filter(e -> !(e instanceof TraceEvent.PteSet)).toList());
    assertEquals(1, machine.counters().notifierBrackets());
    int mark = machine.trace().size();
    MmuNotifiers.invalidateRangeStart(r);
    assertEquals(List.of(new TraceEvent.NotifierStart("A", "PROTECTION_PAGE", 0x1000, 0x3000)),
        machine.trace().eventsSince(mark));
    MmuNotifiers.invalidateRangeEnd(r);
    machine.trace().clear();
    assertEquals(List.of(), machine.trace().eventsSince(mark), "a mark past a clear: all events");
  }

  @Test
  void rangesRejectEmptyOrBadInputAndCompareUnsigned() {
    assertThrows(IllegalArgumentException.class,
        () -> new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, 0x2000, 0x2000));
    assertThrows(IllegalArgumentException.class,
        () -> new MmuNotifierRange(MmuNotifierEvent.CLEAR, 2, mm, 0, 0x1000));
    assertThrows(NullPointerException.class,
        () -> new MmuNotifierRange(null, 0, mm, 0, 0x1000));
    MmuNotifierRange all = new MmuNotifierRange(MmuNotifierEvent.SOFT_DIRTY, 0, mm, 0, -1L);
    assertTrue(all.covers(0x7fff_ffff_f000L));
    assertFalse(new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, 0x1000, 0x2000).covers(0x2000));
  }

  @Test
  void tlbFlushesReachSecondaryTlbsThatShareThePageTables() {
    List<String> log = new ArrayList<>();
    MmuNotifiers.register(new Recorder("iommu", log), mm);
    var vma = mm.mmap(machine.newAddressSpace("f"), BASE, 2, 0, VM_READ | VM_WRITE | VM_SHARED);
    dev.ptwalk.runtime.cpu.TlbFlush.flushTlbRange(vma, BASE, BASE + 0x2000);
    assertEquals(List.of("iommu secondary_tlbs 0x7f0000000000-0x7f0000002000"), log);
  }

  @Test
  void secondaryMmuDropsSptesInsideABracketAndCannotRefillUntilItEnds() throws Exception {
    mm.mmap(machine.newAddressSpace("f"), BASE, 4, 0, VM_READ | VM_WRITE | VM_SHARED);
    SecondaryMmu kvm = new SecondaryMmu("kvm", mm);
    kvm.write(BASE, 11);
    kvm.read(BASE + 0x1000);
    assertEquals(2, kvm.spteCount());
    assertTrue(kvm.spte(BASE).writable());
    assertTrue(Pte.dirty(mm.followPte(BASE)), "GUP write-faulted the primary PTE in, dirty");
    assertEquals(11, machine.cpu(0).load(mm, BASE), "both MMUs see one page");

    MmuNotifierRange r = new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0, mm, BASE, BASE + 0x1000);
    MmuNotifiers.invalidateRangeStart(r);
    assertNull(kvm.spte(BASE), "start zaps the spte in the range");
    assertNotNull(kvm.spte(BASE + 0x1000), "and only in the range");
    assertEquals(1, kvm.invalidateInProgress());
    long[] seen = {-1};
    Thread vcpu = new Thread(() -> seen[0] = kvm.read(BASE));
    vcpu.start();
    while (vcpu.getState() != Thread.State.WAITING) {
      Thread.onSpinWait(); // the secondary fault waits for the invalidation to end
    }
    assertNull(kvm.spte(BASE), "no spte is established while the bracket is open");
    MmuNotifiers.invalidateRangeEnd(r);
    vcpu.join();
    assertEquals(11, seen[0]);
    assertNotNull(kvm.spte(BASE));
    assertEquals(1, kvm.zapped());
    assertTrue(MmuNotifiers.testYoung(mm, BASE));
    MmuNotifiers.release(mm);
    assertEquals(0, kvm.spteCount());
  }
}
