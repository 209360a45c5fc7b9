package dev.ptwalk.runtime.mm;

import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_MAYREAD;
import static dev.ptwalk.runtime.mm.VmFlags.VM_MAYSHARE;
import static dev.ptwalk.runtime.mm.VmFlags.VM_MAYWRITE;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SOFTDIRTY;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MmapTest {
  private final Machine machine = Machine.builder().verify(true).build();
  private final MmStruct a = machine.newMm("A");
  private final MmStruct b = machine.newMm("B");
  private final AddressSpace buf = machine.newAddressSpace("buf");

  private void rejected(String expected, Executable call) {
    List<Vma> before = a.vmas();
    List<Vma> mapped = buf.vmas();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertEquals(before, a.vmas(), "a rejected mmap changes nothing in the mm");
    assertEquals(mapped, buf.vmas(), "a rejected mmap changes nothing in i_mmap");
  }

  @Test
  void mapsOneFileIntoTwoMmsAtDifferentAddressesAndPgoffs() {
    Vma va = a.mmap(buf, 0x7f00_0000_0000L, 16, 0, VM_READ | VM_WRITE | VM_SHARED | VM_IO);
    Vma vb = b.mmap(buf, 0x5555_0000_0000L, 8, 4, VM_READ | VM_SHARED);
    assertEquals(0x7f00_0001_0000L, va.end());
    assertEquals(16, va.pages());
    assertEquals(15, va.lastPgoff());
    assertEquals(VM_READ | VM_WRITE | VM_SHARED | VM_IO | VM_MAYREAD | VM_MAYWRITE | VM_MAYSHARE
        | VM_SOFTDIRTY, va.flags(), "do_mmap implies the VM_MAY* bits; new VMAs are soft-dirty");
    assertEquals(6, vb.pgoffOf(0x5555_0000_2fffL));
    assertEquals(0x5555_0000_1000L, vb.addressOf(5));
    assertSame(va, a.vmaLookup(0x7f00_0000_ffffL));
    assertNull(a.vmaLookup(0x7f00_0001_0000L));
    assertEquals(List.of(va, vb), buf.vmas(), "i_mmap is ordered by pgoff");
    buf.iMmapLockRead();
    try {
      List<Vma> hit = new ArrayList<>();
      buf.vmaIntervalTreeForeach(12, 20).forEach(hit::add);
      assertEquals(List.of(va), hit, "vb maps pgoffs 4..11 only");
    } finally {
      buf.iMmapUnlockRead();
    }
    machine.assertQuiet();
  }

  @Test
  void badArgumentsAreRejectedAndChangeNothing() {
    a.mmap(buf, 0x10_0000L, 16, 0, VM_READ);
    rejected("overlaps", () -> a.mmap(buf, 0x10_f000L, 1, 0, VM_READ));
    rejected("overlaps", () -> a.mmap(buf, 0xf_f000L, 2, 0, VM_READ));
    rejected("overlaps", () -> a.mmap(buf, 0x0f_0000L, 0x100, 0, VM_READ));
    rejected("not page aligned", () -> a.mmap(buf, 0x20_0800L, 1, 0, VM_READ));
    rejected("non-canonical", () -> a.mmap(buf, 0xffff_8000_0000_0000L, 1, 0, VM_READ));
    rejected("47-bit user address limit", () -> a.mmap(buf, 1L << 47, 1, 0, VM_READ));
    rejected("does not fit below", () -> a.mmap(buf, (1L << 47) - 0x2000, 3, 0, VM_READ));
    rejected("does not fit below", () -> a.mmap(buf, 0x40_0000L, 0, 0, VM_READ));
    rejected("overflows the largest file offset",
        () -> a.mmap(buf, 0x40_0000L, 2, (Long.MAX_VALUE >>> 12), VM_READ));
    rejected("overflows the largest file offset", () -> a.mmap(buf, 0x40_0000L, 2, -1, VM_READ));
    rejected("unknown vm_flags bits 0x100", () -> a.mmap(buf, 0x40_0000L, 1, 0, 0x100));
    assertThrows(NullPointerException.class, () -> a.mmap(buf, 0x40_0000L, 1, 0, VM_READ, null));
    // Adjacent is fine: [end, ...) does not overlap.
    a.mmap(buf, 0x11_0000L, 1, 16, VM_READ);
    assertEquals(2, a.vmas().size());
  }

  @Test
  void fiveLevelPagingMapsUpTo56Bits() {
    Machine five = Machine.builder().pagingMode(dev.ptwalk.runtime.pgtable.PagingMode.FIVE_LEVEL)
        .build();
    MmStruct m = five.newMm("A");
    Vma high = m.mmap(null, 1L << 52, 1, 0, VM_READ | VM_WRITE);
    five.cpu(0).store(m, high.start(), 5);
    assertEquals(5, five.cpu(0).load(m, high.start()));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> m.mmap(null, 1L << 56, 1, 0, VM_READ));
    assertTrue(e.getMessage().contains("56-bit user address limit"), e.getMessage());
    assertEquals(List.of(high), m.vmas());
  }

  @Test
  void vmaHelpersRejectAddressesOutside() {
    Vma v = a.mmap(buf, 0x10_0000L, 4, 10, VM_READ);
    assertThrows(IllegalArgumentException.class, () -> v.pgoffOf(0x10_4000L));
    assertThrows(IllegalArgumentException.class, () -> v.addressOf(9));
    assertThrows(IllegalArgumentException.class, () -> v.addressOf(14));
    assertFalse(v.contains(0xf_ffffL));
  }

  @Test
  void tlbFlushPendingCountsAndDetectsNesting() {
    assertEquals(0, a.tlbFlushPending());
    a.incTlbFlushPending();
    assertFalse(a.mmTlbFlushNested());
    a.incTlbFlushPending();
    assertTrue(a.mmTlbFlushNested());
    assertEquals(2, a.tlbFlushPending());
    a.decTlbFlushPending();
    a.decTlbFlushPending();
    assertEquals(0, a.tlbFlushPending());
  }

  @Test
  void iMmapForeachNeedsTheLockAndAValidRange() {
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> buf.vmaIntervalTreeForeach(0, 1));
    assertTrue(e.getMessage().contains("without i_mmap_rwsem held"), e.getMessage());
    buf.iMmapLockRead();
    try {
      assertThrows(IllegalArgumentException.class, () -> buf.vmaIntervalTreeForeach(5, 4));
    } finally {
      buf.iMmapUnlockRead();
    }
  }

  @Test
  void machineNamesAreUniqueAndValidated() {
    assertThrows(IllegalArgumentException.class, () -> machine.newMm("A"));
    assertThrows(IllegalArgumentException.class, () -> machine.newAddressSpace(""));
    assertThrows(IllegalArgumentException.class, () -> Machine.builder().cpus(0));
    assertThrows(IllegalArgumentException.class, () -> machine.cpu(2));
  }
}
