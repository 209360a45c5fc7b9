package dev.ptwalk.runtime.pgtable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Pte;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PgdTest {
  @Test
  void tablesAreAllocatedLazilyOnePerLevel() {
    Pgd pgd = new Pgd(PagingMode.FOUR_LEVEL);
    assertEquals(1, pgd.directoryCount());
    assertEquals(0, pgd.pteTableCount());
    assertNull(pgd.pteOffset(0x7f00_0000_0000L));
    assertEquals(0, pgd.pteTableCount(), "a lookup never allocates");

    PteTable pt = pgd.pteAlloc(0x7f00_0000_1000L);
    assertEquals(3, pgd.directoryCount(), "PGD + PUD + PMD pages");
    assertEquals(1, pgd.pteTableCount());
    assertEquals(0x7f00_0000_0000L, pt.start());
    assertEquals(0x7f00_0020_0000L, pt.end());
    assertSame(pt, pgd.pteAlloc(0x7f00_001f_f000L), "same 2 MiB span, same table");
    assertSame(pt, pgd.pteOffset(0x7f00_0000_5000L));

    pgd.pteAlloc(0x7f00_0020_0000L); // next PMD entry: new PTE table only
    assertEquals(3, pgd.directoryCount());
    assertEquals(2, pgd.pteTableCount());
    pgd.pteAlloc(0x7f00_4000_0000L); // next PUD entry: new PMD page and PTE table
    assertEquals(4, pgd.directoryCount());
    assertEquals(3, pgd.pteTableCount());
  }

  @Test
  void indexOfAnAddressIsBits12To20() {
    PteTable pt = new Pgd(PagingMode.FOUR_LEVEL).pteAlloc(0x20_0000L);
    assertEquals(0, pt.index(0x20_0000L));
    assertEquals(511, pt.index(0x3f_f000L));
    assertEquals(5, pt.index(0x20_5abcL));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> pt.index(0x40_0000L));
    assertTrue(e.getMessage().contains("not mapped by the PTE table at 0x200000"), e.getMessage());
  }

  @Test
  void fourLevelStopsAt47BitsAndFiveLevelAt56() {
    assertEquals((1L << 47) - 4096, PagingMode.FOUR_LEVEL.taskSize());
    assertEquals((1L << 56) - 4096, PagingMode.FIVE_LEVEL.taskSize());
    assertEquals(39, PagingMode.FOUR_LEVEL.pgdirShift());
    assertEquals(48, PagingMode.FIVE_LEVEL.pgdirShift());

    Pgd four = new Pgd(PagingMode.FOUR_LEVEL);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> four.pteAlloc(1L << 47));
    assertTrue(e.getMessage().contains("47-bit user address limit"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> four.pteAlloc(0xffff_8000_0000_0000L));
    assertTrue(e.getMessage().contains("non-canonical"), e.getMessage());
    assertEquals(0, four.pteTableCount(), "a rejected address allocates nothing");

    Pgd five = new Pgd(PagingMode.FIVE_LEVEL);
    PteTable high = five.pteAlloc(1L << 52);
    assertEquals(1L << 52, high.start());
    assertEquals(4, five.directoryCount(), "PGD, P4D, PUD, PMD pages");
    assertThrows(IllegalArgumentException.class, () -> five.pteAlloc(1L << 56));
  }

  @Test
  void hugeLeavesAtPmdAndPud() {
    Pgd pgd = new Pgd(PagingMode.FOUR_LEVEL);
    long leaf = Pte.pfnPte(0x200, Pte.PRESENT | Pte.RW);
    pgd.setHugeLeaf(0x4000_0000L, Pgtable.PUD_SHIFT, leaf);
    pgd.setHugeLeaf(0x20_0000L, Pgtable.PMD_SHIFT, leaf);
    assertEquals(Pte.mkhuge(leaf), pgd.hugeLeaf(0x4000_0000L + 0x1234_5000L));
    assertEquals(Pte.mkhuge(leaf), pgd.hugeLeaf(0x3f_f000L));
    assertEquals(0, pgd.hugeLeaf(0x40_0000L));
    assertNull(pgd.pteOffset(0x20_0000L), "a huge PMD leaf has no PTE table below it");

    IllegalStateException s =
        assertThrows(IllegalStateException.class, () -> pgd.pteAlloc(0x21_0000L));
    assertTrue(s.getMessage().contains("huge PMD leaf"), s.getMessage());
    IllegalArgumentException a = assertThrows(IllegalArgumentException.class,
        () -> pgd.setHugeLeaf(0x1000L, Pgtable.PMD_SHIFT, leaf));
    assertTrue(a.getMessage().contains("not aligned"), a.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> pgd.setHugeLeaf(0, Pgtable.PAGE_SHIFT, leaf));
    pgd.pteAlloc(0x60_0000L);
    s = assertThrows(IllegalStateException.class,
        () -> pgd.setHugeLeaf(0x60_0000L, Pgtable.PMD_SHIFT, leaf));
    assertTrue(s.getMessage().contains("already mapped at PMD level"), s.getMessage());
  }
}
