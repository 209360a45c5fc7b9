package dev.ptwalk.cli.scenario;

import java.util.List;

/**
 * One verb of the scenario format: the forms of its line, what it does, when it may come, and the
 * method that parses and runs a line of it. {@link Scenario#VERBS} lists them all; the runner's
 * dispatch, its "unknown verb" message and {@code ptwalk run --help} read that one table.
 *
 * @param name the first token of its lines
 * @param phase when it may come and whether {@code cpus} replays it
 * @param forms its usage lines, for example {@code "pte MM ADDR"}
 * @param help one line saying what it does
 * @param action parses a line of this verb and runs it
 */
public record Verb(String name, Phase phase, List<String> forms, String help, Action action) {
  /** When a verb may come in a scenario. */
  public enum Phase {
    /** Configures the machine before anything touches it ({@code cpus}). */
    CONFIG,
    /** Builds the world (mappings, mms, VMAs); replayed when {@code cpus} rebuilds the machine. */
    SETUP,
    /** Touches the machine (accesses, walks, queries): no {@code CONFIG} verb may follow. */
    ACTION
  }

  /** Parses and runs one line of a verb against a scenario. */
  @FunctionalInterface
  public interface Action {
    /** Run {@code line} on {@code scenario}; throws {@link ScenarioException} if it cannot. */
    void run(Scenario scenario, Line line);
  }

  /** Copies the forms. */
  public Verb {
    forms = List.copyOf(forms);
  }

  /** The forms joined with " or ", as messages quote them. */
  public String usage() {
    return String.join(" or ", forms);
  }
}
