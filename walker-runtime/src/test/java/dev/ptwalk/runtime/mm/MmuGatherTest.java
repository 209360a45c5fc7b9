package dev.ptwalk.runtime.mm;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.Cpu;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code mmu_gather} as x86 builds it: one flush of the gathered range at {@code tlb_finish_mmu}
 * ({@code CONFIG_MMU_GATHER_MERGE_VMAS}: {@code tlb_end_vma} flushes nothing), the whole mm when
 * another batch is pending ({@code mm_tlb_flush_nested}), pages freed after the flush, and the
 * pending count held for the whole batch.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MmuGatherTest {
  private static final long A0 = 0x7f00_0000_0000L;
  private static final long B0 = 0x7f00_0010_0000L;
  private static final long PAGE = Pgtable.PAGE_SIZE;

  private final Machine machine = Machine.builder().cpus(2).verify(true).trace(true).build();
  private final MmStruct mm = machine.newMm("A");
  private final Cpu cpu0 = machine.cpu(0);

  /** {@code clear_young_dirty_ptes} on one page and {@code tlb_remove_tlb_entry}. */
  private void clean(MmuGather tlb, Vma vma, long addr) {
    PteTable pt = mm.pgd().pteOffset(addr);
    pt.ptl().lock();
    try {
      long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
      Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.mkold(Pte.mkclean(old)));
      tlb.tlbRemoveTlbEntry(addr);
    } finally {
      pt.ptl().unlock();
    }
  }

  private List<TraceEvent> flushes() {
    return machine.trace().events().stream()
        .filter(e -> e instanceof TraceEvent.TlbFlush || e instanceof TraceEvent.CacheFlush)
        .toList();
  }

  @Test
  void oneFlushOfTheMergedRangeAtFinishNoneAtEndVma() {
    Vma a = mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    Vma b = mm.mmap(null, B0, 4, 0, VM_READ | VM_WRITE);
    cpu0.store(mm, A0 + PAGE, 1);
    cpu0.store(mm, B0 + 2 * PAGE, 2);
    machine.trace().clear();
    MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, A0, B0 + 4 * PAGE);
    MmuGather tlb = MmuGather.tlbGatherMmu(mm);
    assertEquals(1, mm.tlbFlushPending());
    MmuNotifiers.invalidateRangeStart(range);
    try {
      tlb.tlbStartVma(a);
      clean(tlb, a, A0 + PAGE);
      tlb.tlbEndVma(a);
      tlb.tlbStartVma(b);
      clean(tlb, b, B0 + 2 * PAGE);
      tlb.tlbEndVma(b);
      assertEquals(A0 + PAGE, tlb.gatheredStart());
      assertEquals(B0 + 3 * PAGE, tlb.gatheredEnd());
      assertNotNull(cpu0.tlbLookup(mm, A0 + PAGE), "tlb_end_vma flushed nothing");
      tlb.tlbFinishMmu();
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
    }
    assertEquals(List.of(
            new TraceEvent.CacheFlush("A", A0, A0 + 4 * PAGE),
            new TraceEvent.CacheFlush("A", B0, B0 + 4 * PAGE),
            new TraceEvent.TlbFlush("A", A0 + PAGE, B0 + 3 * PAGE, false)),
        flushes());
    assertNull(cpu0.tlbLookup(mm, A0 + PAGE));
    assertEquals(0, mm.tlbFlushPending());
    machine.assertQuiet();
  }

  @Test
  void nothingGatheredFlushesNothing() {
    Vma a = mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    machine.trace().clear();
    MmuGather tlb = MmuGather.tlbGatherMmu(mm);
    tlb.tlbStartVma(a);
    tlb.tlbEndVma(a);
    tlb.tlbFinishMmu();
    assertEquals(List.of(new TraceEvent.CacheFlush("A", A0, A0 + 4 * PAGE)), flushes());
    machine.assertQuiet();
  }

  @Test
  void aNestedBatchFlushesTheWholeMmEvenWithNothingGathered() {
    Vma a = mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    cpu0.store(mm, A0, 1);
    machine.trace().clear();
    MmuGather first = MmuGather.tlbGatherMmu(mm);
    MmuGather second = MmuGather.tlbGatherMmu(mm);
    assertTrue(mm.mmTlbFlushNested());
    second.tlbStartVma(a);
    second.tlbEndVma(a);
    second.tlbFinishMmu();
    assertTrue(second.fullmm(), "forced by mm_tlb_flush_nested");
    assertEquals(new TraceEvent.TlbFlush("A", 0, -1L, true), flushes().get(1));
    assertNull(cpu0.tlbLookup(mm, A0));
    assertEquals(1, mm.tlbFlushPending());
    first.tlbFinishMmu();
    assertFalse(first.fullmm(), "alone by then: not nested");
    assertEquals(2, flushes().size(), "nothing gathered, not nested: no second flush");
    machine.assertQuiet();
  }

  @Test
  void batchedPagesAreFreedOnlyAfterTheFlush() {
    Vma a = mm.mmap(null, A0, 1, 0, VM_READ | VM_WRITE);
    cpu0.store(mm, A0, 1);
    Folio f = machine.physMem().folio(Pte.pfn(mm.followPte(A0)));
    MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.UNMAP, 0, mm, A0, A0 + PAGE);
    MmuGather tlb = MmuGather.tlbGatherMmu(mm);
    MmuNotifiers.invalidateRangeStart(range);
    try {
      tlb.tlbStartVma(a);
      PteTable pt = mm.pgd().pteOffset(A0);
      pt.ptl().lock();
      try {
        Pgtable.ptepGetAndClear(mm, A0, pt);
        tlb.tlbRemoveTlbEntry(A0);
        Rmap.folioRemoveRmapPte(f, a);
        tlb.tlbRemovePage(f);
      } finally {
        pt.ptl().unlock();
      }
      tlb.tlbEndVma(a);
      assertEquals(1, f.refCount(), "still referenced: a CPU may reach it until the flush");
      tlb.tlbFinishMmu();
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
    }
    assertTrue(f.freed());
    assertEquals(0, f.mapCount());
    machine.assertQuiet();
  }

  @Test
  void misuseIsRefused() {
    Vma a = mm.mmap(null, A0, 1, 0, VM_READ | VM_WRITE);
    Vma otherVma = machine.newMm("B").mmap(null, A0, 1, 0, VM_READ);
    MmuGather tlb = MmuGather.tlbGatherMmu(mm);
    assertThrows(IllegalStateException.class, () -> tlb.tlbRemoveTlbEntry(A0));
    assertThrows(IllegalArgumentException.class, () -> tlb.tlbStartVma(otherVma));
    tlb.tlbStartVma(a);
    tlb.tlbFinishMmu();
    assertEquals(0, mm.tlbFlushPending());
    IllegalStateException e = assertThrows(IllegalStateException.class, tlb::tlbFinishMmu);
    assertTrue(e.getMessage().contains("is finished"), e.getMessage());
    assertEquals(0, mm.tlbFlushPending(), "a second finish drops nothing");
    machine.assertQuiet();
  }

  @Test
  void fullmmFlushesTheWholeMm() {
    Vma a = mm.mmap(null, A0, 1, 0, VM_READ | VM_WRITE);
    cpu0.store(mm, A0, 1);
    machine.trace().clear();
    MmuGather tlb = MmuGather.tlbGatherMmuFullmm(mm);
    tlb.tlbStartVma(a);
    MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, A0, A0 + PAGE);
    MmuNotifiers.invalidateRangeStart(range);
    try {
      clean(tlb, a, A0);
      tlb.tlbFinishMmu();
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
    }
    assertEquals(List.of(new TraceEvent.TlbFlush("A", 0, -1L, true)), flushes(),
        "no cache flush per VMA, one flush of the mm");
    machine.assertQuiet();
  }
}
