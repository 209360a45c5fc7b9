package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.Errno;
import dev.ptwalk.runtime.ErrnoException;
import dev.ptwalk.runtime.pgtable.Pgtable;
import java.util.ArrayList;
import java.util.List;

/**
 * A userfaultfd of one mm, with the features it was opened with, registered for write-protect
 * mode on ranges of that mm.
 *
 * <p>Mirrors {@code struct userfaultfd_ctx} and the {@code UFFDIO_API} and {@code UFFDIO_REGISTER}
 * paths of {@code fs/userfaultfd.c} and {@code mm/userfaultfd.c}, with the UAPI's names and
 * values ({@code include/uapi/linux/userfaultfd.h}). Only write-protect mode is modelled. A
 * registered VMA gets {@code VM_UFFD_WP} and remembers this context; stores to uffd-wp PTEs in
 * it then fault. In async mode ({@link #UFFD_FEATURE_WP_ASYNC}) the fault clears the protection
 * and completes by itself, which is what {@code PAGEMAP_SCAN} builds on. In sync mode it is
 * delivered as a {@link UffdMsg} to the {@linkplain #setFaultHandler handler}, standing for the
 * thread that reads the userfaultfd; see {@link UserfaultBlockedException} for what happens
 * without one.
 */
public final class Userfaultfd {
  /** {@code UFFD_API}: the only API version. */
  public static final long UFFD_API = 0xAA;
  /** {@code UFFD_FEATURE_PAGEFAULT_FLAG_WP}. */
  public static final long UFFD_FEATURE_PAGEFAULT_FLAG_WP = 1L << 0;
  /** {@code UFFD_FEATURE_EVENT_FORK}: a forked child's VMAs keep their registration. */
  public static final long UFFD_FEATURE_EVENT_FORK = 1L << 1;
  /** {@code UFFD_FEATURE_EVENT_REMAP}. */
  public static final long UFFD_FEATURE_EVENT_REMAP = 1L << 2;
  /** {@code UFFD_FEATURE_EVENT_REMOVE}. */
  public static final long UFFD_FEATURE_EVENT_REMOVE = 1L << 3;
  /** {@code UFFD_FEATURE_MISSING_HUGETLBFS}. */
  public static final long UFFD_FEATURE_MISSING_HUGETLBFS = 1L << 4;
  /** {@code UFFD_FEATURE_MISSING_SHMEM}. */
  public static final long UFFD_FEATURE_MISSING_SHMEM = 1L << 5;
  /** {@code UFFD_FEATURE_EVENT_UNMAP}. */
  public static final long UFFD_FEATURE_EVENT_UNMAP = 1L << 6;
  /** {@code UFFD_FEATURE_SIGBUS}: faults raise SIGBUS instead of being delivered. */
  public static final long UFFD_FEATURE_SIGBUS = 1L << 7;
  /** {@code UFFD_FEATURE_THREAD_ID}. */
  public static final long UFFD_FEATURE_THREAD_ID = 1L << 8;
  /** {@code UFFD_FEATURE_MINOR_HUGETLBFS}. */
  public static final long UFFD_FEATURE_MINOR_HUGETLBFS = 1L << 9;
  /** {@code UFFD_FEATURE_MINOR_SHMEM}. */
  public static final long UFFD_FEATURE_MINOR_SHMEM = 1L << 10;
  /** {@code UFFD_FEATURE_EXACT_ADDRESS}. */
  public static final long UFFD_FEATURE_EXACT_ADDRESS = 1L << 11;
  /** {@code UFFD_FEATURE_WP_HUGETLBFS_SHMEM}: write-protect mode on shmem and hugetlbfs. */
  public static final long UFFD_FEATURE_WP_HUGETLBFS_SHMEM = 1L << 12;
  /**
   * {@code UFFD_FEATURE_WP_UNPOPULATED}: write-protect unpopulated anonymous pages too, with PTE
   * markers ({@code userfaultfd_wp_use_markers}).
   */
  public static final long UFFD_FEATURE_WP_UNPOPULATED = 1L << 13;
  /** {@code UFFD_FEATURE_POISON}. */
  public static final long UFFD_FEATURE_POISON = 1L << 14;
  /**
   * {@code UFFD_FEATURE_WP_ASYNC}: a write fault on a protected page resolves itself, clearing
   * the protection, without a message. Implies {@link #UFFD_FEATURE_WP_UNPOPULATED}.
   */
  public static final long UFFD_FEATURE_WP_ASYNC = 1L << 15;
  /** {@code UFFD_FEATURE_MOVE}. */
  public static final long UFFD_FEATURE_MOVE = 1L << 16;
  /** {@code UFFD_API_FEATURES}: every feature this kernel offers (all of the above). */
  public static final long UFFD_API_FEATURES = (1L << 17) - 1;

