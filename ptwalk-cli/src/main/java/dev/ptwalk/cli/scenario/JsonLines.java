package dev.ptwalk.cli.scenario;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;

/**
 * The runner's output, one JSON object per line, each written by Jackson's streaming {@link
 * JsonGenerator} (compact: no spaces, strings escaped as JSON requires).
 */
final class JsonLines {
  private static final JsonFactory FACTORY = JsonFactory.builder().build();

  private final PrintStream out;

  JsonLines(PrintStream out) {
    this.out = out;
  }

  /** What writes the fields of one object. */
  @FunctionalInterface
  interface Fields {
    /** Write fields into the object {@code g} has open. */
    void write(JsonGenerator g) throws IOException;
  }

  /** Print the object {@code {"line":number, ...fields}} on a line of its own. */
  void print(int number, Fields fields) {
    StringWriter text = new StringWriter();
    try (JsonGenerator g = FACTORY.createGenerator(text)) {
      g.writeStartObject();
      g.writeNumberField("line", number);
      fields.write(g);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("writing to a StringWriter", e); // a StringWriter never does
    }
    out.println(text);
  }

  /** A field holding an address as a lowercase {@code 0x} hex string. */
  static void hex(JsonGenerator g, String name, long value) throws IOException {
    g.writeStringField(name, "0x" + Long.toHexString(value));
  }
}
