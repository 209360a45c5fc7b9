package dev.ptwalk.cli;

import dev.ptwalk.cli.demo.DriverDemo;
import dev.ptwalk.cli.demo.HtmlReport;
import dev.ptwalk.cli.scenario.Scenario;
import dev.ptwalk.cli.scenario.ScenarioException;
import dev.ptwalk.runtime.cpu.HardwareModel;
import dev.ptwalk.runtime.debug.VerifierViolation;
import dev.ptwalk.samples.RuntimeDemo;
import dev.ptwalk.samples.driver.DirtyTrackingDriver;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.Reader;
import java.io.Writer;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/** The {@code ptwalk} command: {@code run}, {@code demo} and {@code runtime-demo}. */
@Command(name = "ptwalk", mixinStandardHelpOptions = true, version = "ptwalk 0.1.0",
    description = "Generated page-table walkers on a simulated Linux mm.",
    subcommands = {Ptwalk.Run.class, Ptwalk.Demo.class, Ptwalk.RuntimeDemoCommand.class,
        CommandLine.HelpCommand.class},
    footer = {"", "bin/ptwalk builds the project on first use and whenever a source changed;"
        + " 'bin/ptwalk build' rebuilds it.", "",
        "Exit status: 0 success; 1 a walker broke a page-table rule, or the demo's end-to-end"
            + " check failed; 2 bad usage or a bad scenario line."})
public final class Ptwalk implements Callable<Integer> {
  @Spec
  CommandLine.Model.CommandSpec spec;

  private Ptwalk() {}

  /** Entry point. */
  public static void main(String[] args) {
    System.exit(execute(System.out, System.err, args));
  }

