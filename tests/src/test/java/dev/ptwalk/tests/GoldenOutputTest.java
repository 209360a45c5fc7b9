package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The walkers the real Maven build generated for the samples module are byte for byte the golden
 * file the processor's own tests check against.
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
}
