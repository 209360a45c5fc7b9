package dev.ptwalk.benchmarks;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.pgtable.PteTable;
import dev.ptwalk.samples.DirtyHelpersWalkers;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Sparse: 1,000 present pages scattered over a range of {@code rangeGiB}, from 1 GiB to 126 TiB
 * (nearly all of the 47-bit space). The walk's cost must follow the populated tables, so the
 * score (µs per walk) must not grow with the range.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SparseBench {
  static final int POPULATED = 1000;

  @Param({"1", "1024", "65536", "129024"})
  public long rangeGiB;

  private Vma vma;
  private long[] addrs;
  private PteTable[] tables;

  @Setup(Level.Trial)
  public void build() {
    Machine m = Fixtures.machine();
    AddressSpace mapping = m.newAddressSpace("sparse");
    MmStruct mm = m.newMm("sparse");
    long pages = (rangeGiB << 30) >>> 12;
    vma = mm.mmap(mapping, 1L << 30, pages, 0, Fixtures.FLAGS);
    SplittableRandom rnd = new SplittableRandom(7);
    addrs = new long[POPULATED];
    tables = new PteTable[POPULATED];
    for (int i = 0; i < POPULATED; i++) {
      addrs[i] = vma.start() + (rnd.nextLong(pages) << 12);
      tables[i] = mm.pgd().pteAlloc(addrs[i]);
    }
    reset();
  }

  @Setup(Level.Invocation)
  public void reset() {
    for (int i = 0; i < POPULATED; i++) {
      Fixtures.set(vma.mm(), tables[i], addrs[i], i, false);
    }
  }

  @Benchmark
  public long wrprotectGenerated() {
    return DirtyHelpersWalkers.applyAsWrprotect(vma.mapping(), 0, vma.pages());
  }
}
