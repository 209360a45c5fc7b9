package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.cpu.HardwareModel;
import dev.ptwalk.runtime.cpu.TlbEntry;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.samples.DirtyHelpersWalkers;
import dev.ptwalk.samples.driver.DirtyTrackingDriver;
import dev.ptwalk.samples.driver.DirtyTrackingDriver.SyncMode;
import dev.ptwalk.samples.driver.SyncStrategy;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * Model checking with Lincheck: small configurations (2 CPUs, 2 pages, one sync racing stores
 * and loads) whose interleavings Lincheck explores, down to the walkers' individual PTE, TLB and
 * lock steps. After each execution a final sync runs and the device copy must equal CPU memory.
 *
 * <p>Each configuration gets the scenarios that expose the known races (a stale writable TLB
 * entry writing during a sync; a load-filled clean entry; a store setting D mid-sync) plus random
 * ones. The generated walkers pass on x86 and on the weak model; the clean-only driver fails on
 * the weak model, as Thomas Hellstrom's "case 2" predicts; and each negative control fails.
 */
class ModelCheckTest {
  /** One process mapping a 2-page buffer; operations are CPU accesses and a sync. */
  public abstract static class DriverModel {
    private final Machine m;
    private final DirtyTrackingDriver driver;
    private final MmStruct mm;
    private final Vma vma;
    private final AtomicLong values = new AtomicLong();

    DriverModel(HardwareModel hardware, boolean writeNotify, SyncStrategy strategy) {
      m = Machine.builder().cpus(2).hardware(hardware).build();
      driver = new DirtyTrackingDriver(m, "bo", 2, writeNotify, strategy);
      mm = m.newMm("A");
      vma = driver.mmap(mm, 0x10000, 0, 2);
    }

    private void store(int cpu, int page) {
      m.cpu(cpu).store(mm, vma.addressOf(page), values.incrementAndGet());
    }

    private void load(int cpu, int page) {
      m.cpu(cpu).load(mm, vma.addressOf(page));
    }

    /** CPU 0 stores to page 0. */
    @Operation
    public void store0p0() {
      store(0, 0);
    }

    /** CPU 0 stores to page 1. */
    @Operation
    public void store0p1() {
      store(0, 1);
    }

    /** CPU 1 stores to page 0. */
    @Operation
    public void store1p0() {
      store(1, 0);
    }

    /** CPU 1 stores to page 1. */
    @Operation
    public void store1p1() {
      store(1, 1);
    }

    /** CPU 0 loads from page 0. */
    @Operation
    public void load0p0() {
      load(0, 0);
    }

    /** CPU 1 loads from page 1. */
    @Operation
    public void load1p1() {
      load(1, 1);
    }

    /** The driver syncs. */
    @Operation
    public void sync() {
      driver.sync();
    }

    /** After everything: one more sync, and no write may be missing from the device. */
    @Validate
    public void deviceEqualsMemoryAfterAFinalSync() {
      driver.sync();
      List<Integer> lost = driver.mismatchedPages();
      if (!lost.isEmpty()) {
        throw new IllegalStateException("writes to pages " + lost + " never reached the device");
      }
    }
  }

  /** The generated walkers on x86. */
  public static final class X86Generated extends DriverModel {
    public X86Generated() {
      super(HardwareModel.X86, true, SyncMode.GENERATED.strategy());
    }
  }

  /** The generated walkers on the weak model. */
  public static final class WeakGenerated extends DriverModel {
    public WeakGenerated() {
      super(HardwareModel.WEAK, true, SyncMode.GENERATED.strategy());
    }
  }

  /** The driver's hand-written fused walker on x86. */
  public static final class X86Fused extends DriverModel {
    public X86Fused() {
      super(HardwareModel.X86, true, SyncMode.FUSED.strategy());
    }
  }

  /** Clean-only (hardware dirty bits) on x86. */
  public static final class X86CleanOnly extends DriverModel {
    public X86CleanOnly() {
      super(HardwareModel.X86, false, SyncMode.CLEAN_ONLY.strategy());
    }
  }

  /** Clean-only on the weak model: expected to lose writes. */
  public static final class WeakCleanOnly extends DriverModel {
    public WeakCleanOnly() {
      super(HardwareModel.WEAK, false, SyncMode.CLEAN_ONLY.strategy());
    }
  }

