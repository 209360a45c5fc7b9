package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.cpu.HardwareModel;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.samples.driver.DirtyTrackingDriver;
import dev.ptwalk.samples.driver.DirtyTrackingDriver.SyncMode;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * K simulated CPUs on real threads load and store random words of the driver's buffer through
 * their TLBs, in two processes, while the driver syncs with the generated walkers. After the
 * writers stop and a final sync, the device must equal CPU memory and the verifier must have
 * seen nothing. Size: {@code -Dptwalk.stress.accesses=N} per writer (the default run is small;
 * {@code mvn verify -Pstress} runs a large one and prints its figures).
 */
@Timeout(value = 20, unit = TimeUnit.MINUTES) // the -Pstress run; the default one takes seconds
class StressTest {
  static final long ACCESSES = Long.getLong("ptwalk.stress.accesses", 200_000);
  static final int WRITERS = 3;
  static final int MIN_SYNCS = 20;

  /**
   * What one stress run did: the pages that lost writes, the accesses made, the syncs run, how
   * many of the syncs that ran while the writers were still going copied pages they found dirty,
   * and the time taken.
   */
  record Outcome(List<Integer> lost, long accesses, long syncs, long concurrentCopies,
      long millis) {}

  static Outcome stress(HardwareModel hardware, SyncMode mode, long accessesPerWriter, long seed)
      throws InterruptedException {
    return stress(hardware, mode, accessesPerWriter, seed, 64, 4);
  }

  /**
   * A run on a buffer of {@code pages} pages (two processes each map three quarters of it), one
   * access in {@code loadEvery} a load.
   */
  static Outcome stress(HardwareModel hardware, SyncMode mode, long accessesPerWriter, long seed,
      int pages, int loadEvery) throws InterruptedException {
    Machine m = Machine.builder().cpus(WRITERS).hardware(hardware).verify(true).build();
    DirtyTrackingDriver d = new DirtyTrackingDriver(m, "bo", pages, mode);
    MmStruct a = m.newMm("A");
    MmStruct b = m.newMm("B");
    int three = pages * 3 / 4;
    List<Vma> vmas = List.of(d.mmap(a, 0x7f00_0000_0000L, 0, three), d.mmap(b,
        0x5555_0000_0000L, pages - three, three));
    AtomicLong syncs = new AtomicLong();
    AtomicLong concurrentCopies = new AtomicLong();
    AtomicLong done = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread[] writers = new Thread[WRITERS];
    long start = System.nanoTime();
    for (int w = 0; w < WRITERS; w++) {
      int cpu = w;
      writers[w] = new Thread(() -> {
        SplittableRandom rnd = new SplittableRandom(seed * 31 + cpu);
        try {
          // Keep going until enough syncs copied pages while the CPUs ran (on a loaded machine
          // the writers may get little CPU at first), up to a cap, and unless the syncing thread
          // failed and stopped the run.
          for (long i = 1; (i <= accessesPerWriter || concurrentCopies.get() < MIN_SYNCS)
              && i <= accessesPerWriter * 50 && !stop.get(); i++) {
            Vma v = vmas.get(rnd.nextInt(2));
            long addr = v.start() + rnd.nextLong(v.pages()) * 4096 + rnd.nextInt(512) * 8L;
            if (rnd.nextInt(loadEvery) == 0) {
              m.cpu(cpu).load(v.mm(), addr);
            } else {
              m.cpu(cpu).store(v.mm(), addr, ((long) cpu << 48) | i);
            }
            done.incrementAndGet();
          }
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
        }
      }, "cpu" + cpu);
      writers[w].start();
    }
    try {
      while (anyAlive(writers)) {
        if (!d.sync().dirtyPages().isEmpty() && anyAlive(writers)) {
          concurrentCopies.incrementAndGet();
        }
        syncs.incrementAndGet();
      }
    } finally {
      stop.set(true); // a failed sync must not leave the writers waiting for syncs forever
      for (Thread t : writers) {
        t.join(TimeUnit.MINUTES.toMillis(2));
        assertFalse(t.isAlive(), t.getName() + " did not stop");
      }
    }
    d.sync();
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertNull(failure.get(), () -> "a writer failed: " + failure.get());
    m.assertQuiet();
    return new Outcome(d.mismatchedPages(), done.get(), syncs.get() + 1, concurrentCopies.get(),
        millis);
  }

  private static boolean anyAlive(Thread[] threads) {
    for (Thread t : threads) {
      if (t.isAlive()) {
        return true;
      }
    }
    return false;
  }

  @ParameterizedTest(name = "{0} hardware, {1} sync")
  @CsvSource({"X86, GENERATED", "X86, FUSED", "X86, CLEAN_ONLY", "X86, SOFT_DIRTY", "X86, UFFD_WP",
      "WEAK, GENERATED", "WEAK, FUSED", "WEAK, SOFT_DIRTY", "WEAK, UFFD_WP"})
  void noWriteIsLost(HardwareModel hardware, SyncMode mode) throws InterruptedException {
    Outcome o = stress(hardware, mode, ACCESSES, 1);
    System.out.printf("stress %s/%s: %d accesses by %d CPUs, %d syncs (%d copied pages while the"
        + " CPUs ran), %d ms, pages that lost writes: %s%n", hardware, mode, o.accesses(),
        WRITERS, o.syncs(), o.concurrentCopies(), o.millis(), o.lost());
    assertEquals(List.of(), o.lost());
    assertTrue(o.accesses() >= WRITERS * ACCESSES, "every writer made its accesses");
    // The run tested something only if syncs found and copied pages while the CPUs stored.
    assertTrue(o.concurrentCopies() >= MIN_SYNCS, () -> "only " + o.concurrentCopies()
        + " syncs copied pages while the CPUs ran");
  }

  @Test
  void cleanOnlyLosesWritesOnTheWeakModel() throws InterruptedException {
    // A load caches a writable, clean entry; later stores through it never set D, so a sync
    // that trusts the hardware dirty bit alone misses them. A small buffer and many loads make
    // it likely that some page's last writes go that way.
    Outcome o = stress(HardwareModel.WEAK, SyncMode.CLEAN_ONLY, ACCESSES, 1, 4, 2);
    System.out.printf("stress WEAK/CLEAN_ONLY: %d accesses, %d syncs, %d ms, pages lost: %s%n",
        o.accesses(), o.syncs(), o.millis(), o.lost());
    assertTrue(!o.lost().isEmpty(), "expected lost writes on the weak model");
  }

  @Test
  void negativeControlNoFlushFailsTheStressToo() throws InterruptedException {
    Machine m = Machine.builder().cpus(2).build();
    DirtyTrackingDriver d = new DirtyTrackingDriver(m, "bo", 4, true, BrokenSyncs.NO_FLUSH);
    Vma v = d.mmap(m.newMm("A"), 0x10000, 0, 4);
    m.cpu(0).store(v.mm(), v.start(), 1); // caches a writable, dirty entry
    d.sync(); // write-protects and cleans, but no CPU is told
    m.cpu(0).store(v.mm(), v.start(), 2); // through the stale entry: no fault, no dirty bit
    d.sync();
    assertEquals(List.of(0), d.mismatchedPages());
  }
}
