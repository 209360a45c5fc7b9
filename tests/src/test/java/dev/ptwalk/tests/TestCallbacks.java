package dev.ptwalk.tests;

import static dev.ptwalk.annotations.PteCallback.Kind.CLEAN;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/** Callbacks that misbehave on purpose, for the behaviour tests. Generates TestCallbacksWalkers. */
final class TestCallbacks {
  private TestCallbacks() {}

  /** Address at which {@link #throwing} throws on its first (plain-read) call. */
  static volatile long failAt = -1;
  /** Address at which {@link #throwingLate} throws on its second call, after modify-prot start. */
  static volatile long failLateAt = -1;
  static final AtomicInteger lateCalls = new AtomicInteger();

  /** Address at which {@link #gated} stops until {@link #release} opens. */
  static volatile long gateAt = -1;
  static volatile CountDownLatch entered = new CountDownLatch(1);
  static volatile CountDownLatch release = new CountDownLatch(1);

  @PteCallback(value = CLEAN, bitmap = true, name = "applyAsThrowingClean")
  static long throwing(long pte, long addr) {
    if (addr == failAt) {
      throw new IllegalStateException("callback refuses 0x" + Long.toHexString(addr));
    }
    return Pte.mkclean(pte);
  }

  @PteCallback(value = CLEAN, name = "applyAsLateThrowingClean")
  static long throwingLate(long pte, long addr) {
    if (addr == failLateAt && lateCalls.incrementAndGet() == 2) {
      throw new IllegalStateException("callback refuses the value taken at 0x"
          + Long.toHexString(addr));
    }
    return Pte.mkclean(pte);
  }

  /** How many calls {@link #recording} recorded in {@link #seenAddr} and {@link #seenPte}. */
  static final AtomicInteger seen = new AtomicInteger();
  static final long[] seenAddr = new long[64];
  static final long[] seenPte = new long[64];

  /**
   * A pure callback (its result depends on its argument alone) that also records what it is
   * called with, for the test: the recording is the test's instrument, not part of the leaf.
   */
  @PteCallback(value = CLEAN, name = "applyAsRecordingClean")
  static long recording(long pte, long addr) {
    int call = seen.getAndIncrement();
    seenAddr[call] = addr;
    seenPte[call] = pte;
    return Pte.mkclean(pte);
  }

  /** A callback that refuses every present PTE with an IllegalArgumentException. */
  @PteCallback(value = CLEAN, name = "applyAsRefusingClean")
  static long refusing(long pte, long addr) {
    if (Pte.present(pte)) {
      throw new IllegalArgumentException("refusing 0x" + Long.toHexString(addr));
    }
    return pte;
  }

  @PteCallback(value = CLEAN, name = "applyAsGatedClean")
  static long gated(long pte, long addr) {
    if (addr == gateAt) {
      entered.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    return Pte.mkclean(pte);
  }
}
