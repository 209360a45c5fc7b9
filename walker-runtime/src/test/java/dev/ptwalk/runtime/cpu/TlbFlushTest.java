package dev.ptwalk.runtime.cpu;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlbFlushTest {
  private static final long BASE = 0x7f00_0000_0000L;
  private final Machine machine = Machine.builder().cpus(3).trace(true).build();
  private final MmStruct a = machine.newMm("A");
  private final MmStruct b = machine.newMm("B");
  private final AddressSpace file = machine.newAddressSpace("f");
  private final Vma va = a.mmap(file, BASE, 8, 0, VM_READ | VM_WRITE | VM_SHARED);
  private final Vma vb = b.mmap(file, BASE, 8, 0, VM_READ | VM_WRITE | VM_SHARED);

  private void touchAll() {
    for (Cpu c : machine.cpus()) {
      for (int p = 0; p < 8; p++) {
        c.load(a, BASE + p * 4096L);
        c.load(b, BASE + p * 4096L);
      }
    }
    machine.trace().clear();
  }

  @Test
  void rangeFlushDropsExactlyThatRangeOfThatMmOnEveryCpu() {
    touchAll();
    TlbFlush.flushTlbRange(va, BASE + 0x2000, BASE + 0x5000);
    for (Cpu c : machine.cpus()) {
      assertNotNull(c.tlbLookup(a, BASE + 0x1000));
      assertNull(c.tlbLookup(a, BASE + 0x2000));
      assertNull(c.tlbLookup(a, BASE + 0x4000));
      assertNotNull(c.tlbLookup(a, BASE + 0x5000));
      assertNotNull(c.tlbLookup(b, BASE + 0x3000), "another mm's entries stay");
    }
    assertEquals(1, machine.counters().tlbFlushRange());
    assertEquals(9, machine.counters().tlbEntriesInvalidated(), "3 pages on 3 CPUs");
    assertEquals(List.of(new TraceEvent.TlbFlush("A", BASE + 0x2000, BASE + 0x5000, false)),
        machine.trace().events());
  }

  @Test
  void mmFlushDropsEveryEntryOfThatMm() {
    touchAll();
    TlbFlush.flushTlbMm(b);
    for (Cpu c : machine.cpus()) {
      assertEquals(8, c.tlbEntries().size(), "only A's 8 entries remain");
    }
    assertEquals(1, machine.counters().tlbFlushMm());
    assertEquals(24, machine.counters().tlbEntriesInvalidated());
    TlbFlush.flushTlbPage(vb, BASE + 0x1234);
    assertEquals(List.of(new TraceEvent.TlbFlush("B", 0, -1L, true),
        new TraceEvent.TlbFlush("B", BASE + 0x1000, BASE + 0x2000, false)), machine.trace().events());
  }

  @Test
  void cacheFlushIsANoOpThatIsStillRecorded() {
    touchAll();
    CacheFlush.flushCacheRange(va, BASE, BASE + 0x8000);
    assertEquals(1, machine.counters().cacheFlushRange());
    assertEquals(16, machine.cpu(0).tlbEntries().size(), "x86 caches need nothing; TLBs untouched");
    assertEquals(List.of(new TraceEvent.CacheFlush("A", BASE, BASE + 0x8000)), machine.trace().events());
  }

  @Test
  void badRangesAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> TlbFlush.flushTlbRange(va, BASE, BASE));
    assertThrows(IllegalArgumentException.class, () -> TlbFlush.flushTlbRange(va, BASE + 1, BASE + 0x1000));
    assertThrows(IllegalArgumentException.class, () -> CacheFlush.flushCacheRange(va, BASE, BASE));
    assertEquals(0, machine.counters().tlbFlushRange());
  }
}
