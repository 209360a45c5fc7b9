package dev.ptwalk.cli.demo;

import java.util.List;
import java.util.TreeSet;

/** Buffer pages as the page prints them: sorted ranges, "2, 5-9, 12". */
final class Pgoffs {
  private Pgoffs() {}

  /** {@code pgoffs} (any order, duplicates allowed) as ranges; "none" when empty. */
  static String ranges(List<? extends Number> pgoffs) {
    TreeSet<Long> sorted = new TreeSet<>();
    for (Number n : pgoffs) {
      sorted.add(n.longValue());
    }
    if (sorted.isEmpty()) {
      return "none";
    }
    StringBuilder sb = new StringBuilder();
    Long start = null;
    Long prev = null;
    for (long p : sorted) {
      if (prev != null && p == prev + 1) {
        prev = p;
        continue;
      }
      if (start != null) {
        append(sb, start, prev);
      }
      start = p;
      prev = p;
    }
    append(sb, start, prev);
    return sb.toString();
  }

  private static void append(StringBuilder sb, long start, long end) {
    if (sb.length() > 0) {
      sb.append(", ");
    }
    sb.append(start);
    if (end > start) {
      sb.append('-').append(end);
    }
  }
}
