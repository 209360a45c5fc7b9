package dev.ptwalk.runtime.notifier;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.SignalException;
import dev.ptwalk.runtime.mm.Memory;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.VmFaultResult;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import java.util.TreeMap;

/**
 * A device or hypervisor MMU that mirrors one mm's page tables, kept coherent only by mmu
 * notifiers, as KVM's is.
 *
 * <p>Mirrors the notifier side of {@code virt/kvm/kvm_main.c}: {@code invalidateRangeStart} zaps
 * every shadow entry (spte) in the range and raises {@code mmu_invalidate_in_progress};
 * {@code invalidateRangeEnd} lowers it and bumps {@code mmu_invalidate_seq}. A secondary access
 * that misses faults the page in through the primary page tables (as {@code hva_to_pfn} does with
 * GUP), then installs the spte only if no invalidation ran meanwhile ({@code
 * mmu_invalidate_retry}); while an invalidation is in progress a secondary access waits, as a
 * vCPU keeps retrying its fault. A write through it marks the primary PTE dirty, as {@code FOLL_WRITE}
 * does. Its spte never outlives a bracket, so a walker that forgets the notifier leaves a stale
 * (writable) spte behind, which {@link #spte} shows.
 */
public final class SecondaryMmu implements MmuNotifier {
  /** One shadow PTE. */
  public record Spte(long pfn, boolean writable) {}

  private final String name;
  private final MmStruct mm;
  private final TreeMap<Long, Spte> sptes = new TreeMap<>();
  private int invalidateInProgress;
  private long invalidateSeq;
  private long zapped;
  private long faults;

  /** A secondary MMU named {@code name}, registered on {@code mm}. */
  public SecondaryMmu(String name, MmStruct mm) {
    this.name = name;
    this.mm = mm;
    MmuNotifiers.register(this, mm);
  }

  /** The name given at creation. */
  public String name() {
    return name;
  }

  /** A secondary load from {@code addr} (8-byte aligned). */
  public long read(long addr) {
    return access(addr, false, 0);
  }

  /** A secondary store to {@code addr} (8-byte aligned). */
  public void write(long addr, long value) {
    access(addr, true, value);
  }

  /** The spte mapping {@code addr}, or null. */
  public synchronized Spte spte(long addr) {
    return sptes.get(addr >>> Pgtable.PAGE_SHIFT);
  }

  /** Number of sptes installed now. */
  public synchronized int spteCount() {
    return sptes.size();
  }

  /** Sptes dropped by invalidations so far. */
  public synchronized long zapped() {
    return zapped;
  }

  /** Secondary faults so far. */
  public synchronized long faults() {
    return faults;
  }

  /** {@code mmu_invalidate_in_progress}. */
  public synchronized int invalidateInProgress() {
    return invalidateInProgress;
  }

  @Override
  public synchronized void invalidateRangeStart(MmuNotifierRange range) {
    invalidateInProgress++;
    zap(range.start(), range.end());
  }

  @Override
  public synchronized void invalidateRangeEnd(MmuNotifierRange range) {
    invalidateInProgress--;
    invalidateSeq++;
    notifyAll();
  }

  @Override
  public synchronized void release(MmStruct mm) {
    zapped += sptes.size();
    sptes.clear();
  }

  @Override
  public synchronized boolean clearYoung(MmStruct mm, long start, long end) {
    return !sptes.subMap(start >>> Pgtable.PAGE_SHIFT, vpnEnd(end)).isEmpty();
  }

  @Override
  public synchronized boolean clearFlushYoung(MmStruct mm, long start, long end) {
    return clearYoung(mm, start, end);
  }

  @Override
  public synchronized boolean testYoung(MmStruct mm, long addr) {
    return sptes.containsKey(addr >>> Pgtable.PAGE_SHIFT);
  }

  private void zap(long start, long end) {
    var sub = sptes.subMap(start >>> Pgtable.PAGE_SHIFT, vpnEnd(end));
    zapped += sub.size();
    sub.clear();
  }

  private static long vpnEnd(long end) {
    return end == -1L ? Long.MAX_VALUE : ((end - 1) >>> Pgtable.PAGE_SHIFT) + 1;
  }

  private long access(long addr, boolean write, long value) {
    long vpn = addr >>> Pgtable.PAGE_SHIFT;
    long offset = addr & ~Pgtable.PAGE_MASK;
    while (true) {
      long seq;
      synchronized (this) {
        awaitNoInvalidation();
        Spte s = sptes.get(vpn);
        if (s != null && (!write || s.writable())) {
          return touch(s, offset, write, value);
        }
        seq = invalidateSeq;
        faults++;
      }
      Spte fresh = faultIn(addr, write);
      synchronized (this) {
        // mmu_invalidate_retry: an invalidation ran while we faulted; the pfn may be stale.
        if (invalidateInProgress == 0 && invalidateSeq == seq) {
          sptes.put(vpn, fresh);
          return touch(fresh, offset, write, value);
        }
      }
    }
  }

  private long touch(Spte s, long offset, boolean write, long value) {
    if (write) {
      mm.machine().physMem().write(s.pfn(), offset, value);
      return 0;
    }
    return mm.machine().physMem().read(s.pfn(), offset);
  }

  /** A vCPU faulting during an invalidation retries until it ends; here it waits. */
  private void awaitNoInvalidation() {
    while (invalidateInProgress > 0) {
      try {
        wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(name + ": interrupted waiting for an invalidation", e);
      }
    }
  }

  /** {@code hva_to_pfn} through GUP: fault the primary PTE in, then read it under the ptl. */
  private Spte faultIn(long addr, boolean write) {
    long page = addr & Pgtable.PAGE_MASK;
    while (true) {
      PteTable pt = mm.pgd().pteOffset(page);
      if (pt != null) {
        pt.ptl().lock();
        try {
          long pte = pt.get(page);
          if (Pte.present(pte) && (!write || Pte.write(pte))) {
            long touched = write ? Memory.pteMkdirty(mm.machine(), Pte.mkyoung(pte))
                : Pte.mkyoung(pte);
            if (touched != pte) {
              Pgtable.setPteAt(mm, page, pt, touched);
            }
            return new Spte(Pte.pfn(pte), write);
          }
        } finally {
          pt.ptl().unlock();
        }
      }
      VmFaultResult r = Memory.handleUserFault(mm, page, write);
      if (r != VmFaultResult.OK) {
        throw new SignalException(r == VmFaultResult.SIGBUS ? SignalException.Signal.SIGBUS
            : SignalException.Signal.SIGSEGV, mm.name(), addr, write);
      }
    }
  }

  @Override
  public String toString() {
    return "secondary MMU " + name + " of mm " + mm.name();
  }
}
