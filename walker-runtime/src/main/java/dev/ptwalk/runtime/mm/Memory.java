package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.TlbFlush;
import dev.ptwalk.runtime.internal.RuntimeInternals;
import dev.ptwalk.runtime.notifier.MmuNotifierEvent;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.runtime.trace.TraceEvent;

/**
 * The page-fault paths.
 *
 * <p>Mirrors {@code arch/x86/mm/fault.c} ({@code do_user_addr_fault}) and {@code mm/memory.c}
 * ({@code handle_mm_fault} and the paths below it). Each path is a method named after the kernel
 * function it stands for, and records which one ran in the trace:
 *
 * <ul>
 *   <li>{@code do_read_fault}, {@code do_shared_fault}, {@code do_cow_fault}: the PTE is none;
 *   <li>{@code wp_pfn_shared} ({@code ->pfn_mkwrite}), {@code wp_page_shared} ({@code
 *       ->page_mkwrite}), {@code wp_page_copy}: a store to a present read-only PTE;
 *   <li>{@code spurious}: the PTE already allows the access (a stale TLB entry was in the way).
 * </ul>
 *
 * <p>Hooks are called without the ptl, and the PTE is checked again under it afterwards ({@code
 * pte_same}); if it changed meanwhile, the fault returns and the access retries, as in the kernel.
 */
public final class Memory {
  private Memory() {}

  /**
   * {@code do_user_addr_fault}: find the VMA under the mmap lock, check the access against it,
   * and handle the fault. SIGSEGV when no VMA contains {@code addr}, on a store to a VMA without
   * {@code VM_WRITE}, or a load from one with none of read, write and exec.
   */
  public static VmFaultResult handleUserFault(MmStruct mm, long addr, boolean write) {
    Machine machine = mm.machine();
    RuntimeInternals.counters().countFault(machine.counters());
    mm.mmapReadLock();
    try {
      Vma vma = mm.vmaLookup(addr);
      if (vma == null) {
        return traced(mm, addr, write, "bad_area", VmFaultResult.SIGSEGV);
      }
      long allowed = write ? VmFlags.VM_WRITE : VmFlags.VM_READ | VmFlags.VM_WRITE | VmFlags.VM_EXEC;
      if ((vma.flags() & allowed) == 0) {
        return traced(mm, addr, write, "access_error", VmFaultResult.SIGSEGV);
      }
      return handleMmFault(vma, addr, write);
    } finally {
      mm.mmapReadUnlock();
    }
  }

  /**
   * {@code handle_mm_fault}: resolve a fault at {@code address} of {@code vma}, whose mm's mmap
   * lock the caller holds for read.
   */
  public static VmFaultResult handleMmFault(Vma vma, long address, boolean write) {
    long addr = address & Pgtable.PAGE_MASK;
    MmStruct mm = vma.mm();
    long huge = mm.pgd().hugeLeaf(addr);
    if (huge != 0) {
      return hugeFault(vma, addr, write, huge);
    }
    PteTable pt = mm.pgd().pteAlloc(addr);
    long orig = pt.get(addr);
    VmFault vmf = new VmFault(vma, addr, write, orig);
    if (!Pte.present(orig)) {
      return doFault(vmf, pt);
    }
    if (write && !Pte.write(orig)) {
      return doWpPage(vmf, pt);
    }
    return spurious(vmf, pt);
  }

  /** {@code do_fault}: the PTE is none; ask {@code ->fault} for the page and map it. */
  private static VmFaultResult doFault(VmFault vmf, PteTable pt) {
    Vma vma = vmf.vma();
    MmStruct mm = vma.mm();
    VmFaultResult r = vma.ops().fault(vmf);
    if (r != VmFaultResult.OK) {
      return traced(mm, vmf.address(), vmf.write(), "fault", r);
    }
    if (vmf.pfn() < 0) {
      mm.machine().warn("mm " + mm.name() + ": ->fault of " + vma + " returned OK without a pfn");
      return traced(mm, vmf.address(), vmf.write(), "fault", VmFaultResult.SIGBUS);
    }
    boolean shared = vma.hasFlags(VmFlags.VM_SHARED);
    long pfn = vmf.pfn();
    long entry;
    String path;
    if (vmf.write() && !shared) {
      path = "do_cow_fault";
      long copy = mm.machine().physMem().allocPage();
      mm.machine().physMem().copyPage(pfn, copy);
      entry = Pte.mkdirty(Pte.mkwrite(base(copy)));
    } else if (vmf.write()) {
      path = "do_shared_fault";
      if (vma.ops().wantsWriteNotify() && !pfnmap(vma)) {
        r = vma.ops().pageMkwrite(vmf);
        if (r != VmFaultResult.OK) {
          return traced(mm, vmf.address(), true, "do_page_mkwrite", r);
        }
      }
      entry = Pte.mkdirty(Pte.mkwrite(base(pfn)));
    } else {
      path = "do_read_fault";
      entry = base(pfn);
      if (shared && vma.hasFlags(VmFlags.VM_WRITE) && !vma.ops().wantsWriteNotify()) {
        entry = Pte.mkwrite(entry);
      }
    }
    pt.ptl().lock();
    try {
      if (!Pte.none(pt.get(vmf.address()))) {
        return traced(mm, vmf.address(), vmf.write(), path, "raced");
      }
      Pgtable.setPteAt(mm, vmf.address(), pt, entry);
    } finally {
      pt.ptl().unlock();
    }
    return traced(mm, vmf.address(), vmf.write(), path, VmFaultResult.OK);
  }

