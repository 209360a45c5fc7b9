package dev.ptwalk.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PteTest {
  @Test
  void bitsSitWhereX86PutsThem() {
    assertEquals(1L, Pte.PRESENT);
    assertEquals(1L << 1, Pte.RW);
    assertEquals(1L << 2, Pte.USER);
    assertEquals(1L << 5, Pte.ACCESSED);
    assertEquals(1L << 6, Pte.DIRTY);
    assertEquals(1L << 7, Pte.PSE);
    assertEquals(1L << 10, Pte.UFFD_WP);
    assertEquals(1L << 11, Pte.SOFT_DIRTY);
    assertEquals(0x000f_ffff_ffff_f000L, Pte.PFN_MASK);
  }

  @Test
  void pfnRoundTripsThroughBits12To51() {
    long pte = Pte.pfnPte(0xabcdef1234L, Pte.PRESENT | Pte.RW);
    assertEquals(0xabcdef1234L << 12 | 0b11, pte);
    assertEquals(0xabcdef1234L, Pte.pfn(pte));
    assertEquals(Pte.PRESENT | Pte.RW, Pte.flags(pte));
    assertEquals(Pte.MAX_PFN, Pte.pfn(Pte.pfnPte(Pte.MAX_PFN, 0)));
  }

  @Test
  void pfnPteRejectsBadInput() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Pte.pfnPte(1L << 40, 0));
    assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Pte.pfnPte(-1, 0));
    e = assertThrows(IllegalArgumentException.class, () -> Pte.pfnPte(1, 1L << 12));
    assertTrue(e.getMessage().contains("pfn field"), e.getMessage());
  }

  @Test
  void predicatesReadOneBitEach() {
    long all = Pte.pfnPte(7, Pte.PRESENT | Pte.RW | Pte.ACCESSED | Pte.DIRTY | Pte.SOFT_DIRTY
        | Pte.UFFD_WP | Pte.USER | Pte.PSE);
    assertTrue(Pte.present(all) && Pte.write(all) && Pte.young(all) && Pte.dirty(all)
        && Pte.softDirty(all) && Pte.uffdWp(all) && Pte.user(all) && Pte.huge(all));
    long none = 0;
    assertTrue(Pte.none(none));
    assertFalse(Pte.present(none) || Pte.write(none) || Pte.young(none) || Pte.dirty(none)
        || Pte.softDirty(none) || Pte.uffdWp(none));
  }

  @Test
  void modifiersChangeExactlyTheirBits() {
    long p = Pte.pfnPte(0x42, Pte.PRESENT | Pte.RW | Pte.ACCESSED | Pte.DIRTY);
    assertEquals(p & ~Pte.RW, Pte.wrprotect(p));
    assertEquals(p & ~Pte.DIRTY, Pte.mkclean(p));
    assertEquals(p & ~Pte.ACCESSED, Pte.mkold(p));
    long bare = Pte.pfnPte(0x42, Pte.PRESENT);
    assertEquals(bare | Pte.RW, Pte.mkwrite(bare));
    assertEquals(bare | Pte.DIRTY | Pte.SOFT_DIRTY, Pte.mkdirty(bare));
    assertEquals(bare | Pte.ACCESSED, Pte.mkyoung(bare));
    assertEquals(bare | Pte.SOFT_DIRTY, Pte.mksoftDirty(bare));
    assertEquals(bare, Pte.clearSoftDirty(bare | Pte.SOFT_DIRTY));
    assertEquals(bare | Pte.UFFD_WP, Pte.mkuffdWp(bare | Pte.RW));
    assertEquals(bare, Pte.clearUffdWp(bare | Pte.UFFD_WP));
    assertEquals(bare | Pte.PSE, Pte.mkhuge(bare));
    // Idempotent, and the pfn is never touched.
    assertEquals(Pte.wrprotect(p), Pte.wrprotect(Pte.wrprotect(p)));
    assertEquals(0x42, Pte.pfn(Pte.mkclean(Pte.wrprotect(Pte.mkold(p)))));
  }

  @Test
  void moreRestrictiveMeansSomethingCachedIsTakenAway() {
    long p = Pte.pfnPte(9, Pte.PRESENT | Pte.RW | Pte.ACCESSED | Pte.DIRTY);
    assertTrue(Pte.moreRestrictive(p, Pte.wrprotect(p)));
    assertTrue(Pte.moreRestrictive(p, Pte.mkclean(p)));
    assertTrue(Pte.moreRestrictive(p, 0));
    assertTrue(Pte.moreRestrictive(p, Pte.pfnPte(10, Pte.flags(p))));
    assertFalse(Pte.moreRestrictive(p, Pte.mkold(p)), "clearing A needs no flush");
    assertFalse(Pte.moreRestrictive(Pte.wrprotect(p), p), "granting write is not restrictive");
    assertFalse(Pte.moreRestrictive(0, p), "none to present is not restrictive");
    assertFalse(Pte.moreRestrictive(p, p));
  }

  @Test
  void toStringReadsLikeAPteDump() {
    assertEquals("none", Pte.toString(0));
    assertEquals("pfn=0x1f P RW U A D",
        Pte.toString(Pte.pfnPte(0x1f, Pte.PRESENT | Pte.RW | Pte.USER | Pte.ACCESSED | Pte.DIRTY)));
  }
}
