package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.samples.driver.DirtyTrackingDriver;
import dev.ptwalk.samples.driver.DirtyTrackingDriver.SyncMode;
import dev.ptwalk.samples.driver.SyncReport;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/** The driver sample's end-to-end property: after the final sync, device == CPU memory. */
class DriverTest {
  private static final long A0 = 0x7f00_0000_0000L;
  private static final long B0 = 0x5555_0000_0000L;

  /** Two processes, two CPUs, random stores over several frames; returns the driver. */
  private static DirtyTrackingDriver run(long seed, SyncMode mode, int frames, int writes) {
    Machine m = Machine.builder().cpus(2).verify(true).build();
    DirtyTrackingDriver d = new DirtyTrackingDriver(m, "bo", 64, mode);
    MmStruct a = m.newMm("A");
    MmStruct b = m.newMm("B");
    Vma va = d.mmap(a, A0, 0, 48);
    Vma vb = d.mmap(b, B0, 16, 48);
    List<Vma> vmas = List.of(va, vb);
    SplittableRandom rnd = new SplittableRandom(seed);
    long value = 0;
    for (int f = 0; f < frames; f++) {
      for (int w = 0; w < writes; w++) {
        Vma v = vmas.get(rnd.nextInt(2));
        long addr = v.start() + rnd.nextLong(v.pages()) * 4096 + rnd.nextInt(512) * 8L;
        if (rnd.nextInt(4) == 0) {
          m.cpu(rnd.nextInt(2)).load(v.mm(), addr);
        } else {
          m.cpu(rnd.nextInt(2)).store(v.mm(), addr, ++value);
        }
      }
      d.sync();
    }
    m.assertQuiet();
    return d;
  }

  @ParameterizedTest
  @EnumSource(SyncMode.class)
  void deviceEqualsMemoryAfterTheFinalSyncOverManySeeds(SyncMode mode) {
    for (long seed = 0; seed < 200; seed++) {
      DirtyTrackingDriver d = run(seed, mode, 4, 40);
      assertEquals(List.of(), d.mismatchedPages(), "seed " + seed + ", " + mode);
    }
  }

  @Test
  void eachSyncCopiesExactlyThePagesWrittenSinceTheLast() {
    Machine m = Machine.builder().cpus(2).verify(true).trace(true).build();
    DirtyTrackingDriver d = new DirtyTrackingDriver(m, "bo", 16, SyncMode.GENERATED);
    MmStruct a = m.newMm("A");
    Vma va = d.mmap(a, A0, 0, 16);
    m.cpu(0).store(a, va.addressOf(3), 1);   // write fault: recorded by the driver
    m.cpu(1).load(a, va.addressOf(5));       // read fault: read-only (writenotify)
    SyncReport first = d.sync();
    assertEquals(List.of(3), first.dirtyPages());
    assertEquals(List.of(3), first.fromMkwrite());
    assertEquals(List.of(3), first.fromPte(), "the write fault also left the PTE dirty");
    assertEquals(2, first.changed(), "page 3 write-protected, then cleaned");

    m.cpu(0).store(a, va.addressOf(5), 2);   // write-protected page: pfn_mkwrite records it
    m.cpu(0).store(a, va.addressOf(5) + 8, 3);
    SyncReport second = d.sync();
    assertEquals(List.of(5), second.dirtyPages());
    assertEquals(List.of(5), second.fromMkwrite());
    assertEquals(2, second.brackets().size(), "wrprotect and clean, one VMA each");
    assertEquals(List.of(), d.mismatchedPages());
    assertEquals(3, d.deviceWord(5, 1));
    m.assertQuiet();
  }

  @Test
  void negativeControlAWriteTheDriverCannotSeeIsCaughtByTheCheck() {
    Machine m = Machine.builder().verify(true).build();
    DirtyTrackingDriver d = new DirtyTrackingDriver(m, "bo", 16, SyncMode.GENERATED);
    Vma va = d.mmap(m.newMm("A"), A0, 0, 16);
    m.cpu(0).store(va.mm(), va.addressOf(2), 7);
    d.sync();
    assertEquals(List.of(), d.mismatchedPages());
    // A device DMA into the page, behind every PTE: nothing tells the driver.
    long pfn = d.buffer().findPage(4);
    m.physMem().write(pfn, 0, 99);
    d.sync();
    assertEquals(List.of(4), d.mismatchedPages());
    assertTrue(d.deviceWord(4, 0) != 99);
  }
}
