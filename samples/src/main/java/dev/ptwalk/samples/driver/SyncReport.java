package dev.ptwalk.samples.driver;

import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.List;

/**
 * What one sync of the {@link DirtyTrackingDriver} did.
 *
 * @param dirtyPages buffer pages found dirty and copied to the device, ascending
 * @param fromMkwrite of those, pages the driver had recorded in {@code ->pfn_mkwrite} or a write
 *     fault
 * @param fromPte of those, pages the clean walker found dirty in a PTE
 * @param changed PTEs the sync's walkers changed
 * @param brackets the notifier brackets the walkers opened (empty when the trace is off)
 * @param flushes the TLB flushes the walkers made (empty when the trace is off)
 */
public record SyncReport(List<Integer> dirtyPages, List<Integer> fromMkwrite,
    List<Integer> fromPte, long changed,
    List<TraceEvent.NotifierStart> brackets, List<TraceEvent.TlbFlush> flushes) {
  /** Copies the lists. */
  public SyncReport {
    dirtyPages = List.copyOf(dirtyPages);
    fromMkwrite = List.copyOf(fromMkwrite);
    fromPte = List.copyOf(fromPte);
    brackets = List.copyOf(brackets);
    flushes = List.copyOf(flushes);
  }
}
