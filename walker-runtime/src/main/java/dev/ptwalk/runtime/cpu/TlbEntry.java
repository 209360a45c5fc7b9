package dev.ptwalk.runtime.cpu;

/**
 * One cached translation: the page, and the write and dirty bits of the PTE as they were when
 * the CPU cached it. A real TLB keeps exactly this, which is why a cleaned PTE needs a flush.
 *
 * @param mmId the {@link dev.ptwalk.runtime.mm.MmStruct#id()} (the PCID)
 * @param vpn virtual page number
 * @param pfn physical frame
 * @param writable RW was set
 * @param dirty D was set
 */
public record TlbEntry(int mmId, long vpn, long pfn, boolean writable, boolean dirty) {}
