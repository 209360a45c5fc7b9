package dev.ptwalk.runtime.cpu;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.check.FlushesCache;
import dev.ptwalk.runtime.internal.RuntimeInternals;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.trace.Trace;
import dev.ptwalk.runtime.trace.TraceEvent;

/**
 * Virtually-indexed cache maintenance.
 *
 * <p>Mirrors {@code flush_cache_range} of {@code asm/cacheflush.h}: a no-op on x86, whose caches
 * are physically tagged, kept so that generated walkers carry every step a walker needs on other
 * architectures. Each call is counted and traced.
 */
public final class CacheFlush {
  private CacheFlush() {}

  /** {@code flush_cache_range}: nothing to do on x86; recorded. */
  @FlushesCache
  public static void flushCacheRange(Vma vma, long start, long end) {
    if (start >= end) {
      throw new IllegalArgumentException("flushCacheRange needs start < end, got [0x"
          + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ")");
    }
    Machine machine = vma.mm().machine();
    RuntimeInternals.counters().countCacheFlushRange(machine.counters());
    Trace trace = machine.trace();
    if (trace.enabled()) {
      trace.record(new TraceEvent.CacheFlush(vma.mm().name(), start, end));
    }
  }
}