  /** {@code UFFDIO_REGISTER_MODE_MISSING}. */
  public static final long UFFDIO_REGISTER_MODE_MISSING = 1L << 0;
  /** {@code UFFDIO_REGISTER_MODE_WP}. */
  public static final long UFFDIO_REGISTER_MODE_WP = 1L << 1;
  /** {@code UFFDIO_REGISTER_MODE_MINOR}. */
  public static final long UFFDIO_REGISTER_MODE_MINOR = 1L << 2;

  /**
   * {@code mmap_min_addr} of the machines this project runs on (4096): nothing can be mapped or
   * registered below it.
   */
  public static final long MMAP_MIN_ADDR = 4096;

  /** Who reads this userfaultfd: resolves a delivered fault, so that the access can retry. */
  @FunctionalInterface
  public interface FaultHandler {
    /**
     * Resolve {@code msg}, typically by removing the write protection of its page; called on the
     * faulting thread with no lock held, after which the access retries.
     */
    void handle(Userfaultfd uffd, UffdMsg msg);
  }

  private final MmStruct mm;
  private final long features;
  private final List<UffdMsg> delivered = new ArrayList<>();
  private volatile FaultHandler handler;

  private Userfaultfd(MmStruct mm, long features) {
    this.mm = mm;
    this.features = features;
  }

  /**
   * {@code userfaultfd(UFFD_USER_MODE_ONLY)} then {@code UFFDIO_API} with {@code features}: a
   * userfaultfd of {@code mm}. {@link #UFFD_FEATURE_WP_ASYNC} implies {@link
   * #UFFD_FEATURE_WP_UNPOPULATED}, as {@code userfaultfd_api} adds it.
   *
   * @throws ErrnoException {@code EINVAL} for a feature bit outside {@link #UFFD_API_FEATURES}
   */
  public static Userfaultfd open(MmStruct mm, long features) {
    if (mm == null) {
      throw new NullPointerException("mm");
    }
    if ((features & ~UFFD_API_FEATURES) != 0) {
      throw new ErrnoException(Errno.EINVAL, "UFFDIO_API: unknown feature bits 0x"
          + Long.toHexString(features & ~UFFD_API_FEATURES) + " (userfaultfd_api: features &"
          + " ~uffdio_api.features); use the UFFD_FEATURE_* constants");
    }
    if ((features & UFFD_FEATURE_WP_ASYNC) != 0) {
      features |= UFFD_FEATURE_WP_UNPOPULATED;
    }
    return new Userfaultfd(mm, features);
  }

  /**
   * {@code dup_userfaultfd} with {@code UFFD_FEATURE_EVENT_FORK}: the context a forked child's
   * VMAs registered with this one get, with the same features (the fork event that hands it to
   * the reader is not modelled).
   */
  Userfaultfd forkFor(MmStruct child) {
    return new Userfaultfd(child, features);
  }

  /** {@code ctx->mm}: the mm this userfaultfd belongs to. */
  public MmStruct mm() {
    return mm;
  }

  /** {@code ctx->features}: the features it was opened with (plus those they imply). */
  public long features() {
    return features;
  }

  /** {@code userfaultfd_wp_async_ctx}: whether write faults resolve themselves. */
  public boolean wpAsync() {
    return (features & UFFD_FEATURE_WP_ASYNC) != 0;
  }

  /**
   * Set the handler that stands for the thread reading this userfaultfd; null removes it. Only
   * faults of a sync (not {@link #wpAsync() async}) context are delivered.
   */
  public void setFaultHandler(FaultHandler handler) {
    this.handler = handler;
  }

  /** The fault messages delivered so far, oldest first ({@code read(2)} of the userfaultfd). */
  public synchronized List<UffdMsg> delivered() {
    return List.copyOf(delivered);
  }

