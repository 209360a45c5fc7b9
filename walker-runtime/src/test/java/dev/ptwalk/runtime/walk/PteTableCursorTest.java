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
    Machine m = Machine.builder().build();
    Vma vma = m.newMm("A").mmap(null, 0x10000, 4, 0, VM_READ);
    assertThrows(IllegalArgumentException.class, () -> new PteTableCursor(vma, 0xf000, 0x11000));
    assertThrows(IllegalArgumentException.class, () -> new PteTableCursor(vma, 0x10000, 0x10000));
    assertThrows(IllegalArgumentException.class, () -> new PteTableCursor(vma, 0x10001, 0x11000));
    assertNull(new PteTableCursor(vma, 0x10000, 0x14000).next());
  }
}
