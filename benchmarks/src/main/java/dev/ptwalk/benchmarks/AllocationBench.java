package dev.ptwalk.benchmarks;

import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.samples.DirtyHelpersWalkers;
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
 * Allocation: one clean walk (with bitmap) over {@code pages} present PTEs, one in eight dirty.
 * Run with {@code -prof gc}: {@code gc.alloc.rate.norm} (bytes per walk) must not grow with the
 * number of PTEs.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AllocationBench {
  @Param({"4096", "65536", "1048576"})
  public int pages;

  private Vma vma;
  private long[] bitmap;

  @Setup(Level.Trial)
  public void build() {
    Machine m = Fixtures.machine();
    vma = Fixtures.dense(m, "alloc", pages);
    bitmap = new long[pages / 64];
  }

  @Setup(Level.Invocation)
  public void reset() {
    Fixtures.fill(vma, 8);
  }

  @Benchmark
  public long cleanGenerated() {
    return DirtyHelpersWalkers.applyAsClean(vma.mapping(), 0, pages, 0, bitmap, new DirtyWindow());
  }
}
