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
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Dense: a {@code VM_SHARED|VM_WRITE|VM_IO} mapping of 1 Mi pages (4 GiB), all present, one in
 * eight dirty. Scores are ns per PTE. Each walk starts from the same PTEs (reset outside the
 * measurement).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class DenseBench {
  static final int PAGES = 1 << 20;

  private Vma vma;
  private long[] bitmap;

  @Setup(Level.Trial)
  public void build() {
    Machine m = Fixtures.machine();
    vma = Fixtures.dense(m, "dense", PAGES);
    bitmap = new long[PAGES / 64];
    // Share the generic walker among three leaves, as a library's walker is: its per-PTE call
    // site then sees several types, as it would in a program with several users.
    Fixtures.fill(vma, 8);
    VisitorWalker.walk(vma.mapping(), 0, 4096, VisitorWalker.MKOLD, 0, bitmap, new DirtyWindow());
    VisitorWalker.walk(vma.mapping(), 0, 4096, VisitorWalker.WRPROTECT, 0, null, null);
    VisitorWalker.walk(vma.mapping(), 0, 4096, VisitorWalker.CLEAN, 0, bitmap, new DirtyWindow());
  }

  @Setup(Level.Invocation)
  public void reset() {
    Fixtures.fill(vma, 8);
  }

  @Benchmark
  @OperationsPerInvocation(PAGES)
  public long cleanGenerated() {
    return DirtyHelpersWalkers.applyAsClean(vma.mapping(), 0, PAGES, 0, bitmap, new DirtyWindow());
  }

  @Benchmark
  @OperationsPerInvocation(PAGES)
  public long cleanHandWritten() {
    return HandWrittenWalkers.applyAsClean(vma.mapping(), 0, PAGES, 0, bitmap, new DirtyWindow());
  }

  @Benchmark
  @OperationsPerInvocation(PAGES)
  public long cleanVisitor() {
    return VisitorWalker.walk(vma.mapping(), 0, PAGES, VisitorWalker.CLEAN, 0, bitmap,
        new DirtyWindow());
  }

  @Benchmark
  @OperationsPerInvocation(PAGES)
  public long wrprotectGenerated() {
    return DirtyHelpersWalkers.applyAsWrprotect(vma.mapping(), 0, PAGES);
  }

  @Benchmark
  @OperationsPerInvocation(PAGES)
  public long wrprotectHandWritten() {
    return HandWrittenWalkers.applyAsWrprotect(vma.mapping(), 0, PAGES);
  }

  @Benchmark
  @OperationsPerInvocation(PAGES)
  public long wrprotectVisitor() {
    return VisitorWalker.walk(vma.mapping(), 0, PAGES, VisitorWalker.WRPROTECT, 0, null, null);
  }
}
