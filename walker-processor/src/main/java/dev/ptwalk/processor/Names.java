package dev.ptwalk.processor;

/**
 * The qualified names of the annotations and runtime types the processor reads, in one place. The
 * processor never loads these classes: it looks them up by name through {@code Elements}, so it
 * runs with neither walker-annotations nor walker-runtime on its own class path.
 */
public final class Names {
  private static final String ANNOTATIONS = "dev.ptwalk.annotations";
  private static final String CHECK = "dev.ptwalk.runtime.check";

  /** {@code @PteCallback}: a leaf the processor generates walkers around. */
  public static final String PTE_CALLBACK = ANNOTATIONS + ".PteCallback";
  /** {@code @CheckedWalker}: a hand-written walker whose body is checked. */
  public static final String CHECKED_WALKER = ANNOTATIONS + ".CheckedWalker";
  /** {@code @InBracket}: a helper that changes PTEs inside its caller's bracket. */
  public static final String IN_BRACKET = ANNOTATIONS + ".InBracket";
  /** Every annotation of walker-annotations, as a star import names them. */
  public static final String ANNOTATIONS_STAR = ANNOTATIONS + ".*";
  /** The package of walker-annotations. */
  public static final String ANNOTATIONS_PACKAGE = ANNOTATIONS;

  /** Runtime mark: {@code mmu_notifier_invalidate_range_start}. */
  public static final String INVALIDATE_RANGE_START = CHECK + ".InvalidateRangeStart";
  /** Runtime mark: {@code mmu_notifier_invalidate_range_end}. */
  public static final String INVALIDATE_RANGE_END = CHECK + ".InvalidateRangeEnd";
  /** Runtime mark: changes a PTE. */
  public static final String PTE_CHANGE = CHECK + ".PteChange";
  /** Runtime mark: flushes TLB entries. */
  public static final String FLUSHES_TLB = CHECK + ".FlushesTlb";
  /** Runtime mark: flushes the CPU caches. */
  public static final String FLUSHES_CACHE = CHECK + ".FlushesCache";
  /** Runtime mark: {@code inc_tlb_flush_pending}. */
  public static final String TLB_FLUSH_PENDING_INC = CHECK + ".TlbFlushPendingInc";
  /** Runtime mark: {@code dec_tlb_flush_pending}. */
  public static final String TLB_FLUSH_PENDING_DEC = CHECK + ".TlbFlushPendingDec";
  /** Runtime mark: {@code mm_tlb_flush_nested}. */
  public static final String TLB_FLUSH_NESTED = CHECK + ".TlbFlushNested";
  /** Runtime mark: a {@code Pte} helper returning a changed PTE value. */
  public static final String PTE_TRANSFORM = CHECK + ".PteTransform";
  /** Runtime mark: a {@code Pte} query. */
  public static final String PTE_QUERY = CHECK + ".PteQuery";
  /** Runtime mark: never throws. */
  public static final String NEVER_THROWS = CHECK + ".NeverThrows";

  /** The runtime's VMA, the optional third callback parameter. */
  public static final String VMA = "dev.ptwalk.runtime.mm.Vma";
  /** The runtime's mm. */
  public static final String MM_STRUCT = "dev.ptwalk.runtime.mm.MmStruct";
  /** The runtime's PTE table, whose lock is the ptl. */
  public static final String PTE_TABLE = "dev.ptwalk.runtime.pgtable.PteTable";
  /** A runtime type the generated code needs; its absence means no walker-runtime. */
  public static final String RUNTIME_PROBE = "dev.ptwalk.runtime.mm.AddressSpace";

  /** A lock, as the ptl is one. */
  public static final String LOCK = "java.util.concurrent.locks.Lock";

  private Names() {}
}