  /** Run {@code args}, printing to {@code out} and {@code err}; returns the exit status. */
  public static int execute(PrintStream out, PrintStream err, String... args) {
    CommandLine cl = new CommandLine(new Ptwalk());
    Run.describe(cl.getSubcommands().get("run").getCommandSpec().usageMessage());
    cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
    cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
    return cl.execute(args);
  }

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return 2;
  }

  /** {@code ptwalk run}. */
  @Command(name = "run", mixinStandardHelpOptions = true,
      description = "Run a scenario file against a fresh simulated machine and print what"
          + " happened, one JSON object per line.")
  static final class Run implements Callable<Integer> {
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--classpath", paramLabel = "PATH",
        description = "Directories and jars holding your walkers, separated by '${sys:path.separator}'.")
    String classpath;

    @Parameters(paramLabel = "FILE", description = "The scenario file.")
    Path file;

    /** The description {@code run --help} prints: the format, from the table of verbs. */
    static void describe(CommandLine.Model.UsageMessageSpec usage) {
      List<String> lines = new ArrayList<>(List.of(usage.description()));
      lines.add("");
      lines.add("Scenario lines ('#' starts a comment; numbers are decimal or 0x-hex):");
      lines.addAll(Scenario.help());
      lines.add("");
      lines.add("A malformed line, an unknown name or verb, an overlapping VMA or a walker that"
          + " cannot be found stops the run with a message on stderr naming the line, exit"
          + " status 2.");
      usage.description(lines.toArray(new String[0]));
    }

    @Override
    public Integer call() throws IOException {
      PrintStream out = new PrintStream(new WriterOutputStream(spec.commandLine().getOut()), true,
          StandardCharsets.UTF_8);
      PrintWriter err = spec.commandLine().getErr();
      ClassLoader parent = Ptwalk.class.getClassLoader();
      List<URL> urls = new ArrayList<>();
      if (classpath != null) {
        for (String entry : classpath.split(File.pathSeparator)) {
          if (entry.isEmpty()) {
            continue;
          }
          File f = new File(entry);
          if (!f.exists()) {
            err.println("ptwalk run: --classpath entry " + entry + " does not exist");
            return 2;
          }
          try {
            urls.add(f.toURI().toURL());
          } catch (MalformedURLException e) {
            err.println("ptwalk run: --classpath entry " + entry + ": " + e.getMessage());
            return 2;
          }
        }
      }
      if (!Files.isReadable(file)) {
        err.println("ptwalk run: cannot read scenario file " + file);
        return 2;
      }
      try (URLClassLoader loader = new URLClassLoader(urls.toArray(new URL[0]), parent);
          Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        new Scenario(file.toString(), loader, out).run(in);
        out.flush();
        return 0;
      } catch (ScenarioException e) {
        out.flush();
        err.println(e.getMessage());
        return 2;
      } catch (VerifierViolation e) {
        out.flush();
        err.println(file + ": a walker broke a page-table rule: " + e.getMessage());
        return 1;
      }
    }
  }

  /** {@code ptwalk demo}. */
  @Command(name = "demo", mixinStandardHelpOptions = true,
      description = {"Run the vmwgfx-style dirty-tracking driver: two processes map a device"
          + " buffer, two CPUs store to random pages, the driver syncs every frame with the"
          + " generated walkers. Prints a table per frame and checks, at the end, that the"
          + " device copy equals CPU memory."})
  static final class Demo implements Callable<Integer> {
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--seed", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed = DriverDemo.Options.defaults().seed();

    @Option(names = "--frames", description = "Frames, one sync each (default: ${DEFAULT-VALUE}).")
    int frames = DriverDemo.Options.defaults().frames();

    @Option(names = "--writes", description = "Accesses per frame, three stores in four"
        + " (default: ${DEFAULT-VALUE}).")
    int writes = DriverDemo.Options.defaults().writesPerFrame();

    @Option(names = "--pages", description = "Pages in the buffer, 8..4096 (default:"
        + " ${DEFAULT-VALUE}).")
    int pages = DriverDemo.Options.defaults().pages();

    @Option(names = "--mode", paramLabel = "MODE", description = "How each sync finds dirty pages:"
        + " ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}). GENERATED: the generated"
        + " applyAsWrprotect then applyAsClean; FUSED: the driver's hand-written walker;"
        + " CLEAN_ONLY: applyAsClean alone, relying on hardware dirty bits.")
    DirtyTrackingDriver.SyncMode mode = DriverDemo.Options.defaults().mode();

    @Option(names = "--hardware", paramLabel = "MODEL", description = "The CPUs' dirty-bit"
        + " model: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}). WEAK keeps writing"
        + " through a writable TLB entry without setting D until it is flushed.")
    HardwareModel hardware = DriverDemo.Options.defaults().hardware();

    @Option(names = "--html", paramLabel = "FILE",
        description = "Also write the run as a page: pages by state, brackets and flushes.")
    Path html;

    @Override
    public Integer call() throws IOException {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      DriverDemo.Options options;
      try {
        options = new DriverDemo.Options(seed, frames, writes, pages, mode, hardware);
      } catch (IllegalArgumentException e) {
        err.println("ptwalk demo: " + e.getMessage());
        return 2;
      }
      PrintStream progress = new PrintStream(new WriterOutputStream(err), true,
          StandardCharsets.UTF_8);
      DriverDemo.Result result = DriverDemo.run(options, progress);
      PrintStream printed = new PrintStream(new WriterOutputStream(out), true,
          StandardCharsets.UTF_8);
      DriverDemo.print(options, result, printed);
      printed.flush();
      if (html != null) {
        try (Writer page = Files.newBufferedWriter(html, StandardCharsets.UTF_8)) {
          HtmlReport.write(options, result, page);
        }
        out.println("wrote " + html);
      }
      return result.mismatched().isEmpty() ? 0 : 1;
    }
  }

  /** {@code ptwalk runtime-demo}. */
  @Command(name = "runtime-demo", mixinStandardHelpOptions = true,
      description = "Map a file into two processes, load and store from two CPUs, and print the"
          + " faults taken and every PTE's state.")
  static final class RuntimeDemoCommand implements Callable<Integer> {
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      PrintStream out = new PrintStream(new WriterOutputStream(spec.commandLine().getOut()), true,
          StandardCharsets.UTF_8);
      RuntimeDemo.run(out);
      out.flush();
      return 0;
    }
  }
}