  /**
   * {@code UFFDIO_REGISTER} with {@code UFFDIO_REGISTER_MODE_WP}: register {@code [start, start +
   * len)} for write-protect tracking. Under the mmap write lock, every VMA the range intersects is
   * checked first ({@code vma_can_userfault}, {@code VM_MAYWRITE}, not owned by another
   * userfaultfd), then split at the range's edges ({@code vma_modify_flags_uffd}, which also
   * splits their i_mmap entries) and given {@code VM_UFFD_WP} and this context; a shared VMA's
   * {@code vm_page_prot} is recomputed ({@code userfaultfd_set_vm_flags}), so it maps pages
   * read-only from now on. Holes in the range are ignored, as the kernel does. Adjacent VMAs
   * that end up alike are not merged again ({@code vma_merge} is not modelled).
   *
   * @throws ErrnoException {@code EINVAL} for an unaligned or empty range, one below {@link
   *     #MMAP_MIN_ADDR} or past {@code TASK_SIZE} ({@code validate_range}), a range no VMA
   *     intersects, or a VMA that cannot be registered ({@code vma_can_userfault}: without {@link
   *     #UFFD_FEATURE_WP_ASYNC} only anonymous and shmem memory can); {@code EPERM} for a VMA
   *     without {@code VM_MAYWRITE}; {@code EBUSY} for a VMA registered with another userfaultfd.
   *     Nothing is changed then.
   */
  public void registerWp(long start, long len) {
    validateRange(start, len, "UFFDIO_REGISTER");
    long end = start + len;
    mm.mmapWriteLock();
    try {
      List<Vma> vmas = new ArrayList<>();
      mm.forEachVmaRange(start, end).forEach(vmas::add);
      if (vmas.isEmpty()) {
        throw new ErrnoException(Errno.EINVAL, "UFFDIO_REGISTER: no VMA in [0x"
            + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ") of " + mm
            + " (vma_find); map the range first");
      }
      for (Vma cur : vmas) {
        if (!vmaCanUserfault(cur)) {
          throw new ErrnoException(Errno.EINVAL, "UFFDIO_REGISTER: " + cur + " cannot be"
              + " registered for write-protect (vma_can_userfault): without"
              + " UFFD_FEATURE_WP_ASYNC only anonymous and shmem memory can");
        }
        if (!cur.hasFlags(VmFlags.VM_MAYWRITE)) {
          throw new ErrnoException(Errno.EPERM, "UFFDIO_REGISTER: " + cur + " lacks VM_MAYWRITE:"
              + " write-protect mode needs a mapping that may be written");
        }
        Userfaultfd other = cur.userfaultfdCtx();
        if (other != null && other != this) {
          throw new ErrnoException(Errno.EBUSY, "UFFDIO_REGISTER: " + cur + " is registered"
              + " with another userfaultfd; unregister it there first");
        }
      }
      for (Vma vma : vmas) {
        if (vma.userfaultfdCtx() == this && vma.userfaultfdWp()) {
          continue;
        }
        if (vma.start() < start) {
          vma = mm.splitVma(vma, start);
        }
        if (vma.end() > end) {
          mm.splitVma(vma, end);
        }
        vma.setUserfaultfdCtx(this);
        vma.vmFlagsSet(VmFlags.VM_UFFD_WP);
        if (vma.hasFlags(VmFlags.VM_SHARED)) {
          vma.vmaSetPageProt();
        }
      }
    } finally {
      mm.mmapWriteUnlock();
    }
  }

  /**
   * {@code vma_can_userfault(vma, VM_UFFD_WP, wp_async)}: in async write-protect mode any memory
   * can be registered; otherwise anonymous, hugetlb and shmem memory only.
   */
  boolean vmaCanUserfault(Vma vma) {
    if (wpAsync()) {
      return true;
    }
    return vma.isAnonymous() || vma.hasFlags(VmFlags.VM_HUGETLB)
        || (vma.mapping() != null && vma.mapping().isShmem());
  }

  /**
   * {@code handle_userfault(vmf, VM_UFFD_WP)} for a sync context: record the message; the fault
   * path then drops its locks and {@link #deliver} hands it to the handler.
   */
  synchronized UffdMsg queue(long address, boolean write) {
    UffdMsg msg = new UffdMsg(UffdMsg.UFFD_EVENT_PAGEFAULT,
        UffdMsg.UFFD_PAGEFAULT_FLAG_WP | (write ? UffdMsg.UFFD_PAGEFAULT_FLAG_WRITE : 0),
        address & Pgtable.PAGE_MASK);
    delivered.add(msg);
    return msg;
  }

  /**
   * The faulting thread, its locks dropped, waits for the handler to resolve {@code msg}.
   *
   * @throws UserfaultBlockedException without a handler: the thread would sleep forever
   */
  void deliver(UffdMsg msg) {
    FaultHandler h = handler;
    if (h == null) {
      throw new UserfaultBlockedException(this, msg);
    }
    h.handle(this, msg);
  }

  private void validateRange(long start, long len, String op) {
    long taskSize = mm.taskSize();
    String why = null;
    if ((start & ~Pgtable.PAGE_MASK) != 0) {
      why = "start 0x" + Long.toHexString(start) + " is not page aligned";
    } else if ((len & ~Pgtable.PAGE_MASK) != 0) {
      why = "len 0x" + Long.toHexString(len) + " is not a multiple of the page size";
    } else if (len == 0) {
      why = "len is 0";
    } else if (Long.compareUnsigned(start, MMAP_MIN_ADDR) < 0) {
      why = "start 0x" + Long.toHexString(start) + " is below mmap_min_addr 0x"
          + Long.toHexString(MMAP_MIN_ADDR);
    } else if (Long.compareUnsigned(start, taskSize) >= 0
        || Long.compareUnsigned(len, taskSize - start) > 0) {
      why = "[0x" + Long.toHexString(start) + ", +0x" + Long.toHexString(len) + ") goes past"
          + " TASK_SIZE 0x" + Long.toHexString(taskSize);
    }
    if (why != null) {
      throw new ErrnoException(Errno.EINVAL, op + ": " + why + " (validate_range)");
    }
  }

  @Override
  public String toString() {
    return "userfaultfd of " + mm + " features=0x" + Long.toHexString(features);
  }
}
