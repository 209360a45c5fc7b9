package dev.ptwalk.runtime;

import dev.ptwalk.runtime.check.PteQuery;
import dev.ptwalk.runtime.check.PteTransform;

/**
 * x86-64 page-table entry bits and the kernel's {@code pte_*} helpers, on a plain {@code long}.
 *
 * <p>Mirrors {@code arch/x86/include/asm/pgtable_types.h} and {@code arch/x86/include/asm/pgtable.h}.
 * Every helper is named as the kernel's without its {@code pte_} prefix: {@code pte_write} is
 * {@link #write(long)}, {@code pte_mkclean} is {@link #mkclean(long)}. Helpers are pure functions:
 * they never touch a page table. A PTE is <em>none</em> when it is zero.
 *
 * <p>Layout: present bit 0, RW 1, user 2, PWT 3, PCD 4, accessed 5, dirty 6, PSE 7, global 8,
 * special (software) 9, uffd-wp (software) 10, soft-dirty (software) 11, pfn in bits 12-51, NX 63.
 */
public final class Pte {
  /** {@code _PAGE_BIT_PRESENT}. */
  public static final int BIT_PRESENT = 0;
  /** {@code _PAGE_BIT_RW}. */
  public static final int BIT_RW = 1;
  /** {@code _PAGE_BIT_USER}. */
  public static final int BIT_USER = 2;
  /** {@code _PAGE_BIT_PWT}. */
  public static final int BIT_PWT = 3;
  /** {@code _PAGE_BIT_PCD}. */
  public static final int BIT_PCD = 4;
  /** {@code _PAGE_BIT_ACCESSED}. */
  public static final int BIT_ACCESSED = 5;
  /** {@code _PAGE_BIT_DIRTY}. */
  public static final int BIT_DIRTY = 6;
  /** {@code _PAGE_BIT_PSE}: a huge leaf at PMD or PUD level. */
  public static final int BIT_PSE = 7;
  /** {@code _PAGE_BIT_GLOBAL}. */
  public static final int BIT_GLOBAL = 8;
  /** {@code _PAGE_BIT_SPECIAL}: software bit 9 on x86-64, a PTE with no struct page behind it. */
  public static final int BIT_SPECIAL = 9;
  /** {@code _PAGE_BIT_UFFD_WP}: software bit 10 on x86-64. */
  public static final int BIT_UFFD_WP = 10;
  /** {@code _PAGE_BIT_SOFT_DIRTY}: software bit 11 on x86-64. */
  public static final int BIT_SOFT_DIRTY = 11;
  /** {@code _PAGE_BIT_NX}. */
  public static final int BIT_NX = 63;

  /** {@code _PAGE_PRESENT}. */
  public static final long PRESENT = 1L << BIT_PRESENT;
  /** {@code _PAGE_RW}. */
  public static final long RW = 1L << BIT_RW;
  /** {@code _PAGE_USER}. */
  public static final long USER = 1L << BIT_USER;
  /** {@code _PAGE_PWT}. */
  public static final long PWT = 1L << BIT_PWT;
  /** {@code _PAGE_PCD}. */
  public static final long PCD = 1L << BIT_PCD;
  /** {@code _PAGE_ACCESSED}. */
  public static final long ACCESSED = 1L << BIT_ACCESSED;
  /** {@code _PAGE_DIRTY}. */
  public static final long DIRTY = 1L << BIT_DIRTY;
  /** {@code _PAGE_PSE}. */
  public static final long PSE = 1L << BIT_PSE;
  /** {@code _PAGE_GLOBAL}. */
  public static final long GLOBAL = 1L << BIT_GLOBAL;
  /** {@code _PAGE_SPECIAL}. */
  public static final long SPECIAL = 1L << BIT_SPECIAL;
  /** {@code _PAGE_UFFD_WP}. */
  public static final long UFFD_WP = 1L << BIT_UFFD_WP;
  /** {@code _PAGE_SOFT_DIRTY}. */
  public static final long SOFT_DIRTY = 1L << BIT_SOFT_DIRTY;
  /** {@code _PAGE_NX}. */
  public static final long NX = 1L << BIT_NX;

