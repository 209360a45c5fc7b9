package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.pgtable.Pgtable;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Physical memory: page frames by pfn, each 4 KiB seen as 512 64-bit words, with the {@link
 * Folio} that describes each and the shared zero page.
 *
 * <p>Mirrors {@code alloc_page}, {@code mem_map} ({@code pfn_folio}), {@code empty_zero_page} and
 * the direct map. Frames are created on first use and never reused; words are read and written
 * with volatile semantics, as a cache-coherent bus would.
 */
public final class PhysMem {
  private static final VarHandle WORDS = MethodHandles.arrayElementVarHandle(long[].class);
  private static final int WORDS_PER_PAGE = (int) (Pgtable.PAGE_SIZE / Long.BYTES);
  /** First pfn handed out: low memory is left alone, as on a PC. */
  public static final long FIRST_PFN = 0x1000;
  /** The pfn of the shared zero page ({@code empty_zero_page}), just below the allocator's. */
  public static final long ZERO_PFN = FIRST_PFN - 1;

  private final ConcurrentHashMap<Long, long[]> frames = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Long, Folio> folios = new ConcurrentHashMap<>();
  private final AtomicLong nextPfn = new AtomicLong(FIRST_PFN);

  /** Physical memory with only the zero page in it. */
  public PhysMem() {
    frames.put(ZERO_PFN, new long[WORDS_PER_PAGE]);
  }

  /**
   * {@code alloc_page}: a new zeroed frame, described by a new {@link Folio} holding the one
   * reference the allocation returns.
   */
  public long allocPage() {
    long pfn = nextPfn.getAndIncrement();
    frames.put(pfn, new long[WORDS_PER_PAGE]);
    folios.put(pfn, new Folio(pfn));
    return pfn;
  }

  /**
   * {@code pfn_folio}: the folio of frame {@code pfn}, or null for the zero page and for a pfn
   * this machine never allocated.
   */
  public Folio folio(long pfn) {
    return folios.get(pfn);
  }

  /** {@code my_zero_pfn}: the shared zero page, which read faults on anonymous memory map. */
  public long zeroPfn() {
    return ZERO_PFN;
  }

  /** {@code is_zero_pfn}. */
  public boolean isZeroPfn(long pfn) {
    return pfn == ZERO_PFN;
  }

  /** Frames allocated so far. */
  public long allocated() {
    return nextPfn.get() - FIRST_PFN;
  }

  /** Read the 64-bit word at byte offset {@code offset} (8-aligned, within the page) of {@code pfn}. */
  public long read(long pfn, long offset) {
    return (long) WORDS.getVolatile(frame(pfn), word(offset));
  }

  /**
   * Write the 64-bit word at byte offset {@code offset} of {@code pfn}.
   *
   * @throws IllegalStateException for the zero page: it is never mapped writable, so a store to
   *     it is a bug in whatever mapped it
   */
  public void write(long pfn, long offset, long value) {
    WORDS.setVolatile(writableFrame(pfn), word(offset), value);
  }

  /** {@code copy_user_highpage}: copy every word of {@code from} into {@code to}. */
  public void copyPage(long from, long to) {
    long[] src = frame(from);
    long[] dst = writableFrame(to);
    for (int i = 0; i < WORDS_PER_PAGE; i++) {
      WORDS.setVolatile(dst, i, (long) WORDS.getVolatile(src, i));
    }
  }

  /**
   * {@code memcpy} out of a frame: copy all of {@code pfn} into {@code dst} (512 words) in one
   * bulk operation, as a device DMA would, not word by word.
   */
  public void copyOut(long pfn, long[] dst) {
    if (dst.length != WORDS_PER_PAGE) {
      throw new IllegalArgumentException("dst must hold " + WORDS_PER_PAGE + " words, not "
          + dst.length);
    }
    System.arraycopy(frame(pfn), 0, dst, 0, WORDS_PER_PAGE);
  }

  /** Whether frame {@code pfn} holds exactly the 512 words of {@code copy}. */
  public boolean sameAs(long pfn, long[] copy) {
    return java.util.Arrays.equals(frame(pfn), copy);
  }

  private long[] writableFrame(long pfn) {
    if (pfn == ZERO_PFN) {
      throw new IllegalStateException("write to the shared zero page (pfn 0x"
          + Long.toHexString(pfn) + "): it is mapped read-only; a write fault must copy it"
          + " (wp_page_copy)");
    }
    return frame(pfn);
  }

  private long[] frame(long pfn) {
    long[] f = frames.get(pfn);
    if (f == null) {
      throw new IllegalArgumentException("pfn 0x" + Long.toHexString(pfn) + " was never allocated");
    }
    return f;
  }

  private static int word(long offset) {
    if (offset < 0 || offset >= Pgtable.PAGE_SIZE || (offset & 7) != 0) {
      throw new IllegalArgumentException(
          "offset " + offset + " is not an 8-byte aligned offset inside a 4 KiB page");
    }
    return (int) (offset >>> 3);
  }
}
