package dev.ptwalk.cli.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * Writes an XHTML page with inline SVG through the JDK's StAX {@link XMLStreamWriter}, which
 * escapes every text and attribute value, keeps elements nested, and streams to its writer, so a
 * page of any size is never held in memory. What it writes is well-formed XML.
 */
final class HtmlWriter implements AutoCloseable {
  /** The XHTML namespace. */
  static final String XHTML = "http://www.w3.org/1999/xhtml";
  /** The SVG namespace. */
  static final String SVG = "http://www.w3.org/2000/svg";

  private static final XMLOutputFactory FACTORY = XMLOutputFactory.newFactory();

  private final XMLStreamWriter xml;
  private int depth;

  /** A page written to {@code out}; {@link #close} ends the document but not {@code out}. */
  HtmlWriter(Writer out) {
    try {
      xml = FACTORY.createXMLStreamWriter(out);
      xml.writeStartDocument("UTF-8", "1.0");
      xml.writeCharacters("\n");
      xml.writeDTD("<!DOCTYPE html>");
      xml.writeCharacters("\n");
    } catch (XMLStreamException e) {
      throw unchecked(e);
    }
  }

  /**
   * Open element {@code name} with attributes given as name, value pairs; {@code namespace},
   * when not null, is declared as the element's default namespace ({@code html}, {@code svg}).
   */
  HtmlWriter openIn(String namespace, String name, Object... attributes) {
    try {
      xml.writeStartElement(name);
      if (namespace != null) {
        xml.writeDefaultNamespace(namespace);
      }
      attributes(attributes);
      depth++;
    } catch (XMLStreamException e) {
      throw unchecked(e);
    }
    return this;
  }

  /** Open element {@code name} in the namespace in force. */
  HtmlWriter open(String name, Object... attributes) {
    return openIn(null, name, attributes);
  }

  /** End the innermost open element, and start a new line after it. */
  HtmlWriter end() {
    try {
      depth--;
      xml.writeEndElement();
      xml.writeCharacters("\n");
    } catch (XMLStreamException e) {
      throw unchecked(e);
    }
    return this;
  }

  /** End the innermost open element, on the same line. */
  HtmlWriter endInline() {
    try {
      depth--;
      xml.writeEndElement();
    } catch (XMLStreamException e) {
      throw unchecked(e);
    }
    return this;
  }

  /** An element holding only {@code text}, on a line of its own. */
  HtmlWriter element(String name, String text, Object... attributes) {
    open(name, attributes);
    text(text);
    return end();
  }

  /** An element holding only {@code text}, inline. */
  HtmlWriter inline(String name, String text, Object... attributes) {
    open(name, attributes);
    text(text);
    return endInline();
  }

  /** Text, escaped. */
  HtmlWriter text(String text) {
    try {
      xml.writeCharacters(text);
    } catch (XMLStreamException e) {
      throw unchecked(e);
    }
    return this;
  }

  /** A line break in the source (not on the page). */
  HtmlWriter newline() {
    return text("\n");
  }

  private void attributes(Object[] attributes) throws XMLStreamException {
    if (attributes.length % 2 != 0) {
      throw new IllegalArgumentException("attributes come in name, value pairs");
    }
    for (int i = 0; i < attributes.length; i += 2) {
      if (attributes[i + 1] != null) {
        xml.writeAttribute((String) attributes[i], String.valueOf(attributes[i + 1]));
      }
    }
  }

  /** End the document (every element must have been closed) and flush. */
  @Override
  public void close() {
    if (depth != 0) {
      throw new IllegalStateException(depth + " element(s) left open");
    }
    try {
      xml.writeEndDocument();
      xml.flush();
      xml.close();
    } catch (XMLStreamException e) {
      throw unchecked(e);
    }
  }

  private static RuntimeException unchecked(XMLStreamException e) {
    return e.getCause() instanceof IOException
        ? new UncheckedIOException((IOException) e.getCause()) : new IllegalStateException(e);
  }
}
