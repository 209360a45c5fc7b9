package dev.ptwalk.tests.syscalls;

import java.util.List;
import java.util.Optional;

/** The first line where two trace outputs differ, said so that a reader can find it. */
public final class OutputDiff {
  private OutputDiff() {}

  /**
   * Empty when {@code expected} and {@code actual} are equal byte for byte; otherwise where they
   * first differ: the output line (1-based), the trace line it reports on when it names one,
   * and both texts.
   */
  public static Optional<String> firstDifference(String expected, String actual) {
    if (expected.equals(actual)) {
      return Optional.empty();
    }
    List<String> e = expected.lines().toList();
    List<String> a = actual.lines().toList();
    int n = Math.min(e.size(), a.size());
    for (int i = 0; i < n; i++) {
      if (!e.get(i).equals(a.get(i))) {
        return Optional.of("output line " + (i + 1) + traceLine(e.get(i)) + " differs:\n"
            + "  expected: " + e.get(i) + "\n" + "  actual:   " + a.get(i));
      }
    }
    if (e.size() != a.size()) {
      boolean longer = a.size() > e.size();
      String extra = longer ? a.get(n) : e.get(n);
      return Optional.of("output line " + (n + 1) + traceLine(extra) + " is "
          + (longer ? "extra" : "missing") + ": " + extra + " (expected " + e.size()
          + " lines, got " + a.size() + ")");
    }
    return Optional.of("the outputs differ only in line endings or a final newline");
  }

  /** " (trace line L)" for an output line that starts {@code {"line":L,}, or "". */
  private static String traceLine(String outputLine) {
    String prefix = "{\"line\":";
    if (!outputLine.startsWith(prefix)) {
      return "";
    }
    int end = prefix.length();
    while (end < outputLine.length() && Character.isDigit(outputLine.charAt(end))) {
      end++;
    }
    return end == prefix.length() ? ""
        : " (trace line " + outputLine.substring(prefix.length(), end) + ")";
  }
}
