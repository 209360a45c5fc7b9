package dev.ptwalk.cli.scenario;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One line of a scenario being run: where it is, its tokens, its verb, and the parsing every verb
 * shares. Each helper throws a {@link ScenarioException} naming the line and saying what is wrong.
 */
public final class Line {
  private final String file;
  private final int number;
  private final List<String> tokens;
  private final Verb verb;

  Line(String file, int number, List<String> tokens, Verb verb) {
    this.file = file;
    this.number = number;
    this.tokens = List.copyOf(tokens);
    this.verb = verb;
  }

  /** The 1-based line number. */
  public int number() {
    return number;
  }

  /** Token {@code i}; token 0 is the verb. */
  public String arg(int i) {
    return tokens.get(i);
  }

  /** Tokens, the verb included. */
  public int size() {
    return tokens.size();
  }

  /** The tokens from {@code from} on. */
  public List<String> from(int from) {
    return tokens.subList(Math.min(from, tokens.size()), tokens.size());
  }

  /** The verb of this line. */
  public Verb verb() {
    return verb;
  }

  /** An error at this line. */
  public ScenarioException error(String problem) {
    return new ScenarioException(file, number, problem);
  }

  /** Require {@code min} to {@code max} arguments after the verb. */
  public void arity(int min, int max) {
    int got = tokens.size() - 1;
    if (got < min || got > max) {
      throw error(verb.name() + " takes " + (min == max ? String.valueOf(min) : min + " to " + max)
          + " argument(s), got " + got + "; usage: " + verb.usage());
    }
  }

  /** The {@code key=value} tokens from {@code from} on; each key at most once, from {@code allowed}. */
  public Map<String, String> keyValues(int from, List<String> allowed) {
    Map<String, String> kv = new LinkedHashMap<>();
    for (String tok : from(from)) {
      int eq = tok.indexOf('=');
      if (eq <= 0) {
        throw error("'" + tok + "' is not key=value; usage: " + verb.usage());
      }
      String key = tok.substring(0, eq);
      if (!allowed.contains(key)) {
        throw error("unknown key '" + key + "'; expected " + String.join(", ", allowed));
      }
      if (kv.put(key, tok.substring(eq + 1)) != null) {
        throw error(key + "= is given twice");
      }
    }
    return kv;
  }

  /**
   * A decimal or {@code 0x}-hex number read as 64 unsigned bits (a negative decimal wraps), for
   * addresses; {@code what} names it in errors.
   */
  public long unsigned(String text, String what) {
    try {
      return text.startsWith("0x") || text.startsWith("0X")
          ? Long.parseUnsignedLong(text.substring(2), 16) : Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw error(what + " '" + text + "' is not a number (decimal, or hex with 0x)");
    }
  }

  /** A decimal or {@code 0x}-hex number in {@code [min, max]}; {@code what} names it in errors. */
  public long number(String text, String what, long min, long max) {
    long v;
    try {
      v = text.startsWith("0x") || text.startsWith("0X")
          ? Long.parseUnsignedLong(text.substring(2), 16) : Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw error(what + " '" + text + "' is not a number (decimal, or hex with 0x)");
    }
    if (v < min || v > max) {
      throw error(what + " " + text + " is out of range [" + min + ", " + max + "]");
    }
    return v;
  }
}
