package dev.ptwalk.runtime.mm;

import static dev.ptwalk.runtime.mm.Userfaultfd.UFFD_FEATURE_EVENT_FORK;
import static dev.ptwalk.runtime.mm.Userfaultfd.UFFD_FEATURE_WP_ASYNC;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_UFFD_WP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.Cpu;
import dev.ptwalk.runtime.cpu.TlbFlush;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fork ({@code dup_mmap}, {@code copy_page_range}), exit ({@code exit_mmap}), {@code
 * MADV_DONTNEED}'s zap ({@code zap_page_range_single}) and shmem files that outlive their
 * mappings.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ForkZapTest {
  private static final long A0 = 0x7f00_0000_0000L;
  private static final long PAGE = Pgtable.PAGE_SIZE;
  private static final long USER = Pte.PRESENT | Pte.USER | Pte.ACCESSED;
  private static final long WRITTEN = USER | Pte.RW | Pte.DIRTY | Pte.SOFT_DIRTY;

  private final Machine machine = Machine.builder().cpus(2).verify(true).trace(true).build();
  private final MmStruct mm = machine.newMm("P");
  private final PhysMem mem = machine.physMem();
  private final Cpu cpu0 = machine.cpu(0);

  private List<String> faultPaths() {
    List<String> out = new ArrayList<>();
    for (TraceEvent.Fault f : machine.trace().events(TraceEvent.Fault.class)) {
      out.add(f.mm() + ":" + f.path() + ":" + f.result());
    }
    return out;
  }

  /** Write-protect a present PTE or arm a none one, as {@code make_uffd_wp_pte}. */
  private void uffdWp(Vma vma, long addr) {
    MmuNotifierRange range =
        new MmuNotifierRange(MmuNotifierEvent.PROTECTION_VMA, 0, mm, addr, addr + PAGE);
    MmuNotifiers.invalidateRangeStart(range);
    try {
      PteTable pt = mm.pgd().pteAlloc(addr);
      pt.ptl().lock();
      try {
        if (Pte.present(pt.get(addr))) {
          long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
          Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.mkuffdWp(old));
          TlbFlush.flushTlbPage(vma, addr);
        } else {
          Pgtable.setPteAt(mm, addr, pt, Pte.PTE_MARKER_UFFD_WP);
        }
      } finally {
        pt.ptl().unlock();
      }
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
    }
  }

  private void dontneed(MmStruct m, long start, long pages) {
    m.mmapReadLock();
    try {
      Memory.zapPageRangeSingle(m.vmaLookup(start), start, pages * PAGE);
    } finally {
      m.mmapReadUnlock();
    }
  }

  @Test
  void forkSharesPrivateAnonymousMemoryCopyOnWrite() {
    mm.mmap(null, A0, 2, 0, VM_READ | VM_WRITE);
    cpu0.store(mm, A0, 11);
    long parentPte = mm.followPte(A0);
    Folio f = mem.folio(Pte.pfn(parentPte));
    machine.trace().clear();

    MmStruct child = mm.fork("C");
    long ro = Pte.pfnPte(f.pfn(), USER | Pte.DIRTY | Pte.SOFT_DIRTY);
    assertEquals(ro, mm.followPte(A0), "the parent's PTE is write-protected");
    assertEquals(Pte.mkold(ro), child.followPte(A0), "the child's copy is old");
    assertEquals(2, f.mapCount());
    assertEquals(2, f.refCount());
    assertFalse(f.anonExclusive());
    assertTrue(f.maybeMappedShared());
    assertEquals(0, child.followPte(A0 + PAGE), "nothing to copy where nothing was mapped");
    assertEquals(List.of(
            new TraceEvent.NotifierStart("P", "PROTECTION_PAGE", A0, A0 + 2 * PAGE),
            new TraceEvent.TlbFlush("P", A0, A0 + 2 * PAGE, false),
            new TraceEvent.NotifierEnd("P", "PROTECTION_PAGE", A0, A0 + 2 * PAGE)),
        machine.trace().events().stream()
            .filter(e -> !(e instanceof TraceEvent.PteSet)).toList());
    Vma cv = child.vmaLookup(A0);
    assertSame(mm.vmaLookup(A0).anonVma(), cv.anonVma());
    List<String> mappers = new ArrayList<>();
    Rmap.rmapWalk(f, (folio, vma, address) -> {
      if (Pte.pfn(vma.mm().followPte(address)) == folio.pfn()) {
        mappers.add(vma.mm().name());
      }
      return true;
    });
    assertEquals(List.of("P", "C"), mappers, "the rmap finds both processes");

    machine.trace().clear();
    cpu0.store(mm, A0, 12);
    Folio copy = mem.folio(Pte.pfn(mm.followPte(A0)));
    assertNotSame(f, copy);
    assertEquals(11, machine.cpu(1).load(child, A0), "the child still sees the old value");
    assertEquals(1, f.mapCount());
    assertEquals(1, f.refCount());
    machine.cpu(1).store(child, A0, 13);
    assertEquals(f.pfn(), Pte.pfn(child.followPte(A0)), "now only the child's: reused");
    assertEquals(List.of("P:wp_page_copy:OK", "C:wp_page_reuse:OK"), faultPaths());
    assertEquals(12, cpu0.load(mm, A0));
    machine.assertQuiet();
  }

  @Test
  void sharedFileMemoryIsNotCopiedTheChildFaultsItIn() {
    AddressSpace shm = machine.newAddressSpace("shm", AddressSpace.Backing.SHMEM);
    mm.mmap(shm, A0, 1, 0, VM_READ | VM_WRITE | VM_SHARED);
    cpu0.store(mm, A0, 5);
    MmStruct child = mm.fork("C");
    assertEquals(WRITTEN, Pte.flags(mm.followPte(A0)), "a shared mapping is not write-protected");
    assertEquals(0, child.followPte(A0), "vma_needs_copy: the child faults it in");
    assertEquals(5, machine.cpu(1).load(child, A0));
    assertEquals(shm.findPage(0), Pte.pfn(child.followPte(A0)));
    assertEquals(2, shm.vmas().size(), "the child's VMA is in i_mmap");
    machine.assertQuiet();
  }

  @Test
  void aChildVmaWithoutEventForkLosesUffdWp() {
    mm.mmap(null, A0, 2, 0, VM_READ | VM_WRITE);
    Userfaultfd u = Userfaultfd.open(mm, UFFD_FEATURE_WP_ASYNC);
    u.registerWp(A0, 2 * PAGE);
    Vma v = mm.vmaLookup(A0);
    cpu0.store(mm, A0, 1);
    uffdWp(v, A0);
    uffdWp(v, A0 + PAGE);
    MmStruct child = mm.fork("C");
    Vma cv = child.vmaLookup(A0);
    assertFalse(cv.hasFlags(VM_UFFD_WP));
    assertNull(cv.userfaultfdCtx());
    assertFalse(Pte.uffdWp(child.followPte(A0)), "pte_clear_uffd_wp in the child");
    assertTrue(Pte.uffdWp(mm.followPte(A0)), "the parent keeps it");
    assertEquals(0, child.followPte(A0 + PAGE), "no marker without the registration");
    assertEquals(Pte.PTE_MARKER_UFFD_WP, mm.followPte(A0 + PAGE));
    machine.assertQuiet();
  }

  @Test
  void withEventForkTheChildKeepsItsRegistrationProtectionAndMarkers() {
    mm.mmap(null, A0, 2, 0, VM_READ | VM_WRITE);
    Userfaultfd u = Userfaultfd.open(mm, UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_EVENT_FORK);
    u.registerWp(A0, 2 * PAGE);
    Vma v = mm.vmaLookup(A0);
    cpu0.store(mm, A0, 1);
    uffdWp(v, A0);
    uffdWp(v, A0 + PAGE);
    MmStruct child = mm.fork("C");
    Vma cv = child.vmaLookup(A0);
    assertTrue(cv.hasFlags(VM_UFFD_WP));
    assertNotSame(u, cv.userfaultfdCtx());
    assertSame(child, cv.userfaultfdCtx().mm());
    assertEquals(u.features(), cv.userfaultfdCtx().features());
    assertTrue(Pte.uffdWp(child.followPte(A0)));
    assertEquals(Pte.PTE_MARKER_UFFD_WP, child.followPte(A0 + PAGE), "copy_pte_marker");
    machine.assertQuiet();
  }

  @Test
  void exitUnmapsTheChildAndTheParentWritesInPlaceAgain() {
    AddressSpace shm = machine.newAddressSpace("shm", AddressSpace.Backing.SHMEM);
    mm.mmap(null, A0, 1, 0, VM_READ | VM_WRITE);
    mm.mmap(shm, A0 + 0x10000, 1, 0, VM_READ | VM_WRITE | VM_SHARED);
    cpu0.store(mm, A0, 1);
    long pfn = Pte.pfn(mm.followPte(A0));
    MmStruct child = mm.fork("C");
    machine.cpu(1).load(child, A0 + 0x10000);
    Folio page = mem.folio(shm.findPage(0));
    assertEquals(1, page.mapCount());
    machine.trace().clear();
    child.exitMmap();
    assertEquals(List.of(), child.vmas());
    assertEquals(0, child.followPte(A0));
    assertEquals(1, shm.vmas().size(), "the child's VMA left i_mmap");
    assertEquals(0, page.mapCount());
    assertEquals(1, page.refCount(), "the page cache keeps the page");
    Folio f = mem.folio(pfn);
    assertEquals(1, f.mapCount());
    assertEquals(1, f.refCount());
    assertEquals(List.of(mm.vmaLookup(A0)), mm.vmaLookup(A0).anonVma().vmas());
    assertEquals(new TraceEvent.NotifierStart("C", "UNMAP", 0, -1L),
        machine.trace().events(TraceEvent.NotifierStart.class).get(0));
    cpu0.store(mm, A0, 2);
    assertEquals(pfn, Pte.pfn(mm.followPte(A0)), "wp_can_reuse_anon_folio: only ours again");
    assertEquals(List.of("P:wp_page_reuse:OK"), faultPaths());
    machine.assertQuiet();
  }

  @Test
  void dontneedOnAnonymousMemoryDropsPagesProtectionAndMarkers() {
    mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    Userfaultfd.open(mm, UFFD_FEATURE_WP_ASYNC).registerWp(A0, 4 * PAGE);
    Vma v = mm.vmaLookup(A0);
    cpu0.store(mm, A0, 1);
    cpu0.store(mm, A0 + PAGE, 2);
    uffdWp(v, A0);
    uffdWp(v, A0 + 2 * PAGE);
    cpu0.load(mm, A0 + 3 * PAGE);
    Folio f0 = mem.folio(Pte.pfn(mm.followPte(A0)));
    Folio f1 = mem.folio(Pte.pfn(mm.followPte(A0 + PAGE)));
    machine.trace().clear();
    dontneed(mm, A0, 4);
    for (int p = 0; p < 4; p++) {
      assertEquals(0, mm.followPte(A0 + p * PAGE), "page " + p);
    }
    assertTrue(f0.freed() && f1.freed());
    assertEquals(new TraceEvent.NotifierStart("P", "CLEAR", A0, A0 + 4 * PAGE),
        machine.trace().events(TraceEvent.NotifierStart.class).get(0));
    assertEquals(List.of(new TraceEvent.TlbFlush("P", A0, A0 + 4 * PAGE, false)),
        machine.trace().events(TraceEvent.TlbFlush.class));
    assertEquals(0, cpu0.load(mm, A0), "a later load sees the zero page");
    assertFalse(Pte.uffdWp(mm.followPte(A0)), "and it is not protected any more");
    assertTrue(mm.pgd().pteOffset(A0) != null, "the page table stays");
    machine.assertQuiet();
  }

  @Test
  void dontneedOnAShmemVmaKeepsProtectionAsMarkersAndThePageCache() {
    AddressSpace shm = machine.newAddressSpace("shm", AddressSpace.Backing.SHMEM);
    mm.mmap(shm, A0, 4, 0, VM_READ | VM_WRITE | VM_SHARED);
    Userfaultfd.open(mm, UFFD_FEATURE_WP_ASYNC).registerWp(A0, 4 * PAGE);
    Vma v = mm.vmaLookup(A0);
    cpu0.store(mm, A0, 1);
    cpu0.store(mm, A0 + PAGE, 2);
    uffdWp(v, A0);
    uffdWp(v, A0 + 2 * PAGE);
    dontneed(mm, A0, 4);
    assertEquals(Pte.PTE_MARKER_UFFD_WP, mm.followPte(A0), "protected: a marker");
    assertEquals(0, mm.followPte(A0 + PAGE), "unprotected: none");
    assertEquals(Pte.PTE_MARKER_UFFD_WP, mm.followPte(A0 + 2 * PAGE), "a marker stays");
    Folio f0 = mem.folio(shm.findPage(0));
    assertEquals(0, f0.mapCount());
    assertEquals(1, f0.refCount());
    assertTrue(f0.testDirty());
    assertEquals(1, cpu0.load(mm, A0), "the page cache survives");
    assertEquals(Pte.pfnPte(f0.pfn(), USER | Pte.UFFD_WP), mm.followPte(A0));
    assertEquals(2, cpu0.load(mm, A0 + PAGE));
    machine.assertQuiet();
  }

  @Test
  void aShmemFileOutlivesEveryMappingOfIt() {
    AddressSpace memfd = machine.newAddressSpace("memfd:buf", AddressSpace.Backing.SHMEM);
    mm.mmap(memfd, A0, 2, 0, VM_READ | VM_WRITE | VM_SHARED);
    cpu0.store(mm, A0 + PAGE, 77);
    mm.exitMmap();
    assertEquals(List.of(), memfd.vmas());
    assertNotEquals(-1, memfd.findPage(1));
    MmStruct other = machine.newMm("Q");
    other.mmap(memfd, A0 + 0x100000, 2, 0, VM_READ | VM_SHARED);
    assertEquals(77, cpu0.load(other, A0 + 0x100000 + PAGE));
    machine.assertQuiet();
  }

  @Test
  void zapRefusesBadRangesAndNeedsTheMmapLock() {
    Vma v = mm.mmap(null, A0, 2, 0, VM_READ | VM_WRITE);
    assertThrows(IllegalStateException.class, () -> Memory.zapPageRangeSingle(v, A0, PAGE));
    assertEquals(0, mm.tlbFlushPending());
    mm.mmapReadLock();
    try {
      assertThrows(IllegalArgumentException.class,
          () -> Memory.zapPageRangeSingle(v, A0, 3 * PAGE));
      assertThrows(IllegalArgumentException.class,
          () -> Memory.zapPageRangeSingle(v, A0 + 1, PAGE));
    } finally {
      mm.mmapReadUnlock();
    }
    assertEquals(0, mm.tlbFlushPending());
    machine.assertQuiet();
  }
}
