package dev.ptwalk.tests.syscalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvFileSource;

/**
 * pmscan's side of the trace format: bad traces stop with {@code FILE:L: message} and status 2
 * before anything runs, and the outputs it prints for the format's commands. The rejection
 * tests need only gcc (pmscan checks the whole trace before it opens a userfaultfd).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KernelTraceRunnerTest {
  @TempDir
  Path dir;

  private Path trace(String text) throws IOException {
    Path p = dir.resolve("t.trace");
    Files.writeString(p, text, StandardCharsets.UTF_8);
    return p;
  }

  @ParameterizedTest(name = "line {0}: {1}")
  @CsvFileSource(resources = "/syscalls/bad-lines.csv", delimiterString = "->",
      quoteCharacter = '`')
  void aBadLineStopsTheTraceWithItsPositionBeforeAnythingRuns(int line, String bad,
      String message) throws IOException {
    KernelTraceRunner runner = KernelSupport.runnerOrSkip();
    Path t = trace("region A pages=8 kind=anon\n" + bad + "\nscan A\n");
    KernelTraceRunner.Result r = runner.execute(t);
    assertEquals(2, r.exitStatus());
    assertEquals(t + ":" + line + ": " + message + "\n", r.stderr());
    assertEquals("", r.stdout(), "nothing ran");
  }

  @Test
  void linesCountCommentsAndBlanksAndAnErrorLateInTheTraceStopsItBeforeTheFirstCommand()
      throws IOException {
    KernelTraceRunner runner = KernelSupport.runnerOrSkip();
    Path t = trace("# a comment\n\nregion A pages=4 kind=anon # trailing comment\nscan A\n"
        + "\t scan   A   first=0x1  \n   \nread A 0 extra\n");
    KernelTraceRunner.Result r = runner.execute(t);
    assertEquals(2, r.exitStatus());
    assertEquals(t + ":7: usage: read NAME PAGE\n", r.stderr());
    assertEquals("", r.stdout());
    assertEquals(0, runner.check(trace("# a comment\n\nregion A pages=4 kind=anon # c\n"
        + "\t scan   A   first=0x1  \n")).exitStatus(), "tabs, hex and comments are fine");
  }

  @Test
  void aMissingTraceFileIsReportedAtLineZero() throws IOException {
    KernelTraceRunner runner = KernelSupport.runnerOrSkip();
    KernelTraceRunner.Result r = runner.execute(dir.resolve("absent.trace"));
    assertEquals(2, r.exitStatus());
    assertEquals(dir.resolve("absent.trace") + ":0: cannot open: No such file or directory\n",
        r.stderr());
  }

  @Test
  void everyExampleAndRecordedTraceIsValid() throws IOException {
    KernelTraceRunner runner = KernelSupport.runnerOrSkip();
    for (String set : new String[] {"examples", "recorded", "probes"}) {
      for (RecordedTrace t : RecordedTrace.load(set)) {
        KernelTraceRunner.Result r = runner.check(t.trace());
        assertEquals(0, r.exitStatus(), t + ": " + r.stderr());
      }
    }
  }

  /** The output shapes of the format, one of each, on the kernel. */
  @Test
  void eachCommandPrintsTheLineTheFormatDefines() throws IOException {
    KernelTraceRunner runner = KernelSupport.recordingKernelOrSkip();
    Path t = trace("""
        region A pages=4 kind=anon
        region N pages=2 kind=anon uffd=none
        write A 0
        read A 1
        write A 4
        wp N
        free A first=2 nr=1
        clear_refs 9
        fork
        scan A required=WRITTEN return=WRITTEN
        scan A return=1024
        scan N check
        pagemap A first=0 nr=3
        """);
    assertEquals("""
        {"line":5,"segfault":{"region":"A","page":4,"access":"write","signal":"SIGSEGV"}}
        {"line":6,"wp":"N","error":"ENOENT"}
        {"line":8,"clear_refs":"9","error":"EINVAL"}
        {"line":10,"scan":"A","ret":1,"walk_end":4,"ranges":[{"start":0,"end":4,"cats":["WRITTEN"]}]}
        {"line":11,"scan":"A","error":"EINVAL","walk_end":null}
        {"line":12,"scan":"N","error":"EPERM","walk_end":2}
        {"line":13,"pagemap":"A","first":0,"pages":["P","PZ",""]}
        """, runner.run(t));
  }

  /**
   * Without WP_ASYNC a write to a protected page would wait for a fault handler; pmscan opens
   * the userfaultfd with UFFD_FEATURE_SIGBUS, so the write is killed by SIGBUS and the run goes
   * on. The faulting write still allocates the page, protected.
   */
  @Test
  void aSyncWriteProtectFaultIsASigbus() throws IOException {
    KernelTraceRunner runner = KernelSupport.recordingKernelOrSkip();
    Path t = trace("""
        uffd features=unpopulated
        region A pages=2 kind=anon
        wp A
        write A 0
        pagemap A
        unwp A
        write A 0
        pagemap A
        """);
    assertEquals("""
        {"line":4,"segfault":{"region":"A","page":0,"access":"write","signal":"SIGBUS"}}
        {"line":5,"pagemap":"A","first":0,"pages":["PW","SW"]}
        {"line":8,"pagemap":"A","first":0,"pages":["P",""]}
        """, runner.run(t));
  }

  @Test
  void aRunThatFailsIsAnIoExceptionWithTheDiagnostics() throws IOException {
    KernelTraceRunner runner = KernelSupport.runnerOrSkip();
    Path t = trace("scan A\n");
    IOException e = assertThrows(IOException.class, () -> runner.run(t));
    assertEquals("pmscan " + t + " exited with status 2:\n" + t + ":1: unknown region 'A'"
        + " (declare it first with: region A pages=N kind=K)\n", e.getMessage());
  }

  @Test
  void theProbeSaysWhatRecordingsDependOn() {
    KernelFeatures f = KernelSupport.features();
    if (f.unsupported().isPresent()) {
      assertTrue(f.unsupported().get().contains("Linux"), f.toString());
      return;
    }
    for (String key : KernelFeatures.RECORDING_KEYS) {
      assertTrue(f.get(key).isPresent(), key + " in " + f);
    }
    assertTrue(f.get("uffd_features").orElseThrow().startsWith("0x"), f.toString());
  }

  /** Negative control for the recording check: each setting that changes outputs is named. */
  @Test
  void aMachineSetUpDifferentlyFromTheRecordingIsNamed() {
    Map<String, String> recorded = KernelFeatures.parse("kernel 6.18.44\nswap off\n"
        + "soft_dirty off\npte_none_written yes\nshmem_thp never\nextfile_dir /var/tmp ext4\n");
    KernelFeatures same = featuresOf("kernel 6.18.99\nswap off\nsoft_dirty off\n"
        + "pte_none_written yes\nshmem_thp deny\nextfile_dir /srv/tmp ext4\n");
    assertEquals(Optional.empty(), same.differsFromRecording(recorded),
        "kernel release, the directory and a shmem THP setting other than force do not matter");
    KernelFeatures other = featuresOf("swap on\nsoft_dirty on\npte_none_written no\n"
        + "shmem_thp force\nextfile_dir /var/tmp xfs\n");
    assertEquals(Optional.of("swap was off when recorded and is on here, soft_dirty was off"
        + " when recorded and is on here, pte_none_written was yes when recorded and is no here,"
        + " shmem_thp was not force when recorded and is force here, extfile_dir was ext4 when"
        + " recorded and is xfs here"), other.differsFromRecording(recorded));
  }

  /** A kernel without the features: the probe's reason becomes the skip message. */
  @Test
  void aProbeThatFindsNoWrittenTrackingGivesItsReason() throws IOException {
    KernelFeatures f = KernelFeatures.fromProbeResult(new KernelTraceRunner.Result(3,
        "unsupported Linux 6.1.0 has no PAGEMAP_SCAN: Inappropriate ioctl for device (Linux"
            + " 6.7 or later has it)\n", ""));
    assertEquals(Optional.of("Linux 6.1.0 has no PAGEMAP_SCAN: Inappropriate ioctl for device"
        + " (Linux 6.7 or later has it)"), f.unsupported());
    IOException e = assertThrows(IOException.class, () -> KernelFeatures.fromProbeResult(
        new KernelTraceRunner.Result(1, "", "pmscan: mmap: Cannot allocate memory\n")));
    assertEquals("pmscan --probe exited with status 1: pmscan: mmap: Cannot allocate memory\n",
        e.getMessage());
  }

  private static KernelFeatures featuresOf(String probe) {
    return KernelFeatures.fromProbe(probe);
  }
}
