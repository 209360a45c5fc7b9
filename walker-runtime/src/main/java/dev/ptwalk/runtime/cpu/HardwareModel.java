package dev.ptwalk.runtime.cpu;

/**
 * How a simulated CPU's TLB treats the dirty bit, chosen per machine.
 *
 * <p>The dirty-helpers review thread turned on exactly this difference: Nadav Amit asked whether a
 * write landing between clearing the dirty bit and the deferred TLB flush can be lost on some
 * architecture; Thomas Hellstrom's answer (his "case 2") relies on the architecture setting the
 * PTE's dirty bit when a TLB entry without it is written through.
 */
public enum HardwareModel {
  /**
   * x86: a store through a TLB entry cached writable but clean re-walks the page table to set D
   * atomically, and faults if the PTE is no longer present or writable. A cached entry with both
   * RW and D writes without touching the table.
   */
  X86,
  /**
   * A weaker architecture: a TLB entry cached writable keeps accepting stores without setting the
   * PTE's dirty bit until the entry is flushed. Only a TLB miss walks the table (and sets D).
   */
  WEAK
}
