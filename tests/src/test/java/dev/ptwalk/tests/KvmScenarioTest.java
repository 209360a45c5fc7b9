package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scenario runner's secondary-MMU verbs ({@code kvm}, {@code guest-write}, {@code
 * guest-read}, {@code spte}): exact JSON, the sample scenario's checked-in output, and every
 * error.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KvmScenarioTest {
  @TempDir
  Path dir;

  private Cli.Result runLines(String... lines) throws IOException {
    Path p = dir.resolve("s.pw");
    Files.write(p, List.of(lines));
    return Cli.run("run", p.toString());
  }

  private void fails(String expected, String... lines) throws IOException {
    Cli.Result r = runLines(lines);
    assertEquals(2, r.status(), r.out() + r.err());
    assertEquals(dir.resolve("s.pw") + ":" + expected + "\n", r.err());
    assertTrue(r.noStackTrace());
  }

  private static String spte(int line, String kvm, String addr, boolean present, boolean write,
      boolean young, boolean dirty) {
    return "{\"line\":" + line + ",\"spte\":{\"kvm\":\"" + kvm + "\",\"addr\":\"" + addr
        + "\",\"present\":" + present + ",\"write\":" + write + ",\"young\":" + young
        + ",\"dirty\":" + dirty + "}}";
  }

  @Test
  void theSampleScenarioPrintsExactlyTheCheckedInOutput() throws IOException {
    Cli.Result r = Cli.run("run", "../samples/scenarios/kvm.pw");
    assertEquals(0, r.status(), r.err());
    assertEquals(Files.readString(Path.of("src/test/resources/scenarios/kvm.jsonl")), r.out());
    assertEquals("", r.err());
  }

  @Test
  void zapIsTheDefaultAndEachAccessShowsInTheSpte() throws IOException {
    Cli.Result r = runLines("mm A",
        "vma A - start=0x10000 pages=2 flags=read,write",
        "kvm G A",
        "spte G 0x10000",
        "guest-read G 0x10000",
        "spte G 0x10000",
        "guest-write G 0x10008",
        "spte G 0x10000",
        "pte A 0x10000",
        "walk dev.ptwalk.samples.kinds.LazyFreeWalkers#madviseFree A start=0x10000 end=0x12000",
        "spte G 0x10000");
    assertEquals(0, r.status(), r.err());
    assertEquals(String.join("\n",
        spte(4, "G", "0x10000", false, false, false, false),
        spte(6, "G", "0x10000", true, false, true, false),
        spte(8, "G", "0x10000", true, true, true, true),
        "{\"line\":9,\"pte\":{\"mm\":\"A\",\"addr\":\"0x10000\",\"present\":true,"
            + "\"write\":true,\"dirty\":true,\"young\":true,\"soft_dirty\":true,"
            + "\"uffd_wp\":false}}",
        "{\"line\":10,\"walk\":\"dev.ptwalk.samples.kinds.LazyFreeWalkers#madviseFree\","
            + "\"total\":1,\"notifiers\":[{\"mm\":\"A\",\"event\":\"CLEAR\",\"start\":"
            + "\"0x10000\",\"end\":\"0x12000\"}],\"flushes\":[{\"mm\":\"A\",\"start\":"
            + "\"0x10000\",\"end\":\"0x11000\"}],\"warnings\":0}",
        spte(11, "G", "0x10000", false, false, false, false), ""), r.out());
    assertEquals("", r.err());
  }

  @Test
  void fastAgingAndWriteProtectParseAndAnAccessOutsideEveryVmaIsEfault() throws IOException {
    Cli.Result r = runLines("mm A",
        "vma A - start=0x10000 pages=1 flags=read",
        "kvm G A fast policy=wrprotect",
        "kvm H A policy=zap",
        "guest-read G 0x10000",
        "guest-write G 0x10000",
        "guest-read H 0x20000",
        "spte G 0x10000");
    assertEquals(0, r.status(), r.err());
    assertEquals(String.join("\n",
        "{\"line\":6,\"efault\":{\"kvm\":\"G\",\"addr\":\"0x10000\",\"access\":\"write\"}}",
        "{\"line\":7,\"efault\":{\"kvm\":\"H\",\"addr\":\"0x20000\",\"access\":\"read\"}}",
        spte(8, "G", "0x10000", true, false, true, false), ""), r.out());
  }

  @Test
  void cpusAfterKvmReplaysIt() throws IOException {
    Cli.Result r = runLines("mm A", "vma A - start=0x10000 pages=1 flags=read,write",
        "kvm G A", "cpus 4", "guest-write G 0x10000", "spte G 0x10000");
    assertEquals(0, r.status(), r.err());
    assertEquals(spte(6, "G", "0x10000", true, true, true, true) + "\n", r.out());
  }

  @Test
  void badLinesAreRefusedWithTheirLine() throws IOException {
    fails("2: unknown mm 'A'; define it first with: mm A", "mm B", "kvm G A");
    fails("3: secondary MMU 'G' is already defined", "mm A", "kvm G A", "kvm G A");
    fails("2: unknown policy 'none'; policy is zap or wrprotect", "mm A",
        "kvm G A policy=none");
    fails("2: unknown option 'slow'; expected policy=zap, policy=wrprotect or fast; usage: kvm"
        + " NAME MM [policy=zap|wrprotect] [fast]", "mm A", "kvm G A slow");
    fails("2: fast is given twice", "mm A", "kvm G A fast fast");
    fails("2: policy= is given twice", "mm A", "kvm G A policy=zap policy=zap");
    fails("2: kvm takes 2 to 4 argument(s), got 1; usage: kvm NAME MM [policy=zap|wrprotect]"
        + " [fast]", "mm A", "kvm G");
    fails("2: unknown secondary MMU 'G'; attach it first with: kvm G MM", "mm A",
        "guest-write G 0x10000");
    fails("3: ADDR 0x10004 must be 8-byte aligned: accesses are 64-bit words", "mm A",
        "kvm G A", "guest-read G 0x10004");
    fails("3: ADDR 0x800000000000 is not a user address: user space is [0x0, 0x7ffffffff000)"
        + " with 4-level paging", "mm A", "kvm G A", "spte G 0x800000000000");
    fails("3: spte takes 2 argument(s), got 3; usage: spte NAME ADDR", "mm A", "kvm G A",
        "spte G 0x10000 0x20000");
  }

  @Test
  void helpListsTheVerbs() {
    Cli.Result r = Cli.run("run", "--help");
    assertEquals(0, r.status());
    for (String form : List.of("kvm NAME MM [policy=zap|wrprotect] [fast]",
        "guest-write NAME ADDR", "guest-read NAME ADDR", "spte NAME ADDR")) {
      assertTrue(r.out().contains("\n  " + form), () -> "--help lists " + form);
    }
  }
}
