package dev.ptwalk.runtime.mm;

import static dev.ptwalk.runtime.mm.Userfaultfd.UFFD_FEATURE_WP_ASYNC;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.TlbFlush;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code MADV_DONTNEED}'s page-table reclaim ({@code CONFIG_PT_RECLAIM}, {@code
 * mm/pt_reclaim.c}): a zap with {@code reclaim_pt} that covers a whole PTE table and leaves it
 * empty frees it, with a TLB flush; a smaller zap, a table left with a marker, or a zap without
 * {@code reclaim_pt} keeps it.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PtReclaimTest {
  private static final long A0 = 0x7f00_0000_0000L;
  private static final long PAGE = Pgtable.PAGE_SIZE;
  private static final long PMD = Pgtable.PMD_SIZE;

  private final Machine machine = Machine.builder().cpus(1).verify(true).trace(true).build();
  private final MmStruct mm = machine.newMm("A");

  private void dontneed(Vma vma, long start, long len, boolean reclaimPt) {
    mm.mmapReadLock();
    try {
      MmuGather tlb = MmuGather.tlbGatherMmu(mm);
      try {
        Memory.zapPageRangeSingleBatched(tlb, vma, start, len, reclaimPt);
      } finally {
        tlb.tlbFinishMmu();
      }
    } finally {
      mm.mmapReadUnlock();
    }
  }

  @Test
  void aZapOfAWholeTableFreesItAndFlushes() {
    Vma vma = mm.mmap(null, A0, 1024, 0, VM_READ | VM_WRITE);
    machine.cpu(0).store(mm, A0 + PAGE, 1);
    machine.cpu(0).store(mm, A0 + PMD + PAGE, 1);
    assertEquals(2, mm.pgd().pteTableCount());
    machine.trace().clear();
    dontneed(vma, A0, PMD + 8 * PAGE, true);
    assertNull(mm.pgd().pteOffset(A0), "the first table was covered whole: freed");
    assertNotNull(mm.pgd().pteOffset(A0 + PMD), "the second one only in part: kept");
    assertEquals(1, mm.pgd().pteTableCount());
    assertTrue(machine.trace().events(TraceEvent.TlbFlush.class).stream()
        .anyMatch(f -> f.start() <= A0 && f.end() > A0), "the freed table's range is flushed");
    assertEquals(0, machine.cpu(0).load(mm, A0 + PAGE), "a new table on the next fault");
    assertNotNull(mm.pgd().pteOffset(A0));
    machine.assertQuiet();
  }

  @Test
  void aTableLeftWithAMarkerOrZappedWithoutReclaimPtIsKept() {
    AddressSpace shm = machine.newAddressSpace("shm", AddressSpace.Backing.SHMEM);
    mm.mmap(shm, A0, 512, 0, VM_READ | VM_WRITE | VM_SHARED);
    Userfaultfd.open(mm, UFFD_FEATURE_WP_ASYNC).registerWp(A0, 512 * PAGE);
    machine.cpu(0).store(mm, A0, 1);
    PteTableWp.protect(mm.vmaLookup(A0), A0);
    dontneed(mm.vmaLookup(A0), A0, PMD, true);
    assertEquals(Pte.PTE_MARKER_UFFD_WP, mm.followPte(A0), "the protection became a marker");
    assertNotNull(mm.pgd().pteOffset(A0), "so the table stays");

    Vma anon = mm.mmap(null, A0 + 4 * PMD, 512, 0, VM_READ | VM_WRITE);
    machine.cpu(0).store(mm, anon.start(), 1);
    dontneed(anon, anon.start(), PMD, false);
    assertNotNull(mm.pgd().pteOffset(anon.start()), "no reclaim_pt: never freed");
    machine.assertQuiet();
  }

  /** Write-protects one PTE for userfaultfd as a walker would, bracketed and flushed. */
  private static final class PteTableWp {
    static void protect(Vma vma, long addr) {
      MmStruct mm = vma.mm();
      MmuNotifierRange range =
          new MmuNotifierRange(MmuNotifierEvent.PROTECTION_VMA, 0, mm, addr, addr + PAGE);
      MmuNotifiers.invalidateRangeStart(range);
      try {
        PteTable pt = mm.pgd().pteOffset(addr);
        pt.ptl().lock();
        try {
          long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
          Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.mkuffdWp(old));
          TlbFlush.flushTlbPage(vma, addr);
        } finally {
          pt.ptl().unlock();
        }
      } finally {
        MmuNotifiers.invalidateRangeEnd(range);
      }
    }
  }
}
