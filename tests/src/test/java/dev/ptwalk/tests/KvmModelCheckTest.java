package dev.ptwalk.tests;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Reclaim;
import dev.ptwalk.runtime.notifier.SecondaryMmu;
import dev.ptwalk.runtime.notifier.SecondaryMmu.DirtyMarking;
import dev.ptwalk.runtime.notifier.SecondaryMmu.InvalidationPolicy;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.samples.kinds.LazyFreeWalkers;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seed 001 model-checked with Lincheck: a page freed lazily ({@code MADV_FREE}, the generated
 * {@code LAZYFREE} walker) whose only later writer is the guest, and reclaim racing the guest's
 * accesses. Lincheck explores their interleavings down to the secondary fault's GUP-fast
 * reference, the spte install, the notifier brackets and reclaim's refcount and dirty checks;
 * after each execution the guest reads the page back and must see its last write. Marking the
 * folio dirty (a) while {@code hva_to_pfn}'s reference is held or (b) before {@code
 * invalidate_range_start} returns passes (under the write-protect policy too, where (b) hands
 * the D bit over when it write-protects); marking it at {@code invalidate_range_end} loses the
 * write, which the negative control asserts. {@code KvmStressTest} runs every combination.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class KvmModelCheckTest {
  private static final long Q0 = 0x4000_0000L;
  /** Interleavings explored per scenario. */
  private static final int INVOCATIONS = 30;
  /** How long one invocation may take before Lincheck calls it hung. */
  private static final long INVOCATION_TIMEOUT_MS = 120_000;

  /**
   * The host wrote 1 and the guest read it (a writable spte) before {@code MADV_FREE}; the guest's
   * operations run in one thread, reclaim in any.
   */
  public abstract static class LazyfreeModel {
    private final MmStruct mm;
    private final SecondaryMmu kvm;
    private long writes;

    LazyfreeModel(DirtyMarking marking, InvalidationPolicy policy) {
      Machine m = Machine.builder().cpus(1).build();
      mm = m.newMm("A");
      mm.mmap(null, Q0, 1, 0, VM_READ | VM_WRITE);
      m.cpu(0).store(mm, Q0, 1);
      kvm = SecondaryMmu.builder("kvm", mm).dirtyMarking(marking).policy(policy).build();
      kvm.read(Q0);
      LazyFreeWalkers.madviseFree(mm, Q0, Q0 + Pgtable.PAGE_SIZE);
    }

    /** The guest stores 100 + the number of its stores so far. */
    @Operation(nonParallelGroup = "guest")
    public void guestWrite() {
      writes++;
      kvm.write(Q0, 100 + writes);
    }

    /** The guest loads (a read fault maps the page writable: map_writable). */
    @Operation(nonParallelGroup = "guest")
    public void guestRead() {
      kvm.read(Q0);
    }

    /** {@code MADV_PAGEOUT} of the page. */
    @Operation
    public void reclaim() {
      Reclaim.reclaimPage(mm, Q0);
    }

    /** Every guest store came after MADV_FREE, so the last one must survive whatever reclaim did. */
    @Validate
    public void theGuestsLastWriteSurvives() {
      long v = kvm.read(Q0);
      if (writes > 0 && v != 100 + writes) {
        throw new IllegalStateException("the guest's write of " + (100 + writes)
            + " was lost: the page reads " + v);
      }
    }
  }

  /** (a), zap. */
  public static final class OnMapZap extends LazyfreeModel {
    public OnMapZap() {
      super(DirtyMarking.ON_MAP, InvalidationPolicy.ZAP);
    }
  }

  /** (b), zap. */
  public static final class OnZapZap extends LazyfreeModel {
    public OnZapZap() {
      super(DirtyMarking.ON_ZAP, InvalidationPolicy.ZAP);
    }
  }

  /** (b), write-protect. */
  public static final class OnZapWrprotect extends LazyfreeModel {
    public OnZapWrprotect() {
      super(DirtyMarking.ON_ZAP, InvalidationPolicy.WRPROTECT);
    }
  }

  /** The negative control: the mark at invalidate_range_end. */
  public static final class OnRangeEndZap extends LazyfreeModel {
    public OnRangeEndZap() {
      super(DirtyMarking.ON_RANGE_END, InvalidationPolicy.ZAP);
    }
  }

  private static Actor actor(String op) {
    try {
      Method m = LazyfreeModel.class.getMethod(op);
      return new Actor(m, List.of(), false, false, false);
    } catch (NoSuchMethodException e) {
      throw new IllegalArgumentException(op, e);
    }
  }

  private static ExecutionScenario scenario(List<String> guest, List<String> host) {
    List<Actor> g = new ArrayList<>();
    guest.forEach(op -> g.add(actor(op)));
    List<Actor> h = new ArrayList<>();
    host.forEach(op -> h.add(actor(op)));
    return new ExecutionScenario(List.of(), List.of(g, h), List.of(), null);
  }

  /**
   * The race scenarios only (random ones add nothing here: the guest's operations are confined to
   * one thread and reclaim is the only other actor), each explored for {@code invocations}
   * interleavings.
   */
  private static void check(Class<? extends LazyfreeModel> model, int invocations) {
    ModelCheckingOptions options = new ModelCheckingOptions();
    // Lincheck instruments classes lazily, inside the first invocations that reach them; on a
    // loaded 2-core machine that alone can outlast its default 10 s per invocation, which it then
    // reports as a hang. Lincheck 3.7 exposes the limit only as a Kotlin-internal option.
    options.invocationTimeout$lincheck(INVOCATION_TIMEOUT_MS);
    options
        // The guest's store races reclaim of the page it stores to.
        .addCustomScenario(scenario(List.of("guestWrite"), List.of("reclaim")))
        // A read fault (a writable spte, marked at once under (a)) then a store, racing reclaim.
        .addCustomScenario(scenario(List.of("guestRead", "guestWrite"), List.of("reclaim")))
        .iterations(0)
        .invocationsPerIteration(invocations)
        .minimizeFailedScenario(false)
        .check(model);
  }

  @Test
  void markingWhileTheReferenceIsHeldLosesNoWriteUnderZap() {
    check(OnMapZap.class, INVOCATIONS);
  }

  @Test
  void markingBeforeTheStartHookReturnsLosesNoWriteUnderZap() {
    check(OnZapZap.class, INVOCATIONS);
  }

  @Test
  void markingBeforeTheStartHookReturnsLosesNoWriteUnderWriteProtect() {
    check(OnZapWrprotect.class, INVOCATIONS);
  }

  @Test
  void negativeControlMarkingAtRangeEndIsCaughtLosingTheWrite() {
    AssertionError e = assertThrows(AssertionError.class, () -> check(OnRangeEndZap.class, INVOCATIONS));
    assertTrue(e.getMessage().contains("was lost: the page reads 0"), e.getMessage());
  }
}
