package dev.ptwalk.runtime.mm;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The per-CPU folio batches through which folios join the LRU and become lazyfree, and the CPU
 * the current thread runs kernel code on.
 *
 * <p>Mirrors {@code struct cpu_fbatches} and the functions of {@code mm/swap.c} that fill and drain
 * it ({@code folio_add_lru}, {@code folio_mark_lazyfree}, {@code lru_add_drain}, {@code
 * lru_add_drain_cpu}, {@code folio_batch_move_lru}), with {@code folio_isolate_lru} and {@code
 * folio_putback_lru} of {@code mm/vmscan.c}. A batch holds a reference on each folio in it and is
 * moved to the LRU when it fills ({@value #FOLIO_BATCH_SIZE} folios) or is drained; until then a
 * new folio is not on the LRU ({@code PG_lru} clear), so reclaim cannot isolate it, and a folio
 * marked lazyfree is still swap-backed. That is why {@code MADV_PAGEOUT} on one CPU may not see
 * what {@code MADV_FREE} did on another (written-tracking reference, ex. 09), and why the kernel
 * drains the local batches at the start of both.
 *
 * <p>The batches are a machine option ({@link dev.ptwalk.runtime.Machine.Builder#lruBatches}). When
 * off, the default, every folio joins the LRU and becomes lazyfree at once, as if each call were
 * followed by {@code lru_add_drain_all}, and no LRU check refuses anything: the behaviour of a
 * runtime without this class.
 *
 * <p>{@link #smpProcessorId()} is the CPU the current thread runs on: the one a {@link
 * dev.ptwalk.runtime.cpu.Cpu} binds while it handles a fault, or one bound with {@link #onCpu}, as
 * a task pinned to that CPU makes its system calls there; CPU 0 for a thread bound to none.
 */
public final class CpuFbatches {
  /** {@code FOLIO_BATCH_SIZE}: folios in one batch before it is moved to the LRU. */
  public static final int FOLIO_BATCH_SIZE = 31;

  private final boolean enabled;
  private final List<List<Folio>> lruAdd = new ArrayList<>();
  private final List<List<Folio>> lruLazyfree = new ArrayList<>();
  private final ThreadLocal<Integer> thisCpu = new ThreadLocal<>();

  /** Batches for {@code nrCpus} CPUs, kept only when {@code enabled}. */
  CpuFbatches(int nrCpus, boolean enabled) {
    if (nrCpus < 1) {
      throw new IllegalArgumentException("nrCpus must be >= 1, was " + nrCpus);
    }
    this.enabled = enabled;
    for (int i = 0; i < nrCpus; i++) {
      lruAdd.add(new ArrayList<>());
      lruLazyfree.add(new ArrayList<>());
    }
  }

  /** Whether per-CPU batches are kept; when not, folios move to the LRU at once. */
  public boolean enabled() {
    return enabled;
  }

  /** The number of CPUs, each with its batches. */
  public int nrCpus() {
    return lruAdd.size();
  }

  /** {@code smp_processor_id()}: the CPU the current thread is bound to, 0 when none. */
  public int smpProcessorId() {
    Integer cpu = thisCpu.get();
    return cpu == null ? 0 : cpu;
  }

  /**
   * Run {@code body} on CPU {@code cpu}: inside it {@link #smpProcessorId()} is {@code cpu}, so
   * the batches it fills and drains are that CPU's. Nests; the previous binding is restored.
   */
  public <T> T onCpu(int cpu, Supplier<T> body) {
    if (cpu < 0 || cpu >= nrCpus()) {
      throw new IllegalArgumentException(
          "no CPU " + cpu + ": this machine has CPUs 0.." + (nrCpus() - 1));
    }
    Integer previous = thisCpu.get();
    thisCpu.set(cpu);
    try {
      return body.get();
    } finally {
      if (previous == null) {
        thisCpu.remove();
      } else {
        thisCpu.set(previous);
      }
    }
  }

  /** The folios in CPU {@code cpu}'s {@code lru_add} batch, oldest first; for tests and dumps. */
  public synchronized List<Folio> lruAddBatch(int cpu) {
    return List.copyOf(lruAdd.get(cpu));
  }

  /** The folios in CPU {@code cpu}'s {@code lru_lazyfree} batch, oldest first. */
  public synchronized List<Folio> lruLazyfreeBatch(int cpu) {
    return List.copyOf(lruLazyfree.get(cpu));
  }

  /**
   * {@code folio_add_lru}: a new folio (anonymous memory just mapped, or a page-cache page just
   * added) joins this CPU's {@code lru_add} batch, which takes a reference; the batch moves to the
   * LRU when it is full. Without batches the folio is on the LRU at once.
   */
  public void folioAddLru(Folio folio) {
    if (!enabled) {
      folio.setLru();
      return;
    }
    synchronized (this) {
      List<Folio> batch = lruAdd.get(smpProcessorId());
      folio.get();
      batch.add(folio);
      if (batch.size() >= FOLIO_BATCH_SIZE) {
        moveLruAdd(batch);
      }
    }
  }

  /**
   * {@code folio_mark_lazyfree}: an anonymous, swap-backed folio on the LRU joins this CPU's
   * {@code lru_lazyfree} batch; it becomes lazyfree ({@code lru_lazyfree}: active, referenced and
   * swap-backed cleared) when the batch is moved. A folio not on the LRU (still in some CPU's
   * {@code lru_add} batch, or isolated) is left alone. Without batches it becomes lazyfree at
   * once, LRU or not.
   */
  public void folioMarkLazyfree(Folio folio) {
    if (!enabled) {
      folio.lruLazyfree();
      return;
    }
    if (!folio.anon() || !folio.swapbacked() || !folio.lru()) {
      return;
    }
    synchronized (this) {
      List<Folio> batch = lruLazyfree.get(smpProcessorId());
      folio.get();
      batch.add(folio);
      if (batch.size() >= FOLIO_BATCH_SIZE) {
        moveLruLazyfree(batch);
      }
    }
  }

  /** {@code lru_add_drain}: move this CPU's batches to the LRU. */
  public void lruAddDrain() {
    lruAddDrainCpu(smpProcessorId());
  }

  /** {@code lru_add_drain_cpu}: move CPU {@code cpu}'s batches to the LRU. */
  public synchronized void lruAddDrainCpu(int cpu) {
    if (!enabled) {
      return;
    }
    moveLruAdd(lruAdd.get(cpu));
    moveLruLazyfree(lruLazyfree.get(cpu));
  }

  /** {@code lru_add_drain_all}: move every CPU's batches to the LRU. */
  public synchronized void lruAddDrainAll() {
    for (int cpu = 0; cpu < nrCpus(); cpu++) {
      lruAddDrainCpu(cpu);
    }
  }

  /**
   * {@code folio_isolate_lru}: take {@code folio} off the LRU for reclaim, with a reference of its
   * own; false when it is not on the LRU (in a batch, or isolated by someone else). Without
   * batches every folio can be isolated.
   */
  public boolean folioIsolateLru(Folio folio) {
    if (enabled && !folio.testClearLru()) {
      return false;
    }
    folio.get();
    return true;
  }

  /** {@code folio_putback_lru}: an isolated folio goes back on the LRU; its reference is dropped. */
  public void folioPutbackLru(Folio folio) {
    folio.setLru();
    folio.put();
  }

  /**
   * {@code folio_batch_move_lru} with {@code lru_add}: each folio joins the LRU, unless the
   * batch's reference is the last one ({@code folio_ref_freeze(folio, 1)}), in which case the
   * folio is freed here; then the batch's references are dropped.
   */
  private void moveLruAdd(List<Folio> batch) {
    for (Folio folio : batch) {
      if (folio.refFreeze(1)) {
        continue; // dead: the batch held the last reference, and nothing is left to put
      }
      folio.setLru();
      folio.put();
    }
    batch.clear();
  }

  /**
   * {@code folio_batch_move_lru} with {@code lru_lazyfree}: each folio still on the LRU becomes
   * lazyfree; then the batch's references are dropped, whether or not it did.
   */
  private void moveLruLazyfree(List<Folio> batch) {
    for (Folio folio : batch) {
      if (folio.testClearLru()) {
        folio.lruLazyfree();
        folio.setLru();
      }
      folio.put();
    }
    batch.clear();
  }

  @Override
  public synchronized String toString() {
    return "cpu_fbatches" + (enabled ? " lru_add=" + lruAdd + " lru_lazyfree=" + lruLazyfree
        : " (off)");
  }
}
