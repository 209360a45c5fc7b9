package dev.ptwalk.processor.checks;

import dev.ptwalk.processor.validation.Message;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import javax.tools.Diagnostic;

/**
 * The third part of the body check: collects what the {@link Interpreter} observed while it moved
 * facts to a fixpoint, and only then reports, once per finding (a position and a message), in
 * source order. Whether a bracket was ever closed is only known after every path was followed,
 * which is why a bracket closed on no path at all is reported as such rather than by the first
 * path found to leave it open.
 */
final class Checker {
  /** One finding: a message on the tree at {@code pos}. */
  private record Finding(Message message, Diagnostic.Kind kind, long pos, Object[] args) {}

  /** A bracket left open on some path. */
  private record OpenAtExit(String range, String path) {}

  private final TreeContext ctx;
  private final Map<String, Finding> findings = new LinkedHashMap<>();
  private final Map<Long, OpenAtExit> openAtExit = new LinkedHashMap<>();
  private final Set<Long> closed = new HashSet<>();

  Checker(TreeContext ctx) {
    this.ctx = ctx;
  }

  /** An error on the tree at {@code pos}; the first of a message at one position is kept. */
  void error(long pos, Message message, Object... args) {
    add(pos, Diagnostic.Kind.ERROR, message, args);
  }

  /** A warning on the tree at {@code pos}. */
  void warning(long pos, Message message, Object... args) {
    add(pos, Diagnostic.Kind.WARNING, message, args);
  }

  private void add(long pos, Diagnostic.Kind kind, Message message, Object... args) {
    findings.putIfAbsent(pos + ":" + message.name(), new Finding(message, kind, pos, args));
  }

  /** The bracket opened at {@code startPos} reaches an exit of the method open, on {@code path}. */
  void openAtExit(long startPos, String range, String path) {
    openAtExit.putIfAbsent(startPos, new OpenAtExit(range, path));
  }

  /** The bracket opened at {@code startPos} was closed on some path. */
  void closed(long startPos) {
    closed.add(startPos);
  }

  /** Report every finding, once, in source order. */
  void report() {
    Map<Long, List<Finding>> byPos = new TreeMap<>();
    for (Finding f : findings.values()) {
      byPos.computeIfAbsent(f.pos, k -> new java.util.ArrayList<>()).add(f);
    }
    for (Map.Entry<Long, OpenAtExit> e : openAtExit.entrySet()) {
      OpenAtExit o = e.getValue();
      Finding f = closed.contains(e.getKey())
          ? new Finding(Message.MISSING_END, Diagnostic.Kind.ERROR, e.getKey(),
              new Object[] {o.range, o.path, o.range, o.range})
          : new Finding(Message.MISSING_END_NEVER, Diagnostic.Kind.ERROR, e.getKey(),
              new Object[] {o.range, o.range, o.range});
      byPos.computeIfAbsent(e.getKey(), k -> new java.util.ArrayList<>()).add(f);
    }
    for (List<Finding> at : byPos.values()) {
      for (Finding f : at) {
        ctx.report(f.pos, f.kind, f.message, f.args);
      }
    }
  }
}
