package dev.ptwalk.tests.syscalls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A trace with the output the real kernel gave for it, checked in under
 * {@code tests/src/test/resources/syscalls/SET/} as {@code NAME.trace} and {@code NAME.out}.
 *
 * @param set {@code recorded} (generated, re-recorded by {@code record.sh}) or {@code examples}
 *     (the reference's 13 examples, copied unchanged)
 * @param name the file name without its extension, such as {@code 007}
 * @param trace the trace file
 * @param expected the kernel's output for it
 */
public record RecordedTrace(String set, String name, Path trace, String expected) {
  /** {@code tests/src/test/resources/syscalls/SET}. */
  static Path dir(String set) {
    return KernelTraceRunner.moduleDir().resolve("src/test/resources/syscalls").resolve(set);
  }

  /** Every trace of a set that has its output beside it, by name. */
  public static List<RecordedTrace> load(String set) {
    try (Stream<Path> files = Files.list(dir(set))) {
      return files
          .filter(p -> p.getFileName().toString().endsWith(".trace"))
          .sorted()
          .map(p -> {
            String file = p.getFileName().toString();
            String name = file.substring(0, file.length() - ".trace".length());
            Path out = p.resolveSibling(name + ".out");
            try {
              return new RecordedTrace(set, name, p, Files.readString(out, StandardCharsets.UTF_8));
            } catch (IOException e) {
              throw new UncheckedIOException("no recorded output " + out + " for " + p, e);
            }
          })
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir(set), e);
    }
  }

  @Override
  public String toString() {
    return set + "/" + name;
  }
}
