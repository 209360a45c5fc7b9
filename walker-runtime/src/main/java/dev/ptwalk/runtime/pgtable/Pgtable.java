package dev.ptwalk.runtime.pgtable;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.check.NeverThrows;
import dev.ptwalk.runtime.check.PteChange;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.trace.Trace;
import dev.ptwalk.runtime.trace.TraceEvent;

/**
 * Page-table geometry and the accessors that change a PTE in place.
 *
 * <p>Mirrors {@code include/linux/pgtable.h} and {@code arch/x86/include/asm/pgtable_64_types.h}.
 * Every software change of a PTE goes through this class, so the trace and the {@linkplain
 * dev.ptwalk.runtime.debug.Verifier verifier} see it: a new engineer looking for "where is a PTE
 * changed" finds {@link #setPteAt}, {@link #ptepModifyProtCommit} and {@link #ptepGetAndClear}.
 * Walkers use the same accessors by slot ({@code pte_t *}), with the verifier and trace state read
 * once per PTE table ({@link #watched}).
 */
public final class Pgtable {
  /** {@code PAGE_SHIFT}. */
  public static final int PAGE_SHIFT = 12;
  /** {@code PAGE_SIZE}: 4 KiB. */
  public static final long PAGE_SIZE = 1L << PAGE_SHIFT;
  /** {@code PAGE_MASK}. */
  public static final long PAGE_MASK = ~(PAGE_SIZE - 1);
  /** {@code PMD_SHIFT}. */
  public static final int PMD_SHIFT = 21;
  /** {@code PMD_SIZE}: 2 MiB, what one PTE table maps. */
  public static final long PMD_SIZE = 1L << PMD_SHIFT;
  /** {@code PMD_MASK}. */
  public static final long PMD_MASK = ~(PMD_SIZE - 1);
  /** {@code PUD_SHIFT}. */
  public static final int PUD_SHIFT = 30;
  /** {@code PUD_SIZE}: 1 GiB. */
  public static final long PUD_SIZE = 1L << PUD_SHIFT;
  /** {@code P4D_SHIFT}. */
  public static final int P4D_SHIFT = 39;
  /** {@code PTRS_PER_PTE}, and per PMD, PUD, P4D and PGD: 512. */
  public static final int PTRS_PER_PTE = 512;

  private Pgtable() {}

  /**
   * Throw unless {@code addr} is a page-aligned, canonical user address below {@code TASK_SIZE}
   * for {@code mode}.
   */
  public static void checkUserAddress(long addr, PagingMode mode) {
    if (addr < 0) {
      throw new IllegalArgumentException(
          "0x" + Long.toHexString(addr) + " is a kernel-half or non-canonical address; user"
              + " addresses are below 0x" + Long.toHexString(mode.taskSize()));
    }
    if (addr >= mode.taskSize()) {
      throw new IllegalArgumentException(
          "0x" + Long.toHexString(addr) + " is past the " + mode.addressBits()
              + "-bit user address limit 0x" + Long.toHexString(mode.taskSize())
              + (mode == PagingMode.FOUR_LEVEL ? " (use PagingMode.FIVE_LEVEL for 56 bits)" : ""));
    }
  }

  /** The kernel's name of the level whose entries map {@code 1 << shift} bytes. */
  public static String levelName(int shift, PagingMode mode) {
    switch (shift) {
      case PMD_SHIFT:
        return "PMD";
      case PUD_SHIFT:
        return "PUD";
      case P4D_SHIFT:
        return mode == PagingMode.FIVE_LEVEL ? "P4D" : "PGD";
      default:
        return "PGD";
    }
  }

  /** {@code ptep_get}: read the PTE for {@code addr} in {@code pt}. */
  public static long ptepGet(PteTable pt, long addr) {
    return pt.get(addr);
  }

