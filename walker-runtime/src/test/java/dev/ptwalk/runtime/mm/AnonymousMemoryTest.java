package dev.ptwalk.runtime.mm;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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
 * Private anonymous memory ({@code do_anonymous_page}), the shared zero page, copy-on-write from
 * it, reuse of an exclusive anonymous folio, folios' references and mapcounts, and the rmap.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AnonymousMemoryTest {
  private static final long A0 = 0x7f00_0000_0000L;
  private static final long USER = Pte.PRESENT | Pte.USER | Pte.ACCESSED;
  private static final long WRITTEN = USER | Pte.RW | Pte.DIRTY | Pte.SOFT_DIRTY;

  private final Machine machine = Machine.builder().cpus(2).verify(true).trace(true).build();
  private final MmStruct mm = machine.newMm("A");
  private final PhysMem mem = machine.physMem();
  private final Cpu cpu0 = machine.cpu(0);

  private List<String> faultPaths() {
    List<String> out = new ArrayList<>();
    for (TraceEvent.Fault f : machine.trace().events(TraceEvent.Fault.class)) {
      out.add(f.path() + ":" + f.result());
    }
    return out;
  }

  /** Write-protect one PTE as a write-protecting walker does, bracketed and flushed. */
  private void wrprotect(Vma vma, long addr) {
    MmuNotifierRange range = new MmuNotifierRange(
        MmuNotifierEvent.PROTECTION_PAGE, 0, mm, addr, addr + Pgtable.PAGE_SIZE);
    MmuNotifiers.invalidateRangeStart(range);
    try {
      PteTable pt = mm.pgd().pteOffset(addr);
      pt.ptl().lock();
      try {
        long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
        Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.wrprotect(old));
      } finally {
        pt.ptl().unlock();
      }
      TlbFlush.flushTlbPage(vma, addr);
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
    }
  }

  @Test
  void privateAnonymousVmasAreAnonymousWithTheirAddressAsPgoff() {
    Vma v = mm.mmap(null, A0, 4, 99, VM_READ | VM_WRITE);
    assertTrue(v.isAnonymous());
    assertNull(v.mapping());
    assertEquals(A0 >>> 12, v.pgoff(), "do_mmap: pgoff = addr >> PAGE_SHIFT, whatever was asked");
    assertNull(v.anonVma(), "no anon_vma before the first anonymous folio");
    Vma shared = mm.mmap(null, A0 + 0x10000, 2, 0, VM_READ | VM_WRITE | VM_SHARED);
    assertFalse(shared.isAnonymous(), "shmem_zero_setup gives it a file of its own");
    assertNotNull(shared.mapping());
    assertEquals(0, shared.pgoff());
  }

  @Test
  void aLoadMapsTheSharedZeroPageReadOnly() {
    mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    long allocated = mem.allocated();
    assertEquals(0, cpu0.load(mm, A0 + 0x1008));
    assertEquals(Pte.mkspecial(Pte.pfnPte(mem.zeroPfn(), USER)), mm.followPte(A0 + 0x1000));
    assertNull(mem.folio(mem.zeroPfn()), "the zero page has no folio to account");
    assertEquals(allocated, mem.allocated(), "no page was allocated");
    assertEquals(List.of("do_anonymous_page:OK"), faultPaths());
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> mem.write(mem.zeroPfn(), 0, 1));
    assertTrue(e.getMessage().contains("zero page"), e.getMessage());
    machine.assertQuiet();
  }

  @Test
  void aStoreMapsANewExclusiveAnonymousFolio() {
    Vma v = mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    cpu0.store(mm, A0 + 0x2010, 77);
    long pte = mm.followPte(A0 + 0x2000);
    Folio f = mem.folio(Pte.pfn(pte));
    assertEquals(Pte.pfnPte(f.pfn(), WRITTEN), pte);
    assertTrue(f.anon() && f.swapbacked() && f.anonExclusive());
    assertFalse(f.lazyfree() || f.testDirty(), "anonymous dirtiness lives in the PTE");
    assertEquals(1, f.mapCount());
    assertEquals(1, f.refCount(), "the allocation's reference became the PTE's");
    assertSame(v.anonVma(), f.anonVma());
    assertEquals((A0 + 0x2000) >>> 12, f.index());
    assertNull(f.mapping());
    assertEquals(77, cpu0.load(mm, A0 + 0x2010));
    assertEquals(List.of("do_anonymous_page:OK"), faultPaths());
    machine.assertQuiet();
  }

  @Test
  void aStoreAfterALoadCopiesTheZeroPageIntoANewFolio() {
    Vma v = mm.mmap(null, A0, 1, 0, VM_READ | VM_WRITE);
    cpu0.load(mm, A0);
    machine.trace().clear();
    cpu0.store(mm, A0 + 8, 5);
    long pte = mm.followPte(A0);
    assertNotEquals(mem.zeroPfn(), Pte.pfn(pte));
    assertEquals(Pte.pfnPte(Pte.pfn(pte), WRITTEN), pte, "not special any more");
    Folio f = mem.folio(Pte.pfn(pte));
    assertTrue(f.anon() && f.anonExclusive());
    assertEquals(1, f.mapCount());
    assertEquals(1, f.refCount());
    assertEquals(0, cpu0.load(mm, A0), "a zeroed page, not a copy of anything");
    assertEquals(0, mem.read(mem.zeroPfn(), 8), "the zero page is untouched");
    assertEquals(List.of(
            new TraceEvent.NotifierStart("A", "CLEAR", A0, A0 + 0x1000),
            new TraceEvent.TlbFlush("A", A0, A0 + 0x1000, false),
            new TraceEvent.NotifierEnd("A", "CLEAR", A0, A0 + 0x1000)),
        machine.trace().events().stream()
            .filter(e -> !(e instanceof TraceEvent.PteSet) && !(e instanceof TraceEvent.Fault))
            .toList());
    assertEquals(List.of("wp_page_copy:OK"), faultPaths());
    assertSame(v.anonVma(), f.anonVma());
    machine.assertQuiet();
  }

  @Test
  void aStoreToAWriteProtectedExclusiveFolioReusesIt() {
    Vma v = mm.mmap(null, A0, 1, 0, VM_READ | VM_WRITE);
    cpu0.store(mm, A0, 1);
    long pfn = Pte.pfn(mm.followPte(A0));
    wrprotect(v, A0);
    long allocated = mem.allocated();
    machine.trace().clear();
    cpu0.store(mm, A0, 2);
    assertEquals(Pte.pfnPte(pfn, WRITTEN), mm.followPte(A0), "the same folio, writable again");
    assertEquals(allocated, mem.allocated(), "nothing copied");
    assertEquals(List.of("wp_page_reuse:OK"), faultPaths());
    assertEquals(2, cpu0.load(mm, A0));
    machine.assertQuiet();
  }

  @Test
  void aNonExclusiveFolioIsReusedOnlyWithoutAnotherReference() {
    Vma v = mm.mmap(null, A0, 1, 0, VM_READ | VM_WRITE);
    cpu0.store(mm, A0, 1);
    Folio f = mem.folio(Pte.pfn(mm.followPte(A0)));
    f.clearAnonExclusive(); // as fork leaves it
    f.get(); // a GUP reference
    wrprotect(v, A0);
    machine.trace().clear();
    cpu0.store(mm, A0, 2);
    assertEquals(List.of("wp_page_copy:OK"), faultPaths(), "another reference: copy");
    assertNotEquals(f.pfn(), Pte.pfn(mm.followPte(A0)));
    assertEquals(0, f.mapCount());
    assertEquals(1, f.refCount(), "only the GUP reference is left");
    assertEquals(1, mem.read(f.pfn(), 0), "the old folio keeps the old data for its holder");
    f.put();
    assertTrue(f.freed());
    assertThrows(IllegalStateException.class, f::put);
    assertThrows(IllegalStateException.class, f::get);

    cpu0.store(mm, A0 + 8, 3);
    Folio g = mem.folio(Pte.pfn(mm.followPte(A0)));
    g.clearAnonExclusive();
    wrprotect(v, A0);
    machine.trace().clear();
    cpu0.store(mm, A0, 4);
    assertEquals(List.of("wp_page_reuse:OK"), faultPaths(), "only this PTE's reference: reuse");
    assertTrue(g.anonExclusive(), "and it is exclusive again");
    machine.assertQuiet();
  }

  @Test
  void copyOnWriteOfAPrivateFilePageMovesTheMappingToANewAnonymousFolio() {
    AddressSpace file = machine.newAddressSpace("file");
    Vma v = mm.mmap(file, A0, 1, 0, VM_READ | VM_WRITE);
    cpu0.load(mm, A0);
    Folio page = mem.folio(file.findPage(0));
    assertEquals(1, page.mapCount());
    assertEquals(2, page.refCount(), "the page cache's and the PTE's");
    assertEquals(Pte.pfnPte(page.pfn(), USER), mm.followPte(A0), "private: read-only");
    cpu0.store(mm, A0, 9);
    Folio copy = mem.folio(Pte.pfn(mm.followPte(A0)));
    assertNotSame(page, copy);
    assertEquals(0, page.mapCount());
    assertEquals(1, page.refCount(), "back to the page cache's only");
    assertTrue(copy.anon() && copy.anonExclusive());
    assertSame(v.anonVma(), copy.anonVma());
    assertEquals(0, mem.read(page.pfn(), 0), "the file is untouched");
    machine.assertQuiet();
  }

  @Test
  void sharedFileFoliosCountOneMappingAndReferencePerPte() {
    AddressSpace file = machine.newAddressSpace("file");
    MmStruct b = machine.newMm("B");
    mm.mmap(file, A0, 2, 0, VM_READ | VM_WRITE | VM_SHARED);
    b.mmap(file, A0 + 0x100000, 2, 1, VM_READ | VM_WRITE | VM_SHARED);
    cpu0.store(mm, A0 + 0x1000, 1);
    machine.cpu(1).load(b, A0 + 0x100000);
    Folio f = mem.folio(file.findPage(1));
    assertEquals(2, f.mapCount());
    assertEquals(3, f.refCount());
    assertTrue(f.testDirty(), "fault_dirty_shared_page");
    assertTrue(f.maybeMappedShared());
    List<String> seen = new ArrayList<>();
    Rmap.rmapWalk(f, (folio, vma, address) -> {
      seen.add(vma.mm().name() + "@0x" + Long.toHexString(address));
      return true;
    });
    assertEquals(List.of("A@0x7f0000001000", "B@0x7f0000100000"), seen);
    machine.assertQuiet();
  }

  @Test
  void theAnonymousRmapFindsTheFolioThroughItsAnonVma() {
    Vma v = mm.mmap(null, A0, 8, 0, VM_READ | VM_WRITE);
    cpu0.store(mm, A0 + 0x5000, 1);
    Folio f = mem.folio(Pte.pfn(mm.followPte(A0 + 0x5000)));
    List<String> seen = new ArrayList<>();
    Rmap.rmapWalk(f, (folio, vma, address) -> {
      seen.add(vma.mm().name() + "@0x" + Long.toHexString(address));
      return true;
    });
    assertEquals(List.of("A@0x7f0000005000"), seen);
    assertEquals(List.of(v), v.anonVma().vmas());
  }

  @Test
  void markLazyfreeAppliesOnlyToSwapBackedAnonymousFolios() {
    AddressSpace file = machine.newAddressSpace("file");
    mm.mmap(null, A0, 1, 0, VM_READ | VM_WRITE);
    mm.mmap(file, A0 + 0x10000, 1, 0, VM_READ | VM_WRITE | VM_SHARED);
    cpu0.store(mm, A0, 1);
    cpu0.store(mm, A0 + 0x10000, 1);
    Folio anon = mem.folio(Pte.pfn(mm.followPte(A0)));
    Folio page = mem.folio(file.findPage(0));
    anon.markAccessed();
    assertTrue(anon.referenced());
    anon.markLazyfree();
    page.markLazyfree();
    assertTrue(anon.lazyfree() && !anon.swapbacked() && !anon.referenced());
    assertFalse(page.lazyfree() || page.anon());
    anon.setSwapbacked();
    assertFalse(anon.lazyfree());
  }
}
