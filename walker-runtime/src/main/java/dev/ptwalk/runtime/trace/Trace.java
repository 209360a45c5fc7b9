package dev.ptwalk.runtime.trace;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * An optional, thread-safe event log of one {@link dev.ptwalk.runtime.Machine}.
 *
 * <p>Off by default: recording then costs one volatile read. Tests and the demo switch it on with
 * {@link #enable()} and read it back with {@link #events()}.
 */
public final class Trace {
  private volatile boolean enabled;
  private final List<TraceEvent> events = new ArrayList<>();

  /** A trace that starts enabled or not. */
  public Trace(boolean enabled) {
    this.enabled = enabled;
  }

  /** Start recording. */
  public void enable() {
    enabled = true;
  }

  /** Stop recording; what was recorded stays. */
  public void disable() {
    enabled = false;
  }

  /** Whether events are being recorded. */
  public boolean enabled() {
    return enabled;
  }

  /** Record {@code event} if the trace is on. */
  public void record(TraceEvent event) {
    if (enabled) {
      synchronized (events) {
        events.add(event);
      }
    }
  }

  /** A snapshot of every event recorded so far, oldest first. */
  public List<TraceEvent> events() {
    synchronized (events) {
      return List.copyOf(events);
    }
  }

  /** How many events are recorded: a mark for {@link #eventsSince}. */
  public int size() {
    synchronized (events) {
      return events.size();
    }
  }

  /**
   * The events recorded after {@code mark} (an earlier {@link #size()}), oldest first; all of
   * them if the trace was cleared since.
   */
  public List<TraceEvent> eventsSince(int mark) {
    synchronized (events) {
      return List.copyOf(events.subList(mark <= events.size() ? Math.max(0, mark) : 0,
          events.size()));
    }
  }

  /** A snapshot of the events of one type, oldest first. */
  public <T extends TraceEvent> List<T> events(Class<T> type) {
    return events(type, e -> true);
  }

  /** A snapshot of the events of one type that match {@code filter}, oldest first. */
  public <T extends TraceEvent> List<T> events(Class<T> type, Predicate<? super T> filter) {
    List<T> out = new ArrayList<>();
    for (TraceEvent e : events()) {
      if (type.isInstance(e) && filter.test(type.cast(e))) {
        out.add(type.cast(e));
      }
    }
    return out;
  }

  /** Forget every event recorded so far. */
  public void clear() {
    synchronized (events) {
      events.clear();
    }
  }
}
