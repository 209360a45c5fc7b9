package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.pgtable.Pgtable;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Physical memory: page frames by pfn, each 4 KiB seen as 512 64-bit words.
 *
 * <p>Mirrors {@code alloc_page} and the direct map. Frames are created on first use; words are
 * read and written with volatile semantics, as a cache-coherent bus would.
 */
public final class PhysMem {
  private static final VarHandle WORDS = MethodHandles.arrayElementVarHandle(long[].class);
  private static final int WORDS_PER_PAGE = (int) (Pgtable.PAGE_SIZE / Long.BYTES);
  /** First pfn handed out: low memory is left alone, as on a PC. */
  public static final long FIRST_PFN = 0x1000;

  private final ConcurrentHashMap<Long, long[]> frames = new ConcurrentHashMap<>();
  private final AtomicLong nextPfn = new AtomicLong(FIRST_PFN);

  /** An empty physical memory; each {@link dev.ptwalk.runtime.Machine} has its own. */
  public PhysMem() {}

  /** {@code alloc_page}: a new zeroed frame. */
  public long allocPage() {
    long pfn = nextPfn.getAndIncrement();
    frames.put(pfn, new long[WORDS_PER_PAGE]);
    return pfn;
  }

  /** Frames allocated so far. */
  public long allocated() {
    return nextPfn.get() - FIRST_PFN;
  }

  /** Read the 64-bit word at byte offset {@code offset} (8-aligned, within the page) of {@code pfn}. */
  public long read(long pfn, long offset) {
    return (long) WORDS.getVolatile(frame(pfn), word(offset));
  }

  /** Write the 64-bit word at byte offset {@code offset} of {@code pfn}. */
  public void write(long pfn, long offset, long value) {
    WORDS.setVolatile(frame(pfn), word(offset), value);
  }

  /** {@code copy_user_highpage}: copy every word of {@code from} into {@code to}. */
  public void copyPage(long from, long to) {
    long[] src = frame(from);
    long[] dst = frame(to);
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
