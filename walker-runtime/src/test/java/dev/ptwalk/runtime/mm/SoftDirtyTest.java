package dev.ptwalk.runtime.mm;

import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_PFNMAP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SOFTDIRTY;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
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
 * Soft-dirty tracking ({@code CONFIG_MEM_SOFT_DIRTY}): new VMAs count as soft-dirty, write faults
 * set soft-dirty through {@code pte_mkdirty}, hardware's dirty bit never does, and a store to a
 * PTE a soft-dirty clear write-protected faults and gets write and soft-dirty back.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SoftDirtyTest {
  private static final long A0 = 0x7f00_0000_0000L;
  private static final long USER = Pte.PRESENT | Pte.USER | Pte.ACCESSED;

  private final Machine machine = Machine.builder().cpus(2).verify(true).trace(true).build();
  private final MmStruct mm = machine.newMm("A");
  private final AddressSpace file = machine.newAddressSpace("file");
  private final Cpu cpu0 = machine.cpu(0);

  /**
   * {@code clear_refs_write(CLEAR_REFS_SOFT_DIRTY)} written by hand: under the mmap write lock,
   * clear {@code VM_SOFTDIRTY} and recompute {@code vm_page_prot} of every VMA, then with the
   * flush pending and a {@code SOFT_DIRTY} bracket over the whole address space, write-protect
   * and clear soft-dirty on every present PTE of every VMA but {@code VM_PFNMAP} ones ({@code
   * clear_refs_test_walk}), with modify-prot start/commit ({@code clear_soft_dirty}). The kernel
   * flushes the whole mm after the bracket ends; this flushes before it, which the verifier's
   * flush-ordering rule requires today.
   */
  static void clearSoftDirty(MmStruct mm, boolean flush) {
    mm.mmapWriteLock();
    try {
      for (Vma v : mm.forEachVmaRange(0, mm.taskSize())) {
        if (v.hasFlags(VM_SOFTDIRTY)) {
          v.vmFlagsClear(VM_SOFTDIRTY);
          v.vmaSetPageProt();
        }
      }
      mm.incTlbFlushPending();
      MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.SOFT_DIRTY, 0, mm, 0, -1L);
      MmuNotifiers.invalidateRangeStart(range);
      try {
        for (Vma v : mm.forEachVmaRange(0, mm.taskSize())) {
          if (v.hasFlags(VM_PFNMAP)) {
            continue;
          }
          for (long addr = v.start(); addr < v.end(); addr += Pgtable.PAGE_SIZE) {
            PteTable pt = mm.pgd().pteOffset(addr);
            if (pt == null) {
              continue;
            }
            pt.ptl().lock();
            try {
              if (Pte.present(pt.get(addr))) {
                long old = Pgtable.ptepModifyProtStart(v, addr, pt);
                Pgtable.ptepModifyProtCommit(v, addr, pt, old,
                    Pte.clearSoftDirty(Pte.wrprotect(old)));
              }
            } finally {
              pt.ptl().unlock();
            }
          }
        }
        if (flush) {
          TlbFlush.flushTlbMm(mm);
        }
      } finally {
        MmuNotifiers.invalidateRangeEnd(range);
        mm.decTlbFlushPending();
      }
    } finally {
      mm.mmapWriteUnlock();
    }
  }

  private List<String> faultPaths() {
    List<String> out = new ArrayList<>();
    for (TraceEvent.Fault f : machine.trace().events(TraceEvent.Fault.class)) {
      out.add(f.path() + ":" + f.result());
    }
    return out;
  }

  @Test
  void newVmasAreSoftDirtyAndDoNotWantWritenotifyForIt() {
    Vma shared = mm.mmap(file, A0, 4, 0, VM_READ | VM_WRITE | VM_SHARED);
    Vma anon = mm.mmap(null, A0 + 0x10000, 4, 0, VM_READ | VM_WRITE);
    assertTrue(shared.hasFlags(VM_SOFTDIRTY));
    assertTrue(anon.hasFlags(VM_SOFTDIRTY));
    assertFalse(shared.softDirtyEnabled(), "VM_SOFTDIRTY set: tracking is not armed");
    assertFalse(shared.wantsWritenotify());
    assertEquals(USER | Pte.RW, shared.vmPageProt(), "shared writable: mapped writable");
    assertEquals(USER, anon.vmPageProt(), "private: never writable by vm_page_prot");
    mm.mmapWriteLock();
    try {
      shared.vmFlagsClear(VM_SOFTDIRTY);
      shared.vmaSetPageProt();
    } finally {
      mm.mmapWriteUnlock();
    }
    assertTrue(shared.softDirtyEnabled());
    assertTrue(shared.wantsWritenotify(), "armed soft-dirty wants the first write to fault");
    assertEquals(USER, shared.vmPageProt());
  }

  @Test
  void anonStoreAfterClearFaultsAndGetsWriteAndSoftDirtyBack() {
    mm.mmap(null, A0, 4, 0, VM_READ | VM_WRITE);
    cpu0.store(mm, A0 + 8, 1);
    long pfn = Pte.pfn(mm.followPte(A0));
    assertEquals(Pte.pfnPte(pfn, USER | Pte.RW | Pte.DIRTY | Pte.SOFT_DIRTY), mm.followPte(A0));

    clearSoftDirty(mm, true);
    assertEquals(Pte.pfnPte(pfn, USER | Pte.DIRTY), mm.followPte(A0),
        "write-protected and soft-clean; the dirty bit stays");
    assertNull(cpu0.tlbLookup(mm, A0), "flushed");
    machine.trace().clear();

    cpu0.store(mm, A0 + 8, 2);
    assertEquals(Pte.pfnPte(pfn, USER | Pte.RW | Pte.DIRTY | Pte.SOFT_DIRTY), mm.followPte(A0),
        "the exclusive anonymous folio is reused, writable and soft-dirty");
    assertEquals(List.of("wp_page_reuse:OK"), faultPaths());
    assertEquals(2, cpu0.load(mm, A0 + 8));
    machine.assertQuiet();
  }

  @Test
  void sharedFileStoreAfterClearFaultsAndGetsWriteAndSoftDirtyBack() {
    Vma v = mm.mmap(file, A0, 4, 0, VM_READ | VM_WRITE | VM_SHARED);
    cpu0.store(mm, A0, 1);
    long pfn0 = file.findPage(0);
    assertEquals(Pte.pfnPte(pfn0, USER | Pte.RW | Pte.DIRTY | Pte.SOFT_DIRTY), mm.followPte(A0));

    clearSoftDirty(mm, true);
    assertFalse(v.hasFlags(VM_SOFTDIRTY));
    assertEquals(Pte.pfnPte(pfn0, USER | Pte.DIRTY), mm.followPte(A0));
    machine.trace().clear();

    cpu0.store(mm, A0, 2);
    assertEquals(Pte.pfnPte(pfn0, USER | Pte.RW | Pte.DIRTY | Pte.SOFT_DIRTY), mm.followPte(A0),
        "the same page, writable and soft-dirty again");
    // A page first touched after the clear is mapped read-only by a load, so its first store
    // faults too.
    cpu0.load(mm, A0 + 0x1000);
    long pfn1 = file.findPage(1);
    assertEquals(Pte.pfnPte(pfn1, USER), mm.followPte(A0 + 0x1000));
    cpu0.store(mm, A0 + 0x1000, 3);
    assertEquals(Pte.pfnPte(pfn1, USER | Pte.RW | Pte.DIRTY | Pte.SOFT_DIRTY),
        mm.followPte(A0 + 0x1000));
    assertEquals(List.of("wp_page_shared:OK", "do_read_fault:OK", "wp_page_shared:OK"),
        faultPaths());
    machine.assertQuiet();
  }

  @Test
  void pfnmapStoreAfterClearFaultsAndGetsWriteAndSoftDirtyBack() {
    Vma v = mm.mmap(file, A0, 4, 0, VM_READ | VM_WRITE | VM_SHARED | VM_IO | VM_PFNMAP);
    assertFalse(v.wantsWritenotify());
    cpu0.store(mm, A0, 1);
    long pfn0 = file.findPage(0);
    clearSoftDirty(mm, true);
    assertTrue(v.wantsWritenotify(), "VM_SOFTDIRTY clear: even a PFNMAP VMA wants writenotify");
    assertEquals(Pte.pfnPte(pfn0, USER | Pte.RW | Pte.DIRTY | Pte.SOFT_DIRTY), mm.followPte(A0),
        "clear_refs_test_walk skips VM_PFNMAP VMAs: their PTEs are left as they were");
    machine.trace().clear();

    cpu0.load(mm, A0 + 0x2000);
    long pfn2 = file.findPage(2);
    assertEquals(Pte.pfnPte(pfn2, USER), mm.followPte(A0 + 0x2000), "mapped read-only");
    cpu0.store(mm, A0 + 0x2000, 7);
    assertEquals(Pte.pfnPte(pfn2, USER | Pte.RW | Pte.DIRTY | Pte.SOFT_DIRTY),
        mm.followPte(A0 + 0x2000));
    assertEquals(List.of("do_read_fault:OK", "wp_pfn_shared:OK"), faultPaths());
    machine.assertQuiet();
  }

  @Test
  void hardwareDirtyBitNeverSetsSoftDirty() {
    mm.mmap(file, A0, 1, 0, VM_READ | VM_WRITE | VM_SHARED);
    cpu0.load(mm, A0);
    long pfn = file.findPage(0);
    assertEquals(Pte.pfnPte(pfn, USER | Pte.RW), mm.followPte(A0), "writable and clean");
    cpu0.store(mm, A0, 5);
    assertEquals(Pte.pfnPte(pfn, USER | Pte.RW | Pte.DIRTY), mm.followPte(A0),
        "the CPU set D while walking; _PAGE_SOFT_DIRTY is software's");
    assertEquals(List.of("do_read_fault:OK"), faultPaths(), "no write fault was taken");
    machine.assertQuiet();
  }

  @Test
  void withSoftDirtyCompiledOutNoPteOrVmaEverHasIt() {
    Machine off = Machine.builder().softDirty(false).verify(true).build();
    assertFalse(off.softDirtyEnabled());
    MmStruct m = off.newMm("A");
    AddressSpace f = off.newAddressSpace("f");
    Vma anon = m.mmap(null, A0, 4, 0, VM_READ | VM_WRITE | VM_SOFTDIRTY);
    Vma shared = m.mmap(f, A0 + 0x10000, 4, 0, VM_READ | VM_WRITE | VM_SHARED);
    Vma priv = m.mmap(f, A0 + 0x20000, 4, 0, VM_READ | VM_WRITE);
    Cpu c = off.cpu(0);
    c.store(m, anon.start(), 1);
    c.load(m, anon.start() + 0x1000);
    c.store(m, anon.start() + 0x1000, 2);
    c.store(m, shared.start(), 3);
    c.load(m, shared.start() + 0x1000);
    c.store(m, shared.start() + 0x1000, 4);
    c.load(m, priv.start());
    c.store(m, priv.start(), 5);
    c.store(m, priv.start() + 0x1000, 6);
    clearSoftDirty(m, true);
    assertFalse(shared.wantsWritenotify(), "nothing to track: no write notification");
    for (Vma v : List.of(anon, shared, priv)) {
      assertFalse(v.hasFlags(VM_SOFTDIRTY), v.toString());
      for (long a = v.start(); a < v.start() + 0x2000; a += 0x1000) {
        c.store(m, a, 9);
        long pte = m.followPte(a);
        assertTrue(Pte.present(pte) && Pte.write(pte) && Pte.dirty(pte), Pte.toString(pte));
        assertFalse(Pte.softDirty(pte), "no soft-dirty at 0x" + Long.toHexString(a));
      }
    }
    m.mmapWriteLock();
    try {
      shared.vmFlagsSet(VM_SOFTDIRTY);
    } finally {
      m.mmapWriteUnlock();
    }
    assertFalse(shared.hasFlags(VM_SOFTDIRTY), "VM_SOFTDIRTY is 0 in such a kernel");
    off.assertQuiet();
  }

  @Test
  void negativeControlClearWithoutVmaSetPageProtLetsReadFaultsMapWritable() {
    Vma v = mm.mmap(file, A0, 2, 0, VM_READ | VM_WRITE | VM_SHARED);
    mm.mmapWriteLock();
    try {
      v.vmFlagsClear(VM_SOFTDIRTY); // and no vmaSetPageProt()
    } finally {
      mm.mmapWriteUnlock();
    }
    cpu0.load(mm, A0);
    cpu0.store(mm, A0, 1);
    assertFalse(Pte.softDirty(mm.followPte(A0)),
        "vm_page_prot still writable: the store never faulted, the write is not tracked");
    mm.mmapWriteLock();
    try {
      v.vmaSetPageProt();
    } finally {
      mm.mmapWriteUnlock();
    }
    cpu0.load(mm, A0 + 0x1000);
    cpu0.store(mm, A0 + 0x1000, 1);
    assertTrue(Pte.softDirty(mm.followPte(A0 + 0x1000)), "with vma_set_page_prot it is tracked");
  }

  @Test
  void negativeControlClearWithoutTlbFlushLosesAStoreThroughTheStaleEntry() {
    mm.mmap(null, A0, 1, 0, VM_READ | VM_WRITE);
    cpu0.store(mm, A0, 1);
    machine.verifier().setEnabled(false); // the broken clear closes its bracket unflushed
    clearSoftDirty(mm, false);
    cpu0.store(mm, A0, 2);
    long pte = mm.followPte(A0);
    assertFalse(Pte.softDirty(pte) || Pte.write(pte),
        "912efa17e512: the store went through the stale writable, dirty TLB entry");
    assertEquals(2, cpu0.load(mm, A0), "and it landed in memory, unrecorded");
  }
}
