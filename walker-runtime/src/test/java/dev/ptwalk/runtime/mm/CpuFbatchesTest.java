package dev.ptwalk.runtime.mm;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.pgtable.Pgtable;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The per-CPU LRU batches ({@code mm/swap.c}'s {@code cpu_fbatches}): a faulted folio waits in
 * the faulting CPU's {@code lru_add} batch, off the LRU and with the batch's reference, until that
 * CPU drains or the batch fills; {@code folio_mark_lazyfree} only takes folios on the LRU and
 * takes effect at the drain; reclaim cannot isolate a folio that is not on the LRU. Without the
 * machine option everything takes effect at once, as before.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CpuFbatchesTest {
  private static final long A0 = 0x7f00_0000_0000L;
  private static final long PAGE = Pgtable.PAGE_SIZE;

  private final Machine machine =
      Machine.builder().cpus(2).lruBatches(true).verify(true).build();
  private final MmStruct mm = machine.newMm("A");
  private final CpuFbatches fbatches = machine.physMem().cpuFbatches();

  private Folio folioAt(long addr) {
    return machine.physMem().folio(Pte.pfn(mm.followPte(addr)));
  }

  @Test
  void aFaultedFolioWaitsInItsCpusBatchUntilThatCpuDrains() {
    mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    machine.cpu(1).store(mm, A0, 1);
    Folio f = folioAt(A0);
    assertFalse(f.lru(), "not on the LRU while batched");
    assertEquals(2, f.refCount(), "the PTE's reference and the batch's");
    assertEquals(List.of(f), fbatches.lruAddBatch(1));
    assertEquals(List.of(), fbatches.lruAddBatch(0));
    fbatches.lruAddDrainCpu(0);
    assertFalse(f.lru(), "another CPU's drain leaves it batched");
    fbatches.onCpu(1, () -> {
      fbatches.lruAddDrain();
      return null;
    });
    assertTrue(f.lru());
    assertEquals(1, f.refCount(), "the batch's reference is dropped");
    assertEquals(List.of(), fbatches.lruAddBatch(1));
  }

  @Test
  void aFullBatchMovesToTheLruByItself() {
    mm.mmap(null, A0, 64, 0, VM_READ | VM_WRITE);
    for (int i = 0; i < CpuFbatches.FOLIO_BATCH_SIZE - 1; i++) {
      machine.cpu(0).store(mm, A0 + i * PAGE, 1);
    }
    assertEquals(CpuFbatches.FOLIO_BATCH_SIZE - 1, fbatches.lruAddBatch(0).size());
    assertFalse(folioAt(A0).lru());
    machine.cpu(0).store(mm, A0 + 30 * PAGE, 1);
    assertEquals(0, fbatches.lruAddBatch(0).size(), "the 31st folio filled it");
    for (int i = 0; i < CpuFbatches.FOLIO_BATCH_SIZE; i++) {
      assertTrue(folioAt(A0 + i * PAGE).lru(), "page " + i);
    }
  }

  @Test
  void markLazyfreeTakesOnlyLruFoliosAndActsAtTheDrain() {
    mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    machine.cpu(0).store(mm, A0, 1);
    Folio f = folioAt(A0);
    f.markLazyfree();
    assertTrue(f.swapbacked() && !f.lazyfree(), "not on the LRU yet: left alone");
    assertEquals(List.of(), fbatches.lruLazyfreeBatch(0));

    fbatches.lruAddDrain();
    fbatches.onCpu(1, () -> {
      f.markLazyfree();
      return null;
    });
    assertEquals(List.of(f), fbatches.lruLazyfreeBatch(1));
    assertTrue(f.swapbacked() && f.lru(), "batched: still swap-backed, still on the LRU");
    assertEquals(2, f.refCount());
    fbatches.lruAddDrainAll();
    assertTrue(f.lazyfree() && f.lru());
    assertEquals(1, f.refCount());
  }

  @Test
  void reclaimCannotIsolateAFolioBatchedOnAnotherCpu() {
    mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    machine.cpu(1).store(mm, A0, 1);
    assertEquals(ReclaimResult.NOT_ON_LRU, Reclaim.reclaimPage(mm, A0),
        "CPU 0 drains only its own batches");
    assertEquals(ReclaimResult.KEPT_NO_SWAP, fbatches.onCpu(1, () -> Reclaim.reclaimPage(mm, A0)),
        "on CPU 1 the drain puts it on the LRU; with no swap it stays");
    assertTrue(folioAt(A0).lru(), "put back");
    assertEquals(1, folioAt(A0).refCount());
  }

  @Test
  void aFolioWhoseLastReferenceIsTheBatchsIsFreedAtTheDrain() {
    Vma vma = mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    machine.cpu(0).store(mm, A0, 1);
    Folio f = folioAt(A0);
    mm.mmapReadLock();
    try {
      Memory.zapPageRangeSingle(vma, A0, PAGE);
    } finally {
      mm.mmapReadUnlock();
    }
    assertEquals(1, f.refCount(), "only the batch holds it");
    fbatches.lruAddDrain();
    assertTrue(f.freed());
    assertFalse(f.lru());
  }

  @Test
  void onCpuBindsTheThreadAndNests() {
    assertEquals(0, fbatches.smpProcessorId(), "a thread bound to no CPU runs on CPU 0");
    int inner = fbatches.onCpu(1, () -> fbatches.onCpu(0, fbatches::smpProcessorId));
    assertEquals(0, inner);
    assertEquals(1, (int) fbatches.onCpu(1, fbatches::smpProcessorId));
    assertEquals(0, fbatches.smpProcessorId(), "restored");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> fbatches.onCpu(2, () -> null));
    assertEquals("no CPU 2: this machine has CPUs 0..1", e.getMessage());
  }

  /** Negative control: without the option a folio is on the LRU, and lazyfree, at once. */
  @Test
  void withoutBatchesEverythingTakesEffectAtOnce() {
    Machine plain = Machine.builder().cpus(2).verify(true).build();
    MmStruct a = plain.newMm("A");
    a.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    plain.cpu(1).store(a, A0, 1);
    Folio f = plain.physMem().folio(Pte.pfn(a.followPte(A0)));
    assertFalse(plain.physMem().cpuFbatches().enabled());
    assertTrue(f.lru());
    assertEquals(1, f.refCount());
    f.markLazyfree();
    assertTrue(f.lazyfree());
    assertEquals(ReclaimResult.KEPT_DIRTY, Reclaim.reclaimPage(a, A0),
        "lazyfree at once, so reclaim looks at it (and keeps it: its PTE is dirty); a"
            + " swap-backed folio would be KEPT_NO_SWAP");
  }
}
