package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzing {@code ptwalk run}, seeded and bounded: random bytes and random mutations of sample
 * scenarios. Every input either runs (exit 0, every stdout line a JSON object) or stops with
 * exit 2 and {@code FILE:LINE: what is wrong} as the last line on stderr; never a stack trace,
 * never another status. Warnings ({@code FILE:LINE: WARNING: ...}) may come before either.
 */
@Timeout(180)
class ScenarioFuzzTest {
  private static final long SEED = 0x5eed_15L;
  private static final int RANDOM_INPUTS = 100;
  private static final int MUTATED_INPUTS = 400;
  private static final Path SAMPLE_SCENARIOS = Path.of("../samples/scenarios");
  private static final JsonFactory JSON = new JsonFactory();

  /**
   * The seeds the mutations start from besides the sample scenarios (which use the verbs of the
   * kinds and of secondary MMUs): scenarios that use every other verb.
   */
  private static final List<String> BUILT_IN = List.of(
      String.join("\n", "cpus 3", "mapping buf", "mm A", "mm B",
          "vma A buf start=0x10000 pages=16 pgoff=0 flags=read,write,shared,io",
          "vma B buf start=0x7f0000000000 pages=8 pgoff=4 flags=read,write,shared,io,pfnmap",
          "write A 0x11000 cpu=2", "read B 0x7f0000001000", "write B 0x7f0000002008 cpu=1",
          "pte A 0x11000",
          "walk dev.ptwalk.samples.DirtyHelpersWalkers#applyAsClean buf first=0 nr=16"
              + " bitmap_pgoff=0 bits=64",
          "walk dev.ptwalk.samples.DirtyHelpersWalkers#applyAsWrprotect buf first=4 nr=8",
          "write A 0x15000", "pte B 0x7f0000001000", ""),
      String.join("\n", "mapping f", "mm P", "mm Q",
          "vma P f start=0x400000 pages=4 pgoff=0 flags=read,write,shared",
          "vma Q f start=0x800000 pages=4 pgoff=2 flags=read,write,maywrite",
          "vma Q f start=0x900000 pages=2 pgoff=0 flags=read,write,shared,io,hugetlb",
          "write P 0x401000", "write Q 0x800000", "read Q 0x900000", "write Q 0x9000",
          "walk dev.ptwalk.samples.DirtyHelpersWalkers#applyAsClean f first=1 nr=4",
          "walk dev.ptwalk.samples.DirtyHelpersWalkers#applyAsWrprotect f first=0 nr=6",
          "pte P 0x401000", ""));

  /** Tokens a mutation may put in place of another. */
  private static final List<String> TOKENS = List.of("cpus", "mapping", "mm", "vma", "write",
      "read", "walk", "pte", "munmap", "A", "B", "P", "buf", "f", "#", "=", "==", "\u00e9",
      "0", "1", "-1", "0x", "0x0", "0X10", "0xffffffffffffffff", "0x800000000000",
      "0x7ffffffff000", "0x7fffffffeff8", "0x10004", "9223372036854775807",
      "99999999999999999999", "1073741824", "1073741825", "256", "257",
      "bits=0", "bits=8", "bits=1073741824", "bits=x", "bitmap_pgoff=99", "bitmap_pgoff=0",
      "first=0x7fffffffffffffff", "first=-1", "nr=9223372036854775807", "nr=0", "nr=0x40000000",
      "cpu=255", "cpu=-1", "cpu=1", "pages=0", "pages=0x7ffffffff", "pgoff=0x7fffffffffffffff",
      "flags=", "flags=hugetlb", "flags=read,,write", "start=0x1001", "start=0x0",
      "dev.ptwalk.samples.DirtyHelpersWalkers#applyAsClean",
      "dev.ptwalk.samples.DirtyHelpersWalkers#applyAsWrprotect",
      "dev.ptwalk.samples.DirtyHelpers#clean", "java.lang.System#exit", "java.lang.Object#",
      "#applyAsClean", "no.Such#walk", "dev.ptwalk.tests.PickyWalker#walk",
      "uffd", "reclaim", "kvm", "guest-write", "guest-read", "spte", "G", "-", "soft_dirty",
      "uffd_wp", "policy=zap", "policy=wrprotect", "policy=", "fast_aging=true", "start=",
      "end=0x40002000", "end=0x1000", "start=0x40001000", "\"all\":true",
      "dev.ptwalk.samples.kinds.LazyFreeWalkers#madviseFree",
      "dev.ptwalk.samples.kinds.YoungWalkers#ageMapping",
      "dev.ptwalk.samples.kinds.YoungWalkers#ageRange",
      "dev.ptwalk.samples.kinds.SoftDirtyWalkers#clearRefsSoftDirty",
      "dev.ptwalk.samples.kinds.UffdWpWalkers#uffdWriteProtect");

  @TempDir
  Path dir;

