package dev.ptwalk.runtime.debug;

import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.notifier.MmuNotifierRange;
import dev.ptwalk.runtime.pgtable.PteTable;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Run-time checks of the rules a page-table walker must keep, in the spirit of lockdep and
 * {@code VM_WARN_ON}.
 *
 * <p>When enabled, it fails loudly (records the violation and throws {@link VerifierViolation},
 * naming the address and the walker) when:
 *
 * <ul>
 *   <li>a PTE is changed in software without its ptl held;
 *   <li>a PTE is made {@linkplain Pte#moreRestrictive more restrictive} outside an {@code
 *       invalidateRangeStart/End} bracket of the same mm, opened by the same thread, that covers
 *       its address;
 *   <li>a PTE made more restrictive inside a bracket is not covered by a TLB flush in time: before
 *       {@code invalidateRangeEnd} when the thread has not raised the mm's {@code
 *       tlb_flush_pending}; while it has ({@code clear_refs_write} flushes after the bracket's
 *       end), before its {@code decTlbFlushPending} takes its own count back to zero and before
 *       it drops its last i_mmap or mmap lock (a CPU could still use the old entry, and other
 *       walkers no longer know it may be stale);
 *   <li>{@code invalidateRangeEnd} has no matching start, or a thread drops its last i_mmap or
 *       mmap lock with a bracket still open or with its {@code incTlbFlushPending} and {@code
 *       decTlbFlushPending} calls unbalanced, or the counter goes negative.
 * </ul>
 *
 * <p>Off by default; tests turn it on through {@link dev.ptwalk.runtime.Machine.Builder#verify}.
 * When off, every hook is one volatile read.
 */
public final class Verifier {
  private volatile boolean enabled;
  private final List<String> violations = new ArrayList<>();
  private final Map<MmStruct, List<Bracket>> open = new IdentityHashMap<>();
  private final Map<MmStruct, List<Deferred>> deferred = new IdentityHashMap<>();
  private final ThreadLocal<ThreadState> threads = ThreadLocal.withInitial(ThreadState::new);

  /** One open {@code invalidateRangeStart} and the PTEs it still owes a TLB flush. */
  private static final class Bracket {
    final MmuNotifierRange range;
    final Thread owner = Thread.currentThread();
    final TreeSet<Long> unflushed = new TreeSet<>();

    Bracket(MmuNotifierRange range) {
      this.range = range;
    }

    boolean covers(long addr) {
      return range.covers(addr); // unsigned: clear_refs brackets [0, -1UL)
    }
  }

  /**
   * PTEs of a bracket that ended while its thread had the mm's {@code tlb_flush_pending} raised:
   * their flush may come after the end, as in {@code clear_refs_write}, but before that thread's
   * {@code decTlbFlushPending} and before it drops its last mm-level lock.
   */
  private static final class Deferred {
    final MmuNotifierRange range;
    final Thread owner = Thread.currentThread();
    final TreeSet<Long> unflushed;

    Deferred(MmuNotifierRange range, TreeSet<Long> unflushed) {
      this.range = range;
      this.unflushed = unflushed;
    }
  }

  /** What one thread holds: mm-level locks and its net tlb_flush_pending per mm. */
  private static final class ThreadState {
    int mmLocksHeld;
    final Map<MmStruct, Integer> pending = new IdentityHashMap<>();
  }

  /** A verifier that starts enabled or not. */
  public Verifier(boolean enabled) {
    this.enabled = enabled;
  }

  /** Whether the checks run. */
  public boolean enabled() {
    return enabled;
  }

  /** Turn the checks on or off. */
  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  /** Every violation recorded so far, oldest first. */
  public synchronized List<String> violations() {
    return List.copyOf(violations);
  }

  /**
   * Throw unless no violation was recorded, no bracket is open and no mm has a pending TLB flush
   * counted: the state a test expects once every walker has returned.
   */
  public synchronized void assertQuiet(Iterable<MmStruct> mms) {
    if (!violations.isEmpty()) {
      throw new VerifierViolation(
          violations.size() + " verifier violation(s), first: " + violations.get(0));
    }
    for (Map.Entry<MmStruct, List<Bracket>> e : open.entrySet()) {
      if (!e.getValue().isEmpty()) {
        throw new VerifierViolation(
            "mm " + e.getKey().name() + " still has an open invalidateRangeStart over "
                + e.getValue().get(0).range + ": invalidateRangeEnd never ran");
      }
    }
    for (MmStruct mm : mms) {
      if (mm.tlbFlushPending() != 0) {
        throw new VerifierViolation(
            "mm " + mm.name() + " has tlbFlushPending = " + mm.tlbFlushPending()
                + " with no walker running: an incTlbFlushPending lacks its decTlbFlushPending");
      }
    }
  }

  /** Forget recorded violations (open brackets stay). */
  public synchronized void clearViolations() {
    violations.clear();
  }

  /** Hook of {@code invalidateRangeStart}. */
  public void onInvalidateRangeStart(MmuNotifierRange range) {
    if (!enabled) {
      return;
    }
    synchronized (this) {
      open.computeIfAbsent(range.mm(), k -> new ArrayList<>()).add(new Bracket(range));
    }
  }

  /** Hook of {@code invalidateRangeEnd}. */
  public void onInvalidateRangeEnd(MmuNotifierRange range) {
    if (!enabled) {
      return;
    }
    String problem = null;
    synchronized (this) {
      List<Bracket> brackets = open.getOrDefault(range.mm(), List.of());
      Bracket found = null;
      for (Iterator<Bracket> it = brackets.iterator(); it.hasNext(); ) {
        Bracket b = it.next();
        if (b.range == range && b.owner == Thread.currentThread()) {
          found = b;
          it.remove();
          break;
        }
      }
      if (found == null) {
        problem = "invalidateRangeEnd over " + range + " has no matching invalidateRangeStart on"
            + " this thread";
      } else if (!found.unflushed.isEmpty()
          && threads.get().pending.getOrDefault(range.mm(), 0) > 0) {
        // clear_refs_write: the flush may follow the end while this walker's pending count
        // tells every other walker of the mm that TLB entries may be stale.
        deferred.computeIfAbsent(range.mm(), k -> new ArrayList<>())
            .add(new Deferred(range, found.unflushed));
      } else if (!found.unflushed.isEmpty()) {
        long addr = found.unflushed.first();
        problem = "invalidateRangeEnd over " + range + " ran before a TLB flush covering the PTE"
            + " at 0x" + Long.toHexString(addr) + (found.unflushed.size() > 1
                ? " (and " + (found.unflushed.size() - 1) + " more)" : "")
            + " made more restrictive in this bracket: other CPUs may still write through a"
            + " stale TLB entry; call flushTlbRange over every changed PTE before"
            + " invalidateRangeEnd (or raise the mm's tlb_flush_pending before the changes and"
            + " flush before decTlbFlushPending, as clear_refs_write does)";
      }
    }
    if (problem != null) {
      violation(problem);
    }
  }

  /** Hook of {@code ptepModifyProtStart}: the ptl must be held. */
  public void onModifyProtStart(MmStruct mm, long addr, PteTable pt) {
    if (enabled && !pt.ptl().isHeldByCurrentThread()) {
      violation("ptepModifyProtStart at 0x" + Long.toHexString(addr) + " in mm " + mm.name()
          + " without the PTE table's ptl held; take pt.ptl() around the change");
    }
  }

  /** Hook of every software PTE change. */
  public void onPteChange(MmStruct mm, long addr, PteTable pt, long oldPte, long newPte) {
    if (!enabled) {
      return;
    }
    String where = " at 0x" + Long.toHexString(addr) + " in mm " + mm.name() + " ("
        + Pte.toString(oldPte) + " -> " + Pte.toString(newPte) + ")";
    if (!pt.ptl().isHeldByCurrentThread()) {
      violation("PTE changed without its ptl held" + where + "; take pt.ptl() around the change");
      return;
    }
    if (!Pte.moreRestrictive(oldPte, newPte)) {
      return;
    }
    boolean covered = false;
    synchronized (this) {
      for (Bracket b : open.getOrDefault(mm, List.of())) {
        if (b.owner == Thread.currentThread() && b.covers(addr)) {
          b.unflushed.add(addr);
          covered = true;
        }
      }
    }
    if (!covered) {
      violation("PTE made more restrictive outside an invalidateRangeStart/End bracket of mm "
          + mm.name() + " covering it" + where + ": a secondary MMU (KVM, an IOMMU) keeps its"
          + " old mapping; open an MmuNotifierRange over the address first");
    }
  }

  /** Hook of {@code flushTlbRange}: PTEs in {@code [start, end)} are flushed for every bracket. */
  public void onTlbFlush(MmStruct mm, long start, long end) {
    if (!enabled) {
      return;
    }
    synchronized (this) {
      for (Bracket b : open.getOrDefault(mm, List.of())) {
        b.unflushed.subSet(start, end).clear();
      }
      List<Deferred> owed = deferred.get(mm);
      if (owed != null) {
        for (Deferred d : owed) {
          d.unflushed.subSet(start, end).clear();
        }
        owed.removeIf(d -> d.unflushed.isEmpty());
      }
    }
  }

  /** Hook of {@code incTlbFlushPending} ({@code +1}) and {@code decTlbFlushPending} ({@code -1}). */
  public void onTlbFlushPending(MmStruct mm, int delta, int newValue) {
    if (!enabled) {
      return;
    }
    int own = threads.get().pending.merge(mm, delta, Integer::sum);
    if (newValue < 0) {
      violation("decTlbFlushPending of mm " + mm.name() + " took tlbFlushPending to " + newValue
          + ": a decTlbFlushPending has no incTlbFlushPending");
    }
    if (delta < 0 && own <= 0) {
      String problem = takeDeferred(mm, "decTlbFlushPending of mm " + mm.name());
      if (problem != null) {
        violation(problem);
      }
    }
  }

  /**
   * Remove the current thread's deferred flushes of {@code mm} (every mm when null) and describe
   * the first PTE they still owe, or return null when they owe none.
   */
  private synchronized String takeDeferred(MmStruct mm, String what) {
    String problem = null;
    for (Map.Entry<MmStruct, List<Deferred>> e : deferred.entrySet()) {
      if (mm != null && e.getKey() != mm) {
        continue;
      }
      for (Iterator<Deferred> it = e.getValue().iterator(); it.hasNext(); ) {
        Deferred d = it.next();
        if (d.owner != Thread.currentThread()) {
          continue;
        }
        it.remove();
        if (problem == null && !d.unflushed.isEmpty()) {
          long addr = d.unflushed.first();
          problem = what + " ran before a TLB flush covering the PTE at 0x"
              + Long.toHexString(addr) + (d.unflushed.size() > 1
                  ? " (and " + (d.unflushed.size() - 1) + " more)" : "")
              + " made more restrictive in the bracket over " + d.range + ", which ended with"
              + " tlb_flush_pending raised: once the count drops, other walkers take the TLB"
              + " entries for current while a CPU may still write through a stale one; flush"
              + " (flushTlbMm or flushTlbRange) before decTlbFlushPending and before the lock is"
              + " dropped";
        }
      }
    }
    return problem;
  }

  /** Hook of taking an i_mmap or mmap lock. */
  public void onMmLockAcquired() {
    if (enabled) {
      threads.get().mmLocksHeld++;
    }
  }

  /**
   * Hook of releasing an i_mmap or mmap lock: when the thread drops its last one, it must have
   * closed every bracket and balanced its pending-flush counter.
   */
  public void onMmLockReleased(String lockName) {
    if (!enabled) {
      return;
    }
    ThreadState t = threads.get();
    if (t.mmLocksHeld > 0) {
      t.mmLocksHeld--;
    }
    if (t.mmLocksHeld > 0) {
      return;
    }
    String problem = null;
    synchronized (this) {
      for (Map.Entry<MmStruct, List<Bracket>> e : open.entrySet()) {
        for (Bracket b : e.getValue()) {
          if (b.owner == Thread.currentThread()) {
            problem = lockName + " released with invalidateRangeStart over " + b.range
                + " still open: invalidateRangeEnd never ran, so secondary MMUs stay blocked;"
                + " end the bracket in a finally block";
          }
        }
      }
    }
    if (problem == null) {
      problem = takeDeferred(null, lockName);
    }
    if (problem == null) {
      for (Map.Entry<MmStruct, Integer> e : t.pending.entrySet()) {
        if (e.getValue() != 0) {
          problem = lockName + " released with tlbFlushPending of mm " + e.getKey().name()
              + " left unbalanced by " + (e.getValue() > 0 ? "+" : "") + e.getValue()
              + ": pair every incTlbFlushPending with a decTlbFlushPending in a finally block";
          e.setValue(0);
          break;
        }
      }
    }
    if (problem != null) {
      violation(problem);
    }
  }

  /** Record and throw a violation, naming the walker (the first caller outside the runtime). */
  public void violation(String message) {
    String full = message + " [walker: " + walker().orElse("unknown") + "]";
    synchronized (this) {
      violations.add(full);
    }
    throw new VerifierViolation(full);
  }

  /**
   * The walker to blame: the first caller whose class is not part of the runtime itself (judged
   * by where the class was loaded from) nor of the JDK.
   */
  private static Optional<String> walker() {
    return StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE).walk(frames -> frames
        .filter(f -> !fromRuntime(f.getDeclaringClass()))
        .filter(f -> !f.getClassName().startsWith("java.") && !f.getClassName().startsWith("jdk."))
        .findFirst()
        .map(f -> f.getClassName() + "." + f.getMethodName()
            + (f.getLineNumber() > 0 ? ":" + f.getLineNumber() : "")));
  }

  private static boolean fromRuntime(Class<?> c) {
    CodeSource mine = Verifier.class.getProtectionDomain().getCodeSource();
    CodeSource theirs = c.getProtectionDomain().getCodeSource();
    return mine == null ? c.getName().startsWith("dev.ptwalk.runtime.")
        : theirs != null && mine.getLocation().equals(theirs.getLocation());
  }
}
