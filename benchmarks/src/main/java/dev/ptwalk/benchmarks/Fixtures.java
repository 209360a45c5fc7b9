package dev.ptwalk.benchmarks;

import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_PFNMAP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;

/**
 * Page tables for the benchmarks, populated directly (no faults, no page frames: a walker never
 * reads a page's contents, and 1 Mi frames would be 4 GiB of heap).
 */
final class Fixtures {
  static final long FLAGS = VM_READ | VM_WRITE | VM_SHARED | VM_IO | VM_PFNMAP;
  static final long BASE = 0x7f00_0000_0000L;

  private Fixtures() {}

  /** A machine with neither trace nor verifier, as a production kernel would run. */
  static Machine machine() {
    return Machine.builder().cpus(2).build();
  }

  /** One mm mapping {@code pages} pages of a new mapping at {@link #BASE}, every PTE allocated. */
  static Vma dense(Machine m, String name, int pages) {
    AddressSpace mapping = m.newAddressSpace(name);
    MmStruct mm = m.newMm(name);
    Vma vma = mm.mmap(mapping, BASE, pages, 0, FLAGS);
    for (long a = vma.start(); a < vma.end(); a += Pgtable.PMD_SIZE) {
      mm.pgd().pteAlloc(a);
    }
    return vma;
  }

  /** Set every PTE of {@code vma}: present, writable, one in {@code dirtyEvery} dirty. */
  static void fill(Vma vma, int dirtyEvery) {
    MmStruct mm = vma.mm();
    long i = 0;
    for (long a = vma.start(); a < vma.end(); a += Pgtable.PAGE_SIZE, i++) {
      PteTable pt = mm.pgd().pteOffset(a);
      set(mm, pt, a, i, dirtyEvery > 0 && i % dirtyEvery == 0);
    }
  }

  /** Make the PTE at {@code addr} present and writable, dirty or not. */
  static void set(MmStruct mm, PteTable pt, long addr, long pfn, boolean dirty) {
    long pte = Pte.pfnPte(0x10_0000 + (pfn & 0xff_ffff),
        Pte.PRESENT | Pte.RW | Pte.USER | Pte.ACCESSED | (dirty ? Pte.DIRTY : 0));
    Pgtable.setPteAt(mm, addr, pt, pte);
  }
}
