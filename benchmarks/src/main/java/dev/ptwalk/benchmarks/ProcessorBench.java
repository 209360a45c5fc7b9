package dev.ptwalk.benchmarks;

import dev.ptwalk.processor.PteCallbackProcessor;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The processor's share of compile time: 1,000 callbacks in 100 classes compiled by javac in
 * process, without the processor ({@code -proc:none}), with it generating only ({@code
 * -proc:only}), with it in full (generation and compiling the 1,000 generated walkers; their body
 * checks skipped, as by default), with it in full and {@code -Aptwalk.checkGenerated=true} (the
 * body checks run on the generated walkers too), and, for the processor's own share, the same
 * sources plus the walkers it generates compiled without it, as if written by hand. Scores are
 * ms per compilation.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 5)
@Fork(1)
public class ProcessorBench {
  static final int CLASSES = 100;
  static final int CALLBACKS_PER_CLASS = 10;

  private Path sources;
  private List<File> files;
  private Path generated;
  private List<File> withGenerated;
  private List<File> classpath;
  private Path out;

  @Setup(Level.Trial)
  public void writeSources() throws IOException, URISyntaxException {
    sources = Files.createTempDirectory("ptwalk-bench-src");
    files = new ArrayList<>();
    for (int c = 0; c < CLASSES; c++) {
      StringBuilder s = new StringBuilder("package bench;\n\n"
          + "import static dev.ptwalk.annotations.PteCallback.Kind.*;\n\n"
          + "import dev.ptwalk.annotations.PteCallback;\n"
          + "import dev.ptwalk.runtime.Pte;\n\n"
          + "final class Leaves" + c + " {\n");
      for (int k = 0; k < CALLBACKS_PER_CLASS; k++) {
        if (k % 2 == 0) {
          s.append("  @PteCallback(WRPROTECT) static long wp").append(k)
              .append("(long pte) { return Pte.wrprotect(pte); }\n");
        } else {
          s.append("  @PteCallback(value = CLEAN, bitmap = true) static long clean").append(k)
              .append("(long pte) { return Pte.dirty(pte) ? Pte.mkclean(pte) : pte; }\n");
        }
      }
      s.append("}\n");
      Path f = sources.resolve("Leaves" + c + ".java");
      Files.writeString(f, s);
      files.add(f.toFile());
    }
    classpath = List.of(new File(PteCallbackProcessor.class.getProtectionDomain().getCodeSource()
        .getLocation().toURI()));
    // The walkers the processor writes for these sources, kept as sources of their own.
    generated = Files.createTempDirectory("ptwalk-bench-gen");
    out = generated;
    compile(true, "-proc:only");
    withGenerated = new ArrayList<>(files);
    try (Stream<Path> walk = Files.walk(generated)) {
      for (Path p : walk.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
        withGenerated.add(p.toFile());
      }
    }
    if (withGenerated.size() != files.size() + CLASSES) {
      throw new IllegalStateException("expected " + CLASSES + " generated files, found "
          + (withGenerated.size() - files.size()));
    }
  }

  @Setup(Level.Invocation)
  public void freshOutput() throws IOException {
    out = Files.createTempDirectory("ptwalk-bench-out");
  }

  @TearDown(Level.Invocation)
  public void deleteOutput() throws IOException {
    delete(out);
  }

  @TearDown(Level.Trial)
  public void deleteSources() throws IOException {
    delete(sources);
    delete(generated);
  }

  private static void delete(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private boolean compile(boolean processor, String proc, String... more) throws IOException {
    return compile(files, processor, proc, more);
  }

  private boolean compile(List<File> units0, boolean processor, String proc, String... more)
      throws IOException {
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    try (StandardJavaFileManager fm = javac.getStandardFileManager(null, null, null)) {
      Iterable<? extends JavaFileObject> units = fm.getJavaFileObjectsFromFiles(units0);
      List<String> options = new ArrayList<>(List.of("--release", "17", "-d", out.toString(),
          "-s", out.toString(), "-classpath", classpath.get(0).toString(), proc));
      options.addAll(List.of(more));
      JavaCompiler.CompilationTask task = javac.getTask(null, fm, null, options, null, units);
      if (processor) {
        task.setProcessors(List.of(new PteCallbackProcessor()));
      }
      boolean ok = task.call();
      if (!ok) {
        throw new IllegalStateException("the benchmark's sources did not compile");
      }
      return ok;
    }
  }

  @Benchmark
  public boolean withoutProcessor() throws IOException {
    return compile(false, "-proc:none");
  }

  @Benchmark
  public boolean processorGeneratingOnly() throws IOException {
    return compile(true, "-proc:only");
  }

  @Benchmark
  public boolean withProcessor() throws IOException {
    return compile(true, "-proc:full");
  }

  /** As {@link #withProcessor}, with the body checks also run on the 1,000 generated walkers. */
  @Benchmark
  public boolean withProcessorCheckingGenerated() throws IOException {
    return compile(true, "-proc:full", "-A" + PteCallbackProcessor.CHECK_GENERATED + "=true");
  }

  /** The sources and the walkers generated for them, compiled without the processor. */
  @Benchmark
  public boolean generatedWalkersWithoutProcessor() throws IOException {
    return compile(withGenerated, false, "-proc:none");
  }
}