  /** {@code do_wp_page}: a store to a present, read-only PTE. */
  private static VmFaultResult doWpPage(VmFault vmf, PteTable pt) {
    Vma vma = vmf.vma();
    MmStruct mm = vma.mm();
    if (!vma.hasFlags(VmFlags.VM_SHARED)) {
      return wpPageCopy(vmf, pt);
    }
    String path = pfnmap(vma) ? "wp_pfn_shared" : "wp_page_shared";
    if (vma.ops().wantsWriteNotify()) {
      VmFaultResult r = pfnmap(vma) ? vma.ops().pfnMkwrite(vmf) : vma.ops().pageMkwrite(vmf);
      if (r != VmFaultResult.OK) {
        return traced(mm, vmf.address(), true, path, r);
      }
    }
    // wp_page_reuse, once the PTE is confirmed unchanged under the ptl (finish_mkwrite_fault).
    pt.ptl().lock();
    try {
      long cur = pt.get(vmf.address());
      if (cur != vmf.origPte()) {
        return traced(mm, vmf.address(), true, path, "raced");
      }
      Pgtable.setPteAt(mm, vmf.address(), pt, Pte.mkwrite(Pte.mkdirty(Pte.mkyoung(cur))));
    } finally {
      pt.ptl().unlock();
    }
    return traced(mm, vmf.address(), true, path, VmFaultResult.OK);
  }

  /**
   * {@code wp_page_copy}: copy-on-write in a private VMA. The old page leaves the page table, so
   * this is bracketed by a {@code CLEAR} notifier and flushed ({@code ptep_clear_flush}) before
   * the new page is mapped.
   */
  private static VmFaultResult wpPageCopy(VmFault vmf, PteTable pt) {
    Vma vma = vmf.vma();
    MmStruct mm = vma.mm();
    long addr = vmf.address();
    long copy = mm.machine().physMem().allocPage();
    mm.machine().physMem().copyPage(Pte.pfn(vmf.origPte()), copy);
    MmuNotifierRange range =
        new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, addr, addr + Pgtable.PAGE_SIZE);
    MmuNotifiers.invalidateRangeStart(range);
    try {
      pt.ptl().lock();
      try {
        if (pt.get(addr) != vmf.origPte()) {
          return traced(mm, addr, true, "wp_page_copy", "raced");
        }
        Pgtable.ptepGetAndClear(mm, addr, pt);
        TlbFlush.flushTlbPage(vma, addr);
        Pgtable.setPteAt(mm, addr, pt, Pte.mkdirty(Pte.mkwrite(base(copy))));
      } finally {
        pt.ptl().unlock();
      }
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
    }
    return traced(mm, addr, true, "wp_page_copy", VmFaultResult.OK);
  }

  /**
   * {@code ptep_set_access_flags} after a spurious fault: the PTE already allows the access. For a
   * store, set A and D under the ptl (x86 writes only then; a load lets the retry set A).
   */
  private static VmFaultResult spurious(VmFault vmf, PteTable pt) {
    MmStruct mm = vmf.vma().mm();
    if (vmf.write()) {
      pt.ptl().lock();
      try {
        long cur = pt.get(vmf.address());
        if (Pte.present(cur) && Pte.write(cur) && !(Pte.dirty(cur) && Pte.young(cur))) {
          Pgtable.setPteAt(mm, vmf.address(), pt, Pte.mkdirty(Pte.mkyoung(cur)));
        }
      } finally {
        pt.ptl().unlock();
      }
    }
    return traced(mm, vmf.address(), vmf.write(), "spurious", VmFaultResult.OK);
  }

  /** A fault on a huge leaf: only accesses the leaf already allows are modelled. */
  private static VmFaultResult hugeFault(Vma vma, long addr, boolean write, long leaf) {
    MmStruct mm = vma.mm();
    if (Pte.present(leaf) && (!write || Pte.write(leaf))) {
      return traced(mm, addr, write, "huge_spurious", VmFaultResult.OK);
    }
    mm.machine().warn("mm " + mm.name() + ": fault at 0x" + Long.toHexString(addr)
        + " on a huge leaf that does not allow it; huge-page faults (splitting, huge wp) are not"
        + " modelled");
    return traced(mm, addr, write, "huge_fault", VmFaultResult.SIGBUS);
  }

  private static boolean pfnmap(Vma vma) {
    return (vma.flags() & (VmFlags.VM_PFNMAP | VmFlags.VM_MIXEDMAP)) != 0;
  }

  /** {@code vma->vm_page_prot} for a user page: present, user, young. */
  private static long base(long pfn) {
    return Pte.pfnPte(pfn, Pte.PRESENT | Pte.USER | Pte.ACCESSED);
  }

  private static VmFaultResult traced(
      MmStruct mm, long addr, boolean write, String path, VmFaultResult r) {
    mm.machine().trace().record(new TraceEvent.Fault(mm.name(), addr, write, path, r.name()));
    return r;
  }

  private static VmFaultResult traced(
      MmStruct mm, long addr, boolean write, String path, String result) {
    mm.machine().trace().record(new TraceEvent.Fault(mm.name(), addr, write, path, result));
    return VmFaultResult.OK;
  }
}
