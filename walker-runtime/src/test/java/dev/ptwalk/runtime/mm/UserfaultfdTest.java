package dev.ptwalk.runtime.mm;

import static dev.ptwalk.runtime.mm.Userfaultfd.UFFD_FEATURE_SIGBUS;
import static dev.ptwalk.runtime.mm.Userfaultfd.UFFD_FEATURE_WP_ASYNC;
import static dev.ptwalk.runtime.mm.Userfaultfd.UFFD_FEATURE_WP_UNPOPULATED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_MAYWRITE;
import static dev.ptwalk.runtime.mm.VmFlags.VM_PFNMAP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_UFFD_WP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Errno;
import dev.ptwalk.runtime.ErrnoException;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.Cpu;
import dev.ptwalk.runtime.cpu.SignalException;
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
import org.junit.jupiter.api.function.Executable;

/**
 * Userfaultfd write-protect: registration ({@code UFFDIO_REGISTER}: validation, errors, VMA
 * splits with i_mmap kept right), uffd-wp PTE markers and their fault, and the write fault on a
 * protected page in async and sync mode.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class UserfaultfdTest {
  private static final long A0 = 0x7f00_0000_0000L;
  private static final long PAGE = Pgtable.PAGE_SIZE;
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

  /**
   * Write-protect one page as {@code make_uffd_wp_pte} does under a {@code PROTECTION_VMA}
   * bracket: a present PTE through modify-prot start/commit, a none one with a marker (the PTE
   * table allocated if need be); flushed under the ptl.
   */
  private void uffdWp(Vma vma, long addr) {
    MmuNotifierRange range =
        new MmuNotifierRange(MmuNotifierEvent.PROTECTION_VMA, 0, mm, addr, addr + PAGE);
    mm.mmapReadLock();
    MmuNotifiers.invalidateRangeStart(range);
    try {
      PteTable pt = mm.pgd().pteAlloc(addr);
      pt.ptl().lock();
      try {
        long pte = pt.get(addr);
        if (Pte.present(pte)) {
          long old = Pgtable.ptepModifyProtStart(vma, addr, pt);
          Pgtable.ptepModifyProtCommit(vma, addr, pt, old, Pte.mkuffdWp(old));
          TlbFlush.flushTlbPage(vma, addr);
        } else if (Pte.none(pte)) {
          Pgtable.setPteAt(mm, addr, pt, Pte.PTE_MARKER_UFFD_WP);
        }
      } finally {
        pt.ptl().unlock();
      }
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
      mm.mmapReadUnlock();
    }
  }

  private void rejected(Errno errno, String text, Executable call) {
    List<String> before = new ArrayList<>();
    mm.vmas().forEach(v -> before.add(v.toString()));
    ErrnoException e = assertThrows(ErrnoException.class, call);
    assertEquals(errno, e.errno(), e.getMessage());
    assertTrue(e.getMessage().startsWith(errno.name() + ": "), e.getMessage());
    assertTrue(e.getMessage().contains(text), e.getMessage());
    List<String> after = new ArrayList<>();
    mm.vmas().forEach(v -> after.add(v.toString()));
    assertEquals(before, after, "a refused call changes nothing");
  }

  @Test
  void openChecksFeaturesAndAsyncImpliesUnpopulated() {
    Userfaultfd u = Userfaultfd.open(mm, UFFD_FEATURE_WP_ASYNC);
    assertEquals(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, u.features());
    assertTrue(u.wpAsync());
    assertEquals(0x1ffffL, Userfaultfd.UFFD_API_FEATURES);
    ErrnoException e =
        assertThrows(ErrnoException.class, () -> Userfaultfd.open(mm, 1L << 17));
    assertEquals(Errno.EINVAL, e.errno());
    assertTrue(e.getMessage().contains("unknown feature bits 0x20000"), e.getMessage());
  }

  @Test
  void registeringTheMiddleOfAVmaSplitsItAtBothEdges() {
    Vma v = mm.mmap(null, A0, 8, 0, VM_READ | VM_WRITE);
    cpu0.store(mm, A0 + 3 * PAGE, 3); // gives the VMA an anon_vma before the split
    Userfaultfd u = Userfaultfd.open(mm, UFFD_FEATURE_WP_ASYNC);
    u.registerWp(A0 + 2 * PAGE, 3 * PAGE);
    List<Vma> vmas = mm.vmas();
    assertEquals(3, vmas.size());
    assertSame(v, vmas.get(0), "the original keeps the low part");
    assertEquals(List.of(A0, A0 + 2 * PAGE, A0 + 5 * PAGE),
        vmas.stream().map(Vma::start).toList());
    assertEquals(List.of(A0 + 2 * PAGE, A0 + 5 * PAGE, A0 + 8 * PAGE),
        vmas.stream().map(Vma::end).toList());
    assertEquals(List.of(false, true, false),
        vmas.stream().map(Vma::userfaultfdWp).toList());
    Vma mid = vmas.get(1);
    assertSame(u, mid.userfaultfdCtx());
    assertNull(vmas.get(0).userfaultfdCtx());
    assertTrue(mid.userfaultfdWpAsync() && mid.userfaultfdWpUseMarkers());
    assertEquals((A0 >>> 12) + 2, mid.pgoff(), "anonymous pgoff stays the address");
    assertSame(v.anonVma(), mid.anonVma(), "anon_vma_clone");
    assertEquals(List.of(vmas.get(0), mid, vmas.get(2)), v.anonVma().vmas());
    assertEquals(3, cpu0.load(mm, A0 + 3 * PAGE), "the page tables are untouched");
    Folio f = mem.folio(Pte.pfn(mm.followPte(A0 + 3 * PAGE)));
    List<Long> found = new ArrayList<>();
    Rmap.rmapWalk(f, (folio, vma, address) -> {
      if (Pte.pfn(vma.mm().followPte(address)) == folio.pfn()) {
        found.add(address);
      }
      return true;
    });
    assertEquals(List.of(A0 + 3 * PAGE), found, "the rmap still finds it after the split");
    // Registering again changes nothing.
    u.registerWp(A0 + 2 * PAGE, 3 * PAGE);
    assertEquals(3, mm.vmas().size());
    machine.assertQuiet();
  }

  @Test
  void registeringAFileVmaKeepsItsIMmapEntriesRight() {
    AddressSpace shm = machine.newAddressSpace("shm", AddressSpace.Backing.SHMEM);
    Vma v = mm.mmap(shm, A0, 8, 10, VM_READ | VM_WRITE | VM_SHARED);
    assertFalse(v.wantsWritenotify());
    Userfaultfd u = Userfaultfd.open(mm, UFFD_FEATURE_WP_UNPOPULATED); // sync: shmem is allowed
    u.registerWp(A0 + PAGE, 2 * PAGE);
    List<Vma> vmas = mm.vmas();
    assertEquals(List.of(10L, 11L, 13L), vmas.stream().map(Vma::pgoff).toList());
    assertEquals(vmas, shm.vmas(), "i_mmap holds the three parts, by pgoff");
    shm.iMmapLockRead();
    try {
      List<Vma> hit = new ArrayList<>();
      shm.vmaIntervalTreeForeach(12, 12).forEach(hit::add);
      assertEquals(List.of(vmas.get(1)), hit);
      hit.clear();
      shm.vmaIntervalTreeForeach(13, 17).forEach(hit::add);
      assertEquals(List.of(vmas.get(2)), hit);
    } finally {
      shm.iMmapUnlockRead();
    }
    assertTrue(vmas.get(1).wantsWritenotify(), "a shared VMA registered for uffd-wp");
    assertEquals(USER, vmas.get(1).vmPageProt(), "so it maps pages read-only");
    assertEquals(USER | Pte.RW, vmas.get(2).vmPageProt());
    assertEquals(A0 + 2 * PAGE, vmas.get(1).addressOf(12));
    machine.assertQuiet();
  }

  @Test
  void registrationErrorsAreTheKernelsAndChangeNothing() {
    AddressSpace ram = machine.newAddressSpace("ram");
    mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    mm.mmap(ram, A0 + 0x10000, 4, 0, VM_READ | VM_WRITE | VM_SHARED);
    mm.mmap(null, A0 + 0x20000, 4, 0, VM_READ);
    Userfaultfd sync = Userfaultfd.open(mm, UFFD_FEATURE_WP_UNPOPULATED);
    rejected(Errno.EINVAL, "not page aligned", () -> sync.registerWp(A0 + 1, PAGE));
    rejected(Errno.EINVAL, "not a multiple of the page size", () -> sync.registerWp(A0, 100));
    rejected(Errno.EINVAL, "len is 0", () -> sync.registerWp(A0, 0));
    rejected(Errno.EINVAL, "below mmap_min_addr", () -> sync.registerWp(0, PAGE));
    rejected(Errno.EINVAL, "past TASK_SIZE", () -> sync.registerWp(1L << 47, PAGE));
    rejected(Errno.EINVAL, "past TASK_SIZE", () -> sync.registerWp((1L << 47) - PAGE, 2 * PAGE));
    rejected(Errno.EINVAL, "no VMA", () -> sync.registerWp(A0 + 0x40000, PAGE));
    rejected(Errno.EINVAL, "vma_can_userfault",
        () -> sync.registerWp(A0 + 2 * PAGE, 0x10000)); // anon part is fine, the file is not
    rejected(Errno.EPERM, "VM_MAYWRITE", () -> sync.registerWp(A0 + 0x20000, PAGE));
    Userfaultfd async = Userfaultfd.open(mm, UFFD_FEATURE_WP_ASYNC);
    async.registerWp(A0 + 0x10000, PAGE); // async: any memory
    assertSame(async, mm.vmaLookup(A0 + 0x10000).userfaultfdCtx());
    async.registerWp(A0, PAGE);
    rejected(Errno.EBUSY, "another userfaultfd", () -> sync.registerWp(A0, 2 * PAGE));
    assertEquals(List.of(A0, A0 + PAGE, A0 + 0x10000, A0 + 0x11000, A0 + 0x20000),
        mm.vmas().stream().map(Vma::start).toList(), "only the async registrations split");
  }

  @Test
  void aMarkerFaultInheritsTheProtectionAndTheAsyncWriteFaultClearsIt() {
    Vma v = mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    Userfaultfd.open(mm, UFFD_FEATURE_WP_ASYNC).registerWp(A0, 4 * PAGE);
    v = mm.vmaLookup(A0);
    uffdWp(v, A0);
    uffdWp(v, A0 + PAGE);
    assertEquals(Pte.PTE_MARKER_UFFD_WP, mm.followPte(A0));
    assertTrue(Pte.isPteMarker(mm.followPte(A0)) && Pte.swpUffdWpAny(mm.followPte(A0)));
    machine.trace().clear();

    // A load of a marker maps the zero page, still protected.
    assertEquals(0, cpu0.load(mm, A0));
    assertEquals(Pte.mkspecial(Pte.pfnPte(mem.zeroPfn(), USER | Pte.UFFD_WP)), mm.followPte(A0));
    // Then a store: the async fault clears uffd-wp, and the zero page is copied.
    cpu0.store(mm, A0, 1);
    long pte = mm.followPte(A0);
    assertEquals(Pte.pfnPte(Pte.pfn(pte), WRITTEN), pte);
    // A store to a marker: the new folio is mapped protected, and the retry clears it.
    cpu0.store(mm, A0 + PAGE, 2);
    pte = mm.followPte(A0 + PAGE);
    assertEquals(Pte.pfnPte(Pte.pfn(pte), WRITTEN), pte);
    assertEquals(List.of("do_anonymous_page:OK", "wp_page_copy:OK", "do_anonymous_page:OK",
        "wp_page_reuse:OK"), faultPaths());
    // A protected present page: one write fault, the folio reused.
    uffdWp(v, A0 + PAGE);
    assertEquals(Pte.pfnPte(Pte.pfn(pte), USER | Pte.DIRTY | Pte.SOFT_DIRTY | Pte.UFFD_WP),
        mm.followPte(A0 + PAGE));
    machine.trace().clear();
    cpu0.store(mm, A0 + PAGE + 8, 3);
    assertEquals(pte, mm.followPte(A0 + PAGE), "uffd-wp cleared, writable, the same folio");
    assertEquals(List.of("wp_page_reuse:OK"), faultPaths());
    assertEquals(List.of(), mm.vmaLookup(A0).userfaultfdCtx().delivered(), "async: no message");
    machine.assertQuiet();
  }

  @Test
  void sharedFileMarkersMapTheCachedPageProtectedThenTheStoreUnprotectsIt() {
    AddressSpace shm = machine.newAddressSpace("shm", AddressSpace.Backing.SHMEM);
    mm.mmap(shm, A0, 2, 0, VM_READ | VM_WRITE | VM_SHARED);
    Userfaultfd.open(mm, UFFD_FEATURE_WP_ASYNC).registerWp(A0, 2 * PAGE);
    Vma v = mm.vmaLookup(A0);
    uffdWp(v, A0);
    cpu0.load(mm, A0);
    long pfn = shm.findPage(0);
    assertEquals(Pte.pfnPte(pfn, USER | Pte.UFFD_WP), mm.followPte(A0));
    cpu0.store(mm, A0, 4);
    assertEquals(Pte.pfnPte(pfn, WRITTEN), mm.followPte(A0));
    // Unprotected pages of a registered shared VMA also map read-only (write notification).
    cpu0.load(mm, A0 + PAGE);
    assertEquals(Pte.pfnPte(shm.findPage(1), USER), mm.followPte(A0 + PAGE));
    assertTrue(mem.folio(pfn).testDirty());
    machine.assertQuiet();
  }

  @Test
  void aPfnmapVmaRegisteredAsyncIsProtectedAndUnprotectedTheSameWay() {
    AddressSpace dev = machine.newAddressSpace("dev");
    mm.mmap(dev, A0, 1, 0, VM_READ | VM_WRITE | VM_SHARED | VM_IO | VM_PFNMAP);
    Userfaultfd.open(mm, UFFD_FEATURE_WP_ASYNC).registerWp(A0, PAGE);
    Vma v = mm.vmaLookup(A0);
    cpu0.store(mm, A0, 1);
    uffdWp(v, A0);
    cpu0.store(mm, A0, 2);
    assertEquals(Pte.pfnPte(dev.findPage(0), WRITTEN), mm.followPte(A0));
    machine.assertQuiet();
  }

  @Test
  void aMarkerLeftInAnUnregisteredVmaIsClearedAndTheAccessRetried() {
    Vma v = mm.mmap(null, A0, 1, 0, VM_READ | VM_WRITE);
    PteTable pt = mm.pgd().pteAlloc(A0);
    pt.ptl().lock();
    try {
      Pgtable.setPteAt(mm, A0, pt, Pte.PTE_MARKER_UFFD_WP);
    } finally {
      pt.ptl().unlock();
    }
    assertFalse(v.userfaultfdWp());
    cpu0.store(mm, A0, 5);
    long pte = mm.followPte(A0);
    assertEquals(Pte.pfnPte(Pte.pfn(pte), WRITTEN), pte, "no protection inherited");
    assertEquals(List.of("pte_marker_clear:OK", "do_anonymous_page:OK"), faultPaths());
    machine.assertQuiet();
  }

  @Test
  void syncModeDeliversTheFaultToTheHandlerOrBlocksWithoutOne() {
    mm.mmap(null, A0, 2, 0, VM_READ | VM_WRITE);
    Userfaultfd u = Userfaultfd.open(mm, UFFD_FEATURE_WP_UNPOPULATED);
    u.registerWp(A0, 2 * PAGE);
    Vma v = mm.vmaLookup(A0);
    cpu0.store(mm, A0, 1);
    uffdWp(v, A0);
    long protectedPte = mm.followPte(A0);
    UserfaultBlockedException blocked =
        assertThrows(UserfaultBlockedException.class, () -> cpu0.store(mm, A0 + 8, 2));
    assertEquals(new UffdMsg(UffdMsg.UFFD_EVENT_PAGEFAULT,
        UffdMsg.UFFD_PAGEFAULT_FLAG_WRITE | UffdMsg.UFFD_PAGEFAULT_FLAG_WP, A0), blocked.msg());
    assertEquals(protectedPte, mm.followPte(A0), "nothing changed: the thread would sleep");
    assertEquals(0, cpu0.load(mm, A0 + 8));

    List<UffdMsg> handled = new ArrayList<>();
    u.setFaultHandler((uffd, msg) -> {
      handled.add(msg);
      unprotectByHand(v, msg.address()); // what UFFDIO_WRITEPROTECT without MODE_WP does
    });
    cpu0.store(mm, A0 + 8, 2);
    assertEquals(List.of(blocked.msg()), handled);
    assertEquals(2, cpu0.load(mm, A0 + 8));
    assertEquals(List.of(blocked.msg(), blocked.msg()), u.delivered());
    assertTrue(faultPaths().contains("handle_userfault:RETRY"), faultPaths().toString());
    machine.assertQuiet();
  }

  @Test
  void syncModeWithSigbusFeatureRaisesSigbus() {
    mm.mmap(null, A0, 1, 0, VM_READ | VM_WRITE);
    Userfaultfd.open(mm, UFFD_FEATURE_SIGBUS).registerWp(A0, PAGE);
    Vma v = mm.vmaLookup(A0);
    cpu0.store(mm, A0, 1);
    uffdWp(v, A0);
    SignalException e = assertThrows(SignalException.class, () -> cpu0.store(mm, A0, 2));
    assertEquals(SignalException.Signal.SIGBUS, e.signal());
    assertEquals(1, cpu0.load(mm, A0));
    machine.assertQuiet();
  }

  @Test
  void splitVmaNeedsTheWriteLockAndAnAddressInside() {
    Vma v = mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE | VM_MAYWRITE);
    assertThrows(IllegalStateException.class, () -> mm.splitVma(v, A0 + PAGE));
    mm.mmapWriteLock();
    try {
      assertThrows(IllegalArgumentException.class, () -> mm.splitVma(v, A0));
      assertThrows(IllegalArgumentException.class, () -> mm.splitVma(v, A0 + 4 * PAGE));
      assertThrows(IllegalArgumentException.class, () -> mm.splitVma(v, A0 + 100));
      Vma upper = mm.splitVma(v, A0 + PAGE);
      assertEquals(A0 + PAGE, v.end());
      assertEquals(A0 + PAGE, upper.start());
      assertEquals(v.flags(), upper.flags());
      assertFalse(upper.hasFlags(VM_UFFD_WP));
    } finally {
      mm.mmapWriteUnlock();
    }
    assertEquals(2, mm.vmas().size());
  }

  private void unprotectByHand(Vma v, long addr) {
    mm.mmapReadLock();
    try {
      PteTable pt = mm.pgd().pteOffset(addr);
      pt.ptl().lock();
      try {
        long old = Pgtable.ptepModifyProtStart(v, addr, pt);
        Pgtable.ptepModifyProtCommit(v, addr, pt, old, Pte.clearUffdWp(old));
      } finally {
        pt.ptl().unlock();
      }
    } finally {
      mm.mmapReadUnlock();
    }
  }
}
