package dev.ptwalk.tests;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Reclaim;
import dev.ptwalk.runtime.mm.ReclaimResult;
import dev.ptwalk.runtime.notifier.SecondaryMmu;
import dev.ptwalk.runtime.notifier.SecondaryMmu.DirtyMarking;
import dev.ptwalk.runtime.notifier.SecondaryMmu.InvalidationPolicy;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.samples.kinds.LazyFreeWalkers;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Timeout;

/**
 * Seeds 000 and 001 under stress, verifier on: a guest (one vCPU thread) reads and writes a
 * working set that the host keeps freeing lazily ({@code MADV_FREE}, the generated walker) while
 * reclaim runs on another thread. Each round is one {@code MADV_FREE} of the whole set, then the
 * guest writes every page (reading some first) while reclaim picks pages at random, then reclaim
 * passes over every page once more; the guest must read back every value it wrote. Under (a) and
 * (b), with {@code CLEAR} zapped or write-protected, no write is lost; marking folios at {@code
 * invalidate_range_end} loses writes (asserted).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KvmStressTest {
  private static final long Q0 = 0x4000_0000L;
  private static final long P = Pgtable.PAGE_SIZE;
  private static final int PAGES = 16;
  private static final int ROUNDS = 1000;

  /**
   * What a run did: guest writes found missing at the end of their round, reclaims run while the
   * guest ran, how many of those found the folio referenced by a secondary fault in flight
   * ({@code KEPT_REFERENCED}) or dirty ({@code KEPT_DIRTY}), and the secondary faults retried
   * because an invalidation ran meanwhile.
   */
  record Outcome(long lost, long racingReclaims, long keptReferenced, long keptDirty,
      long faultRetries) {}

  /** {@link #ROUNDS} rounds of the workload. */
  static Outcome run(DirtyMarking marking, InvalidationPolicy policy, long seed)
      throws InterruptedException {
    Machine m = Machine.builder().cpus(1).verify(true).build();
    MmStruct a = m.newMm("A");
    a.mmap(null, Q0, PAGES, 0, VM_READ | VM_WRITE);
    for (int p = 0; p < PAGES; p++) {
      m.cpu(0).store(a, Q0 + p * P, 1);
    }
    SecondaryMmu kvm = SecondaryMmu.builder("kvm", a).dirtyMarking(marking).policy(policy)
        .build();
    SplittableRandom rnd = new SplittableRandom(seed);
    long lost = 0;
    long[] reclaims = new long[ReclaimResult.values().length];
    for (int round = 1; round <= ROUNDS; round++) {
      LazyFreeWalkers.madviseFree(a, Q0, Q0 + PAGES * P);
      long base = round * 1000L;
      SplittableRandom guestRnd = rnd.split();
      SplittableRandom hostRnd = rnd.split();
      AtomicBoolean done = new AtomicBoolean();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread vcpu = new Thread(() -> {
        try {
          int[] order = shuffled(guestRnd);
          for (int p : order) {
            if (guestRnd.nextBoolean()) {
              kvm.read(Q0 + p * P);
            }
            kvm.write(Q0 + p * P, base + p);
          }
        } catch (Throwable t) {
          failure.set(t);
        } finally {
          done.set(true);
        }
      }, "vcpu");
      Thread reclaim = new Thread(() -> {
        try {
          while (!done.get()) {
            reclaims[Reclaim.reclaimPage(a, Q0 + hostRnd.nextInt(PAGES) * P).ordinal()]++;
          }
        } catch (Throwable t) {
          failure.set(t);
        }
      }, "reclaim");
      vcpu.start();
      reclaim.start();
      vcpu.join();
      reclaim.join();
      if (failure.get() != null) {
        throw new AssertionError("round " + round + " failed", failure.get());
      }
      for (int p = 0; p < PAGES; p++) {
        Reclaim.reclaimPage(a, Q0 + p * P);
      }
      for (int p = 0; p < PAGES; p++) {
        if (kvm.read(Q0 + p * P) != base + p) {
          lost++;
        }
      }
    }
    m.assertQuiet();
    long racing = 0;
    for (long n : reclaims) {
      racing += n;
    }
    return new Outcome(lost, racing, reclaims[ReclaimResult.KEPT_REFERENCED.ordinal()],
        reclaims[ReclaimResult.KEPT_DIRTY.ordinal()], kvm.counts().faultRetries());
  }

  private static int[] shuffled(SplittableRandom rnd) {
    int[] order = new int[PAGES];
    for (int i = 0; i < PAGES; i++) {
      order[i] = i;
    }
    for (int i = PAGES - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  }

  /** No write lost, and the races happened: reclaim found folios referenced and dirty. */
  private static void losesNothing(Outcome o) {
    assertEquals(0, o.lost(), o.toString());
    assertTrue(o.racingReclaims() > 0 && o.keptDirty() > 0, o.toString());
  }

  @ParameterizedTest
  @EnumSource(InvalidationPolicy.class)
  void markingWhileTheReferenceIsHeldLosesNoWrite(InvalidationPolicy policy) throws Exception {
    losesNothing(run(DirtyMarking.ON_MAP, policy, 13));
  }

  @ParameterizedTest
  @EnumSource(InvalidationPolicy.class)
  void markingBeforeTheStartHookReturnsLosesNoWrite(InvalidationPolicy policy) throws Exception {
    losesNothing(run(DirtyMarking.ON_ZAP, policy, 17));
  }

  @ParameterizedTest
  @EnumSource(InvalidationPolicy.class)
  void negativeControlMarkingAtRangeEndLosesWrites(InvalidationPolicy policy) throws Exception {
    Outcome o = run(DirtyMarking.ON_RANGE_END, policy, 19);
    assertTrue(o.lost() > 0, "expected lost writes: " + o);
  }
}
