package dev.ptwalk.runtime.mm;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code vm_flags} bits of a VMA, with the kernel's names and values ({@code include/linux/mm.h}).
 */
public final class VmFlags {
  /** {@code VM_READ}. */
  public static final long VM_READ = 0x00000001L;
  /** {@code VM_WRITE}. */
  public static final long VM_WRITE = 0x00000002L;
  /** {@code VM_EXEC}. */
  public static final long VM_EXEC = 0x00000004L;
  /** {@code VM_SHARED}. */
  public static final long VM_SHARED = 0x00000008L;
  /** {@code VM_MAYREAD}. */
  public static final long VM_MAYREAD = 0x00000010L;
  /** {@code VM_MAYWRITE}. */
  public static final long VM_MAYWRITE = 0x00000020L;
  /** {@code VM_MAYEXEC}. */
  public static final long VM_MAYEXEC = 0x00000040L;
  /** {@code VM_MAYSHARE}. */
  public static final long VM_MAYSHARE = 0x00000080L;
  /** {@code VM_PFNMAP}: pages are raw pfns, no struct page ({@code remap_pfn_range}). */
  public static final long VM_PFNMAP = 0x00000400L;
  /** {@code VM_UFFD_WP}. */
  public static final long VM_UFFD_WP = 0x00001000L;
  /** {@code VM_IO}: memory-mapped I/O or similar. */
  public static final long VM_IO = 0x00004000L;
  /** {@code VM_DONTEXPAND}. */
  public static final long VM_DONTEXPAND = 0x00040000L;
  /** {@code VM_HUGETLB}. */
  public static final long VM_HUGETLB = 0x00400000L;
  /** {@code VM_SOFTDIRTY}. */
  public static final long VM_SOFTDIRTY = 0x08000000L;
  /** {@code VM_MIXEDMAP}: may mix struct pages and raw pfns. */
  public static final long VM_MIXEDMAP = 0x10000000L;

  /** Every flag this model knows; others are rejected. */
  public static final long KNOWN = VM_READ | VM_WRITE | VM_EXEC | VM_SHARED | VM_MAYREAD
      | VM_MAYWRITE | VM_MAYEXEC | VM_MAYSHARE | VM_PFNMAP | VM_UFFD_WP | VM_IO | VM_DONTEXPAND
      | VM_HUGETLB | VM_SOFTDIRTY | VM_MIXEDMAP;

  private static final long[] BITS = {
    VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_MAYREAD, VM_MAYWRITE, VM_MAYEXEC, VM_MAYSHARE,
    VM_PFNMAP, VM_UFFD_WP, VM_IO, VM_DONTEXPAND, VM_HUGETLB, VM_SOFTDIRTY, VM_MIXEDMAP
  };
  private static final String[] NAMES = {
    "VM_READ", "VM_WRITE", "VM_EXEC", "VM_SHARED", "VM_MAYREAD", "VM_MAYWRITE", "VM_MAYEXEC",
    "VM_MAYSHARE", "VM_PFNMAP", "VM_UFFD_WP", "VM_IO", "VM_DONTEXPAND", "VM_HUGETLB",
    "VM_SOFTDIRTY", "VM_MIXEDMAP"
  };

  private VmFlags() {}

  /** {@code VM_READ|VM_WRITE|...} for a flags word, as {@code show_vma} would print it. */
  public static String toString(long flags) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < BITS.length; i++) {
      if ((flags & BITS[i]) != 0) {
        names.add(NAMES[i]);
      }
    }
    long unknown = flags & ~KNOWN;
    if (unknown != 0) {
      names.add("0x" + Long.toHexString(unknown));
    }
    return names.isEmpty() ? "0" : String.join("|", names);
  }
}
