package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The walkers the real Maven build generated for the samples module, Java and C, are byte for byte
 * the golden files the processor's own tests check against.
 */
class GoldenOutputTest {
  @Test
  void theSamplesBuildGeneratedTheGoldenSource() throws IOException {
    Path generated = Path.of("../samples/target/generated-sources/annotations/dev/ptwalk/samples/"
        + "DirtyHelpersWalkers.java");
    Path golden = Path.of("../walker-processor/src/test/resources/goldens/dev/ptwalk/samples/"
        + "DirtyHelpersWalkers.java");
    assertEquals(Files.readString(golden), Files.readString(generated));
  }

  /**
   * The kernel C the real build wrote beside the Java: for DirtyHelpers the hand-written
   * reference, for the kinds their golden files.
   */
  @Test
  void theSamplesBuildWroteTheKernelCBesideTheJava() throws IOException {
    Path out = Path.of("../samples/target/generated-sources/annotations/dev/ptwalk/samples/");
    Path processor = Path.of("../walker-processor/src/test/resources/");
    for (String ext : List.of(".c", ".h")) {
      assertEquals(Files.readString(processor.resolve("c-reference/DirtyHelpersWalkers" + ext)),
          Files.readString(out.resolve("DirtyHelpersWalkers" + ext)));
      for (String kind : List.of("SoftDirty", "UffdWp", "Young", "LazyFree")) {
        assertEquals(Files.readString(processor.resolve(
            "goldens/dev/ptwalk/samples/kinds/" + kind + "Walkers" + ext)),
            Files.readString(out.resolve("kinds/" + kind + "Walkers" + ext)), kind + ext);
      }
    }
  }
}
