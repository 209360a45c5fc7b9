package dev.ptwalk.benchmarks;

import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.samples.DirtyHelpersWalkers;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Many VMAs: one mapping with 10,000 VMAs of 4 pages across 100 mms (100 each), the first page of
 * each present and dirty. One clean walk over the whole file visits every VMA through the i_mmap
 * interval tree and opens one bracket each. Scores are µs per walk; divide by 10,000 for the cost
 * per VMA.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ManyVmasBench {
  static final int MMS = 100;
  static final int VMAS_PER_MM = 100;
  static final int PAGES_PER_VMA = 4;
  static final int VMAS = MMS * VMAS_PER_MM;

  private AddressSpace mapping;
  private Vma[] vmas;
  private PteTable[] tables;
  private long[] bitmap;

  @Setup(Level.Trial)
  public void build() {
    Machine m = Fixtures.machine();
    mapping = m.newAddressSpace("many");
    vmas = new Vma[VMAS];
    tables = new PteTable[VMAS];
    for (int i = 0; i < MMS; i++) {
      MmStruct mm = m.newMm("mm" + i);
      for (int j = 0; j < VMAS_PER_MM; j++) {
        int k = i * VMAS_PER_MM + j;
        vmas[k] = mm.mmap(mapping, Fixtures.BASE + j * 0x10_0000L, PAGES_PER_VMA,
            (long) k * PAGES_PER_VMA, Fixtures.FLAGS);
        tables[k] = mm.pgd().pteAlloc(vmas[k].start());
      }
    }
    bitmap = new long[VMAS * PAGES_PER_VMA / 64];
    reset();
  }

  @Setup(Level.Invocation)
  public void reset() {
    for (int k = 0; k < VMAS; k++) {
      Fixtures.set(vmas[k].mm(), tables[k], vmas[k].start(), k, true);
    }
  }

  @Benchmark
  public long cleanGenerated() {
    return DirtyHelpersWalkers.applyAsClean(mapping, 0, (long) VMAS * PAGES_PER_VMA, 0, bitmap,
        new DirtyWindow());
  }
}
