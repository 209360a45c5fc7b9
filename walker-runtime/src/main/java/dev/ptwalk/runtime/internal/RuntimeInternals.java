package dev.ptwalk.runtime.internal;

import dev.ptwalk.runtime.Counters;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.cpu.Cpu;
import dev.ptwalk.runtime.cpu.HardwareModel;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.notifier.MmuNotifier;
import java.util.List;

/**
 * How the runtime's packages reach each other's internals: constructors that only {@link Machine}
 * may call, the counters only the runtime increments, an mm's live subscription list. Each class
 * hands its internals over in its static initializer, as the JDK's {@code SharedSecrets} do.
 *
 * <p>This package is not exported by the runtime's {@code module-info}: on the module path no
 * other module can reach it. On the class path it is reachable, but it is not API and may change
 * at any time.
 */
public final class RuntimeInternals {
  private RuntimeInternals() {}

  /** What the runtime does to a {@link Counters}. */
  public interface CounterUpdates {
    /** Count a {@code flushTlbRange} that dropped {@code entriesDropped} TLB entries. */
    void countTlbFlushRange(Counters counters, long entriesDropped);

    /** Count a {@code flushTlbMm} that dropped {@code entriesDropped} TLB entries. */
    void countTlbFlushMm(Counters counters, long entriesDropped);

    /** Count a {@code flushCacheRange}. */
    void countCacheFlushRange(Counters counters);

    /** Count an {@code invalidateRangeStart}. */
    void countNotifierBracket(Counters counters);

    /** Count a page fault. */
    void countFault(Counters counters);
  }

  /** The internals of {@link MmStruct}. */
  public interface MmAccess {
    /** {@code mm_alloc}, for {@link Machine#newMm}. */
    MmStruct newMm(Machine machine, String name, int id);

    /** The live list of {@code mm->notifier_subscriptions}, for register and unregister. */
    List<MmuNotifier> subscriptions(MmStruct mm);
  }

  /** The internals of {@link AddressSpace}. */
  public interface AddressSpaceAccess {
    /** A new file's address space, for {@link Machine#newAddressSpace}. */
    AddressSpace newAddressSpace(Machine machine, String name, AddressSpace.Backing backing);
  }

  /** The internals of {@link Cpu}. */
  public interface CpuAccess {
    /** CPU {@code id} of {@code machine}, for the machine's builder. */
    Cpu newCpu(Machine machine, int id, int tlbEntries, HardwareModel model);
  }

  private static volatile CounterUpdates counters;
  private static volatile MmAccess mm;
  private static volatile AddressSpaceAccess addressSpace;
  private static volatile CpuAccess cpu;

  /** Set by {@link Counters}, once. */
  public static void setCounterUpdates(CounterUpdates access) {
    counters = once(counters, access);
  }

  /** Set by {@link MmStruct}, once. */
  public static void setMmAccess(MmAccess access) {
    mm = once(mm, access);
  }

  /** Set by {@link AddressSpace}, once. */
  public static void setAddressSpaceAccess(AddressSpaceAccess access) {
    addressSpace = once(addressSpace, access);
  }

  /** Set by {@link Cpu}, once. */
  public static void setCpuAccess(CpuAccess access) {
    cpu = once(cpu, access);
  }

  /** The counter updates. */
  public static CounterUpdates counters() {
    CounterUpdates a = counters;
    return a != null ? a : initialized(Counters.class, () -> counters);
  }

  /** The internals of {@link MmStruct}. */
  public static MmAccess mm() {
    MmAccess a = mm;
    return a != null ? a : initialized(MmStruct.class, () -> mm);
  }

  /** The internals of {@link AddressSpace}. */
  public static AddressSpaceAccess addressSpace() {
    AddressSpaceAccess a = addressSpace;
    return a != null ? a : initialized(AddressSpace.class, () -> addressSpace);
  }

  /** The internals of {@link Cpu}. */
  public static CpuAccess cpu() {
    CpuAccess a = cpu;
    return a != null ? a : initialized(Cpu.class, () -> cpu);
  }

  private static <T> T once(T current, T access) {
    if (access == null) {
      throw new NullPointerException("access");
    }
    if (current != null) {
      throw new IllegalStateException("already set");
    }
    return access;
  }

  /** Run {@code owner}'s static initializer, which sets what {@code field} reads, and read it. */
  private static <T> T initialized(Class<?> owner, java.util.function.Supplier<T> field) {
    try {
      Class.forName(owner.getName(), true, owner.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(owner + " cannot be found", e);
    }
    T a = field.get();
    if (a == null) {
      throw new IllegalStateException(owner + " did not hand over its internals");
    }
    return a;
  }
}
