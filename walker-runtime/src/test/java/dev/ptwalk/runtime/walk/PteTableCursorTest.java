package dev.ptwalk.runtime.walk;

import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.pgtable.PagingMode;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PteTableCursorTest {
  private static List<Long> starts(PteTableCursor c) {
    List<Long> out = new ArrayList<>();
    for (PteTable pt = c.next(); pt != null; pt = c.next()) {
      out.add(pt.start());
    }
    return out;
  }

  @Test
  void visitsOnlyPopulatedTablesInOrder() {
    Machine m = Machine.builder().build();
    MmStruct mm = m.newMm("A");
    long base = 0x1000_0000_0000L;
    Vma vma = mm.mmap(null, base, 1L << 30, 0, VM_READ | VM_WRITE); // 4 TiB
    long[] populated = {base + 0x1000, base + (3L << 21), base + (700L << 30), base + (1L << 41)};
    for (long a : populated) {
      mm.pgd().pteAlloc(a);
    }
    assertEquals(List.of(base, base + (3L << 21), base + (700L << 30), base + (1L << 41)),
        starts(new PteTableCursor(vma, vma.start(), vma.end())));
    // A sub-range sees just the tables it intersects.
    assertEquals(List.of(base + (3L << 21)),
        starts(new PteTableCursor(vma, base + (3L << 21) + 0x5000, base + (4L << 21))));
    assertEquals(List.of(), starts(new PteTableCursor(vma, base + (4L << 21), base + (5L << 21))));
  }

  private static List<Long> stepped(Vma vma, long start, long end) {
    List<Long> out = new ArrayList<>();
    for (PteTable pt = PteTableCursor.first(vma, start, end); pt != null;
        pt = PteTableCursor.next(vma, pt, end)) {
      out.add(pt.start());
    }
    return out;
  }

  @Test
  void staticSteppingVisitsTheSameTablesAsTheCursor() {
    Machine m = Machine.builder().build();
    MmStruct mm = m.newMm("A");
    long base = 0x1000_0000_0000L;
    Vma vma = mm.mmap(null, base, 1L << 33, 0, VM_READ | VM_WRITE); // 32 TiB
    SplittableRandom rnd = new SplittableRandom(11);
    for (int k = 0; k < 300; k++) {
      // Clusters and strays: neighbouring tables, tables sharing PMD pages, lone tables.
      long a = base + (rnd.nextLong(1L << 33) << 12);
      mm.pgd().pteAlloc(a);
      mm.pgd().pteAlloc(Math.min(a + Pgtable.PMD_SIZE, vma.end() - 4096));
    }
    List<Long> all = starts(new PteTableCursor(vma, vma.start(), vma.end()));
    assertEquals(mm.pgd().pteTableCount(), all.size());
    assertEquals(all, stepped(vma, vma.start(), vma.end()));
    List<Long> sorted = new ArrayList<>(all);
    sorted.sort(null);
    assertEquals(sorted, all, "in address order");
    // Sub-ranges starting and ending inside tables see the tables they intersect.
    long from = all.get(100) + 0x3000;
    long to = all.get(200) + 0x1000;
    assertEquals(all.subList(100, 201), stepped(vma, from, to));
    assertEquals(all.subList(100, 201), starts(new PteTableCursor(vma, from, to)));
    // A gap between two tables holds none.
    int k = 0;
    while (all.get(k + 1) == all.get(k) + Pgtable.PMD_SIZE) {
      k++;
    }
    assertNull(PteTableCursor.first(vma, all.get(k) + Pgtable.PMD_SIZE, all.get(k + 1)));
  }

  @Test
  void staticSteppingWarnsOncePerHugeLeaf() {
    Machine m = Machine.builder().trace(true).build();
    MmStruct mm = m.newMm("A");
    Vma vma = mm.mmap(null, 0x4000_0000L, 3L << 18, 0, VM_READ | VM_WRITE | VM_SHARED | VM_IO);
    mm.pgd().pteAlloc(0x4000_0000L);
    mm.pgd().setHugeLeaf(0x4020_0000L, Pgtable.PMD_SHIFT, Pte.pfnPte(0x800, Pte.PRESENT));
    mm.pgd().pteAlloc(0x4040_0000L);
    mm.pgd().setHugeLeaf(0x8000_0000L, Pgtable.PUD_SHIFT, Pte.pfnPte(0x40000, Pte.PRESENT));
    mm.pgd().pteAlloc(0xc000_0000L);
    assertEquals(List.of(0x4000_0000L, 0x4040_0000L, 0xc000_0000L),
        stepped(vma, vma.start(), vma.end()));
    assertEquals(2, m.counters().warnings());
    List<TraceEvent.Warning> w = m.trace().events(TraceEvent.Warning.class);
    assertTrue(w.get(0).message().contains("huge PMD leaf at 0x40200000"), w.get(0).message());
    assertTrue(w.get(1).message().contains("huge PUD leaf at 0x80000000"), w.get(1).message());
    // Starting inside the PUD leaf warns about it, then finds the table after it.
    assertEquals(List.of(0xc000_0000L), stepped(vma, 0x8010_0000L, vma.end()));
    assertEquals(3, m.counters().warnings());
  }

  @Test
  void worksAcrossTheTopOfFiveLevelSpace() {
    Machine m = Machine.builder().pagingMode(PagingMode.FIVE_LEVEL).build();
    MmStruct mm = m.newMm("A");
    long start = (1L << 55);
    Vma vma = mm.mmap(null, start, (m.pagingMode().taskSize() - start) >>> 12, 0, VM_READ);
    long last = m.pagingMode().taskSize() - Pgtable.PAGE_SIZE;
    mm.pgd().pteAlloc(start);
    mm.pgd().pteAlloc(last);
    assertEquals(List.of(start, last & ~(Pgtable.PMD_SIZE - 1)),
        starts(new PteTableCursor(vma, vma.start(), vma.end())));
  }

  @Test
  void hugeLeavesAreSkippedWithAWarningNeverSplit() {
    Machine m = Machine.builder().trace(true).build();
    MmStruct mm = m.newMm("A");
    Vma vma = mm.mmap(null, 0x4000_0000L, 2L << 18, 0, VM_READ | VM_WRITE | VM_SHARED | VM_IO);
    mm.pgd().pteAlloc(0x4000_0000L);
    mm.pgd().setHugeLeaf(0x4020_0000L, Pgtable.PMD_SHIFT, Pte.pfnPte(0x800, Pte.PRESENT));
    mm.pgd().setHugeLeaf(0x8000_0000L, Pgtable.PUD_SHIFT, Pte.pfnPte(0x40000, Pte.PRESENT));
    PteTableCursor c = new PteTableCursor(vma, vma.start(), vma.end());
    assertEquals(List.of(0x4000_0000L), starts(c));
    assertEquals(2, c.hugeLeavesSkipped());
    assertEquals(2, m.counters().warnings());
    List<TraceEvent.Warning> w = m.trace().events(TraceEvent.Warning.class);
    assertTrue(w.get(0).message().contains("huge PMD leaf at 0x40200000"), w.get(0).message());
    assertTrue(w.get(1).message().contains("huge PUD leaf at 0x80000000"), w.get(1).message());
    assertEquals(1, mm.pgd().pteTableCount(), "nothing was split");
  }

  @Test
  void rejectsRangesOutsideTheVma() {
    Machine m0 = Machine.builder().build();
    Vma v = m0.newMm("B").mmap(null, 0x10000, 4, 0, VM_READ);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PteTableCursor.first(v, 0x10000, 0x15000));
    assertTrue(e.getMessage().contains("walk range [0x10000, 0x15000) must be non-empty, page"
        + " aligned and inside"), e.getMessage());
    Machine m = Machine.builder().build();
    Vma vma = m.newMm("A").mmap(null, 0x10000, 4, 0, VM_READ);
    assertThrows(IllegalArgumentException.class, () -> new PteTableCursor(vma, 0xf000, 0x11000));
    assertThrows(IllegalArgumentException.class, () -> new PteTableCursor(vma, 0x10000, 0x10000));
    assertThrows(IllegalArgumentException.class, () -> new PteTableCursor(vma, 0x10001, 0x11000));
    assertNull(new PteTableCursor(vma, 0x10000, 0x14000).next());
  }
}