  /**
   * Negative control 1: flush after invalidateRangeEnd, the driver copying before it. Without
   * write notification, so that the walker's findings are the driver's only record.
   */
  public static final class FlushAfterEndCopyBefore extends DriverModel {
    public FlushAfterEndCopyBefore() {
      super(HardwareModel.X86, false, BrokenSyncs.FLUSH_AFTER_END_COPY_BEFORE);
    }
  }

  /** Negative control 2: no TLB flush. */
  public static final class NoFlush extends DriverModel {
    public NoFlush() {
      super(HardwareModel.X86, true, BrokenSyncs.NO_FLUSH);
    }
  }

  /** Negative control 4: read-then-store instead of modify-prot start/commit. */
  public static final class ReadThenStore extends DriverModel {
    public ReadThenStore() {
      super(HardwareModel.X86, false, BrokenSyncs.WRPROTECT_BY_READ_THEN_STORE);
    }
  }

  /** Negative control 5: the driver copies pages before the TLB flush. */
  public static final class CopyBeforeFlush extends DriverModel {
    public CopyBeforeFlush() {
      super(HardwareModel.X86, false, BrokenSyncs.COPY_BEFORE_FLUSH);
    }
  }

  private static Actor actor(String op) {
    try {
      Method m = DriverModel.class.getMethod(op);
      return new Actor(m, List.of(), false, false, false);
    } catch (NoSuchMethodException e) {
      throw new IllegalArgumentException(op, e);
    }
  }

  /** A scenario: {@code init} ops, then each thread's ops in parallel. */
  private static ExecutionScenario scenario(List<String> init, List<List<String>> threads) {
    List<Actor> initial = new ArrayList<>();
    init.forEach(op -> initial.add(actor(op)));
    List<List<Actor>> parallel = new ArrayList<>();
    for (List<String> t : threads) {
      List<Actor> actors = new ArrayList<>();
      t.forEach(op -> actors.add(actor(op)));
      parallel.add(actors);
    }
    return new ExecutionScenario(initial, parallel, List.of(), null);
  }

  /** Model-check {@code model} on the race scenarios and on random ones. */
  private static void check(Class<? extends DriverModel> model) {
    check(model, 120);
  }

  /**
   * A negative control: it stops at the first failure, so a large budget costs nothing when the
   * bug is found, and makes finding a narrow race independent of the JDK's lock internals.
   */
  private static void checkControl(Class<? extends DriverModel> model) {
    check(model, 2000);
  }

  private static void check(Class<? extends DriverModel> model, int invocations) {
    new ModelCheckingOptions()
        // A stale writable, dirty TLB entry keeps writing while the sync runs.
        .addCustomScenario(scenario(List.of("store0p0"),
            List.of(List.of("sync"), List.of("store0p0"))))
        // A load leaves a writable but clean entry; then a store through it races the sync.
        .addCustomScenario(scenario(List.of("load0p0"),
            List.of(List.of("sync"), List.of("store0p0", "store1p1"))))
        // A store sets D on a writable clean PTE while the sync is changing it.
        .addCustomScenario(scenario(List.of("load0p0", "load1p1"),
            List.of(List.of("sync"), List.of("store1p0"))))
        .iterations(3)
        .invocationsPerIteration(invocations)
        .threads(2)
        .actorsPerThread(2)
        .actorsBefore(1)
        .actorsAfter(0)
        .minimizeFailedScenario(false)
        .check(model);
  }

  @Test
  void generatedWalkersLoseNoWriteOnX86() {
    check(X86Generated.class);
  }

  @Test
  void generatedWalkersLoseNoWriteOnTheWeakModel() {
    check(WeakGenerated.class);
  }

  @Test
  void theHandWrittenFusedWalkerLosesNoWrite() {
    check(X86Fused.class);
  }

  @Test
  void cleanOnlyRelyingOnHardwareDirtyBitsHoldsOnX86() {
    check(X86CleanOnly.class);
  }

  @Test
  void cleanOnlyLosesWritesOnTheWeakModel() {
    AssertionError e = assertThrows(AssertionError.class, () -> check(WeakCleanOnly.class));
    assertTrue(e.getMessage().contains("never reached the device"), e.getMessage());
  }

