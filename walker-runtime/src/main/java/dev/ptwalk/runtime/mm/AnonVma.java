package dev.ptwalk.runtime.mm;

import dev.ptwalk.runtime.Machine;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The reverse map of anonymous memory: every VMA that may map a folio of this anon_vma.
 *
 * <p>Mirrors {@code struct anon_vma} with its {@code anon_vma_chain} ({@code mm/rmap.c}): a VMA
 * gets one on its first anonymous fault ({@code anon_vma_prepare}); a VMA split off it ({@code
 * anon_vma_clone}) and a child's copy of it at fork ({@code anon_vma_fork}) are linked to the same
 * one, so reclaim finds every PTE that maps one of its folios, in every mm. The kernel gives a
 * forked child its own anon_vma as well, for the folios only the child creates; here those join
 * the parent's, which makes rmap walks visit a few more VMAs and find the same PTEs. Guarded by
 * {@code anon_vma->rwsem}.
 */
public final class AnonVma {
  private final Machine machine;
  private final ReentrantReadWriteLock rwsem = new ReentrantReadWriteLock();
  private final CopyOnWriteArrayList<Vma> vmas = new CopyOnWriteArrayList<>();

  AnonVma(Machine machine) {
    this.machine = machine;
  }

  /** {@code anon_vma_lock_read}. */
  public void lockRead() {
    rwsem.readLock().lock();
    machine.verifier().onMmLockAcquired();
  }

  /** {@code anon_vma_unlock_read}. */
  public void unlockRead() {
    rwsem.readLock().unlock();
    machine.verifier().onMmLockReleased("anon_vma_unlock_read");
  }

  /**
   * {@code anon_vma_interval_tree_foreach} over the whole chain: the VMAs linked to this
   * anon_vma, in the order they were linked.
   */
  public List<Vma> vmas() {
    return List.copyOf(vmas);
  }

  /** {@code anon_vma_lock_write}, as {@code vma_prepare} takes it around a VMA's range change. */
  void lockWrite() {
    rwsem.writeLock().lock();
  }

  /** {@code anon_vma_unlock_write}. */
  void unlockWrite() {
    rwsem.writeLock().unlock();
  }

  /** {@code anon_vma_chain_link}, under the write lock. */
  void link(Vma vma) {
    rwsem.writeLock().lock();
    try {
      if (!vmas.contains(vma)) {
        vmas.add(vma);
      }
    } finally {
      rwsem.writeLock().unlock();
    }
  }

  /** {@code unlink_anon_vmas}, under the write lock. */
  void unlink(Vma vma) {
    rwsem.writeLock().lock();
    try {
      vmas.remove(vma);
    } finally {
      rwsem.writeLock().unlock();
    }
  }

  @Override
  public String toString() {
    return "anon_vma of " + vmas.size() + " VMA(s)";
  }
}
