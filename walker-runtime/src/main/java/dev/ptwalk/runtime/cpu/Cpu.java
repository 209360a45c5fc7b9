package dev.ptwalk.runtime.cpu;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.internal.RuntimeInternals;
import dev.ptwalk.runtime.mm.Memory;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.VmFaultResult;
import dev.ptwalk.runtime.pgtable.PgDir;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One simulated x86-64 CPU with its own TLB, doing 64-bit loads and stores as the hardware does.
 *
 * <ul>
 *   <li>A load that hits the TLB, or a store that hits an entry cached with RW and D, touches no
 *       page table.
 *   <li>Otherwise the CPU walks the page table. It faults if the PTE is not present, or a store
 *       finds it read-only; else it sets A (and D for a store) with a locked compare-and-exchange
 *       and caches the result. A store hitting an entry cached writable but clean re-walks to set
 *       D, and faults if the PTE is no longer present or writable.
 *   <li>A fault runs the kernel's fault path ({@link Memory#handleUserFault}) outside the CPU,
 *       then the access is retried.
 * </ul>
 *
 * <p>That is the {@link HardwareModel#X86} model; under {@link HardwareModel#WEAK} a store through
 * an entry cached writable but clean goes through without setting D.
 *
 * <p>A CPU may be driven by any thread, one access at a time. A TLB flush waits for the access in
 * progress to finish, as an IPI waits for the current instruction.
 */
public final class Cpu {
  private static final int MAX_ATTEMPTS = 1000;

  private final Machine machine;
  private final int id;
  private final Tlb tlb;
  private final HardwareModel model;
  private final ReentrantLock lock = new ReentrantLock();

  static {
    RuntimeInternals.setCpuAccess(Cpu::new);
  }

  /** Created by {@link Machine}. */
  Cpu(Machine machine, int id, int tlbEntries, HardwareModel model) {
    this.machine = machine;
    this.id = id;
    this.tlb = new Tlb(tlbEntries);
    this.model = model;
  }

  /** How this CPU's TLB treats the dirty bit. */
  public HardwareModel model() {
    return model;
  }

  /** {@code smp_processor_id()}. */
  public int id() {
    return id;
  }

  /**
   * A 64-bit load from user address {@code addr} (8-byte aligned) of {@code mm}.
   *
   * @throws SignalException SIGSEGV or SIGBUS, as the kernel would deliver
   */
  public long load(MmStruct mm, long addr) {
    return access(mm, addr, false, 0);
  }

  /**
   * A 64-bit store of {@code value} to user address {@code addr} (8-byte aligned) of {@code mm}.
   *
   * @throws SignalException SIGSEGV or SIGBUS, as the kernel would deliver
   */
  public void store(MmStruct mm, long addr, long value) {
    access(mm, addr, true, value);
  }

  /** The entries this CPU's TLB holds now, least recently used first. */
  public List<TlbEntry> tlbEntries() {
    lock.lock();
    try {
      return tlb.snapshot();
    } finally {
      lock.unlock();
    }
  }

  /** The TLB entry for {@code addr} of {@code mm}, or null. */
  public TlbEntry tlbLookup(MmStruct mm, long addr) {
    lock.lock();
    try {
      return tlb.lookup(mm.id(), addr >>> Pgtable.PAGE_SHIFT);
    } finally {
      lock.unlock();
    }
  }

  /** The IPI handler of {@code flush_tlb_range}; returns the number of entries dropped. */
  int flushRange(MmStruct mm, long start, long end) {
    lock.lock();
    try {
      return tlb.invalidateRange(mm.id(), start >>> Pgtable.PAGE_SHIFT,
          (end - 1 >>> Pgtable.PAGE_SHIFT) + 1);
    } finally {
      lock.unlock();
    }
  }

  /** The IPI handler of {@code flush_tlb_mm}; returns the number of entries dropped. */
  int flushMm(MmStruct mm) {
    lock.lock();
    try {
      return tlb.invalidateMm(mm.id());
    } finally {
      lock.unlock();
    }
  }

  private long access(MmStruct mm, long addr, boolean write, long value) {
    if ((addr & 7) != 0) {
      throw new IllegalArgumentException(
          "0x" + Long.toHexString(addr) + " is not 8-byte aligned: accesses are 64-bit words");
    }
    if (addr < 0 || addr >= machine.pagingMode().taskSize()) {
      throw new SignalException(SignalException.Signal.SIGSEGV, mm.name(), addr, write);
    }
    long offset = addr & ~Pgtable.PAGE_MASK;
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      lock.lock();
      try {
        long pfn = translate(mm, addr, write);
        if (pfn >= 0) {
          if (write) {
            machine.physMem().write(pfn, offset, value);
            return 0;
          }
          return machine.physMem().read(pfn, offset);
        }
      } finally {
        lock.unlock();
      }
      VmFaultResult r = Memory.handleUserFault(mm, addr, write);
      if (r == VmFaultResult.SIGSEGV) {
        throw new SignalException(SignalException.Signal.SIGSEGV, mm.name(), addr, write);
      }
      if (r == VmFaultResult.SIGBUS) {
        throw new SignalException(SignalException.Signal.SIGBUS, mm.name(), addr, write);
      }
    }
    throw new IllegalStateException("CPU " + id + ": " + (write ? "store to" : "load from")
        + " 0x" + Long.toHexString(addr) + " in mm " + mm.name() + " still faults after "
        + MAX_ATTEMPTS + " fault-and-retry rounds: a fault handler returns OK without mapping"
        + " the page");
  }

  /** The frame for the access, or -1 when it must fault. Caller holds {@link #lock}. */
  private long translate(MmStruct mm, long addr, boolean write) {
    long vpn = addr >>> Pgtable.PAGE_SHIFT;
    TlbEntry e = tlb.lookup(mm.id(), vpn);
    if (e != null) {
      if (!write || (e.writable() && (e.dirty() || model == HardwareModel.WEAK))) {
        return e.pfn(); // WEAK: a writable entry accepts the store without setting D
      }
      // A store through an entry without D re-walks to set it; one without RW faults. Either
      // way the stale entry goes.
      tlb.invalidate(mm.id(), vpn);
    }
    return walk(mm, addr, write);
  }

  /** The hardware page walk: set A/D atomically and fill the TLB, or -1 to fault. */
  private long walk(MmStruct mm, long addr, boolean write) {
    long vpn = addr >>> Pgtable.PAGE_SHIFT;
    PgDir dir = mm.pgd().root();
    while (true) {
      int i = dir.index(addr);
      long leaf = dir.leaf(i);
      if (leaf != 0) {
        return walkHuge(mm, dir, i, addr, write);
      }
      Object next = dir.next(i);
      if (next == null) {
        return -1;
      }
      if (next instanceof PteTable) {
        PteTable pt = (PteTable) next;
        while (true) {
          long pte = pt.get(addr);
          if (!Pte.present(pte) || (write && !Pte.write(pte))) {
            return -1;
          }
          long want = write ? (pte | Pte.ACCESSED | Pte.DIRTY) : (pte | Pte.ACCESSED);
          if (want == pte || pt.compareAndSet(addr, pte, want)) {
            tlb.fill(new TlbEntry(mm.id(), vpn, Pte.pfn(want), Pte.write(want), Pte.dirty(want)));
            return Pte.pfn(want);
          }
        }
      }
      dir = (PgDir) next;
    }
  }

  private long walkHuge(MmStruct mm, PgDir dir, int i, long addr, boolean write) {
    long vpn = addr >>> Pgtable.PAGE_SHIFT;
    while (true) {
      long leaf = dir.leaf(i);
      if (!Pte.present(leaf) || (write && !Pte.write(leaf))) {
        return -1;
      }
      long want = write ? (leaf | Pte.ACCESSED | Pte.DIRTY) : (leaf | Pte.ACCESSED);
      if (want == leaf || dir.compareAndSetLeaf(i, leaf, want)) {
        long pfn = Pte.pfn(want) + ((addr & (dir.entrySize() - 1)) >>> Pgtable.PAGE_SHIFT);
        tlb.fill(new TlbEntry(mm.id(), vpn, pfn, Pte.write(want), Pte.dirty(want)));
        return pfn;
      }
    }
  }

  @Override
  public String toString() {
    return "CPU " + id;
  }
}
