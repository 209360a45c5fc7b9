package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.internal.RuntimeInternals;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A file's page cache and the VMAs that map it.
 *
 * <p>Mirrors {@code struct address_space}: {@code i_mmap}, an {@linkplain IntervalTree interval
 * tree} of every VMA mapping the file keyed by its pgoff range, guarded by {@code i_mmap_rwsem};
 * and the page cache ({@code i_pages}). One mapping is usually mapped by VMAs of several mms at
 * different addresses, which is why a walk over a file range visits several mms.
 */
public final class AddressSpace {
  private final Machine machine;
  private final String name;
  private final IntervalTree<Vma> iMmap = new IntervalTree<>();
  private final ReentrantReadWriteLock iMmapRwsem = new ReentrantReadWriteLock();
  private final ConcurrentHashMap<Long, Long> pages = new ConcurrentHashMap<>();
  private final Backing backing;

  /** What stands behind a file's page cache: it decides writeback and userfaultfd support. */
  public enum Backing {
    /** Nothing: the page cache is all there is, as ramfs. The default. */
    RAM,
    /**
     * shmem: tmpfs, memfd, shared anonymous memory ({@code vma_is_shmem}). Without swap its pages
     * cannot be written anywhere, so they are never written back.
     */
    SHMEM,
    /**
     * A disk file system such as ext4: {@code mapping_can_writeback}, so shared writable mappings
     * want write notification. The disk is not modelled: written-back pages stay cached.
     */
    DISK
  }

  static {
    RuntimeInternals.setAddressSpaceAccess(AddressSpace::new);
  }

  /** Created by {@link Machine#newAddressSpace(String, Backing)}. */
  AddressSpace(Machine machine, String name, Backing backing) {
    if (backing == null) {
      throw new NullPointerException("backing");
    }
    this.machine = machine;
    this.name = name;
    this.backing = backing;
  }

  /** What stands behind the page cache. */
  public Backing backing() {
    return backing;
  }

  /** {@code shmem_mapping}: a shmem (tmpfs, memfd, shared anonymous) file. */
  public boolean isShmem() {
    return backing == Backing.SHMEM;
  }

  /** The machine this file lives on. */
  public Machine machine() {
    return machine;
  }

  /** The name given at creation. */
  public String name() {
    return name;
  }

  /**
   * {@code mapping_can_writeback}: whether the file's pages are written back to a backing store,
   * so that shared writable mappings want write notification to track dirty pages. False for
   * {@link Backing#RAM} and {@link Backing#SHMEM} files, whose page cache is all there is.
   */
  public boolean canWriteback() {
    return backing == Backing.DISK;
  }

  /** {@code i_mmap_lock_read}. */
  public void iMmapLockRead() {
    iMmapRwsem.readLock().lock();
    machine.verifier().onMmLockAcquired();
  }

  /** {@code i_mmap_unlock_read}. */
  public void iMmapUnlockRead() {
    iMmapRwsem.readLock().unlock();
    machine.verifier().onMmLockReleased("iMmapUnlockRead of " + name);
  }

  /** {@code i_mmap_lock_write}. */
  public void iMmapLockWrite() {
    iMmapRwsem.writeLock().lock();
    machine.verifier().onMmLockAcquired();
  }

  /** {@code i_mmap_unlock_write}. */
  public void iMmapUnlockWrite() {
    iMmapRwsem.writeLock().unlock();
    machine.verifier().onMmLockReleased("iMmapUnlockWrite of " + name);
  }

  /** Whether the current thread holds {@code i_mmap_rwsem}, for read or write. */
  public boolean iMmapLocked() {
    return iMmapRwsem.getReadHoldCount() > 0 || iMmapRwsem.isWriteLockedByCurrentThread();
  }

  /**
   * {@code vma_interval_tree_foreach}: every VMA mapping a file page in {@code [first, last]}, by
   * ascending {@code vm_pgoff}. The caller holds the i_mmap lock ({@code lockdep_assert_held}).
   */
  public Iterable<Vma> vmaIntervalTreeForeach(long first, long last) {
    if (!iMmapLocked()) {
      throw new IllegalStateException(
          "vmaIntervalTreeForeach on " + name + " without i_mmap_rwsem held: call"
              + " iMmapLockRead() first");
    }
    if (first < 0 || last < first) {
      throw new IllegalArgumentException(
          "file page range [" + first + ", " + last + "] is empty or negative");
    }
    return iMmap.overlapping(first, last);
  }

  /** Every VMA mapping this file, by ascending pgoff (takes the i_mmap lock). */
  public List<Vma> vmas() {
    iMmapRwsem.readLock().lock();
    try {
      List<Vma> out = new ArrayList<>();
      iMmap.overlapping(0, Long.MAX_VALUE).forEach(out::add);
      return out;
    } finally {
      iMmapRwsem.readLock().unlock();
    }
  }

  /**
   * {@code filemap_fault}'s page-cache lookup: the frame of file page {@code pgoff}, created
   * (zeroed) on first use. The page cache holds the new folio's allocation reference.
   */
  public long findOrCreatePage(long pgoff) {
    if (pgoff < 0) {
      throw new IllegalArgumentException("pgoff must be >= 0, was " + pgoff);
    }
    return pages.computeIfAbsent(pgoff, k -> {
      long pfn = machine.physMem().allocPage();
      machine.physMem().folio(pfn).setFile(this, k);
      return pfn;
    });
  }

  /** {@code filemap_get_folio}: the frame of file page {@code pgoff}, or -1 if not cached. */
  public long findPage(long pgoff) {
    Long pfn = pages.get(pgoff);
    return pfn == null ? -1 : pfn;
  }

  /**
   * Install frame {@code pfn} as file page {@code pgoff} (a driver's backing store); the page
   * cache takes over the frame's allocation reference.
   */
  public void addPage(long pgoff, long pfn) {
    if (pgoff < 0 || pfn < 0) {
      throw new IllegalArgumentException("pgoff and pfn must be >= 0, were " + pgoff + ", " + pfn);
    }
    if (pages.putIfAbsent(pgoff, pfn) != null) {
      throw new IllegalStateException("file page " + pgoff + " of " + name + " is already cached");
    }
    Folio folio = machine.physMem().folio(pfn);
    if (folio != null) {
      folio.setFile(this, pgoff);
    }
  }

  /** Number of pages in the page cache ({@code mapping->nrpages}). */
  public long nrpages() {
    return pages.size();
  }

  /** {@code vma_interval_tree_insert} under the i_mmap write lock. */
  void link(Vma vma) {
    iMmapLockWrite();
    try {
      linkLocked(vma);
    } finally {
      iMmapUnlockWrite();
    }
  }

  /** {@code vma_interval_tree_insert}; the caller holds the i_mmap write lock. */
  void linkLocked(Vma vma) {
    iMmap.insert(vma.pgoff(), vma.lastPgoff(), vma);
  }

  /** {@code vma_interval_tree_remove}; the caller holds the i_mmap write lock. */
  void unlink(Vma vma) {
    iMmap.remove(vma);
  }

  @Override
  public String toString() {
    return "address_space " + name;
  }
}
