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
import dev.ptwalk.runtime.walk.PteTableCursor;

/**
 * The page-fault paths, and the other PTE-level paths of {@code mm/memory.c}: zapping a range
 * ({@code MADV_DONTNEED}, exit) and copying page tables at fork.
 *
 * <p>Mirrors {@code arch/x86/mm/fault.c} ({@code do_user_addr_fault}) and {@code mm/memory.c}
 * ({@code handle_mm_fault}, {@code handle_pte_fault} and the paths below it). Each path is a
 * method named after the kernel function it stands for, and records which one ran in the trace:
 *
 * <ul>
 *   <li>the PTE is none: {@code do_anonymous_page} (anonymous memory: the shared zero page for a
 *       load, a new zeroed folio for a store), {@code do_read_fault}, {@code do_shared_fault},
 *       {@code do_cow_fault} (a file or a driver's {@code ->fault});
 *   <li>a store to a present read-only PTE ({@code do_wp_page}): {@code wp_pfn_shared} ({@code
 *       ->pfn_mkwrite}), {@code wp_page_shared} ({@code ->page_mkwrite}), {@code wp_page_reuse}
 *       (an anonymous folio only this process maps), {@code wp_page_copy} (copy-on-write, also
 *       of the zero page);
 *   <li>{@code spurious}: the PTE already allows the access (a stale TLB entry was in the way);
 *   <li>userfaultfd write-protect: a uffd-wp marker is a missing-page fault whose new PTE stays
 *       protected ({@code pte_marker_handle_uffd_wp}); a store to a uffd-wp PTE clears the
 *       protection and goes on as above in an async VMA, and is delivered to the userfaultfd
 *       ({@code handle_userfault}) otherwise.
 * </ul>
 *
 * <p>Every page a PTE maps is accounted as the kernel does ({@link Rmap}): a normal page's folio
 * gains a mapcount and a reference per PTE; the zero page and the raw pfns of {@code VM_PFNMAP}
 * and {@code VM_MIXEDMAP} VMAs have no folio to account ({@code vm_normal_page}). Hooks are called
 * without the ptl, and the PTE is checked again under it afterwards ({@code pte_same}); if it
 * changed meanwhile, the fault returns and the access retries, as in the kernel.
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
    Userfaultfd uffd = null;
    UffdMsg[] userfault = new UffdMsg[1];
    VmFaultResult r;
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
      r = handleMmFault(vma, addr, write, userfault);
      if (r == VmFaultResult.RETRY) {
        uffd = vma.userfaultfdCtx();
      }
    } finally {
      mm.mmapReadUnlock();
    }
    if (uffd != null) {
      // handle_userfault dropped the mmap lock and sleeps until the reader resolves the fault.
      uffd.deliver(userfault[0]);
      return VmFaultResult.OK;
    }
    return r;
  }

  /**
   * {@code handle_mm_fault} and {@code handle_pte_fault}: resolve a fault at {@code address} of
   * {@code vma}, whose mm's mmap lock the caller holds for read. A PTE table is allocated only
   * when a page is about to be mapped, as the kernel's {@code pte_alloc} in the path that maps it.
   */
  public static VmFaultResult handleMmFault(Vma vma, long address, boolean write) {
    return handleMmFault(vma, address, write, new UffdMsg[1]);
  }

  private static VmFaultResult handleMmFault(
      Vma vma, long address, boolean write, UffdMsg[] userfault) {
    long addr = address & Pgtable.PAGE_MASK;
    MmStruct mm = vma.mm();
    long huge = mm.pgd().hugeLeaf(addr);
    if (huge != 0) {
      return hugeFault(vma, addr, write, huge);
    }
    PteTable pt = mm.pgd().pteOffset(addr);
    long orig = pt == null ? 0 : pt.get(addr);
    VmFault vmf = new VmFault(vma, addr, write, orig);
    if (Pte.none(orig)) {
      return doPteMissing(vmf);
    }
    if (!Pte.present(orig)) {
      return doSwapPage(vmf, pt);
    }
    pt.ptl().lock();
    boolean locked = true;
    try {
      if (pt.get(addr) != orig) {
        return traced(mm, addr, write, "handle_pte_fault", "raced");
      }
      if (write && !Pte.write(orig)) {
        locked = false; // do_wp_page releases the ptl
        return doWpPage(vmf, pt, userfault);
      }
      return spurious(vmf, pt);
    } finally {
      if (locked) {
        pt.ptl().unlock();
      }
    }
  }

  /** {@code do_pte_missing}: anonymous memory or a file/driver page for a none PTE. */
  private static VmFaultResult doPteMissing(VmFault vmf) {
    return vmf.vma().isAnonymous() ? doAnonymousPage(vmf) : doFault(vmf);
  }

  /**
   * {@code do_swap_page} for what this model keeps in non-present PTEs: nothing is swapped out
   * (there is no swap), so the PTE is a marker ({@code handle_pte_marker}) or bad.
   */
  private static VmFaultResult doSwapPage(VmFault vmf, PteTable pt) {
    MmStruct mm = vmf.vma().mm();
    if (Pte.pteMarkerUffdWp(vmf.origPte())) {
      return pteMarkerHandleUffdWp(vmf, pt);
    }
    mm.machine().warn("mm " + mm.name() + ": bad PTE " + Pte.toString(vmf.origPte()) + " at 0x"
        + Long.toHexString(vmf.address()) + " (no swap entries are modelled)");
    return traced(mm, vmf.address(), vmf.write(), "do_swap_page", VmFaultResult.SIGBUS);
  }

  /**
   * {@code pte_marker_handle_uffd_wp}: an access to a page whose uffd-wp marker says it was
   * write-protected before it was populated. It is a missing-page fault ({@code do_pte_missing})
   * whose new PTE inherits the protection ({@code vmf_orig_pte_uffd_wp}); in a VMA no longer
   * registered, the leftover marker is just cleared ({@code pte_marker_clear}) and the access
   * retried.
   */
  private static VmFaultResult pteMarkerHandleUffdWp(VmFault vmf, PteTable pt) {
    Vma vma = vmf.vma();
    if (vma.userfaultfdWp()) {
      return doPteMissing(vmf);
    }
    MmStruct mm = vma.mm();
    pt.ptl().lock();
    try {
      if (pt.get(vmf.address()) == vmf.origPte()) {
        Pgtable.setPteAt(mm, vmf.address(), pt, 0L);
      }
    } finally {
      pt.ptl().unlock();
    }
    return traced(mm, vmf.address(), vmf.write(), "pte_marker_clear", VmFaultResult.OK);
  }

  /**
   * {@code vmf_orig_pte_uffd_wp}: the fault replaces a uffd-wp marker of a VMA still registered
   * for write-protect, so the new PTE must stay protected.
   */
  private static boolean vmfOrigPteUffdWp(VmFault vmf) {
    return vmf.vma().userfaultfdWp() && Pte.pteMarkerUffdWp(vmf.origPte());
  }

  /**
   * {@code handle_userfault(vmf, VM_UFFD_WP)}: a store to a write-protected page of a VMA whose
   * userfaultfd is not async. With {@code UFFD_FEATURE_SIGBUS} the access gets SIGBUS; otherwise
   * the fault is queued as a message and {@link VmFaultResult#RETRY} returned, for {@link
   * #handleUserFault} to hand it to the reader once the mmap lock is dropped.
   */
  private static VmFaultResult handleUserfault(VmFault vmf, UffdMsg[] userfault) {
    Vma vma = vmf.vma();
    MmStruct mm = vma.mm();
    Userfaultfd ctx = vma.userfaultfdCtx();
    if (ctx == null || (ctx.features() & Userfaultfd.UFFD_FEATURE_SIGBUS) != 0) {
      return traced(mm, vmf.address(), vmf.write(), "handle_userfault", VmFaultResult.SIGBUS);
    }
    userfault[0] = ctx.queue(vmf.address(), vmf.write());
    return traced(mm, vmf.address(), vmf.write(), "handle_userfault", VmFaultResult.RETRY);
  }

  /**
   * {@code do_anonymous_page}: a load maps the shared zero page read-only (special, no folio); a
   * store maps a new zeroed folio, writable and dirty, as this process's exclusive anonymous
   * memory.
   */
  private static VmFaultResult doAnonymousPage(VmFault vmf) {
    Vma vma = vmf.vma();
    MmStruct mm = vma.mm();
    long addr = vmf.address();
    if (vma.hasFlags(VmFlags.VM_SHARED)) {
      return traced(mm, addr, vmf.write(), "do_anonymous_page", VmFaultResult.SIGBUS);
    }
    PhysMem mem = mm.machine().physMem();
    PteTable pt = mm.pgd().pteAlloc(addr);
    long entry;
    Folio folio = null;
    if (!vmf.write()) {
      entry = Pte.mkspecial(Pte.pfnPte(mem.zeroPfn(), vma.vmPageProt()));
    } else {
      Rmap.anonVmaPrepare(vma);
      folio = mem.folio(mem.allocPage());
      entry = Pte.pfnPte(folio.pfn(), vma.vmPageProt());
      if (vma.hasFlags(VmFlags.VM_WRITE)) {
        entry = Pte.mkwrite(pteMkdirty(mm.machine(), entry));
      }
    }
    pt.ptl().lock();
    try {
      if (pt.get(addr) != vmf.origPte()) { // vmf_pte_changed
        if (folio != null) {
          folio.put();
        }
        return traced(mm, addr, vmf.write(), "do_anonymous_page", "raced");
      }
      if (folio != null) {
        Rmap.folioAddNewAnonRmap(folio, vma, addr);
      }
      if (vmfOrigPteUffdWp(vmf)) {
        entry = Pte.mkuffdWp(entry);
      }
      Pgtable.setPteAt(mm, addr, pt, entry);
    } finally {
      pt.ptl().unlock();
    }
    return traced(mm, addr, vmf.write(), "do_anonymous_page", VmFaultResult.OK);
  }

  /**
   * {@code do_fault}: the PTE is none; ask {@code ->fault} for the page, then {@code
   * do_read_fault}, {@code do_cow_fault} (a store to a private mapping copies the page into a new
   * anonymous folio) or {@code do_shared_fault} ({@code ->page_mkwrite} first, the folio marked
   * dirty after).
   */
  private static VmFaultResult doFault(VmFault vmf) {
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
    PhysMem mem = mm.machine().physMem();
    if (!vmf.write()) {
      return finishFault(vmf, "do_read_fault", vmf.pfn(), null);
    }
    if (!vma.hasFlags(VmFlags.VM_SHARED)) {
      Rmap.anonVmaPrepare(vma);
      Folio cow = mem.folio(mem.allocPage());
      mem.copyPage(vmf.pfn(), cow.pfn());
      return finishFault(vmf, "do_cow_fault", cow.pfn(), cow);
    }
    if (vma.ops().wantsWriteNotify() && !pfnmap(vma)) {
      r = vma.ops().pageMkwrite(vmf);
      if (r != VmFaultResult.OK) {
        return traced(mm, vmf.address(), true, "do_page_mkwrite", r);
      }
    }
    VmFaultResult done = finishFault(vmf, "do_shared_fault", vmf.pfn(), null);
    Folio folio = vmNormalFolioPfn(vma, vmf.pfn());
    if (folio != null) {
      folio.markDirty(); // fault_dirty_shared_page
    }
    return done;
  }

  /**
   * {@code finish_fault} and {@code set_pte_range}: map {@code pfn} with the VMA's {@code
   * vm_page_prot}; a store makes it dirty (and writable if the VMA is, {@code maybe_mkwrite}); a
   * load of a dirty folio through a writable protection maps it dirty too. A copy-on-write folio
   * {@code cow} becomes new anonymous memory; a normal page-cache folio gains a mapping and the
   * PTE's reference.
   */
  private static VmFaultResult finishFault(VmFault vmf, String path, long pfn, Folio cow) {
    Vma vma = vmf.vma();
    MmStruct mm = vma.mm();
    long addr = vmf.address();
    Folio folio = cow != null ? cow : vmNormalFolioPfn(vma, pfn);
    long entry = Pte.pfnPte(pfn, vma.vmPageProt());
    if (vmf.write()) {
      entry = maybeMkwrite(vma, pteMkdirty(mm.machine(), entry));
    } else if (Pte.write(entry) && folio != null && folio.testDirty()) {
      entry = pteMkdirty(mm.machine(), entry);
    }
    if (vmfOrigPteUffdWp(vmf)) {
      entry = Pte.mkuffdWp(entry);
    }
    PteTable pt = mm.pgd().pteAlloc(addr);
    pt.ptl().lock();
    try {
      if (pt.get(addr) != vmf.origPte()) {
        if (cow != null) {
          cow.put();
        }
        return traced(mm, addr, vmf.write(), path, "raced");
      }
      if (cow != null) {
        Rmap.folioAddNewAnonRmap(cow, vma, addr);
      } else if (folio != null) {
        folio.get();
        Rmap.folioAddFileRmapPte(folio, vma);
      }
      Pgtable.setPteAt(mm, addr, pt, entry);
    } finally {
      pt.ptl().unlock();
    }
    return traced(mm, addr, vmf.write(), path, VmFaultResult.OK);
  }

  /**
   * {@code do_wp_page}: a store to a present, read-only PTE. Called with the ptl held (the PTE is
   * {@code vmf.origPte()}); releases it on every path. A shared mapping makes the page writable in
   * place ({@code wp_pfn_shared}, {@code wp_page_shared}); a private one reuses an anonymous folio
   * only it maps ({@code wp_page_reuse}) and copies anything else ({@code wp_page_copy}).
   */
  private static VmFaultResult doWpPage(VmFault vmf, PteTable pt, UffdMsg[] userfault) {
    Vma vma = vmf.vma();
    MmStruct mm = vma.mm();
    boolean locked = true;
    try {
      if (vma.userfaultfdWp() && Pte.uffdWp(vmf.origPte())) {
        if (!vma.userfaultfdWpAsync()) {
          pt.ptl().unlock();
          locked = false;
          return handleUserfault(vmf, userfault);
        }
        // Async: only the uffd-wp bit goes, which nothing caches; then resolve the write as if
        // the page had never been protected.
        long pte = Pte.clearUffdWp(vmf.origPte());
        Pgtable.setPteAt(mm, vmf.address(), pt, pte);
        vmf.setOrigPte(pte);
      }
      if (vma.userfaultfdWp() && mm.tlbFlushPending() > 0) {
        // Userfaultfd write-protect can defer its flush: flush before copying the page.
        TlbFlush.flushTlbPage(vma, vmf.address());
      }
      Folio folio = vmNormalFolio(vma, vmf.origPte());
      if ((vma.flags() & (VmFlags.VM_SHARED | VmFlags.VM_MAYSHARE)) != 0) {
        locked = false;
        return folio == null ? wpPfnShared(vmf, pt) : wpPageShared(vmf, pt, folio);
      }
      if (folio != null && folio.anon()
          && (folio.anonExclusive() || wpCanReuseAnonFolio(folio, vma))) {
        folio.setAnonExclusive();
        wpPageReuse(vmf, pt);
        return traced(vma.mm(), vmf.address(), true, "wp_page_reuse", VmFaultResult.OK);
      }
      if (folio != null) {
        folio.get();
      }
      pt.ptl().unlock();
      locked = false;
      return wpPageCopy(vmf, pt, folio);
    } finally {
      if (locked) {
        pt.ptl().unlock();
      }
    }
  }

  /**
   * {@code wp_can_reuse_anon_folio}: a private store may write an anonymous folio in place when
   * the only reference to it is this PTE's (no other process maps it since fork, nobody holds a
   * GUP reference); it then moves to this VMA's anon_vma.
   */
  private static boolean wpCanReuseAnonFolio(Folio folio, Vma vma) {
    if (folio.refCount() != 1) {
      return false;
    }
    Rmap.folioMoveAnonRmap(folio, vma);
    return true;
  }

  /**
   * {@code wp_page_reuse}: make the PTE young, dirty and (if the VMA allows) writable in place, as
   * x86's {@code ptep_set_access_flags} does: nothing to flush, the PTE only gains permissions.
   * Called and returns with the ptl held.
   */
  private static void wpPageReuse(VmFault vmf, PteTable pt) {
    Vma vma = vmf.vma();
    long entry = maybeMkwrite(vma, pteMkdirty(vma.mm().machine(), Pte.mkyoung(vmf.origPte())));
    if (pt.get(vmf.address()) != entry) {
      Pgtable.setPteAt(vma.mm(), vmf.address(), pt, entry);
    }
  }

  /**
   * {@code wp_pfn_shared}: a raw-pfn page of a shared VMA. With the driver's {@code ->pfn_mkwrite}
   * ({@code wantsWriteNotify}), drop the ptl, call it, and reuse the PTE if unchanged ({@code
   * finish_mkwrite_fault}); without, reuse it at once. Called with the ptl held; releases it.
   */
  private static VmFaultResult wpPfnShared(VmFault vmf, PteTable pt) {
    Vma vma = vmf.vma();
    MmStruct mm = vma.mm();
    if (vma.ops().wantsWriteNotify()) {
      pt.ptl().unlock();
      VmFaultResult r = vma.ops().pfnMkwrite(vmf);
      if (r != VmFaultResult.OK) {
        return traced(mm, vmf.address(), true, "wp_pfn_shared", r);
      }
      return finishMkwriteFault(vmf, pt, "wp_pfn_shared");
    }
    try {
      wpPageReuse(vmf, pt);
    } finally {
      pt.ptl().unlock();
    }
    return traced(mm, vmf.address(), true, "wp_pfn_shared", VmFaultResult.OK);
  }

  /**
   * {@code wp_page_shared}: a page-cache page of a shared VMA; as {@link #wpPfnShared} with {@code
   * ->page_mkwrite}, then {@code fault_dirty_shared_page} marks the folio dirty. Called with the
   * ptl held; releases it.
   */
  private static VmFaultResult wpPageShared(VmFault vmf, PteTable pt, Folio folio) {
    Vma vma = vmf.vma();
    MmStruct mm = vma.mm();
    folio.get();
    try {
      VmFaultResult r;
      if (vma.ops().wantsWriteNotify()) {
        pt.ptl().unlock();
        r = vma.ops().pageMkwrite(vmf);
        if (r != VmFaultResult.OK) {
          return traced(mm, vmf.address(), true, "wp_page_shared", r);
        }
        r = finishMkwriteFault(vmf, pt, "wp_page_shared");
      } else {
        try {
          wpPageReuse(vmf, pt);
        } finally {
          pt.ptl().unlock();
        }
        r = traced(mm, vmf.address(), true, "wp_page_shared", VmFaultResult.OK);
      }
      folio.markDirty();
      return r;
    } finally {
      folio.put();
    }
  }

  /** {@code finish_mkwrite_fault}: under the ptl again, reuse the PTE if it did not change. */
  private static VmFaultResult finishMkwriteFault(VmFault vmf, PteTable pt, String path) {
    MmStruct mm = vmf.vma().mm();
    pt.ptl().lock();
    try {
      if (pt.get(vmf.address()) != vmf.origPte()) {
        return traced(mm, vmf.address(), true, path, "raced");
      }
      wpPageReuse(vmf, pt);
    } finally {
      pt.ptl().unlock();
    }
    return traced(mm, vmf.address(), true, path, VmFaultResult.OK);
  }

  /**
   * {@code wp_page_copy}: copy-on-write in a private VMA, into a new exclusive anonymous folio (a
   * zeroed one when the old page is the zero page). The old page leaves the page table, so this
   * is bracketed by a {@code CLEAR} notifier and flushed ({@code ptep_clear_flush}) before the
   * new page is mapped; the old folio then loses the PTE's mapping and reference. Called without
   * the ptl, holding a reference on {@code old} (null for the zero page or a raw pfn), which it
   * drops.
   */
  private static VmFaultResult wpPageCopy(VmFault vmf, PteTable pt, Folio old) {
    Vma vma = vmf.vma();
    MmStruct mm = vma.mm();
    PhysMem mem = mm.machine().physMem();
    long addr = vmf.address();
    Rmap.anonVmaPrepare(vma);
    long oldPfn = Pte.pfn(vmf.origPte());
    Folio copy = mem.folio(mem.allocPage());
    if (!mem.isZeroPfn(oldPfn)) {
      mem.copyPage(oldPfn, copy.pfn());
    }
    boolean copied = false;
    MmuNotifierRange range =
        new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, addr, addr + Pgtable.PAGE_SIZE);
    MmuNotifiers.invalidateRangeStart(range);
    try {
      pt.ptl().lock();
      try {
        if (pt.get(addr) == vmf.origPte()) {
          long entry = maybeMkwrite(vma,
              pteMkdirty(mm.machine(), Pte.pfnPte(copy.pfn(), vma.vmPageProt())));
          Pgtable.ptepGetAndClear(mm, addr, pt);
          TlbFlush.flushTlbPage(vma, addr);
          Rmap.folioAddNewAnonRmap(copy, vma, addr);
          Pgtable.setPteAt(mm, addr, pt, entry);
          if (old != null) {
            Rmap.folioRemoveRmapPte(old, vma);
          }
          copied = true;
        }
      } finally {
        pt.ptl().unlock();
      }
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
    }
    if (!copied) {
      copy.put();
    } else if (old != null) {
      old.put(); // the reference the old PTE held
    }
    if (old != null) {
      old.put(); // the one do_wp_page took
    }
    return traced(mm, addr, true, "wp_page_copy", copied ? "OK" : "raced");
  }

  /**
   * {@code ptep_set_access_flags} after a spurious fault: the PTE already allows the access
   * ({@code handle_pte_fault}'s last case). A store makes it young and dirty; x86 writes the PTE
   * only then (a load lets the retry set the accessed bit). Called with the ptl held.
   */
  private static VmFaultResult spurious(VmFault vmf, PteTable pt) {
    MmStruct mm = vmf.vma().mm();
    if (vmf.write()) {
      long entry = Pte.mkyoung(pteMkdirty(mm.machine(), vmf.origPte()));
      if (pt.get(vmf.address()) != entry) {
        Pgtable.setPteAt(mm, vmf.address(), pt, entry);
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

  /**
   * {@code vm_normal_folio}: the folio a present PTE of {@code vma} maps, or null when there is
   * none to account: a special PTE (the zero page), a {@code VM_PFNMAP} or {@code VM_MIXEDMAP}
   * VMA's raw pfn, or a pfn that is not memory.
   */
  public static Folio vmNormalFolio(Vma vma, long pte) {
    if (!Pte.present(pte) || Pte.special(pte)) {
      return null;
    }
    return vmNormalFolioPfn(vma, Pte.pfn(pte));
  }

  private static Folio vmNormalFolioPfn(Vma vma, long pfn) {
    if (pfnmap(vma)) {
      return null;
    }
    PhysMem mem = vma.mm().machine().physMem();
    return mem.isZeroPfn(pfn) ? null : mem.folio(pfn);
  }

  /**
   * {@code zap_page_range_single} as {@code MADV_DONTNEED} calls it: unmap every page of {@code
   * [address, address + size)} of {@code vma} in one {@code mmu_gather}, inside a {@code CLEAR}
   * bracket. The caller holds the mmap lock; see {@link #zapPageRangeSingleBatched}.
   *
   * @throws IllegalStateException if the current thread does not hold the mmap lock
   * @throws IllegalArgumentException if the range is not page aligned, empty, or outside the VMA
   */
  public static void zapPageRangeSingle(Vma vma, long address, long size) {
    MmuGather tlb = MmuGather.tlbGatherMmu(vma.mm());
    try {
      zapPageRangeSingleBatched(tlb, vma, address, size);
    } finally {
      tlb.tlbFinishMmu();
    }
  }

  /**
   * {@code zap_page_range_single_batched} with {@code MADV_DONTNEED}'s details (even COWed
   * pages; markers not dropped): in a {@code CLEAR} bracket, {@code zap_pte_range} clears every
   * PTE of the range. A present page's PTE is cleared and gathered in {@code tlb}, its folio
   * loses the mapping, and its reference is dropped once the TLB is flushed; a file page's dirty
   * bit moves to its folio. Uffd-wp protection is dropped in an anonymous VMA (the page is gone)
   * and kept as a marker in a file VMA, where existing markers stay too ({@code
   * zap_install_uffd_wp_if_needed}; written-tracking section 3.3). The gathered PTEs of each PTE
   * table are flushed under its ptl, before the bracket ends, as the kernel does when it must
   * ({@code force_flush}, for a dirty file page); for others the kernel may defer the flush to
   * {@code tlb_finish_mmu}. The page tables are not freed.
   */
  public static void zapPageRangeSingleBatched(MmuGather tlb, Vma vma, long address, long size) {
    MmStruct mm = vma.mm();
    if (!mm.mmapLockedByCurrentThread()) {
      throw new IllegalStateException("zap of " + vma + " without the mmap lock held");
    }
    long end = address + size;
    if (tlb.mm() != mm || size <= 0 || (address & ~Pgtable.PAGE_MASK) != 0
        || (size & ~Pgtable.PAGE_MASK) != 0 || address < vma.start() || end > vma.end()) {
      throw new IllegalArgumentException("zap range [0x" + Long.toHexString(address) + ", +0x"
          + Long.toHexString(size) + ") must be non-empty, page aligned and inside " + vma
          + ", with an mmu_gather of its mm");
    }
    MmuNotifierRange range = new MmuNotifierRange(MmuNotifierEvent.CLEAR, 0, mm, address, end);
    MmuNotifiers.invalidateRangeStart(range);
    try {
      tlb.tlbStartVma(vma);
      unmapSingleVma(tlb, vma, address, end, false);
      tlb.tlbEndVma(vma);
    } finally {
      MmuNotifiers.invalidateRangeEnd(range);
    }
  }

  /**
   * {@code unmap_single_vma} down to {@code zap_pte_range}: clear every PTE of {@code [start,
   * end)} of {@code vma}. {@code dropMarkers} is {@code ZAP_FLAG_DROP_MARKER} ({@code exit_mmap}).
   */
  static void unmapSingleVma(MmuGather tlb, Vma vma, long start, long end, boolean dropMarkers) {
    MmStruct mm = vma.mm();
    PhysMem mem = mm.machine().physMem();
    PteTableCursor cursor = new PteTableCursor(vma, start, end);
    for (PteTable pt = cursor.next(); pt != null; pt = cursor.next()) {
      long from = Math.max(start, pt.start());
      long to = Math.min(end, pt.end());
      boolean gathered = false;
      pt.ptl().lock();
      try {
        for (long addr = from; addr < to; addr += Pgtable.PAGE_SIZE) {
          long ptent = pt.get(addr);
          if (Pte.none(ptent)) {
            continue;
          }
          if (!Pte.present(ptent)) {
            // zap_nonpresent_ptes: a marker carries nothing in an anonymous VMA; in a file VMA
            // it goes only when markers are dropped.
            if (!vma.isAnonymous() && !dropMarkers) {
              continue;
            }
            Pgtable.setPteAt(mm, addr, pt, 0L);
            continue;
          }
          Folio folio = vmNormalFolio(vma, ptent);
          ptent = Pgtable.ptepGetAndClear(mm, addr, pt);
          tlb.tlbRemoveTlbEntry(addr);
          gathered = true;
          if (folio != null && !folio.anon()) {
            if (Pte.dirty(ptent)) {
              folio.markDirty();
            }
            if (Pte.young(ptent)) {
              folio.markAccessed();
            }
          }
          if (vma.userfaultfdWp() && Pte.uffdWp(ptent) && !dropMarkers) {
            pteInstallUffdWpIfNeeded(vma, addr, pt, ptent);
          }
          if (folio != null) {
            Rmap.folioRemoveRmapPte(folio, vma);
            tlb.tlbRemovePage(folio);
          } else if (!mem.isZeroPfn(Pte.pfn(ptent)) && !pfnmap(vma)) {
            mm.machine().warn("mm " + mm.name() + ": zap of 0x" + Long.toHexString(addr)
                + " found " + Pte.toString(ptent) + " with no folio");
          }
        }
        if (gathered) {
          tlb.tlbFlushMmuTlbonly(); // force_flush, under the ptl
        }
      } finally {
        pt.ptl().unlock();
      }
    }
  }

  /**
   * {@code copy_page_range} at fork: copy the PTEs of {@code src} into the child's {@code dst}
   * ({@code copy_pte_range}), when the child cannot just fault them in ({@code vma_needs_copy}:
   * its VMA is registered for uffd-wp, or {@code src} is {@code VM_PFNMAP}/{@code VM_MIXEDMAP}
   * or has anonymous memory). A private writable ({@code is_cow_mapping}) VMA is bracketed with
   * {@code PROTECTION_PAGE} in the parent: its writable PTEs are write-protected in both
   * processes ({@code __copy_present_ptes}) and its anonymous folios stop being exclusive ({@code
   * folio_try_dup_anon_rmap_pte}), so the next store in either copies. Each copy is old; a shared
   * VMA's is clean; the child loses uffd-wp unless its VMA stays registered, and keeps a marker
   * only then ({@code copy_pte_marker}). The parent's TLB is flushed before the bracket ends; the
   * kernel flushes the parent's whole mm once, at the end of {@code dup_mmap}.
   */
  static void copyPageRange(Vma dst, Vma src) {
    boolean needsCopy = dst.userfaultfdWp()
        || (src.flags() & (VmFlags.VM_PFNMAP | VmFlags.VM_MIXEDMAP)) != 0
        || src.anonVma() != null;
    if (!needsCopy) {
      return;
    }
    MmStruct srcMm = src.mm();
    MmStruct dstMm = dst.mm();
    boolean cow = (src.flags() & (VmFlags.VM_SHARED | VmFlags.VM_MAYWRITE)) == VmFlags.VM_MAYWRITE;
    MmuNotifierRange range = cow ? new MmuNotifierRange(MmuNotifierEvent.PROTECTION_PAGE, 0,
        srcMm, src.start(), src.end()) : null;
    if (cow) {
      MmuNotifiers.invalidateRangeStart(range);
    }
    boolean wrprotected = false;
    try {
      PteTableCursor cursor = new PteTableCursor(src, src.start(), src.end());
      for (PteTable spt = cursor.next(); spt != null; spt = cursor.next()) {
        long from = Math.max(src.start(), spt.start());
        long to = Math.min(src.end(), spt.end());
        PteTable dpt = dstMm.pgd().pteAlloc(from);
        dpt.ptl().lock();
        spt.ptl().lock();
        try {
          for (long addr = from; addr < to; addr += Pgtable.PAGE_SIZE) {
            long ptent = spt.get(addr);
            if (Pte.none(ptent)) {
              continue;
            }
            if (!Pte.present(ptent)) {
              if (Pte.pteMarkerUffdWp(ptent) && dst.userfaultfdWp()) {
                Pgtable.setPteAt(dstMm, addr, dpt, Pte.PTE_MARKER_UFFD_WP);
              }
              continue;
            }
            Folio folio = vmNormalFolio(src, ptent);
            if (folio != null) {
              folio.get();
              if (folio.anon()) {
                Rmap.folioTryDupAnonRmapPte(folio, src);
              } else {
                Rmap.folioAddFileRmapPte(folio, dst);
              }
            }
            long pte = ptent;
            if (cow && Pte.write(ptent)) {
              long old = Pgtable.ptepModifyProtStart(src, addr, spt);
              Pgtable.ptepModifyProtCommit(src, addr, spt, old, Pte.wrprotect(old));
              pte = Pte.wrprotect(old);
              wrprotected = true;
            }
            if (src.hasFlags(VmFlags.VM_SHARED)) {
              pte = Pte.mkclean(pte);
            }
            pte = Pte.mkold(pte);
            if (!dst.userfaultfdWp()) {
              pte = Pte.clearUffdWp(pte);
            }
            Pgtable.setPteAt(dstMm, addr, dpt, pte);
          }
        } finally {
          spt.ptl().unlock();
          dpt.ptl().unlock();
        }
      }
      if (wrprotected) {
        TlbFlush.flushTlbRange(src, src.start(), src.end());
      }
    } finally {
      if (cow) {
        MmuNotifiers.invalidateRangeEnd(range);
      }
    }
  }

  /**
   * {@code pte_install_uffd_wp_if_needed}: after a PTE of {@code vma} at {@code addr} was cleared
   * from {@code pteval} (by reclaim or a zap), keep its uffd-wp protection as a marker when the
   * VMA is a file VMA registered for write-protect, so the next fault maps the page protected.
   * Anonymous VMAs get no marker: their page is gone, or is about to become a swap entry that
   * carries the bit. The caller holds the ptl.
   *
   * @return whether a marker was installed
   */
  public static boolean pteInstallUffdWpIfNeeded(Vma vma, long addr, PteTable pt, long pteval) {
    if (vma.isAnonymous() || !vma.userfaultfdWp()) {
      return false;
    }
    if ((Pte.present(pteval) && Pte.uffdWp(pteval)) || Pte.swpUffdWpAny(pteval)) {
      Pgtable.setPteAt(vma.mm(), addr, pt, Pte.PTE_MARKER_UFFD_WP);
      return true;
    }
    return false;
  }

  /**
   * {@code pte_mkdirty} as the machine's kernel is built: x86 sets {@code _PAGE_SOFT_DIRTY} with
   * the dirty bit, and {@code _PAGE_SOFT_DIRTY} is 0 without {@code CONFIG_MEM_SOFT_DIRTY}. Every
   * fault path marks a PTE dirty through this; hardware sets only the dirty bit.
   */
  public static long pteMkdirty(Machine machine, long pte) {
    long dirty = Pte.mkdirty(pte);
    return machine.softDirtyEnabled() ? dirty : dirty & ~Pte.SOFT_DIRTY | (pte & Pte.SOFT_DIRTY);
  }

  /** {@code maybe_mkwrite}: make the PTE writable if the VMA has {@code VM_WRITE}. */
  private static long maybeMkwrite(Vma vma, long pte) {
    return vma.hasFlags(VmFlags.VM_WRITE) ? Pte.mkwrite(pte) : pte;
  }

  private static boolean pfnmap(Vma vma) {
    return (vma.flags() & (VmFlags.VM_PFNMAP | VmFlags.VM_MIXEDMAP)) != 0;
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
