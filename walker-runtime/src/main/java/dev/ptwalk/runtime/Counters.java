package dev.ptwalk.runtime;

import dev.ptwalk.runtime.internal.RuntimeInternals;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Event counts of one {@link Machine}: TLB and cache flushes, notifier brackets, faults and
 * warnings. Read by tests, the demo and benchmarks; incremented by the runtime alone (through
 * {@link RuntimeInternals#counters()}).
 */
public final class Counters {
  static {
    RuntimeInternals.setCounterUpdates(new RuntimeInternals.CounterUpdates() {
      @Override
      public void countTlbFlushRange(Counters c, long entriesDropped) {
        c.countTlbFlushRange(entriesDropped);
      }

      @Override
      public void countTlbFlushMm(Counters c, long entriesDropped) {
        c.countTlbFlushMm(entriesDropped);
      }

      @Override
      public void countCacheFlushRange(Counters c) {
        c.countCacheFlushRange();
      }

      @Override
      public void countNotifierBracket(Counters c) {
        c.countNotifierBracket();
      }

      @Override
      public void countFault(Counters c) {
        c.countFault();
      }
    });
  }

  private final AtomicLong tlbFlushRange = new AtomicLong();
  private final AtomicLong tlbFlushMm = new AtomicLong();
  private final AtomicLong tlbEntriesInvalidated = new AtomicLong();
  private final AtomicLong cacheFlushRange = new AtomicLong();
  private final AtomicLong notifierBrackets = new AtomicLong();
  private final AtomicLong faults = new AtomicLong();
  private final AtomicLong warnings = new AtomicLong();

  Counters() {}

  /** Calls of {@code flushTlbRange} (and {@code flushTlbPage}). */
  public long tlbFlushRange() {
    return tlbFlushRange.get();
  }

  /** Calls of {@code flushTlbMm}. */
  public long tlbFlushMm() {
    return tlbFlushMm.get();
  }

  /** TLB entries dropped by flushes, over every CPU. */
  public long tlbEntriesInvalidated() {
    return tlbEntriesInvalidated.get();
  }

  /** Calls of {@code flushCacheRange}. */
  public long cacheFlushRange() {
    return cacheFlushRange.get();
  }

  /** Calls of {@code invalidateRangeStart}. */
  public long notifierBrackets() {
    return notifierBrackets.get();
  }

  /** Page faults taken by simulated CPUs and secondary MMUs. */
  public long faults() {
    return faults.get();
  }

  /** {@code WARN_ON}s that fired. */
  public long warnings() {
    return warnings.get();
  }

  /** Count a {@code flushTlbRange}. */
  void countTlbFlushRange(long entriesDropped) {
    tlbFlushRange.incrementAndGet();
    tlbEntriesInvalidated.addAndGet(entriesDropped);
  }

  /** Count a {@code flushTlbMm}. */
  void countTlbFlushMm(long entriesDropped) {
    tlbFlushMm.incrementAndGet();
    tlbEntriesInvalidated.addAndGet(entriesDropped);
  }

  /** Count a {@code flushCacheRange}. */
  void countCacheFlushRange() {
    cacheFlushRange.incrementAndGet();
  }

  /** Count an {@code invalidateRangeStart}. */
  void countNotifierBracket() {
    notifierBrackets.incrementAndGet();
  }

  /** Count a page fault. */
  void countFault() {
    faults.incrementAndGet();
  }

  void countWarning() {
    warnings.incrementAndGet();
  }
}
