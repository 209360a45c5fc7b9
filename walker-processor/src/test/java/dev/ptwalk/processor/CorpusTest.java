package dev.ptwalk.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static dev.ptwalk.processor.Sources.compile;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.JavaFileObjects;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The corpus: walkers transcribed from the kernel's own ({@code src/test/resources/corpus}, one
 * file per walker, each citing its kernel function), each accepted by the body check as the
 * kernel writes it; and each historical bug of the kernel's walkers reintroduced into one of them
 * and rejected on its line (marked {@code // <- bug}).
 */
@Timeout(300)
class CorpusTest {
  private static final Path CORPUS = Path.of("src/test/resources/corpus");

  static List<String> walkers() throws IOException {
    try (Stream<Path> files = Files.list(CORPUS)) {
      return files.map(p -> p.getFileName().toString().replace(".java", "")).sorted()
          .collect(Collectors.toList());
    }
  }

  private static String source(String walker) throws IOException {
    return Files.readString(CORPUS.resolve(walker + ".java"));
  }

  private static JavaFileObject file(String walker, String text) {
    return JavaFileObjects.forSourceString("corpus." + walker, text);
  }

  @Test
  void theCorpusHoldsAtLeastTwentyKernelWalkers() throws IOException {
    List<String> walkers = walkers();
    assertTrue(walkers.size() >= 20, walkers::toString);
    for (String w : walkers) {
      assertTrue(source(w).contains("Kingxukai/linux") || source(w).contains("torvalds/linux")
          || source(w).contains("2019 patch"), w + " cites no kernel source");
    }
  }

  @ParameterizedTest
  @MethodSource("walkers")
  void eachWalkerIsAcceptedAsTheKernelWritesIt(String walker) throws IOException {
    assertThat(compile(file(walker, source(walker)))).succeededWithoutWarnings();
  }

  /** {@code walker} with {@code original} replaced by {@code buggy}, rejected on the bug's line. */
  private static Compilation reintroduce(String walker, String original, String buggy,
      String code, String... fragments) throws IOException {
    String text = source(walker);
    assertEquals(1, text.split(java.util.regex.Pattern.quote(original), -1).length - 1,
        "exactly one '" + original + "' in " + walker);
    JavaFileObject src = file(walker, text.replace(original, buggy));
    Compilation c = compile(src);
    assertThat(c).failed();
    assertThat(c).hadErrorContaining("[ptwalk:" + code + "]").inFile(src)
        .onLineContaining("// <- bug");
    for (String f : fragments) {
      assertThat(c).hadErrorContaining(f).inFile(src).onLineContaining("// <- bug");
    }
    return c;
  }
}
