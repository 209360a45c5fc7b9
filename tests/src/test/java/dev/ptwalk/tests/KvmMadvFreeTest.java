package dev.ptwalk.tests;

import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Reclaim;
import dev.ptwalk.runtime.mm.ReclaimResult;
import dev.ptwalk.runtime.notifier.SecondaryMmu;
import dev.ptwalk.runtime.notifier.SecondaryMmu.Counts;
import dev.ptwalk.runtime.notifier.SecondaryMmu.DirtyMarking;
import dev.ptwalk.runtime.notifier.SecondaryMmu.InvalidationPolicy;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.samples.kinds.LazyFreeWalkers;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seed 000's question measured: {@code MADV_FREE} brackets its walk with {@code CLEAR}, so KVM
 * zaps and the guest faults again; a write-protect treatment would keep read-only sptes. A guest
 * with a 64-page working set, 8 rounds; each round the host frees the set lazily (the generated
 * {@code LAZYFREE} walker), the guest reads all 64 pages and writes 16 of them (a different
 * quarter each round), and reclaim passes over all 64. Exact counts per policy and per
 * dirty-marking order (README, "Seed 000"); in every case no write the guest made after the
 * {@code MADV_FREE} is lost.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KvmMadvFreeTest {
  private static final long Q0 = 0x4000_0000L;
  private static final long P = Pgtable.PAGE_SIZE;
  static final int PAGES = 64;
  static final int WRITES = 16;
  static final int ROUNDS = 8;

  /**
   * What a run did: the secondary MMU's counts for the rounds (the first population excluded),
   * pages reclaim discarded, pages it kept, and guest writes found missing afterwards.
   */
  record Figures(Counts counts, long discarded, long kept, long lostWrites) {}

  static Figures run(InvalidationPolicy policy, DirtyMarking marking) {
    Machine m = Machine.builder().verify(true).build();
    MmStruct a = m.newMm("A");
    a.mmap(null, Q0, PAGES, 0, VM_READ | VM_WRITE);
    SecondaryMmu kvm = SecondaryMmu.builder("kvm", a).policy(policy).dirtyMarking(marking)
        .build();
    long[] expected = new long[PAGES];
    for (int p = 0; p < PAGES; p++) {
      expected[p] = 1;
      kvm.write(Q0 + p * P, 1);
    }
    Counts before = kvm.counts();
    long discarded = 0;
    long kept = 0;
    long lost = 0;
    for (int round = 0; round < ROUNDS; round++) {
      LazyFreeWalkers.madviseFree(a, Q0, Q0 + PAGES * P);
      for (int p = 0; p < PAGES; p++) {
        long v = kvm.read(Q0 + p * P);
        if (v != expected[p] && v != 0) {
          throw new AssertionError("page " + p + " reads " + v + ", neither its last value "
              + expected[p] + " nor a freed page");
        }
      }
      int first = (round % (PAGES / WRITES)) * WRITES;
      for (int p = first; p < first + WRITES; p++) {
        expected[p] = 1000L * (round + 1) + p;
        kvm.write(Q0 + p * P, expected[p]);
      }
      for (int p = 0; p < PAGES; p++) {
        ReclaimResult r = Reclaim.reclaimPage(a, Q0 + p * P);
        if (r == ReclaimResult.DISCARDED) {
          discarded++;
        } else {
          kept++;
        }
      }
      for (int p = first; p < first + WRITES; p++) {
        long pte = a.followPte(Q0 + p * P); // looked at without touching anything
        if (!Pte.present(pte) || m.physMem().read(Pte.pfn(pte), 0) != expected[p]) {
          lost++;
        }
      }
    }
    m.assertQuiet();
    Counts after = kvm.counts();
    Counts rounds = new Counts(after.faults() - before.faults(),
        after.faultRetries() - before.faultRetries(), after.zaps() - before.zaps(),
        after.writeProtects() - before.writeProtects(), after.dirtyMarks() - before.dirtyMarks(),
        after.fastAgings() - before.fastAgings(), after.lockedAgings() - before.lockedAgings());
    return new Figures(rounds, discarded, kept, lost);
  }

  @Test
  void zapUnderOnMapFaultsOnEveryReadAndFreesNothing() {
    assertEquals(new Figures(new Counts(512, 0, 576, 0, 512, 0, 0), 0, 512, 0),
        run(InvalidationPolicy.ZAP, DirtyMarking.ON_MAP), "each round: 64 sptes zapped by"
            + " MADV_FREE (the first) or by reclaim, 64 read faults that map writable"
            + " (map_writable) and so mark every folio dirty: reclaim keeps all 64");
  }

  @Test
  void zapUnderOnZapFreesWhatTheGuestOnlyRead() {
    assertEquals(new Figures(new Counts(624, 112, 640, 0, 176, 0, 0), 160, 352, 0),
        run(InvalidationPolicy.ZAP, DirtyMarking.ON_ZAP));
  }

  @Test
  void writeProtectKeepsReadOnlySptesSoReadsDoNotFault() {
    assertEquals(new Figures(new Counts(272, 112, 272, 176, 128, 0, 0), 160, 352, 0),
        run(InvalidationPolicy.WRPROTECT, DirtyMarking.ON_MAP), "reads go through the kept"
            + " read-only sptes, so only written and freed pages fault, and MADV_FREE frees the"
            + " pages the guest did not write");
    assertEquals(new Figures(new Counts(272, 112, 272, 176, 176, 0, 0), 160, 352, 0),
        run(InvalidationPolicy.WRPROTECT, DirtyMarking.ON_ZAP));
  }
}
