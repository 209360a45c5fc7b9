package dev.ptwalk.kinds;

import static dev.ptwalk.annotations.PteCallback.Kind.YOUNG;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;

import dev.ptwalk.annotations.PteCallback;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.Vma;

/**
 * Leaves of an ager, which clears accessed bits to see which pages are touched again (as idle
 * page tracking and DAMON do): ptwalk generates {@code YoungLeavesWalkers.java} and {@code
 * YoungLeavesWalkers.c} from them, one walker over a range of an mm and one over a file range.
 */
public final class YoungLeaves {
  private YoungLeaves() {}

  /** Make a young PTE old. */
  @PteCallback(YOUNG)
  static long age(long pte) {
    if (!Pte.young(pte)) {
      return pte;
    }
    return Pte.mkold(pte);
  }

  /** Over a file: age the PTEs of shared mappings only. */
  @PteCallback(value = YOUNG, scope = PteCallback.Scope.MAPPING)
  static long ageShared(long pte, long addr, Vma vma) {
    long flags = vma.flags();
    if ((flags & VM_SHARED) == 0) {
      return pte;
    }
    return Pte.mkold(pte);
  }
}
