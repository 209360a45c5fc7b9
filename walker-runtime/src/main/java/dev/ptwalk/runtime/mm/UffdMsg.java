package dev.ptwalk.runtime.mm;

/**
 * One message read from a userfaultfd: a page fault it must resolve.
 *
 * <p>Mirrors {@code struct uffd_msg} with {@code UFFD_EVENT_PAGEFAULT} ({@code
 * include/uapi/linux/userfaultfd.h}); {@code address} is page aligned, as without {@code
 * UFFD_FEATURE_EXACT_ADDRESS}.
 *
 * @param event {@link #UFFD_EVENT_PAGEFAULT}
 * @param flags {@link #UFFD_PAGEFAULT_FLAG_WRITE} and {@link #UFFD_PAGEFAULT_FLAG_WP}
 * @param address the faulting page
 */
public record UffdMsg(int event, long flags, long address) {
  /** {@code UFFD_EVENT_PAGEFAULT}. */
  public static final int UFFD_EVENT_PAGEFAULT = 0x12;
  /** {@code UFFD_PAGEFAULT_FLAG_WRITE}: the fault was a write. */
  public static final long UFFD_PAGEFAULT_FLAG_WRITE = 1L << 0;
  /** {@code UFFD_PAGEFAULT_FLAG_WP}: the reason is write-protection ({@code VM_UFFD_WP}). */
  public static final long UFFD_PAGEFAULT_FLAG_WP = 1L << 1;

  @Override
  public String toString() {
    return "uffd_msg pagefault addr=0x" + Long.toHexString(address)
        + ((flags & UFFD_PAGEFAULT_FLAG_WRITE) != 0 ? " write" : " read")
        + ((flags & UFFD_PAGEFAULT_FLAG_WP) != 0 ? " wp" : "");
  }
}
