package dev.ptwalk.tests;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.notifier.Aging;
import dev.ptwalk.runtime.notifier.MmuNotifier;
import dev.ptwalk.runtime.notifier.SecondaryMmu;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.trace.TraceEvent;
import dev.ptwalk.samples.kinds.YoungWalkers;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seed 004 through the generated {@code YOUNG} walkers: a page only the guest touched is young
 * only in the secondary MMU's spte; the standard aging finds it, the fast-only form (not merged)
 * skips a slow MMU and says so, a fast MMU's young answer makes it look around, and a fast-only
 * aging that ignores {@code has_fast_aging} reaches the slow MMU and is caught.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KvmAgingTest {
  private static final long Q0 = 0x4000_0000L; // PMD aligned
  private static final long P = Pgtable.PAGE_SIZE;

  private final Machine m = Machine.builder().verify(true).trace(true).build();
  private final MmStruct a = m.newMm("A");

  /** Four pages the host wrote, then aged once so that no primary PTE is young. */
  private void populated() {
    a.mmap(null, Q0, 4, 0, VM_READ | VM_WRITE);
    for (int i = 0; i < 4; i++) {
      m.cpu(0).store(a, Q0 + i * P, i);
    }
    assertEquals(4, YoungWalkers.ageRange(a, Q0, Q0 + 4 * P, new long[1], new DirtyWindow()));
  }

  private long ageRange(long[] bitmap, Aging aging) {
    return YoungWalkers.ageRange(a, Q0, Q0 + 4 * P, bitmap, new DirtyWindow(), aging);
  }

  @Test
  void aPageOnlyTheGuestTouchedIsYoungToTheStandardAging() {
    populated();
    SecondaryMmu kvm = new SecondaryMmu("kvm", a);
    kvm.read(Q0 + 2 * P);
    assertFalse(Pte.young(a.followPte(Q0 + 2 * P)), "GUP-fast did not touch the primary PTE");
    long[] bitmap = new long[1];
    Aging aging = Aging.standard();
    assertEquals(1, ageRange(bitmap, aging));
    assertEquals(1L << 2, bitmap[0]);
    assertEquals(4, aging.calls(), "one call per present page");
    assertEquals(1, aging.youngPages());
    assertFalse(kvm.spte(Q0 + 2 * P).young(), "clear_young cleared the spte's A bit");
    assertEquals(0, YoungWalkers.ageRange(a, Q0, Q0 + 4 * P, new long[1], new DirtyWindow()),
        "the overload without an Aging is the standard one: nothing young any more");
    m.assertQuiet();
  }

  @Test
  void fastOnlyWithASlowMmuMissesItAndSaysWhy() {
    populated();
    SecondaryMmu kvm = new SecondaryMmu("kvm", a);
    kvm.read(Q0 + 2 * P);
    long[] bitmap = new long[1];
    Aging aging = Aging.fastOnly();
    assertEquals(0, ageRange(bitmap, aging));
    assertEquals(0, bitmap[0]);
    assertEquals(List.of(kvm), aging.skipped(), "the result names the slow MMU it skipped");
    assertEquals(4, aging.skippedCalls());
    assertEquals(0, kvm.counts().lockedAgings(), "and it was never asked");
    assertTrue(kvm.spte(Q0 + 2 * P).young());
    assertEquals(0, m.counters().warnings());
    m.assertQuiet();
  }

  @Test
  void aFastMmusYoungPageMakesTheWalkLookAroundThatMmu() {
    populated();
    SecondaryMmu kvm = SecondaryMmu.builder("kvm", a).fastAging(true).build();
    for (int i = 1; i < 4; i++) {
      kvm.read(Q0 + i * P);
    }
    long[] bitmap = new long[1];
    Aging aging = Aging.fastOnly();
    assertEquals(3, ageRange(bitmap, aging));
    assertEquals(0b1110, bitmap[0]);
    assertEquals(1, aging.lookArounds(), "one look-around, at page 1");
    assertEquals(1, aging.fastYoung());
    assertEquals(new TreeSet<>(List.of(Q0 + 2 * P, Q0 + 3 * P)), aging.lookAroundYoung(a),
        "pages 2 and 3 were found young by the look-around, and reported when the walk came");
    assertEquals(List.of(), aging.skipped());
    assertEquals(0, kvm.counts().lockedAgings(), "fast: never took its mmu_lock");
    m.assertQuiet();
  }

  @Test
  void theMappingWalkerAsksTheMmusOfEveryMm() {
    AddressSpace file = m.newAddressSpace("f");
    a.mmap(file, Q0, 2, 0, VM_READ | VM_WRITE | VM_SHARED);
    MmStruct b = m.newMm("B");
    b.mmap(file, Q0, 2, 0, VM_READ | VM_WRITE | VM_SHARED);
    m.cpu(0).load(a, Q0);
    m.cpu(0).load(a, Q0 + P);
    m.cpu(1).load(b, Q0 + P);
    YoungWalkers.ageMapping(file, 0, 2, 0, new long[1], new DirtyWindow());
    SecondaryMmu fast = SecondaryMmu.builder("fast", b).fastAging(true).build();
    SecondaryMmu slow = new SecondaryMmu("slow", a);
    fast.read(Q0 + P);
    slow.read(Q0);
    long[] bitmap = new long[1];
    Aging aging = Aging.fastOnly();
    assertEquals(1, YoungWalkers.ageMapping(file, 0, 2, 0, bitmap, new DirtyWindow(), aging));
    assertEquals(1L << 1, bitmap[0], "page 1, young in B's fast MMU; page 0 only in A's slow one");
    assertEquals(List.of(slow), aging.skipped());
    m.assertQuiet();
  }

  @Test
  void aFastOnlyAgingThatIgnoresHasFastAgingCallsTheSlowMmuAndIsCaught() {
    populated();
    SecondaryMmu kvm = new SecondaryMmu("kvm", a);
    kvm.read(Q0 + 2 * P);
    Aging broken = new Aging(true, true) {
      @Override
      protected boolean skip(MmuNotifier subscription) {
        return false; // mmu_notifier_clear_young_fast_only without the has_fast_aging test
      }
    };
    long[] bitmap = new long[1];
    assertEquals(1, ageRange(bitmap, broken), "it got an answer it should never have asked for");
    assertEquals(4, kvm.counts().lockedAgings(), "the slow MMU took its mmu_lock four times");
    assertEquals(4, m.counters().warnings());
    assertEquals("mm A: secondary MMU kvm without has_fast_aging was asked to age fast-only: it"
        + " takes mmu_lock to answer, and may block",
        m.trace().events(TraceEvent.Warning.class).get(0).message());
  }
}
