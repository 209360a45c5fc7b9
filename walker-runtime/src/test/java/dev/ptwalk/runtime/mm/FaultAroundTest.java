package dev.ptwalk.runtime.mm;

import static dev.ptwalk.runtime.mm.Userfaultfd.UFFD_FEATURE_WP_ASYNC;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault-around ({@code do_fault_around}, {@code filemap_map_pages}): a read fault in a file VMA
 * whose hooks have {@code ->map_pages} maps the cached pages of its 16-page block too, clamped to
 * the VMA and the PTE table, never over a PTE that is not none; a VMA registered for uffd-wp, and
 * one with the default hooks, do not fault around.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FaultAroundTest {
  private static final long A0 = 0x7f00_0000_0000L;
  private static final long PAGE = Pgtable.PAGE_SIZE;

  private final Machine machine = Machine.builder().cpus(1).verify(true).trace(true).build();
  private final MmStruct mm = machine.newMm("A");

  /** Which of {@code pages} pages from {@code start} are present. */
  private List<Integer> present(long start, int pages) {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < pages; i++) {
      if (Pte.present(mm.followPte(start + i * PAGE))) {
        out.add(i);
      }
    }
    return out;
  }

  /** A shared file of 32 pages mapped at {@code start} with {@code ops}; pages 0, 5, 17 cached. */
  private Vma mapWithCachedPages(long start, VmOperations ops) {
    AddressSpace file = machine.newAddressSpace("f@" + Long.toHexString(start),
        AddressSpace.Backing.SHMEM);
    for (long pgoff : new long[] {0, 5, 17}) {
      file.findOrCreatePage(pgoff);
    }
    return mm.mmap(file, start, 32, 0, VM_READ | VM_WRITE | VM_SHARED, ops);
  }

  @Test
  void aReadMapsTheCachedPagesOfItsBlockThenFaultsInItsOwn() {
    mapWithCachedPages(A0, VmOperations.FILEMAP);
    machine.cpu(0).load(mm, A0 + PAGE);
    assertEquals(List.of(0, 1, 5), present(A0, 32), "pages 0-15 are the block; 17 is not in it");
    List<String> paths = new ArrayList<>();
    for (TraceEvent.Fault f : machine.trace().events(TraceEvent.Fault.class)) {
      paths.add(f.path());
    }
    assertEquals(List.of("do_read_fault"), paths, "page 1 was not cached: ->fault after all");
    machine.cpu(0).load(mm, A0 + 17 * PAGE);
    assertEquals(List.of(0, 1, 5, 17), present(A0, 32));
    assertEquals("do_fault_around", machine.trace().events(TraceEvent.Fault.class).get(1).path(),
        "a cached page is mapped by ->map_pages alone");
  }

  @Test
  void theBlockIsClampedToTheVmaAndToThePteTable() {
    // The VMA starts 3 pages before a PTE table's end: its pages 0-2 are in one table, 3-31 in
    // the next. A read of page 1 maps only within the first table.
    long start = A0 + Pgtable.PMD_SIZE - 3 * PAGE;
    mapWithCachedPages(start, VmOperations.FILEMAP);
    machine.cpu(0).load(mm, start + PAGE);
    assertEquals(List.of(0, 1), present(start, 32), "page 5 is in the next table");
    machine.cpu(0).load(mm, start + 4 * PAGE);
    assertEquals(List.of(0, 1, 4, 5, 17), present(start, 32),
        "page 4 is pte 1 of its table: the block is ptes 0-15, pages 3-18");
  }

  @Test
  void aRegisteredVmaAndTheDefaultHooksDoNotFaultAround() {
    Vma registered = mapWithCachedPages(A0, VmOperations.FILEMAP);
    Userfaultfd.open(mm, UFFD_FEATURE_WP_ASYNC).registerWp(registered.start(), 32 * PAGE);
    machine.cpu(0).load(mm, A0 + PAGE);
    assertEquals(List.of(1), present(A0, 32), "uffd_disable_fault_around");

    long other = A0 + 4 * Pgtable.PMD_SIZE;
    mapWithCachedPages(other, VmOperations.DEFAULT);
    machine.cpu(0).load(mm, other + PAGE);
    assertEquals(List.of(1), present(other, 32), "no ->map_pages");
  }

  @Test
  void aPageMarkedForReclaimIsNotMappedAround() {
    AddressSpace disk = machine.newAddressSpace("ext4", AddressSpace.Backing.DISK);
    mm.mmap(disk, A0, 8, 0, VM_READ | VM_WRITE | VM_SHARED, VmOperations.FILEMAP);
    machine.cpu(0).store(mm, A0 + 2 * PAGE, 1);
    machine.cpu(0).store(mm, A0 + 3 * PAGE, 1);
    assertEquals(ReclaimResult.UNMAPPED, Reclaim.reclaimPage(mm, A0 + 2 * PAGE));
    assertTrue(machine.physMem().folio(disk.findPage(2)).reclaim());
    mm.mmapReadLock();
    try {
      MmuGather tlb = MmuGather.tlbGatherMmu(mm);
      Memory.zapPageRangeSingleBatched(tlb, mm.vmaLookup(A0), A0 + 3 * PAGE, PAGE);
      tlb.tlbFinishMmu();
    } finally {
      mm.mmapReadUnlock();
    }
    machine.cpu(0).load(mm, A0);
    assertEquals(List.of(0, 3), present(A0, 8),
        "page 2 waits for writeback with PG_reclaim, which is PG_readahead: skipped");
  }

  @Test
  void aFaultHandlerThatRetriesForIoGetsTheAccessRetried() {
    AddressSpace file = machine.newAddressSpace("slow", AddressSpace.Backing.SHMEM);
    int[] calls = new int[1];
    VmOperations slow = new VmOperations() {
      @Override
      public VmFaultResult fault(VmFault vmf) {
        if (calls[0]++ == 0) {
          return VmFaultResult.RETRY; // the mmap lock was dropped for I/O
        }
        return VmOperations.DEFAULT.fault(vmf);
      }
    };
    mm.mmap(file, A0, 1, 0, VM_READ | VM_WRITE | VM_SHARED, slow);
    machine.cpu(0).store(mm, A0, 9);
    assertEquals(2, calls[0]);
    assertEquals(9, machine.cpu(0).load(mm, A0));
    machine.assertQuiet();
  }

  @Test
  void aWriteFaultsInOnlyItsPage() {
    mapWithCachedPages(A0, VmOperations.FILEMAP);
    machine.cpu(0).store(mm, A0 + PAGE, 7);
    assertEquals(List.of(1), present(A0, 32), "fault-around is for read faults only");
  }
}