  /**
   * {@code set_pte_at}: store {@code pte} for {@code addr}, with the PTE table's lock held. The
   * previous value is read atomically so the verifier can judge the change.
   */
  @PteChange
  public static void setPteAt(MmStruct mm, long addr, PteTable pt, long pte) {
    long old = exchange(pt, addr, pte);
    changed(mm, addr, pt, old, pte);
  }

  /**
   * {@code ptep_get_and_clear}: atomically take the PTE and leave it none; a concurrent hardware
   * access then faults instead of updating a value about to be discarded.
   */
  @PteChange
  public static long ptepGetAndClear(MmStruct mm, long addr, PteTable pt) {
    long old = pt.getAndClear(addr);
    changed(mm, addr, pt, old, 0L);
    return old;
  }

  /**
   * {@code ptep_modify_prot_start}: begin a protection change by atomically reading and clearing
   * the PTE (x86's {@code ptep_get_and_clear}). Until {@link #ptepModifyProtCommit} the entry is
   * not present, so a CPU that wants to set accessed or dirty faults and waits on the ptl instead
   * of setting a bit that the commit would overwrite (CVE-2024-36943).
   *
   * @return the PTE as it was, with every accessed and dirty bit hardware set up to this instant
   */
  @PteChange
  public static long ptepModifyProtStart(Vma vma, long addr, PteTable pt) {
    Machine machine = vma.mm().machine();
    machine.verifier().onModifyProtStart(vma.mm(), addr, pt);
    return pt.takeAt(pt.index(addr));
  }

  /**
   * {@code ptep_modify_prot_commit}: finish a protection change begun by {@link
   * #ptepModifyProtStart}, storing {@code pte}. {@code oldPte} must be the value it returned.
   *
   * <p>As x86's {@code set_pte_at}, the commit is a plain (release) store: the PTE is none since
   * the start, hardware only updates a present PTE (by compare-and-set) and faults on a none one,
   * and every software change holds the ptl the caller holds, so nothing can have changed it.
   * With the verifier on, the commit exchanges instead and reports a PTE that did change.
   */
  @PteChange
  public static void ptepModifyProtCommit(Vma vma, long addr, PteTable pt, long oldPte, long pte) {
    MmStruct mm = vma.mm();
    if (mm.machine().verifier().enabled()) {
      checkedCommit(mm, addr, pt, oldPte, pte);
    } else {
      pt.commitAt(pt.index(addr), oldPte, pte);
    }
    changed(mm, addr, pt, oldPte, pte);
  }

  /**
   * {@code ptep_test_and_clear_young}: clear the accessed bit atomically and say whether it was
   * set. Clearing only the accessed bit needs no TLB flush and no notifier bracket.
   */
  @PteChange(restrictive = false)
  public static boolean ptepTestAndClearYoung(Vma vma, long addr, PteTable pt) {
    while (true) {
      long old = pt.get(addr);
      if (!Pte.young(old)) {
        return false;
      }
      if (pt.compareAndSet(addr, old, Pte.mkold(old))) {
        changed(vma.mm(), addr, pt, old, Pte.mkold(old));
        return true;
      }
    }
  }

  // ---- the same by slot, for walkers: the verifier and the trace read once per table ----

  /**
   * Whether the verifier or the trace of {@code mm}'s machine is on. A walker reads it once per
   * PTE table, with the table's ptl held, and passes it to the slot accessors below ({@link
   * #ptepModifyProtStart(Vma, long, PteTable, int, boolean)} and the others): when it is false
   * they change the PTE and nothing else; when it is true they take the checked path of the
   * address-based accessors, which reads both again.
   */
  @NeverThrows
  public static boolean watched(MmStruct mm) {
    Machine machine = mm.machine();
    return machine.verifier().enabled() || machine.trace().enabled();
  }

