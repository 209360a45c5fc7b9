package dev.ptwalk.tests;

import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
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
import dev.ptwalk.runtime.notifier.SecondaryMmu;
import dev.ptwalk.runtime.notifier.SecondaryMmu.Counts;
import dev.ptwalk.runtime.notifier.SecondaryMmu.InvalidationPolicy;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.samples.DirtyHelpersWalkers;
import dev.ptwalk.samples.kinds.SoftDirtyWalkers;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Timeout;

/**
 * The write-protect events other than {@code CLEAR}, through generated walkers: whether the
 * secondary MMU zaps or keeps a read-only spte, a guest store after the walk faults, write-faults
 * the primary, and is recorded by the next walk; only the counts differ.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KvmPolicyTest {
  private static final long Q0 = 0x4000_0000L;
  private static final long P = Pgtable.PAGE_SIZE;

  @ParameterizedTest
  @EnumSource(InvalidationPolicy.class)
  void softDirtyRecordsAGuestStoreUnderEitherPolicy(InvalidationPolicy policy) {
    Machine m = Machine.builder().verify(true).build();
    MmStruct a = m.newMm("A");
    a.mmap(null, Q0, 2, 0, VM_READ | VM_WRITE);
    SecondaryMmu kvm = SecondaryMmu.builder("kvm", a).policy(policy).build();
    kvm.write(Q0, 1);
    kvm.write(Q0 + P, 1);
    long[] first = new long[1];
    assertEquals(2, SoftDirtyWalkers.clearRefsSoftDirty(a, Q0, Q0 + 2 * P, first,
        new DirtyWindow()));
    assertEquals(policy == InvalidationPolicy.WRPROTECT, kvm.spte(Q0) != null,
        "SOFT_DIRTY: kept read-only under write-protect, zapped under zap");
    assertEquals(1, kvm.read(Q0), "a read through the kept spte, or a read fault after a zap");
    kvm.write(Q0 + P, 2);
    assertTrue(Pte.softDirty(a.followPte(Q0 + P)), "the store write-faulted the primary");
    long[] second = new long[1];
    SoftDirtyWalkers.clearRefsSoftDirty(a, Q0, Q0 + 2 * P, second, new DirtyWindow());
    assertEquals(0b10, second[0], "only page 1 was written since the last clear");
    assertEquals(policy == InvalidationPolicy.ZAP ? new Counts(4, 0, 4, 0, 3, 0, 0)
        : new Counts(3, 0, 0, 3, 3, 0, 0), kvm.counts(),
        "zap: the read faults too, and maps the write-protected page read-only (not marked)");
    m.assertQuiet();
  }

  @ParameterizedTest
  @EnumSource(InvalidationPolicy.class)
  void theDriversWrprotectWalkerSeesAGuestStoreUnderEitherPolicy(InvalidationPolicy policy) {
    Machine m = Machine.builder().verify(true).build();
    AddressSpace buf = m.newAddressSpace("buf");
    MmStruct a = m.newMm("A");
    a.mmap(buf, Q0, 2, 0, VM_READ | VM_WRITE | VM_SHARED | VM_IO);
    SecondaryMmu kvm = SecondaryMmu.builder("kvm", a).policy(policy).build();
    kvm.write(Q0, 1);
    assertEquals(1, DirtyHelpersWalkers.applyAsWrprotect(buf, 0, 2));
    assertFalse(Pte.write(a.followPte(Q0)));
    kvm.write(Q0, 2); // VM_IO: hva_to_pfn_remapped write-faults the primary writable again
    assertTrue(Pte.write(a.followPte(Q0)) && Pte.dirty(a.followPte(Q0)));
    long[] bitmap = new long[1];
    assertEquals(1, DirtyHelpersWalkers.applyAsClean(buf, 0, 2, 0, bitmap, new DirtyWindow()));
    assertEquals(1, bitmap[0], "the clean walker finds the guest's store");
    assertEquals(policy == InvalidationPolicy.ZAP ? new Counts(2, 0, 2, 0, 0, 0, 0)
        : new Counts(2, 0, 0, 2, 0, 0, 0), kvm.counts(),
        "a remapped pfn has no folio reference, so nothing is marked");
    m.assertQuiet();
  }
}
