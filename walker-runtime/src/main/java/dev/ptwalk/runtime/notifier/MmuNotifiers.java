package dev.ptwalk.runtime.notifier;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.check.InvalidateRangeEnd;
import dev.ptwalk.runtime.check.InvalidateRangeStart;
import dev.ptwalk.runtime.internal.RuntimeInternals;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.trace.Trace;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.List;

/**
 * Calls into every subscription of an mm.
 *
 * <p>Mirrors {@code mm/mmu_notifier.c} and the inline wrappers of {@code
 * include/linux/mmu_notifier.h}. These are the calls a walker brackets its PTE changes with.
 * With no subscriber, no trace and no verifier, a call allocates nothing.
 */
public final class MmuNotifiers {
  private MmuNotifiers() {}

  /** {@code mmu_notifier_register}: subscribe {@code subscription} to {@code mm}. */
  public static void register(MmuNotifier subscription, MmStruct mm) {
    if (subscription == null) {
      throw new NullPointerException("subscription");
    }
    List<MmuNotifier> subscriptions = RuntimeInternals.mm().subscriptions(mm);
    synchronized (subscriptions) {
      if (subscriptions.contains(subscription)) {
        throw new IllegalArgumentException("already registered on mm " + mm.name());
      }
      subscriptions.add(subscription);
    }
  }

  /** {@code mmu_notifier_unregister}: call {@code ->release} and unsubscribe. */
  public static void unregister(MmuNotifier subscription, MmStruct mm) {
    if (RuntimeInternals.mm().subscriptions(mm).remove(subscription)) {
      subscription.release(mm);
    }
  }

  /**
   * {@code mmu_notifier_invalidate_range_start}: mark the range blockable and tell every
   * subscriber that PTEs in it are about to change.
   */
  @InvalidateRangeStart
  public static void invalidateRangeStart(MmuNotifierRange range) {
    range.setBlockable();
    MmStruct mm = range.mm();
    Machine machine = mm.machine();
    RuntimeInternals.counters().countNotifierBracket(machine.counters());
    Trace trace = machine.trace();
    if (trace.enabled()) {
      trace.record(new TraceEvent.NotifierStart(
          mm.name(), range.event().name(), range.start(), range.end()));
    }
    machine.verifier().onInvalidateRangeStart(range);
    List<MmuNotifier> subs = mm.notifierSubscriptions();
    if (!subs.isEmpty()) { // mm_has_notifiers: no iterator when nobody listens
      for (MmuNotifier sub : subs) {
        sub.invalidateRangeStart(range);
      }
    }
  }

  /**
   * {@code mmu_notifier_invalidate_range_end}: the PTE changes announced by the matching start are
   * complete (and flushed); subscribers may map the range again.
   */
  @InvalidateRangeEnd
  public static void invalidateRangeEnd(MmuNotifierRange range) {
    MmStruct mm = range.mm();
    Machine machine = mm.machine();
    Trace trace = machine.trace();
    if (trace.enabled()) {
      trace.record(new TraceEvent.NotifierEnd(
          mm.name(), range.event().name(), range.start(), range.end()));
    }
    List<MmuNotifier> subs = mm.notifierSubscriptions();
    if (!subs.isEmpty()) {
      for (MmuNotifier sub : subs) {
        sub.invalidateRangeEnd(range);
      }
    }
    machine.verifier().onInvalidateRangeEnd(range);
  }

  /** {@code mmu_notifier_clear_flush_young}: true if any subscriber saw the range young. */
  public static boolean clearFlushYoung(MmStruct mm, long start, long end) {
    boolean young = false;
    for (MmuNotifier sub : mm.notifierSubscriptions()) {
      young |= sub.clearFlushYoung(mm, start, end);
    }
    return young;
  }

  /** {@code mmu_notifier_clear_young}: true if any subscriber saw the range young. */
  public static boolean clearYoung(MmStruct mm, long start, long end) {
    boolean young = false;
    for (MmuNotifier sub : mm.notifierSubscriptions()) {
      young |= sub.clearYoung(mm, start, end);
    }
    return young;
  }

  /**
   * {@code mm_has_fast_young_notifiers} (v7 12/18, not merged): whether any subscriber of {@code
   * mm} has {@code has_fast_aging}.
   */
  public static boolean mmHasFastYoungNotifiers(MmStruct mm) {
    for (MmuNotifier sub : mm.notifierSubscriptions()) {
      if (sub.hasFastAging()) {
        return true;
      }
    }
    return false;
  }

  /**
   * {@code mmu_notifier_clear_young_fast_only} (v7 13/18, not merged): {@code clear_young} with
   * {@code fast_only} on every subscriber that has {@code has_fast_aging}, skipping the others (the
   * patch's {@code if (fast_only && !subscription->has_fast_aging) continue;}). Returns the OR of
   * their {@link MmuNotifier#YOUNG} and {@link MmuNotifier#WAS_FAST} bits.
   */
  public static int clearYoungFastOnly(MmStruct mm, long start, long end) {
    int young = 0;
    for (MmuNotifier sub : mm.notifierSubscriptions()) {
      if (!sub.hasFastAging()) {
        continue;
      }
      young |= sub.clearYoung(mm, start, end, true);
    }
    return young;
  }

  /**
   * {@code mmu_notifier_test_young_fast_only} (v7 13/18, not merged): {@code test_young} with
   * {@code fast_only} on every subscriber that has {@code has_fast_aging}.
   */
  public static int testYoungFastOnly(MmStruct mm, long addr) {
    int young = 0;
    for (MmuNotifier sub : mm.notifierSubscriptions()) {
      if (!sub.hasFastAging()) {
        continue;
      }
      young |= sub.testYoung(mm, addr, true);
    }
    return young;
  }

  /** {@code mmu_notifier_test_young}: true if any subscriber sees {@code addr} young. */
  public static boolean testYoung(MmStruct mm, long addr) {
    for (MmuNotifier sub : mm.notifierSubscriptions()) {
      if (sub.testYoung(mm, addr)) {
        return true;
      }
    }
    return false;
  }

  /** {@code __mmu_notifier_release}, from {@code exit_mmap}: every subscriber's {@code ->release}. */
  public static void release(MmStruct mm) {
    for (MmuNotifier sub : mm.notifierSubscriptions()) {
      sub.release(mm);
    }
  }

  /** {@code mmu_notifier_arch_invalidate_secondary_tlbs}, called by TLB flushes. */
  public static void archInvalidateSecondaryTlbs(MmStruct mm, long start, long end) {
    List<MmuNotifier> subs = mm.notifierSubscriptions();
    if (subs.isEmpty()) {
      return;
    }
    for (MmuNotifier sub : subs) {
      sub.archInvalidateSecondaryTlbs(mm, start, end);
    }
  }
}
