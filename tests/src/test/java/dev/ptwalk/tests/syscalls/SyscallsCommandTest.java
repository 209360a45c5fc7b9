package dev.ptwalk.tests.syscalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.cli.Ptwalk;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvFileSource;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code ptwalk syscalls FILE}: every example of the written-tracking reference gives exactly the
 * kernel's output (ex. 09, which varies under load on the real kernel, its recorded majority
 * outcome); a bad line stops the run before anything runs with {@code pmscan}'s very message; the
 * help lists the format; the launcher runs it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SyscallsCommandTest {
  @TempDir
  Path dir;

  static Stream<RecordedTrace> examples() {
    return RecordedTrace.load("examples").stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("examples")
  void everyExampleGivesTheKernelsOutput(RecordedTrace example) {
    SimulatorTraceExecutor.Result r = SimulatorTraceExecutor.execute(example.trace());
    assertEquals("", r.err());
    assertEquals(0, r.status());
    assertEquals(Optional.empty(), OutputDiff.firstDifference(example.expected(), r.out()));
  }

  @Test
  void thereAreThirteenExamplesAndNineIsTheMajorityOutcome() {
    assertEquals(13, examples().count());
    RecordedTrace nine = examples().filter(t -> t.name().startsWith("09")).findFirst()
        .orElseThrow();
    assertEquals("{\"line\":17,\"scan\":\"A\",\"ret\":2,\"walk_end\":4,\"ranges\":[{\"start\":0,"
        + "\"end\":2,\"cats\":[\"WPALLOWED\",\"WRITTEN\",\"PRESENT\"]},{\"start\":2,\"end\":4,"
        + "\"cats\":[\"WPALLOWED\",\"WRITTEN\"]}]}\n", SimulatorTraceExecutor.execute(nine.trace())
        .out(), "only page 2, freed and paged out on one CPU, is discarded");
  }

  private Path trace(String text) throws IOException {
    Path p = dir.resolve("t.trace");
    Files.writeString(p, text, StandardCharsets.UTF_8);
    return p;
  }

  /** The bad lines {@code KernelTraceRunnerTest} gives {@code pmscan} (bad-lines.csv), and more. */
  @ParameterizedTest(name = "line {0}: {1}")
  @CsvFileSource(resources = "/syscalls/bad-lines.csv", delimiterString = "->",
      quoteCharacter = '`')
  @CsvSource(delimiterString = "->", quoteCharacter = '`', textBlock = """
      2 -> scan A return=WRITTEN,,PRESENT -> return=: empty category in 'WRITTEN,,PRESENT'
      2 -> scan A max=                 -> max=: missing value
      2 -> write A 0x                  -> page: '0x' is not a number (use decimal or 0x hex)
      2 -> write A 18446744073709551616 -> page: '18446744073709551616' is not a number (use decimal or 0x hex)
      2 -> region B pages=0 kind=anon  -> pages=0: a region has at least one page
      2 -> region b$ pages=1 kind=anon -> 'b$' is not a valid region name (1 to 32 letters, digits, '_', '-' or '.')
      2 -> write a$ 0                  -> 'a$' is not a region name
      2 -> pagemap                     -> pagemap needs a region name
      """)
  void aBadLineStopsTheTraceWithPmscansMessageBeforeAnythingRuns(int line, String bad,
      String message) throws IOException {
    Path t = trace("region A pages=8 kind=anon\n" + bad + "\nscan A\n");
    SimulatorTraceExecutor.Result r = SimulatorTraceExecutor.execute(t);
    assertEquals(2, r.status());
    assertEquals(t + ":" + line + ": " + message + "\n", r.err());
    assertEquals("", r.out(), "nothing ran");
    // The same words as the kernel side, where gcc is here to build it.
    try {
      KernelTraceRunner.Result k = KernelTraceRunner.build().check(t);
      assertEquals(r.err(), k.stderr(), "pmscan --check says the same");
    } catch (KernelTraceRunner.GccMissingException e) {
      // Only the simulator's words are checked.
    }
  }

  @Test
  void uffdFeaturesLinesAreCheckedAsPmscanChecksThem() throws IOException {
    for (String[] c : new String[][] {
        {"uffd features=async,none", "features=none cannot be combined with other features"},
        {"uffd features=fast", "unknown feature 'fast' (usage: uffd features=F[,F...] with F"
            + " async, unpopulated, shmem or none)"},
        {"uffd feature=async", "unexpected 'feature' (usage: uffd features=F[,F...] with F"
            + " async, unpopulated, shmem or none)"},
        {"uffd features=async,", "features=: empty feature in 'async,'"}}) {
      Path t = trace(c[0] + "\nuffd features=async\n");
      SimulatorTraceExecutor.Result r = SimulatorTraceExecutor.execute(t);
      assertEquals(t + ":1: " + c[1] + "\n", r.err(), c[0]);
      assertEquals(2, r.status());
    }
    Path twice = trace("uffd features=async\nuffd features=none\n");
    assertEquals(twice + ":2: uffd given twice\n", SimulatorTraceExecutor.execute(twice).err());
  }

  @Test
  void linesCountCommentsAndBlanksAndNotUtf8OrNulIsRefused() throws IOException {
    Path t = trace("# a comment\n\nregion A pages=4 kind=anon # trailing\n\t scan   A   first=0x1"
        + "  \n   \nread A 0 extra\n");
    assertEquals(t + ":6: usage: read NAME PAGE\n", SimulatorTraceExecutor.execute(t).err());
    Path nul = dir.resolve("nul.trace");
    Files.write(nul, "region A pages=1 kind=anon\nscan A\u0000\n".getBytes(StandardCharsets.UTF_8));
    assertEquals(nul + ":2: NUL byte in line\n", SimulatorTraceExecutor.execute(nul).err());
    Path latin = dir.resolve("latin.trace");
    Files.write(latin, new byte[] {'s', 'c', 'a', 'n', ' ', (byte) 0xe9, '\n'});
    SimulatorTraceExecutor.Result r = SimulatorTraceExecutor.execute(latin);
    assertEquals(latin + ":1: line is not UTF-8 text\n", r.err());
    assertEquals(2, r.status());
    assertTrue(r.out().isEmpty());
  }

  @Test
  void aMissingFileOrADirectoryIsRefusedAtLineZero() {
    Path absent = dir.resolve("absent.trace");
    SimulatorTraceExecutor.Result r = SimulatorTraceExecutor.execute(absent);
    assertEquals(2, r.status());
    assertEquals(absent + ":0: cannot open: No such file or directory\n", r.err());
    r = SimulatorTraceExecutor.execute(dir);
    assertEquals(2, r.status());
    assertEquals(dir + ":0: read error: Is a directory\n", r.err());
  }

  @Test
  void helpListsTheFormatAndTheOutputs() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int status = Ptwalk.execute(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), "syscalls",
        "--help");
    String help = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, status);
    for (String form : List.of("region NAME pages=N kind=K [at=P] [uffd=wp|none]",
        "write NAME PAGE | read NAME PAGE", "wp|unwp|dontneed|free|pageout NAME [first=P] [nr=N]",
        "clear_refs V | fork | cpu N", "pagemap NAME [first=P] [nr=N]",
        "{\"line\":L,\"scan\":NAME,\"error\":E,\"walk_end\":W|null}")) {
      assertTrue(help.contains(form), () -> "--help lists " + form + ":\n" + help);
    }
    ByteArrayOutputStream top = new ByteArrayOutputStream();
    Ptwalk.execute(new PrintStream(top, true, StandardCharsets.UTF_8),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), "--help");
    assertTrue(top.toString(StandardCharsets.UTF_8).contains("syscalls"));
  }

  /** README's example is the probe it names, with the output the kernel gave for it. */
  @Test
  void theReadmeShowsTheGcBarrierProbeAndItsOutput() throws IOException {
    String readme = Files.readString(KernelTraceRunner.moduleDir().resolve("../README.md"),
        StandardCharsets.UTF_8);
    RecordedTrace probe = RecordedTrace.load("probes").stream()
        .filter(t -> t.name().equals("11-gc-barrier")).findFirst().orElseThrow();
    String cmd = "$ bin/ptwalk syscalls tests/src/test/resources/syscalls/probes/11-gc-barrier.trace\n";
    int at = readme.indexOf(cmd);
    assertTrue(at > 0, "README runs the probe");
    String shown = readme.substring(at + cmd.length(), readme.indexOf("```", at));
    assertEquals(probe.expected(), shown);
    String trace = Files.readString(probe.trace(), StandardCharsets.UTF_8);
    assertTrue(readme.contains("```\n" + trace + "```\n"), "README shows the trace");
    assertEquals(probe.expected(), SimulatorTraceExecutor.execute(probe.trace()).out());
  }

  @Test
  void theLauncherRunsIt() throws Exception {
    RecordedTrace one = examples().findFirst().orElseThrow();
    // The build has just produced the classes bin/ptwalk runs: it must not rebuild inside it.
    ProcessBuilder pb = new ProcessBuilder("../bin/ptwalk", "syscalls", one.trace().toString());
    pb.environment().put("PTWALK_NO_BUILD", "1");
    Process p = pb.start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), err);
    assertEquals(one.expected(), out);
  }
}
