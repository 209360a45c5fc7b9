package dev.ptwalk.runtime.cpu;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.check.FlushesTlb;
import dev.ptwalk.runtime.internal.RuntimeInternals;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.notifier.MmuNotifiers;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.trace.Trace;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.List;

/**
 * TLB shootdowns on every CPU of the machine.
 *
 * <p>Mirrors {@code arch/x86/include/asm/tlbflush.h}: each flush interrupts every CPU (the IPI
 * waits for the access it is running to finish), drops the matching entries, and returns when all
 * have done so. It also invalidates secondary TLBs that share the page tables ({@code
 * mmu_notifier_arch_invalidate_secondary_tlbs}).
 */
public final class TlbFlush {
  private TlbFlush() {}

  /** {@code flush_tlb_range}: drop every CPU's entries of {@code vma}'s mm in {@code [start, end)}. */
  @FlushesTlb
  public static void flushTlbRange(Vma vma, long start, long end) {
    if ((start & ~Pgtable.PAGE_MASK) != 0 || (end & ~Pgtable.PAGE_MASK) != 0 || start >= end) {
      throw new IllegalArgumentException(
          "flushTlbRange needs a non-empty page-aligned range, got [0x" + Long.toHexString(start)
              + ", 0x" + Long.toHexString(end) + ")");
    }
    MmStruct mm = vma.mm();
    Machine machine = mm.machine();
    long dropped = 0;
    List<Cpu> cpus = machine.cpus();
    for (int i = 0; i < cpus.size(); i++) { // by index: no iterator per flush
      dropped += cpus.get(i).flushRange(mm, start, end);
    }
    RuntimeInternals.counters().countTlbFlushRange(machine.counters(), dropped);
    Trace trace = machine.trace();
    if (trace.enabled()) {
      trace.record(new TraceEvent.TlbFlush(mm.name(), start, end, false));
    }
    machine.verifier().onTlbFlush(mm, start, end);
    MmuNotifiers.archInvalidateSecondaryTlbs(mm, start, end);
  }

  /** {@code flush_tlb_page}: {@link #flushTlbRange} over the one page at {@code addr}. */
  @FlushesTlb
  public static void flushTlbPage(Vma vma, long addr) {
    long page = addr & Pgtable.PAGE_MASK;
    flushTlbRange(vma, page, page + Pgtable.PAGE_SIZE);
  }

  /** {@code flush_tlb_mm}: drop every CPU's entries of {@code mm}. */
  @FlushesTlb
  public static void flushTlbMm(MmStruct mm) {
    Machine machine = mm.machine();
    long dropped = 0;
    List<Cpu> cpus = machine.cpus();
    for (int i = 0; i < cpus.size(); i++) {
      dropped += cpus.get(i).flushMm(mm);
    }
    RuntimeInternals.counters().countTlbFlushMm(machine.counters(), dropped);
    Trace trace = machine.trace();
    if (trace.enabled()) {
      trace.record(new TraceEvent.TlbFlush(mm.name(), 0, -1L, true));
    }
    machine.verifier().onTlbFlush(mm, 0, Long.MAX_VALUE);
    MmuNotifiers.archInvalidateSecondaryTlbs(mm, 0, -1L);
  }
}