  @Test
  void negativeControlFlushAfterEndWithTheCopyBeforeItIsCaught() {
    assertThrows(AssertionError.class, () -> checkControl(FlushAfterEndCopyBefore.class));
  }

  @Test
  void negativeControlNoFlushIsCaught() {
    assertThrows(AssertionError.class, () -> checkControl(NoFlush.class));
  }

  @Test
  void negativeControlReadThenStoreIsCaught() {
    assertThrows(AssertionError.class, () -> checkControl(ReadThenStore.class));
  }

  @Test
  void negativeControlCopyBeforeFlushIsCaught() {
    assertThrows(AssertionError.class, () -> checkControl(CopyBeforeFlush.class));
  }

  /**
   * Two write-protect walkers racing on one mm; the second reports whether, when it returned, any
   * CPU still held a writable TLB entry for the range it had write-protected. Sequentially that
   * never happens, so a concurrent "true" is a failure Lincheck reports.
   */
  public abstract static class NestedFlushModel {
    private final Machine m = Machine.builder().cpus(2).build();
    private final DirtyTrackingDriver driver =
        new DirtyTrackingDriver(m, "bo", 2, false, SyncMode.GENERATED.strategy());
    private final MmStruct mm = m.newMm("A");
    private final Vma vma = driver.mmap(mm, 0x10000, 0, 2);

    abstract long wrprotect();

    /** The buffer both walkers walk. */
    dev.ptwalk.runtime.mm.AddressSpace buffer() {
      return driver.buffer();
    }

    /** Both CPUs store to both pages: writable, dirty entries in every TLB. */
    @Operation
    public void storeEverywhere() {
      for (int cpu = 0; cpu < 2; cpu++) {
        for (int p = 0; p < 2; p++) {
          m.cpu(cpu).store(mm, vma.addressOf(p), 1);
        }
      }
    }

    /** The first walker. */
    @Operation
    public void walker() {
      wrprotect();
    }

    /** The second walker, then a look at every TLB. */
    @Operation
    public boolean walkerThenStaleWritableEntry() {
      wrprotect();
      for (int cpu = 0; cpu < 2; cpu++) {
        for (int p = 0; p < 2; p++) {
          TlbEntry e = m.cpu(cpu).tlbLookup(mm, vma.addressOf(p));
          if (e != null && e.writable()) {
            return true;
          }
        }
      }
      return false;
    }
  }

  /** The generated walker, with its mm_tlb_flush_nested branch. */
  public static final class NestedGenerated extends NestedFlushModel {
    @Override
    long wrprotect() {
      return DirtyHelpersWalkers.applyAsWrprotect(buffer(), 0, 2);
    }
  }

  /** Negative control 3: [min, max) only, even when nested. */
  public static final class NestedMinMaxOnly extends NestedFlushModel {
    @Override
    long wrprotect() {
      return BrokenWalkers.wrprotectMinMaxOnly(buffer(), 0, 2);
    }
  }

  private static void checkNested(Class<? extends NestedFlushModel> model) throws Exception {
    Method store = NestedFlushModel.class.getMethod("storeEverywhere");
    Method walker = NestedFlushModel.class.getMethod("walker");
    Method second = NestedFlushModel.class.getMethod("walkerThenStaleWritableEntry");
    new ModelCheckingOptions()
        .addCustomScenario(new ExecutionScenario(List.of(new Actor(store, List.of(), false,
            false, false)), List.of(List.of(new Actor(walker, List.of(), false, false, false)),
            List.of(new Actor(second, List.of(), false, false, false))), List.of(), null))
        .iterations(0)
        .invocationsPerIteration(400)
        .minimizeFailedScenario(false)
        .check(model);
  }

  @Test
  void aSecondWalkerNeverLeavesAStaleWritableEntryBehind() throws Exception {
    checkNested(NestedGenerated.class);
  }

  @Test
  void negativeControlMinMaxFlushWhileNestedIsCaught() {
    AssertionError e = assertThrows(AssertionError.class, () -> checkNested(NestedMinMaxOnly.class));
    assertTrue(e.getMessage().contains("walkerThenStaleWritableEntry(): true"), e.getMessage());
  }
}
