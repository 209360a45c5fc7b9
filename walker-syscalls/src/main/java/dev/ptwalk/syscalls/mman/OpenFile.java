package dev.ptwalk.syscalls.mman;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.VmOperations;

/**
 * An open file a process may map: its page cache, its size and the {@code vm_operations_struct}
 * its mappings get.
 *
 * <p>Mirrors what {@code struct file} brings to {@code mmap}: {@code f_mapping}, the inode's
 * {@code i_size} (set with {@code ftruncate}) and the file system's {@code ->mmap}, which picks
 * the VMA's hooks: shmem's ({@code memfd_create}, tmpfs) fault a page in by itself; a disk file
 * system's ({@code filemap_fault}) reads around the page first ({@link FilemapReadahead}). Both
 * have {@code ->map_pages} ({@code filemap_map_pages}), so an unregistered mapping faults around.
 */
public final class OpenFile {
  private final AddressSpace mapping;
  private final long sizePages;
  private final VmOperations ops;

  private OpenFile(AddressSpace mapping, long sizePages, VmOperations ops) {
    if (sizePages < 0) {
      throw new IllegalArgumentException("a file size is >= 0 pages, was " + sizePages);
    }
    this.mapping = mapping;
    this.sizePages = sizePages;
    this.ops = ops;
  }

  /**
   * {@code memfd_create(name, 0)} then {@code ftruncate} to {@code sizePages}: a shmem file named
   * {@code memfd:NAME}, whose page cache outlives every mapping of it.
   */
  public static OpenFile memfdCreate(Machine machine, String name, long sizePages) {
    return new OpenFile(machine.newAddressSpace("memfd:" + name, AddressSpace.Backing.SHMEM),
        sizePages, VmOperations.FILEMAP);
  }

  /** A file on tmpfs ({@code shmem_file_setup}), {@code sizePages} long: shmem, like a memfd. */
  public static OpenFile tmpfsFile(Machine machine, String path, long sizePages) {
    return new OpenFile(machine.newAddressSpace(path, AddressSpace.Backing.SHMEM), sizePages,
        VmOperations.FILEMAP);
  }

  /**
   * A file on a disk file system such as ext4, {@code sizePages} long, on a device whose
   * read-ahead is {@code raPages} pages ({@code read_ahead_kb / 4}): written back, so a shared
   * writable mapping of it wants write notification; without {@code UFFD_FEATURE_WP_ASYNC} it
   * cannot be registered for userfaultfd write-protect; a fault that misses the page cache reads
   * around the page ({@link FilemapReadahead}).
   */
  public static OpenFile diskFile(Machine machine, String path, long sizePages, long raPages) {
    return new OpenFile(machine.newAddressSpace(path, AddressSpace.Backing.DISK), sizePages,
        new FilemapReadahead(sizePages, raPages));
  }

  /** {@code file->f_mapping}. */
  public AddressSpace mapping() {
    return mapping;
  }

  /** {@code i_size} in pages. */
  public long sizePages() {
    return sizePages;
  }

  /** The hooks a mapping of this file gets. */
  public VmOperations ops() {
    return ops;
  }

  @Override
  public String toString() {
    return "file " + mapping.name() + " (" + sizePages + " pages)";
  }
}