  /**
   * {@link #ptepModifyProtStart(Vma, long, PteTable)} on slot {@code index} of {@code pt}, the
   * slot of {@code addr}; {@code watched} is {@link #watched} as read under the ptl.
   *
   * @throws IllegalArgumentException if watched and {@code index} is not the slot of {@code addr}
   */
  @PteChange
  public static long ptepModifyProtStart(Vma vma, long addr, PteTable pt, int index,
      boolean watched) {
    if (watched) {
      checkSlot(pt, addr, index);
      return ptepModifyProtStart(vma, addr, pt);
    }
    return pt.takeAt(index);
  }

  /**
   * {@link #ptepModifyProtCommit(Vma, long, PteTable, long, long)} on slot {@code index} of
   * {@code pt}, the slot of {@code addr}: a release store when not watched.
   *
   * @throws IllegalArgumentException if watched and {@code index} is not the slot of {@code addr}
   */
  @PteChange
  public static void ptepModifyProtCommit(Vma vma, long addr, PteTable pt, int index,
      long oldPte, long pte, boolean watched) {
    if (watched) {
      checkSlot(pt, addr, index);
      ptepModifyProtCommit(vma, addr, pt, oldPte, pte);
      return;
    }
    pt.commitAt(index, oldPte, pte);
  }

  /**
   * {@link #setPteAt(MmStruct, long, PteTable, long)} on slot {@code index} of {@code pt}, the
   * slot of {@code addr}: a release store when not watched ({@code native_set_pte}).
   *
   * @throws IllegalArgumentException if watched and {@code index} is not the slot of {@code addr}
   */
  @PteChange
  public static void setPteAt(MmStruct mm, long addr, PteTable pt, int index, long pte,
      boolean watched) {
    if (watched) {
      checkSlot(pt, addr, index);
      setPteAt(mm, addr, pt, pte);
      return;
    }
    pt.setAt(index, pte);
  }

  /**
   * {@link #ptepTestAndClearYoung(Vma, long, PteTable)} on slot {@code index} of {@code pt}, the
   * slot of {@code addr}.
   *
   * @throws IllegalArgumentException if watched and {@code index} is not the slot of {@code addr}
   */
  @PteChange(restrictive = false)
  public static boolean ptepTestAndClearYoung(Vma vma, long addr, PteTable pt, int index,
      boolean watched) {
    if (watched) {
      checkSlot(pt, addr, index);
      return ptepTestAndClearYoung(vma, addr, pt);
    }
    while (true) {
      long old = pt.pte(index);
      if (!Pte.young(old)) {
        return false;
      }
      if (pt.compareAndSetAt(index, old, Pte.mkold(old))) {
        return true;
      }
    }
  }

  private static void checkSlot(PteTable pt, long addr, int index) {
    if (pt.index(addr) != index) {
      throw new IllegalArgumentException("slot " + index + " of " + pt + " does not map 0x"
          + Long.toHexString(addr) + " (its slot is " + pt.index(addr) + ")");
    }
  }

  /** The verifier's commit: exchange, and report a PTE that changed since the start. */
  private static void checkedCommit(MmStruct mm, long addr, PteTable pt, long oldPte, long pte) {
    long transient_ = pt.exchangeAt(pt.index(addr), oldPte, pte);
    if (transient_ != 0) {
      mm.machine().verifier().violation(
          "ptepModifyProtCommit at 0x" + Long.toHexString(addr) + " in mm " + mm.name()
              + " found the PTE no longer cleared (" + Pte.toString(transient_)
              + "): something changed it between ptepModifyProtStart and the commit without"
              + " holding the ptl");
    }
  }

  private static long exchange(PteTable pt, long addr, long pte) {
    while (true) {
      long old = pt.get(addr);
      if (pt.compareAndSet(addr, old, pte)) {
        return old;
      }
    }
  }

  private static void changed(MmStruct mm, long addr, PteTable pt, long oldPte, long newPte) {
    Machine machine = mm.machine();
    Trace trace = machine.trace();
    if (trace.enabled()) {
      trace.record(new TraceEvent.PteSet(mm.name(), addr, oldPte, newPte));
    }
    machine.verifier().onPteChange(mm, addr, pt, oldPte, newPte);
  }
}
