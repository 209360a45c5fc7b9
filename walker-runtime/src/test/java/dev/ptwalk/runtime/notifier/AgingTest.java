package dev.ptwalk.runtime.notifier;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.pgtable.Pgtable;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link Aging}: the standard form asks every secondary MMU, the fast-only form skips slow ones and
 * says which, and a fast MMU's young answer makes it look around, within the PMD and the VMA.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AgingTest {
  private static final long BASE = 0x4000_0000L; // PMD aligned
  private static final long P = Pgtable.PAGE_SIZE;

  private final Machine machine = Machine.builder().trace(true).build();
  private final MmStruct mm = machine.newMm("A");

  private TreeSet<Long> pages(long... indexes) {
    TreeSet<Long> s = new TreeSet<>();
    for (long i : indexes) {
      s.add(BASE + i * P);
    }
    return s;
  }

  @Test
  void standardAsksEveryMmuAndLooksNowhere() {
    mm.mmap(null, BASE, 8, 0, VM_READ | VM_WRITE);
    SecondaryMmu fast = SecondaryMmu.builder("fast", mm).fastAging(true).build();
    SecondaryMmu slow = new SecondaryMmu("slow", mm);
    fast.write(BASE, 1);
    slow.write(BASE + P, 2);
    Aging aging = Aging.standard();
    assertFalse(aging.isFastOnly() || aging.looksAround());
    assertTrue(aging.clearYoung(mm, BASE, BASE + P));
    assertTrue(aging.clearYoung(mm, BASE + P, BASE + 2 * P));
    assertFalse(aging.clearYoung(mm, BASE + 2 * P, BASE + 3 * P));
    assertEquals(3, aging.calls());
    assertEquals(2, aging.youngPages());
    assertEquals(1, aging.fastYoung(), "only the fast MMU says WAS_FAST");
    assertEquals(List.of(), aging.skipped());
    assertEquals(0, aging.lookArounds());
    assertEquals(3, slow.counts().lockedAgings());
    assertEquals(3, fast.counts().fastAgings());
  }

  @Test
  void fastOnlySkipsTheSlowMmuAndSaysSo() {
    mm.mmap(null, BASE, 2, 0, VM_READ | VM_WRITE);
    SecondaryMmu slow = new SecondaryMmu("slow", mm);
    slow.write(BASE, 1);
    Aging aging = Aging.fastOnly();
    assertFalse(aging.clearYoung(mm, BASE, BASE + P), "the only MMU that saw it is slow");
    assertEquals(List.of(slow), aging.skipped());
    assertEquals(1, aging.skippedCalls());
    assertEquals(0, aging.youngPages());
    assertEquals(0, slow.counts().lockedAgings(), "never called");
    assertTrue(slow.spte(BASE).young(), "its A bit is still there for a standard aging");
    assertTrue(Aging.standard().clearYoung(mm, BASE, BASE + P));
    assertEquals("fast-only aging with look-around: 1 calls, 0 young (0 fast), 1 skipped calls"
        + " to 1 slow subscription(s), 0 look-arounds finding 0 young page(s)", aging.toString());
    assertEquals(0, machine.counters().warnings());
  }

  @Test
  void aFastYoungAnswerLooksAroundThatMmuAndReportsTheNeighboursLater() {
    mm.mmap(null, BASE, 8, 0, VM_READ | VM_WRITE);
    SecondaryMmu fast = SecondaryMmu.builder("fast", mm).fastAging(true).build();
    for (long i : new long[] {0, 2, 3, 6}) {
      fast.write(BASE + i * P, i);
    }
    fast.read(BASE + 7 * P); // the zero page: never looked at
    Aging aging = Aging.fastOnly();
    assertTrue(aging.clearYoung(mm, BASE + 2 * P, BASE + 3 * P));
    assertEquals(1, aging.lookArounds());
    assertEquals(pages(0, 3, 6), aging.lookAroundYoung(mm));
    assertFalse(fast.spte(BASE + 3 * P).young(), "the look-around cleared its A bit");
    assertTrue(aging.clearYoung(mm, BASE + 3 * P, BASE + 4 * P),
        "page 3 is reported young: the look-around found it so");
    assertFalse(aging.clearYoung(mm, BASE + 4 * P, BASE + 5 * P));
    assertEquals(3, aging.calls());
    assertEquals(2, aging.youngPages());
    assertEquals(1, aging.fastYoung(), "page 3's answer came from the look-around");
  }

  @Test
  void aSlowYoungAnswerNeverLooksAround() {
    mm.mmap(null, BASE, 4, 0, VM_READ | VM_WRITE);
    SecondaryMmu slow = new SecondaryMmu("slow", mm);
    slow.write(BASE, 1);
    slow.write(BASE + P, 2);
    Aging aging = Aging.of(false, true);
    assertTrue(aging.clearYoung(mm, BASE, BASE + P));
    assertEquals(0, aging.lookArounds(), "seed 004: look around only if it can be done fast");
    assertTrue(slow.spte(BASE + P).young());
  }

  @Test
  void theLookAroundWindowStaysInsideThePmdTheVmaAndMinLruBatch() {
    mm.mmap(null, BASE, 512, 0, VM_READ | VM_WRITE);
    mm.mmap(null, BASE + 512 * P, 4, 0, VM_READ | VM_WRITE);
    SecondaryMmu fast = SecondaryMmu.builder("fast", mm).fastAging(true).build();
    for (long i = 0; i < 516; i++) {
      fast.write(BASE + i * P, i);
    }
    Aging aging = Aging.fastOnly();
    mm.mmapReadLock(); // as an MM walker holds it: the VMA clips the window
    try {
      assertTrue(aging.clearYoung(mm, BASE + 100 * P, BASE + 101 * P));
    } finally {
      mm.mmapReadUnlock();
    }
    TreeSet<Long> expected = new TreeSet<>();
    for (long i = 100 - 32; i < 100 + 32; i++) {
      if (i != 100) {
        expected.add(BASE + i * P);
      }
    }
    assertEquals(expected, aging.lookAroundYoung(mm), "64 pages centred on page 100");
    Aging atTheEnd = Aging.fastOnly();
    mm.mmapReadLock();
    try {
      assertTrue(atTheEnd.clearYoung(mm, BASE + 511 * P, BASE + 512 * P));
    } finally {
      mm.mmapReadUnlock();
    }
    assertEquals(BASE + (512 - 64) * P, atTheEnd.lookAroundYoung(mm).first());
    assertEquals(BASE + 510 * P, atTheEnd.lookAroundYoung(mm).last(),
        "the next VMA's pages (and the next PMD) are not looked at");
  }

  @Test
  void aFastOnlyAgingThatIgnoresHasFastAgingCallsTheSlowMmuAndIsCaught() {
    mm.mmap(null, BASE, 1, 0, VM_READ | VM_WRITE);
    SecondaryMmu slow = new SecondaryMmu("slow", mm);
    slow.write(BASE, 1);
    Aging broken = new Aging(true, true) {
      @Override
      protected boolean skip(MmuNotifier subscription) {
        return false; // the v7 core without "fast_only && !has_fast_aging"
      }
    };
    assertTrue(broken.clearYoung(mm, BASE, BASE + P));
    assertEquals(1, slow.counts().lockedAgings(), "the slow MMU took its mmu_lock");
    assertEquals(1, machine.counters().warnings(), "and said so");
    assertEquals(List.of(), broken.skipped());
  }
}