  @Test
  void randomBytesAndMutatedScenariosNeverCrashTheRunner() throws IOException {
    List<String> corpus = new ArrayList<>(BUILT_IN);
    try (Stream<Path> files = Files.list(SAMPLE_SCENARIOS)) {
      for (Path f : files.filter(f -> f.toString().endsWith(".pw")).sorted().toList()) {
        corpus.add(Files.readString(f, StandardCharsets.UTF_8));
      }
    }
    assertTrue(corpus.size() >= BUILT_IN.size() + 6, "the sample scenarios: " + corpus.size());
    SplittableRandom rnd = new SplittableRandom(SEED);
    int ran = 0;
    int refused = 0;
    for (int i = 0; i < RANDOM_INPUTS; i++) {
      byte[] input = new byte[rnd.nextInt(300)];
      if (i % 2 == 0) {
        rnd.nextBytes(input);
      } else {
        for (int b = 0; b < input.length; b++) { // mostly printable, some lines
          int k = rnd.nextInt(40);
          input[b] = (byte) (k == 0 ? '\n' : k < 6 ? ' ' : 0x21 + rnd.nextInt(94));
        }
      }
      if (check(i, input)) {
        ran++;
      } else {
        refused++;
      }
    }
    for (int i = 0; i < MUTATED_INPUTS; i++) {
      byte[] input = mutate(corpus.get(rnd.nextInt(corpus.size())), rnd);
      if (check(RANDOM_INPUTS + i, input)) {
        ran++;
      } else {
        refused++;
      }
    }
    // The mix exercises both outcomes; a fuzzer whose inputs all fail at line 1 tests little.
    System.out.println("fuzz: ran " + ran + ", refused " + refused);
    assertTrue(ran > 20 && refused > 100, "ran " + ran + ", refused " + refused);
  }

  /** Run one input; true if it ran to the end, false if it was refused with a FILE:LINE:. */
  private boolean check(int index, byte[] input) throws IOException {
    Path file = dir.resolve("fuzz-" + index + ".pw");
    Files.write(file, input);
    Cli.Result r = Cli.run("run", file.toString());
    String context = "input " + index + " (" + escape(input) + ") gave status " + r.status()
        + "\nstdout:\n" + r.out() + "\nstderr:\n" + r.err();
    if (!r.noStackTrace()) {
      fail("a stack trace: " + context);
    }
    for (String line : r.out().lines().toList()) {
      assertJsonObject(line, context);
    }
    List<String> err = new ArrayList<>(r.err().lines().toList());
    Pattern positioned = Pattern.compile(Pattern.quote(file.toString()) + ":[1-9][0-9]*: .+");
    Pattern warning = Pattern.compile(Pattern.quote(file.toString())
        + ":[1-9][0-9]*: WARNING: .+");
    if (r.status() == 2) {
      assertTrue(!err.isEmpty() && positioned.matcher(err.remove(err.size() - 1)).matches(),
          context);
    } else {
      assertEquals(0, r.status(), context);
    }
    for (String line : err) {
      assertTrue(warning.matcher(line).matches(), context);
    }
    return r.status() == 0;
  }

  private static void assertJsonObject(String line, String context) throws IOException {
    try (JsonParser p = JSON.createParser(line)) {
      assertEquals(JsonToken.START_OBJECT, p.nextToken(), context);
      p.skipChildren();
      assertEquals(null, p.nextToken(), context);
    }
  }

  /** One to four mutations of {@code text}: tokens, lines and bytes. */
  private static byte[] mutate(String text, SplittableRandom rnd) {
    List<String> lines = new ArrayList<>(Arrays.asList(text.split("\n", -1)));
    int edits = 1 + rnd.nextInt(4);
    byte[] bytes = null;
    for (int e = 0; e < edits; e++) {
      int at = rnd.nextInt(lines.size());
      switch (rnd.nextInt(7)) {
        case 0:
        case 1: { // replace a token
          List<String> tokens = new ArrayList<>(Arrays.asList(lines.get(at).split(" ", -1)));
          tokens.set(rnd.nextInt(tokens.size()), TOKENS.get(rnd.nextInt(TOKENS.size())));
          lines.set(at, String.join(" ", tokens));
          break;
        }
        case 2: // add a token
          lines.set(at, lines.get(at) + " " + TOKENS.get(rnd.nextInt(TOKENS.size())));
          break;
        case 3:
          lines.remove(at);
          if (lines.isEmpty()) {
            lines.add("");
          }
          break;
        case 4:
          lines.add(rnd.nextInt(lines.size() + 1), lines.get(at));
          break;
        case 5:
          lines.add(at, lines.remove(rnd.nextInt(lines.size())));
          break;
        default: // flip a byte of the text so far (may leave invalid UTF-8 or a control char)
          bytes = String.join("\n", lines).getBytes(StandardCharsets.UTF_8);
          if (bytes.length > 0) {
            bytes[rnd.nextInt(bytes.length)] ^= (byte) (1 << rnd.nextInt(8));
          }
          break;
      }
      if (bytes != null) {
        return bytes; // a byte-level edit ends the mutations: the text may no longer decode
      }
    }
    return String.join("\n", lines).getBytes(StandardCharsets.UTF_8);
  }

  private static String escape(byte[] input) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte b : input) {
      if (b >= 0x20 && b < 0x7f && b != '\\') {
        out.write(b);
      } else {
        byte[] hex = String.format("\\x%02x", b & 0xff).getBytes(StandardCharsets.US_ASCII);
        out.write(hex, 0, hex.length);
      }
    }
    return out.toString(StandardCharsets.US_ASCII);
  }
}
