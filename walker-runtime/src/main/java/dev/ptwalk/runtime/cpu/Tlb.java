package dev.ptwalk.runtime.cpu;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One CPU's translation lookaside buffer: a bounded, least-recently-used cache of {@link
 * TlbEntry}s tagged by mm. Not thread-safe: its {@link Cpu} serialises access.
 */
public final class Tlb {
  private final int capacity;
  private final LinkedHashMap<Long, TlbEntry> entries;

  Tlb(int capacity) {
    this.capacity = capacity;
    this.entries = new LinkedHashMap<>(capacity * 2, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<Long, TlbEntry> eldest) {
        return size() > Tlb.this.capacity;
      }
    };
  }

  private static long key(int mmId, long vpn) {
    return ((long) mmId << 45) | vpn;
  }

  TlbEntry lookup(int mmId, long vpn) {
    return entries.get(key(mmId, vpn));
  }

  void fill(TlbEntry e) {
    entries.put(key(e.mmId(), e.vpn()), e);
  }

  boolean invalidate(int mmId, long vpn) {
    return entries.remove(key(mmId, vpn)) != null;
  }

  int invalidateRange(int mmId, long startVpn, long endVpn) {
    if (entries.isEmpty()) {
      return 0; // nothing cached: no iterator, no boxed key
    }
    int n = 0;
    if (endVpn - startVpn <= entries.size()) {
      for (long v = startVpn; v < endVpn; v++) {
        if (invalidate(mmId, v)) {
          n++;
        }
      }
      return n;
    }
    for (Iterator<TlbEntry> it = entries.values().iterator(); it.hasNext(); ) {
      TlbEntry e = it.next();
      if (e.mmId() == mmId && e.vpn() >= startVpn && e.vpn() < endVpn) {
        it.remove();
        n++;
      }
    }
    return n;
  }

  int invalidateMm(int mmId) {
    return invalidateRange(mmId, 0, Long.MAX_VALUE);
  }

  List<TlbEntry> snapshot() {
    return new ArrayList<>(entries.values());
  }

  /** Maximum number of entries. */
  public int capacity() {
    return capacity;
  }
}
