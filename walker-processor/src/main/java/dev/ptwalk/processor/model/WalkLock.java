package dev.ptwalk.processor.model;

/** The lock a walker holds for its whole walk, which keeps the VMAs it visits in place. */
public enum WalkLock {
  /** {@code i_mmap_lock_read}: the file's VMAs, for {@link Scope#MAPPING}. */
  I_MMAP_READ("i_mmap_lock_read", "iMmapLockRead", "iMmapUnlockRead"),
  /** {@code mmap_read_lock}: one mm's VMAs, shared with faults and other readers. */
  MMAP_READ("mmap_read_lock", "mmapReadLock", "mmapReadUnlock"),
  /** {@code mmap_write_lock}: one mm's VMAs, excluding faults (clear_refs). */
  MMAP_WRITE("mmap_write_lock", "mmapWriteLock", "mmapWriteUnlock");

  private final String kernelName;
  private final String lockMethod;
  private final String unlockMethod;

  WalkLock(String kernelName, String lockMethod, String unlockMethod) {
    this.kernelName = kernelName;
    this.lockMethod = lockMethod;
    this.unlockMethod = unlockMethod;
  }

  /** The kernel's name, as {@code mmap_write_lock}. */
  public String kernelName() {
    return kernelName;
  }

  /** The runtime method that takes it. */
  public String lockMethod() {
    return lockMethod;
  }

  /** The runtime method that releases it. */
  public String unlockMethod() {
    return unlockMethod;
  }
}