  /** {@code PTE_PFN_MASK}: bits 12-51. */
  public static final long PFN_MASK = ((1L << 52) - 1) & ~((1L << 12) - 1);
  /** The largest pfn a PTE can hold (40 bits). */
  public static final long MAX_PFN = (1L << 40) - 1;

  /**
   * {@code make_pte_marker(PTE_MARKER_UFFD_WP)}: the PTE of an unpopulated page that userfaultfd
   * write-protected, so that the protection survives until the page is faulted in. Modelled as a
   * non-present, non-none PTE holding only {@link #UFFD_WP}: {@code mkuffdWp(0L)} is this marker,
   * {@link #uffdWp} is true of it and {@link #present} false. The kernel encodes it as a swap
   * entry; no swap entries are modelled, so every non-present, non-none PTE is a marker.
   */
  public static final long PTE_MARKER_UFFD_WP = UFFD_WP;

  private Pte() {}

  /** {@code pfn_pte(pfn, prot)}: a PTE for {@code pfn} with the protection bits {@code prot}. */
  @PteTransform(changesPfn = true)
  public static long pfnPte(long pfn, long prot) {
    if (pfn < 0 || pfn > MAX_PFN) {
      throw new IllegalArgumentException(
          "pfn " + pfn + " does not fit in a PTE (valid: 0.." + MAX_PFN + ")");
    }
    if ((prot & PFN_MASK) != 0) {
      throw new IllegalArgumentException(
          "prot 0x" + Long.toHexString(prot) + " has bits in the pfn field 12-51; pass flags only");
    }
    return (pfn << 12) | prot;
  }

  /** {@code pte_none}: the entry is entirely zero. */
  @PteQuery
  public static boolean none(long pte) {
    return pte == 0;
  }

  /** {@code pte_present}. */
  @PteQuery
  public static boolean present(long pte) {
    return (pte & PRESENT) != 0;
  }

  /** {@code pte_write}. */
  @PteQuery
  public static boolean write(long pte) {
    return (pte & RW) != 0;
  }

  /** {@code pte_dirty}. */
  @PteQuery
  public static boolean dirty(long pte) {
    return (pte & DIRTY) != 0;
  }

  /** {@code pte_young}: the accessed bit. */
  @PteQuery
  public static boolean young(long pte) {
    return (pte & ACCESSED) != 0;
  }

  /** {@code pte_soft_dirty}. */
  @PteQuery
  public static boolean softDirty(long pte) {
    return (pte & SOFT_DIRTY) != 0;
  }

  /** {@code pte_uffd_wp}. */
  @PteQuery
  public static boolean uffdWp(long pte) {
    return (pte & UFFD_WP) != 0;
  }

  /** {@code pte_special}: no struct page behind it (the zero page, a raw pfn). */
  @PteQuery
  public static boolean special(long pte) {
    return (pte & SPECIAL) != 0;
  }

  /** {@code is_pte_marker}: a PTE marker (not present, not none). */
  @PteQuery
  public static boolean isPteMarker(long pte) {
    return pte == PTE_MARKER_UFFD_WP;
  }

  /** {@code pte_marker_uffd_wp}: the uffd-wp marker of a write-protected unpopulated page. */
  @PteQuery
  public static boolean pteMarkerUffdWp(long pte) {
    return pte == PTE_MARKER_UFFD_WP;
  }

  /**
   * {@code pte_swp_uffd_wp_any}: a non-present PTE that carries uffd write-protection, as a swap
   * entry's bit or as a marker (here always a marker).
   */
  @PteQuery
  public static boolean swpUffdWpAny(long pte) {
    return !present(pte) && !none(pte) && uffdWp(pte);
  }

  /** {@code pte_huge}: the PSE bit, set on PMD and PUD leaves. */
  @PteQuery
  public static boolean huge(long pte) {
    return (pte & PSE) != 0;
  }

  /** {@code pte_user}. */
  @PteQuery
  public static boolean user(long pte) {
    return (pte & USER) != 0;
  }

  /** {@code pte_pfn}. */
  @PteQuery
  public static long pfn(long pte) {
    return (pte & PFN_MASK) >>> 12;
  }

  /** {@code pte_flags}: everything but the pfn. */
  @PteQuery
  public static long flags(long pte) {
    return pte & ~PFN_MASK;
  }

