package dev.ptwalk.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.processor.model.Scope;
import dev.ptwalk.processor.model.Transition;
import dev.ptwalk.processor.model.WalkerKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * README's table of kinds says what the {@link WalkerKind} constants say: one row per kind, with
 * its scopes, its notifier event, whether it has a bitmap and the helpers its leaf may call.
 */
class KindsDocumentationTest {
  /** The README's kinds table: kind name to its cells. */
  private static Map<String, String[]> table() throws IOException {
    Map<String, String[]> rows = new LinkedHashMap<>();
    boolean inTable = false;
    for (String line : Files.readAllLines(Path.of("../README.md"))) {
      if (line.startsWith("| kind | mirrors | scopes |")) {
        inTable = true;
        continue;
      }
      if (inTable && !line.startsWith("|")) {
        break;
      }
      if (inTable && line.startsWith("| `")) {
        String[] cells = line.substring(1, line.length() - 1).split(" \\| ");
        rows.put(cells[0].trim().replace("`", ""), cells);
      }
    }
    return rows;
  }

  @Test
  void everyKindHasARowThatMatchesItsDescription() throws IOException {
    Map<String, String[]> rows = table();
    assertEquals(WalkerKind.builtins().stream().map(WalkerKind::name)
        .collect(Collectors.toList()), List.copyOf(rows.keySet()), "one row per kind, in order");
    for (WalkerKind k : WalkerKind.builtins()) {
      String[] cells = rows.get(k.name());
      assertEquals(k.scopes().stream().map(Scope::name).collect(Collectors.joining(", ")),
          cells[2].trim(), k + ": scopes, the default first");
      String notifier = cells[4].trim();
      assertTrue(k.event().map(e -> notifier.startsWith("`" + e + "`"))
          .orElse(notifier.startsWith("none")), k + ": notifier " + notifier);
      assertEquals(k.supportsBitmap() ? "yes" : "no", cells[7].trim(), k + ": bitmap");
      assertEquals(k.transitions().stream().map(t -> "`Pte." + t.helper() + "`")
          .collect(Collectors.joining(", ")), cells[8].trim(), k + ": what the leaf may call");
      assertTrue(cells[1].contains(k.kernelWalker().split(" ")[0]) || k == WalkerKind.YOUNG
          || k == WalkerKind.UFFD_WP, k + ": mirrors " + cells[1]);
    }
  }

  @Test
  void theTransitionsNameRealPteHelpers() throws Exception {
    for (WalkerKind k : WalkerKind.builtins()) {
      for (Transition t : k.transitions()) {
        dev.ptwalk.runtime.Pte.class.getMethod(t.helper(), long.class);
      }
    }
  }
}
