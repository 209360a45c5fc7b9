package test;

import static dev.ptwalk.annotations.PteCallback.Kind.CLEAN;
import static dev.ptwalk.annotations.PteCallback.Kind.LAZYFREE;
import static dev.ptwalk.annotations.PteCallback.Kind.SOFT_DIRTY;
import static dev.ptwalk.annotations.PteCallback.Kind.UFFD_WP;
import static dev.ptwalk.annotations.PteCallback.Kind.WRPROTECT;
import static dev.ptwalk.annotations.PteCallback.Kind.YOUNG;
import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.mm.VmFlags;

/**
 * One callback of every kind and scope, together using every form of the callback language that
 * docs/c-translation.md lists: ptwalk translates them all to C, and KernelCompileTest compiles
 * that C (one file, every shape) against Linux 6.12 with W=1.
 */
final class Language {
  private Language() {}

  /** Locals, an else-if chain, the Vma accessors, the constants, PTE equality. */
  @PteCallback(WRPROTECT)
  static long wrprotect(long pte, long addr, Vma vma) {
    if (!Pte.present(pte) || Pte.huge(pte)) {
      return pte;
    }
    long flags = vma.flags();
    boolean sharedWritable = vma.hasFlags(VmFlags.VM_SHARED | VmFlags.VM_WRITE);
    long firstAddr = vma.start() + (vma.pgoff() << 12);
    if (sharedWritable && addr >= firstAddr && vma.contains(addr)) {
      long protectedPte = Pte.wrprotect(pte);
      return protectedPte;
    } else if ((flags & VM_IO) != 0 || vma.lastPgoff() - vma.pages() > 0x10L) {
      return pte == Pte.wrprotect(pte) ? pte : Pte.wrprotect(pte);
    } else {
      long unused = Pte.pfn(pte) >>> 3;
      return Pte.user(pte) && (Pte.flags(pte) & Pte.RW) != 0 ? Pte.wrprotect(pte) : pte;
    }
  }

  /** A parameter named otherwise than pte, and assigned. */
  @PteCallback(value = CLEAN, bitmap = true)
  static long clean(long p) {
    if (Pte.dirty(p))
      p = Pte.mkclean(p);
    return p;
  }

  /** A var local and a conditional. */
  @PteCallback(SOFT_DIRTY)
  static long softDirty(long pte) {
    var cleared = Pte.clearSoftDirty(Pte.wrprotect(pte));
    return Pte.softDirty(pte) || Pte.write(pte) ? cleared : pte;
  }

  /** Shifts, bit numbers, literals, the complement. */
  @PteCallback(value = UFFD_WP, bitmap = true)
  static long uffdWp(long pte, long addr) {
    long bit = (Pte.flags(pte) >>> Pte.BIT_UFFD_WP) & 1L;
    long mask = ~(-1L << 21) & 0x1f_ffffL;
    if (bit == 0 && (addr & mask) > 0x10L && !Pte.uffdWp(pte)) {
      return Pte.mkuffdWp(pte);
    }
    return pte;
  }

  /** A nested if that would take the wrong else without braces, and a boolean local. */
  @PteCallback(YOUNG)
  static long age(long pte, long addr) {
    boolean old = !Pte.young(pte);
    if (addr < 0x1000L) {
      if (old) {
        return pte;
      }
    } else {
      pte = Pte.mkold(pte);
    }
    return old ? pte : Pte.mkold(pte);
  }

  /** The VMA's flags over a file, read once. */
  @PteCallback(value = YOUNG, scope = PteCallback.Scope.MAPPING, bitmap = true)
  static long ageShared(long pte, long addr, Vma vma) {
    long vmFlags = vma.flags();
    return (vmFlags & VmFlags.VM_SHARED) != 0 && Pte.young(pte) ? Pte.mkold(pte) : pte;
  }

  /** A declaration after a statement, hoisted to the top of its block. */
  @PteCallback(LAZYFREE)
  static long lazyfree(long pte) {
    if (Pte.none(pte)) {
      return pte;
    }
    long cleanPte = Pte.mkclean(pte);
    long oldPte = Pte.mkold(cleanPte);
    return oldPte;
  }
}