  /** {@code pte_wrprotect}: clear RW. */
  @PteTransform(clears = "RW")
  public static long wrprotect(long pte) {
    return pte & ~RW;
  }

  /** {@code pte_mkwrite}: set RW. */
  @PteTransform(sets = "RW")
  public static long mkwrite(long pte) {
    return pte | RW;
  }

  /** {@code pte_mkclean}: clear the dirty bit. */
  @PteTransform(clears = "DIRTY")
  public static long mkclean(long pte) {
    return pte & ~DIRTY;
  }

  /** {@code pte_mkdirty}: set the dirty bit (and soft-dirty, as x86 does). */
  @PteTransform(sets = {"DIRTY", "SOFT_DIRTY"})
  public static long mkdirty(long pte) {
    return pte | DIRTY | SOFT_DIRTY;
  }

  /** {@code pte_mkold}: clear the accessed bit. */
  @PteTransform(clears = "ACCESSED")
  public static long mkold(long pte) {
    return pte & ~ACCESSED;
  }

  /** {@code pte_mkyoung}: set the accessed bit. */
  @PteTransform(sets = "ACCESSED")
  public static long mkyoung(long pte) {
    return pte | ACCESSED;
  }

  /** {@code pte_mksoft_dirty}. */
  @PteTransform(sets = "SOFT_DIRTY")
  public static long mksoftDirty(long pte) {
    return pte | SOFT_DIRTY;
  }

  /** {@code pte_clear_soft_dirty}. */
  @PteTransform(clears = "SOFT_DIRTY")
  public static long clearSoftDirty(long pte) {
    return pte & ~SOFT_DIRTY;
  }

  /** {@code pte_mkuffd_wp}: mark uffd write-protected, which also drops RW. */
  @PteTransform(sets = "UFFD_WP", clears = "RW")
  public static long mkuffdWp(long pte) {
    return wrprotect(pte | UFFD_WP);
  }

  /** {@code pte_clear_uffd_wp}. */
  @PteTransform(clears = "UFFD_WP")
  public static long clearUffdWp(long pte) {
    return pte & ~UFFD_WP;
  }

  /** {@code pte_mkspecial}: set the special bit. */
  @PteTransform(sets = "SPECIAL")
  public static long mkspecial(long pte) {
    return pte | SPECIAL;
  }

  /** {@code pte_mkhuge}: set PSE. */
  @PteTransform(sets = "PSE")
  public static long mkhuge(long pte) {
    return pte | PSE;
  }

  /**
   * Whether going from {@code oldPte} to {@code newPte} takes away something a TLB or a secondary
   * MMU may have cached: presence, write permission, the dirty bit, or the page itself (pfn).
   * Such a change needs an mmu_notifier bracket and a TLB flush before the bracket ends; clearing
   * only the accessed bit does not (the kernel's {@code ptep_test_and_clear_young} flushes nothing).
   */
  @PteQuery
  public static boolean moreRestrictive(long oldPte, long newPte) {
    if (!present(oldPte)) {
      return false;
    }
    if (!present(newPte)) {
      return true;
    }
    if (write(oldPte) && !write(newPte)) {
      return true;
    }
    if (dirty(oldPte) && !dirty(newPte)) {
      return true;
    }
    return pfn(oldPte) != pfn(newPte);
  }

  /**
   * A short human-readable form, as a kernel engineer would read a PTE dump: {@code
   * pfn=0x1234 P RW U A D} (absent bits omitted), {@code none}, or {@code marker UFFD_WP}.
   */
  @PteQuery
  public static String toString(long pte) {
    if (none(pte)) {
      return "none";
    }
    if (isPteMarker(pte)) {
      return "marker UFFD_WP";
    }
    StringBuilder sb = new StringBuilder("pfn=0x").append(Long.toHexString(pfn(pte)));
    if (present(pte)) sb.append(" P");
    if (write(pte)) sb.append(" RW");
    if (user(pte)) sb.append(" U");
    if (young(pte)) sb.append(" A");
    if (dirty(pte)) sb.append(" D");
    if (huge(pte)) sb.append(" PSE");
    if (special(pte)) sb.append(" SPECIAL");
    if (uffdWp(pte)) sb.append(" UFFD_WP");
    if (softDirty(pte)) sb.append(" SD");
    return sb.toString();
  }
}
