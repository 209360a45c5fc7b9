package dev.ptwalk.cli;

import dev.ptwalk.cli.demo.DriverDemo;
import dev.ptwalk.cli.demo.HtmlReport;
import dev.ptwalk.cli.scenario.Scenario;
import dev.ptwalk.cli.scenario.ScenarioException;
import dev.ptwalk.runtime.cpu.HardwareModel;
import dev.ptwalk.runtime.notifier.SecondaryMmu;
import dev.ptwalk.samples.RuntimeDemo;
import dev.ptwalk.samples.driver.DirtyTrackingDriver;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.InputStream;
import java.io.Writer;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
            + " check failed; 2 bad usage, a bad scenario line or a file that cannot be read or"
            + " written; 70 a bug in ptwalk."})
public final class Ptwalk implements Callable<Integer> {
  /** Exit status for a bug in ptwalk itself (no stack trace is printed). */
  public static final int INTERNAL_ERROR = 70;

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
    cl.setExecutionExceptionHandler((e, command, parsed) -> {
      // Every expected failure is reported where it happens; this is a bug in ptwalk.
      command.getErr().println("ptwalk " + command.getCommandName() + ": internal error: " + e
          + "; this is a bug in ptwalk, please report it with the command and its input");
      return INTERNAL_ERROR;
    });
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
      lines.add("Addresses are user addresses, below 0x7ffffffff000 (4-level paging). A walk with a"
          + " bitmap gets exactly the bits its file pages need (or bits=N, at least that many).");
      lines.add("");
      lines.add("A line that is not UTF-8 text, a malformed line, an unknown name or verb, an"
          + " overlapping VMA, a walker that cannot be found, refuses its arguments or throws"
          + " stops the run with FILE:LINE: and what is wrong on stderr, exit status 2; a walker"
          + " that breaks a page-table rule stops it with FILE:LINE: and the rule, exit status 1."
          + " A WARN_ON prints FILE:LINE: WARNING: on stderr and the run goes on.");
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
      String unreadable = unreadable(file);
      if (unreadable != null) {
        err.println("ptwalk run: cannot read scenario file " + file + ": " + unreadable);
        return 2;
      }
      PrintStream warnings = new PrintStream(new WriterOutputStream(err), true,
          StandardCharsets.UTF_8);
      try (URLClassLoader loader = new URLClassLoader(urls.toArray(new URL[0]), parent);
          InputStream in = Files.newInputStream(file)) {
        new Scenario(file.toString(), loader, out, warnings).run(in);
        out.flush();
        return 0;
      } catch (ScenarioException e) {
        out.flush();
        warnings.flush();
        err.println(e.getMessage());
        return e.status();
      } catch (IOException e) {
        out.flush();
        err.println("ptwalk run: cannot read scenario file " + file + ": " + reason(e));
        return 2;
      }
    }
  }

  /** Why {@code file} cannot be read as a scenario, or null when it can. */
  static String unreadable(Path file) {
    if (!Files.exists(file)) {
      return "no such file";
    }
    if (Files.isDirectory(file)) {
      return "it is a directory";
    }
    if (!Files.isReadable(file)) {
      return "permission denied";
    }
    return null;
  }

  /** What went wrong in an I/O exception, in words. */
  static String reason(IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file or directory";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof FileSystemException && ((FileSystemException) e).getReason() != null) {
      return ((FileSystemException) e).getReason();
    }
    return String.valueOf(e.getMessage());
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
        + " CLEAN_ONLY: applyAsClean alone, relying on hardware dirty bits; SOFT_DIRTY and"
        + " UFFD_WP: the buffer as shared memory, tracked by the generated soft-dirty or async"
        + " uffd-wp walker alone.")
    DirtyTrackingDriver.SyncMode mode = DriverDemo.Options.defaults().mode();

    @Option(names = "--kvm", paramLabel = "POLICY", description = "Also attach a secondary MMU"
        + " (KVM) to process A, whose guest makes one access in three there, with the"
        + " invalidation policy ${COMPLETION-CANDIDATES}: ZAP drops sptes on every event (KVM"
        + " today); WRPROTECT keeps them read-only for events that only take write permission"
        + " away. The page shows its sptes beside A's PTEs and its steps in each sync.")
    SecondaryMmu.InvalidationPolicy kvm;

    @Option(names = "--hardware", paramLabel = "MODEL", description = "The CPUs' dirty-bit"
        + " model: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}). WEAK keeps writing"
        + " through a writable TLB entry without setting D until it is flushed.")
    HardwareModel hardware = DriverDemo.Options.defaults().hardware();

    @Option(names = "--html", paramLabel = "FILE",
        description = "Also write the run as a page: the pages of each process by file offset"
            + " before and after each sync, and each sync's steps in order, per walker and per"
            + " CPU (the first and last frames in full, the others added up).")
    Path html;

    @Override
    public Integer call() throws IOException {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      DriverDemo.Options options;
      try {
        options = new DriverDemo.Options(seed, frames, writes, pages, mode, hardware, kvm);
      } catch (IllegalArgumentException e) {
        err.println("ptwalk demo: " + e.getMessage());
        return 2;
      }
      // Open the page before the run: a bad path is reported at once, not after a long run.
      Writer page = null;
      if (html != null) {
        String problem = unwritable(html);
        if (problem == null) {
          try {
            page = Files.newBufferedWriter(html, StandardCharsets.UTF_8);
          } catch (IOException e) {
            problem = reason(e);
          }
        }
        if (problem != null) {
          err.println("ptwalk demo: cannot write --html " + html + ": " + problem);
          return 2;
        }
      }
      try (Writer pageOut = page) {
        PrintStream progress = new PrintStream(new WriterOutputStream(err), true,
            StandardCharsets.UTF_8);
        PrintStream printed = new PrintStream(new WriterOutputStream(out), true,
            StandardCharsets.UTF_8);
        DriverDemo.Result result = DriverDemo.run(options, progress, printed);
        printed.flush();
        if (pageOut != null) {
          HtmlReport.write(options, result, pageOut);
          out.println("wrote " + html);
        }
        return result.mismatched().isEmpty() ? 0 : 1;
      }
    }

    /** Why {@code file} cannot be written as the page, or null when it may be. */
    static String unwritable(Path file) {
      if (Files.isDirectory(file)) {
        return "it is a directory; give a file name, for example " + file.resolve("demo.html");
      }
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null && !Files.isDirectory(parent)) {
        return "directory " + parent + " does not exist";
      }
      return null;
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
