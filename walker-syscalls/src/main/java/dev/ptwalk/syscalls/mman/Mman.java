package dev.ptwalk.syscalls.mman;

import dev.ptwalk.runtime.Errno;
import dev.ptwalk.runtime.ErrnoException;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.mm.VmFlags;
import dev.ptwalk.runtime.mm.VmOperations;
import dev.ptwalk.runtime.pgtable.Pgtable;

/**
 * {@code mmap(2)} at a fixed address, and the files a mapping is made of.
 *
 * <p>Mirrors {@code do_mmap} of {@code mm/mmap.c} for {@code MAP_FIXED_NOREPLACE} mappings of
 * anonymous memory and of files ({@link OpenFile}), with {@code shmem_zero_setup} ({@code
 * mm/shmem.c}) for shared anonymous memory. Every file mapping, and shared anonymous memory, gets
 * hooks with {@code ->map_pages} ({@code filemap_map_pages}), as shmem's and ext4's have them, so
 * unregistered mappings fault around.
 */
public final class Mman {
  private Mman() {}

  /** {@code PROT_READ}. */
  public static final int PROT_READ = 0x1;
  /** {@code PROT_WRITE}. */
  public static final int PROT_WRITE = 0x2;
  /** {@code MAP_SHARED}. */
  public static final int MAP_SHARED = 0x01;
  /** {@code MAP_PRIVATE}. */
  public static final int MAP_PRIVATE = 0x02;
  /** {@code MAP_ANONYMOUS}. */
  public static final int MAP_ANONYMOUS = 0x20;

  /**
   * {@code mmap(addr, pages * PAGE_SIZE, prot, flags | MAP_FIXED_NOREPLACE, file, 0)}: map {@code
   * file} (null with {@link #MAP_ANONYMOUS}) at {@code addr}, shared ({@link #MAP_SHARED}) or
   * private ({@link #MAP_PRIVATE}), with the file's hooks. Shared anonymous memory is a shmem file
   * of its own ({@code shmem_zero_setup}), with shmem's hooks.
   *
   * @throws ErrnoException {@code EINVAL} for neither or both of shared and private, a file with
   *     {@code MAP_ANONYMOUS} or none without, an unaligned address or no page; {@code EEXIST} when
   *     the range overlaps a mapping ({@code MAP_FIXED_NOREPLACE}). Nothing is mapped then.
   */
  public static Vma mmap(MmStruct mm, long addr, long pages, int prot, int flags,
      OpenFile file) {
    boolean shared = (flags & MAP_SHARED) != 0;
    boolean anonymous = (flags & MAP_ANONYMOUS) != 0;
    if (shared == ((flags & MAP_PRIVATE) != 0) || anonymous != (file == null)
        || (addr & ~Pgtable.PAGE_MASK) != 0 || pages <= 0
        || (flags & ~(MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS)) != 0
        || (prot & ~(PROT_READ | PROT_WRITE)) != 0) {
      throw new ErrnoException(Errno.EINVAL, "mmap of " + pages + " pages at 0x"
          + Long.toHexString(addr) + " with prot 0x" + Integer.toHexString(prot) + ", flags 0x"
          + Integer.toHexString(flags) + ": give one of MAP_SHARED and MAP_PRIVATE, a file unless"
          + " MAP_ANONYMOUS, a page-aligned address and at least one page");
    }
    long end = addr + pages * Pgtable.PAGE_SIZE;
    for (Vma vma : mm.vmas()) {
      if (vma.start() < end && addr < vma.end()) {
        throw new ErrnoException(Errno.EEXIST, "mmap(MAP_FIXED_NOREPLACE) of [0x"
            + Long.toHexString(addr) + ", 0x" + Long.toHexString(end) + ") overlaps " + vma);
      }
    }
    long vmFlags = ((prot & PROT_READ) != 0 ? VmFlags.VM_READ : 0)
        | ((prot & PROT_WRITE) != 0 ? VmFlags.VM_WRITE : 0) | (shared ? VmFlags.VM_SHARED : 0);
    if (anonymous && !shared) {
      return mm.mmap(null, addr, pages, 0, vmFlags);
    }
    if (anonymous) {
      // shmem_zero_setup: shared anonymous memory is an unlinked shmem file of its own.
      AddressSpace mapping = mm.machine().newAddressSpace("dev/zero (deleted)@" + mm.name()
          + ":0x" + Long.toHexString(addr), AddressSpace.Backing.SHMEM);
      return mm.mmap(mapping, addr, pages, 0, vmFlags, VmOperations.FILEMAP);
    }
    return mm.mmap(file.mapping(), addr, pages, 0, vmFlags, file.ops());
  }
}
