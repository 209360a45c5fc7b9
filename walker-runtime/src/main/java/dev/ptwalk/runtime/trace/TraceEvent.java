package dev.ptwalk.runtime.trace;

import dev.ptwalk.runtime.Pte;

/**
 * One thing that happened in the simulated mm, as a tracepoint would report it.
 *
 * <p>Mirrors the kernel's tracepoints in spirit ({@code mmu_notifier}, {@code tlb_flush}, {@code
 * mm_fault}). Events name mms by their name, so tests compare them with plain {@code equals}.
 */
public sealed interface TraceEvent {

  /** {@code mmu_notifier_invalidate_range_start}. */
  record NotifierStart(String mm, String event, long start, long end) implements TraceEvent {
    @Override
    public String toString() {
      return "notifier_start mm=" + mm + " event=" + event + " " + Ranges.hex(start, end);
    }
  }

  /** {@code mmu_notifier_invalidate_range_end}. */
  record NotifierEnd(String mm, String event, long start, long end) implements TraceEvent {
    @Override
    public String toString() {
      return "notifier_end mm=" + mm + " event=" + event + " " + Ranges.hex(start, end);
    }
  }

  /** {@code flush_tlb_range} (or {@code flush_tlb_mm}, with {@code wholeMm} set). */
  record TlbFlush(String mm, long start, long end, boolean wholeMm) implements TraceEvent {
    @Override
    public String toString() {
      return (wholeMm ? "flush_tlb_mm mm=" + mm : "flush_tlb_range mm=" + mm + " "
          + Ranges.hex(start, end));
    }
  }

  /** {@code flush_cache_range}: a no-op on x86, still recorded. */
  record CacheFlush(String mm, long start, long end) implements TraceEvent {
    @Override
    public String toString() {
      return "flush_cache_range mm=" + mm + " " + Ranges.hex(start, end);
    }
  }

  /** A software change of one PTE, with the value before and after. */
  record PteSet(String mm, long addr, long oldPte, long newPte) implements TraceEvent {
    @Override
    public String toString() {
      return "pte mm=" + mm + " addr=0x" + Long.toHexString(addr) + " " + Pte.toString(oldPte)
          + " -> " + Pte.toString(newPte);
    }
  }

  /** A page fault and how it was resolved ({@code do_fault}, {@code wp_pfn_shared}, ...). */
  record Fault(String mm, long addr, boolean write, String path, String result)
      implements TraceEvent {
    @Override
    public String toString() {
      return "fault mm=" + mm + " addr=0x" + Long.toHexString(addr) + (write ? " write" : " read")
          + " path=" + path + " result=" + result;
    }
  }

  /** A {@code WARN_ON} that fired. */
  record Warning(String message) implements TraceEvent {
    @Override
    public String toString() {
      return "WARNING: " + message;
    }
  }

  /** Formatting shared by the events. */
  final class Ranges {
    private Ranges() {}

    static String hex(long start, long end) {
      return "[0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ")";
    }
  }
}
