package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.cli.Ptwalk;
import dev.ptwalk.cli.scenario.Scenario;
import dev.ptwalk.cli.scenario.Verb;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** The scenario runner, in process and through bin/ptwalk: exact JSON and every error case. */
class ScenarioTest {
  @TempDir
  Path dir;

  /** Exit status, stdout, stderr. */
  record Result(int status, String out, String err) {}

  private Result run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Ptwalk.execute(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), args);
    return new Result(status, out.toString(StandardCharsets.UTF_8),
        err.toString(StandardCharsets.UTF_8));
  }

  private Path scenario(String... lines) throws IOException {
    Path p = dir.resolve("s.pw");
    Files.write(p, List.of(lines));
    return p;
  }

  private static final String SETUP_A =
      "mapping buf\nmm A\nvma A buf start=0x10000 pages=4 pgoff=0 flags=read,write,shared,io";

  private Result runLines(String... lines) throws IOException {
    return run("run", scenario(lines).toString());
  }

  @Test
  void theReadmeScenarioPrintsExactlyTheCheckedInOutput() throws IOException {
    Result r = run("run", "../samples/scenarios/two-processes.pw");
    assertEquals(0, r.status(), r.err());
    assertEquals(Files.readString(Path.of("src/test/resources/scenarios/two-processes.jsonl")),
        r.out());
    assertEquals("", r.err());
  }

  /** The sample scenario of each new kind (README shows them) prints its checked-in output. */
  @ParameterizedTest
  @ValueSource(strings = {"soft-dirty", "uffd-wp", "young", "lazyfree"})
  void eachKindsSampleScenarioPrintsExactlyTheCheckedInOutput(String name) throws IOException {
    Result r = run("run", "../samples/scenarios/" + name + ".pw");
    assertEquals(0, r.status(), r.err());
    assertEquals(Files.readString(Path.of("src/test/resources/scenarios/" + name + ".jsonl")),
        r.out());
    assertEquals("", r.err());
  }

  @Test
  void mmWalkersAnonymousVmasUffdAndReclaimExactly() throws IOException {
    Result r = runLines("mm A",
        "vma A - start=0x10000 pages=4 flags=read,write",
        "uffd A start=0x10000 pages=2",
        "write A 0x10000",
        "walk dev.ptwalk.samples.kinds.UffdWpWalkers#uffdWriteProtect A start=0x10000"
            + " end=0x14000 bits=4",
        "walk dev.ptwalk.samples.kinds.SoftDirtyWalkers#clearRefsSoftDirty A start=0x10000"
            + " end=0x12000",
        "walk dev.ptwalk.samples.kinds.LazyFreeWalkers#madviseFree A start=0x10000 end=0x14000",
        "reclaim A 0x10000",
        "pte A 0x10000",
        "pte A 0x11000");
    assertEquals(0, r.status(), r.err());
    assertEquals(String.join("\n",
        "{\"line\":5,\"walk\":\"dev.ptwalk.samples.kinds.UffdWpWalkers#uffdWriteProtect\","
            + "\"total\":2,\"bits\":[0,1],\"start\":0,\"end\":2,\"notifiers\":[{\"mm\":\"A\","
            + "\"event\":\"PROTECTION_VMA\",\"start\":\"0x10000\",\"end\":\"0x14000\"}],"
            + "\"flushes\":[{\"mm\":\"A\",\"start\":\"0x10000\",\"end\":\"0x12000\"}],"
            + "\"warnings\":0}",
        "{\"line\":6,\"walk\":\"dev.ptwalk.samples.kinds.SoftDirtyWalkers#clearRefsSoftDirty\","
            + "\"total\":1,\"bits\":[0],\"start\":0,\"end\":1,\"notifiers\":[{\"mm\":\"A\","
            + "\"event\":\"SOFT_DIRTY\",\"start\":\"0x10000\",\"end\":\"0x12000\"}],"
            + "\"flushes\":[{\"mm\":\"A\",\"all\":true}],\"warnings\":0}",
        "{\"line\":7,\"walk\":\"dev.ptwalk.samples.kinds.LazyFreeWalkers#madviseFree\","
            + "\"total\":1,\"notifiers\":[{\"mm\":\"A\",\"event\":\"CLEAR\",\"start\":"
            + "\"0x10000\",\"end\":\"0x12000\"},{\"mm\":\"A\",\"event\":\"CLEAR\",\"start\":"
            + "\"0x12000\",\"end\":\"0x14000\"}],\"flushes\":[{\"mm\":\"A\",\"start\":"
            + "\"0x10000\",\"end\":\"0x11000\"}],\"warnings\":0}",
        "{\"line\":9,\"pte\":{\"mm\":\"A\",\"addr\":\"0x10000\",\"present\":false,"
            + "\"write\":false,\"dirty\":false,\"young\":false,\"soft_dirty\":false,"
            + "\"uffd_wp\":false}}",
        "{\"line\":10,\"pte\":{\"mm\":\"A\",\"addr\":\"0x11000\",\"present\":false,"
            + "\"write\":false,\"dirty\":false,\"young\":false,\"soft_dirty\":false,"
            + "\"uffd_wp\":true}}", ""), r.out());
  }

  @Test
  void theNewVerbsRejectBadLines() throws IOException {
    fails("2: '-' maps private anonymous memory, which cannot be shared, io, pfnmap or hugetlb;"
        + " use read and write, or name a mapping", "mm A",
        "vma A - start=0x10000 pages=4 flags=read,write,shared");
    fails("2: unknown key 'pgoff'; expected start, pages, flags", "mm A",
        "vma A - start=0x10000 pages=4 pgoff=0");
    fails("3: EINVAL: UFFDIO_REGISTER: no VMA in [0x20000, 0x21000) of mm A (vma_find); map the"
        + " range first", "mm A",
        "vma A - start=0x10000 pages=4 flags=read,write", "uffd A start=0x20000 pages=1");
    fails("3: bits=3 is too small: [0x10000, 0x14000) has 4 pages, one bit each; give bits=4 or"
        + " more", "mm A", "vma A - start=0x10000 pages=4 flags=read,write",
        "walk dev.ptwalk.samples.kinds.SoftDirtyWalkers#clearRefsSoftDirty A start=0x10000"
            + " end=0x14000 bits=3");
    fails("3: unknown key 'first'; expected start, end, bits", "mm A",
        "vma A - start=0x10000 pages=4 flags=read,write",
        "walk dev.ptwalk.samples.kinds.LazyFreeWalkers#madviseFree A first=0 nr=4");
    fails("3: an MM walker needs start=ADDR and end=ADDR; usage: walk CLASS#METHOD MM start=ADDR"
        + " end=ADDR [bits=N]", "mm A", "vma A - start=0x10000 pages=4 flags=read,write",
        "walk dev.ptwalk.samples.kinds.SoftDirtyWalkers#clearRefsSoftDirty A start=0x10000"
            + " bits=4");
    fails("3: dev.ptwalk.samples.kinds.LazyFreeWalkers#madviseFree rejected its arguments: start"
        + " and end must be page aligned, with 0 <= start <= end <= 0x7ffffffff000, were"
        + " start=0x10008, end=0x14000", "mm A", "vma A - start=0x10000 pages=4 flags=read,write",
        "walk dev.ptwalk.samples.kinds.LazyFreeWalkers#madviseFree A start=0x10008 end=0x14000");
    fails("1: unknown mm 'A'; define it first with: mm A", "reclaim A 0x10000");
  }

  @Test
  void everyOutputFormExactly() throws IOException {
    Result r = runLines("cpus 3", SETUP_A.split("\n")[0], SETUP_A.split("\n")[1],
        SETUP_A.split("\n")[2], "mm B",
        "vma B buf start=0x20000 pages=2 pgoff=2 flags=read,shared",
        "mm C",
        "vma C buf start=0x30000 pages=2 pgoff=2 flags=read,write,shared # not io: warned",
        "write A 0x11000 cpu=2",
        "read B 0x20000",
        "write B 0x20000       # read-only VMA: segfault, and the run goes on",
        "read A 0x9000         # outside every VMA",
        "pte B 0x21000",
        "walk dev.ptwalk.samples.DirtyHelpersWalkers#applyAsClean buf first=0 nr=4 bitmap_pgoff=0"
            + " bits=64",
        "walk dev.ptwalk.samples.DirtyHelpersWalkers#applyAsWrprotect buf first=2 nr=2",
        "pte A 0x11000");
    assertEquals(0, r.status(), r.err());
    assertEquals(String.join("\n",
        "{\"line\":11,\"segfault\":{\"mm\":\"B\",\"addr\":\"0x20000\",\"access\":\"write\"}}",
        "{\"line\":12,\"segfault\":{\"mm\":\"A\",\"addr\":\"0x9000\",\"access\":\"read\"}}",
        "{\"line\":13,\"pte\":{\"mm\":\"B\",\"addr\":\"0x21000\",\"present\":false,\"write\":false,"
            + "\"dirty\":false,\"young\":false,\"soft_dirty\":false,\"uffd_wp\":false}}",
        "{\"line\":14,\"walk\":\"dev.ptwalk.samples.DirtyHelpersWalkers#applyAsClean\",\"total\":1,"
            + "\"bits\":[1],\"start\":1,\"end\":2,\"notifiers\":[{\"mm\":\"A\",\"event\":"
            + "\"PROTECTION_PAGE\",\"start\":\"0x10000\",\"end\":\"0x14000\"}],\"flushes\":[{\"mm\":"
            + "\"A\",\"start\":\"0x11000\",\"end\":\"0x12000\"}],\"warnings\":1}",
        "{\"line\":15,\"walk\":\"dev.ptwalk.samples.DirtyHelpersWalkers#applyAsWrprotect\","
            + "\"total\":0,\"notifiers\":[{\"mm\":\"A\",\"event\":\"PROTECTION_PAGE\",\"start\":"
            + "\"0x12000\",\"end\":\"0x14000\"}],\"flushes\":[],\"warnings\":1}",
        "{\"line\":16,\"pte\":{\"mm\":\"A\",\"addr\":\"0x11000\",\"present\":true,\"write\":true,"
            + "\"dirty\":false,\"young\":true,\"soft_dirty\":true,\"uffd_wp\":false}}", ""),
        r.out());
  }

  @Test
  void namesAreEscapedInTheJson() throws IOException {
    Result r = runLines("mm A\"b\\c", "read A\"b\\c 0x9000");
    assertEquals(0, r.status(), r.err());
    assertEquals("{\"line\":2,\"segfault\":{\"mm\":\"A\\\"b\\\\c\",\"addr\":\"0x9000\","
        + "\"access\":\"read\"}}\n", r.out());
  }

  /** A bad line: exit 2, a message naming file and line, and nothing after it runs. */
  private void fails(String expected, String... lines) throws IOException {
    String[] withTail = java.util.Arrays.copyOf(lines, lines.length + 1);
    withTail[lines.length] = "pte A 0x10000";
    Result r = runLines(withTail);
    assertEquals(2, r.status(), r.out() + r.err());
    assertEquals(dir.resolve("s.pw") + ":" + expected + "\n", r.err());
    assertTrue(!r.out().contains("\"line\":" + withTail.length + ","), "nothing after it ran");
  }

  @Test
  void malformedLines() throws IOException {
    fails("1: mapping takes 1 argument(s), got 0; usage: mapping NAME", "mapping");
    fails("4: vma takes 6 argument(s), got 5; usage: vma MM MAPPING start=ADDR pages=N pgoff=N"
        + " flags=F[,F...] or vma MM - start=ADDR pages=N flags=F[,F...]",
        SETUP_A.split("\n")[0], SETUP_A.split("\n")[1], "mm B",
        "vma B buf start=0 pages=1 pgoff=0");
    fails("3: pages 'x' is not a number (decimal, or hex with 0x)", "mapping buf", "mm A",
        "vma A buf start=0x10000 pages=x pgoff=0 flags=read");
    fails("3: unknown flag 'exec'; flags are read, write, shared, maywrite, io, pfnmap, hugetlb",
        "mapping buf", "mm A", "vma A buf start=0x10000 pages=1 pgoff=0 flags=read,exec");
    fails("3: unknown key 'size'; expected start, pages, pgoff, flags", "mapping buf", "mm A",
        "vma A buf start=0x10000 size=1 pgoff=0 flags=read");
    fails("4: ADDR 0x10004 must be 8-byte aligned: accesses are 64-bit words",
        SETUP_A.split("\n")[0], SETUP_A.split("\n")[1], SETUP_A.split("\n")[2],
        "write A 0x10004");
  }

  @Test
  void unknownVerbsAndNames() throws IOException {
    fails("1: unknown verb 'munmap'; expected cpus, mapping, mm, vma, uffd, write, read, walk,"
        + " reclaim, pte, kvm, guest-write, guest-read or spte",
        "munmap A");
    fails("1: unknown mm 'A'; define it first with: mm A", "write A 0x1000");
    fails("2: unknown mapping 'buf'; define it first with: mapping buf", "mm A",
        "vma A buf start=0 pages=1 pgoff=0 flags=read");
    fails("2: mm 'A' is already defined", "mm A", "mm A");
  }

  @Test
  void overlappingVmas() throws IOException {
    fails("4: [0x12000, 0x13000) overlaps vma[0x10000-0x14000 mm=A pgoff=0 VM_READ|VM_WRITE"
        + "|VM_SHARED|VM_MAYREAD|VM_MAYWRITE|VM_MAYSHARE|VM_IO|VM_SOFTDIRTY] in mm A; VMAs of"
        + " one mm never overlap", SETUP_A.split("\n")[0], SETUP_A.split("\n")[1],
        SETUP_A.split("\n")[2], "vma A buf start=0x12000 pages=1 pgoff=9 flags=read");
  }

  @Test
  void cpusComesBeforeAnyAccess() throws IOException {
    Result ok = runLines("mapping buf", "mm A", "cpus 4",
        "vma A buf start=0x10000 pages=4 pgoff=0 flags=read,write,shared", "write A 0x10000 cpu=3");
    assertEquals(0, ok.status(), ok.err());
    fails("5: cpus must come before the first write, read, walk, reclaim, pte, guest-write,"
        + " guest-read or spte",
        SETUP_A.split("\n")[0],
        SETUP_A.split("\n")[1], SETUP_A.split("\n")[2], "write A 0x10000", "cpus 4");
    fails("4: cpu 2 is out of range [0, 1]", SETUP_A.split("\n")[0], SETUP_A.split("\n")[1],
        SETUP_A.split("\n")[2], "write A 0x10000 cpu=2");
  }

  @Test
  void walkersThatCannotBeFoundOrCalled() throws IOException {
    fails("4: walker class no.Such is not on the class path; add its directory or jar with"
        + " --classpath", SETUP_A.split("\n")[0], SETUP_A.split("\n")[1], SETUP_A.split("\n")[2],
        "walk no.Such#walk buf first=0 nr=1");
    fails("4: dev.ptwalk.samples.DirtyHelpersWalkers has no public static walker applyAsDirty"
        + "(AddressSpace, long, long), applyAsDirty(AddressSpace, long, long, long, long[],"
        + " DirtyWindow), applyAsDirty(MmStruct, long, long) or applyAsDirty(MmStruct, long, long,"
        + " long[], DirtyWindow) returning long", SETUP_A.split("\n")[0], SETUP_A.split("\n")[1],
        SETUP_A.split("\n")[2],
        "walk dev.ptwalk.samples.DirtyHelpersWalkers#applyAsDirty buf first=0 nr=1");
    fails("4: 'applyAsClean' is not CLASS#METHOD (for example"
        + " dev.ptwalk.samples.DirtyHelpersWalkers#applyAsClean)", SETUP_A.split("\n")[0],
        SETUP_A.split("\n")[1], SETUP_A.split("\n")[2], "walk applyAsClean buf first=0 nr=1");
    fails("4: bits=10 is too small: file pages [0, 100) are bits [0, 100) of a bitmap from"
        + " bitmap_pgoff=0; give bits=100 or more",
        SETUP_A.split("\n")[0], SETUP_A.split("\n")[1], SETUP_A.split("\n")[2],
        "walk dev.ptwalk.samples.DirtyHelpersWalkers#applyAsClean buf first=0 nr=100 bits=10");
  }

  @Test
  void aWalkerThatBreaksARuleStopsTheRunWithStatusOne() throws IOException {
    Result r = runLines(SETUP_A.split("\n")[0], SETUP_A.split("\n")[1], SETUP_A.split("\n")[2],
        "write A 0x10000", "walk dev.ptwalk.tests.BrokenWalkers#wrprotectWithoutFlush buf first=0"
            + " nr=4", "pte A 0x10000");
    assertEquals(1, r.status());
    assertEquals("", r.out());
    assertTrue(r.err().contains(": a walker broke a page-table rule: decTlbFlushPending of mm A"
        + " ran before a TLB flush covering the PTE at 0x10000"), r.err());
  }

  @Test
  void theLauncherLoadsAUsersWalkersWithClasspath() throws Exception {
    Path s = scenario(SETUP_A.split("\n")[0], SETUP_A.split("\n")[1], SETUP_A.split("\n")[2],
        "write A 0x11000", "walk dev.ptwalk.tests.TestCallbacksWalkers#applyAsLateThrowingClean"
            + " buf first=0 nr=4");
    // The build has just produced the classes bin/ptwalk runs: it must not rebuild inside it.
    ProcessBuilder pb = new ProcessBuilder("../bin/ptwalk", "run", "--classpath",
        "target/test-classes", s.toString());
    pb.environment().put("PTWALK_NO_BUILD", "1");
    Process p = pb.start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), err);
    assertEquals("{\"line\":5,\"walk\":\"dev.ptwalk.tests.TestCallbacksWalkers"
        + "#applyAsLateThrowingClean\",\"total\":1,\"notifiers\":[{\"mm\":\"A\",\"event\":"
        + "\"PROTECTION_PAGE\",\"start\":\"0x10000\",\"end\":\"0x14000\"}],\"flushes\":[{\"mm\":"
        + "\"A\",\"start\":\"0x11000\",\"end\":\"0x12000\"}],\"warnings\":0}\n", out);

    ProcessBuilder without = new ProcessBuilder("../bin/ptwalk", "run", s.toString());
    without.environment().put("PTWALK_NO_BUILD", "1");
    Process missing = without.start();
    assertTrue(missing.waitFor(60, TimeUnit.SECONDS));
    assertEquals(2, missing.exitValue(), "without --classpath the walker is not found");
  }

  @Test
  void helpDocumentsTheFormat() {
    Result r = run("run", "--help");
    assertEquals(0, r.status());
    assertTrue(r.out().contains("walk CLASS#METHOD MAPPING first=N nr=N [bitmap_pgoff=N bits=N]"));
    assertTrue(r.out().contains("--classpath=PATH"));
    for (Verb v : Scenario.VERBS) {
      for (String form : v.forms()) {
        assertTrue(r.out().contains("\n  " + form), () -> "--help lists " + form);
      }
    }
  }
}
