package dev.ptwalk.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/** The page writer escapes text and attribute values and writes well-formed XHTML. */
@Timeout(30)
class HtmlWriterTest {
  private static final String NASTY = "<script>alert(\"x\" & 'y')</script>";

  @Test
  void textAndAttributesAreEscapedAndReadBackUnchanged() throws Exception {
    StringWriter out = new StringWriter();
    try (HtmlWriter h = new HtmlWriter(out)) {
      h.openIn(HtmlWriter.XHTML, "html").open("body");
      h.element("p", NASTY, "title", NASTY, "id", "x");
      h.end().end();
    }
    String page = out.toString();
    assertTrue(!page.contains("<script>"), page);
    assertTrue(page.contains("&lt;script&gt;"), page);
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    Document doc = f.newDocumentBuilder().parse(
        new ByteArrayInputStream(page.getBytes(StandardCharsets.UTF_8)));
    Element p = (Element) doc.getElementsByTagNameNS(HtmlWriter.XHTML, "p").item(0);
    assertEquals(NASTY, p.getTextContent());
    assertEquals(NASTY, p.getAttribute("title"));
  }

  @Test
  void anElementLeftOpenIsAnError() {
    StringWriter out = new StringWriter();
    HtmlWriter h = new HtmlWriter(out);
    h.openIn(HtmlWriter.XHTML, "html").open("body");
    assertEquals("2 element(s) left open",
        assertThrows(IllegalStateException.class, h::close).getMessage());
  }
}
