package dev.ptwalk.processor.validation;

import javax.annotation.processing.Messager;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.AnnotationValue;
import javax.lang.model.element.Element;
import javax.tools.Diagnostic;

/**
 * Reports {@link Message}s through the compiler's {@link Messager}, always positioned on an
 * element and, where the problem is an annotation value, on that value. Reporting never throws,
 * so a validator reports every problem of an element in one pass.
 */
public final class Diagnostics {
  private final Messager messager;
  private int errors;

  /** Diagnostics printed through {@code messager}. */
  public Diagnostics(Messager messager) {
    this.messager = messager;
  }

  /** An error on {@code element}. */
  public void error(Element element, Message message, Object... args) {
    errors++;
    messager.printMessage(Diagnostic.Kind.ERROR, message.format(args), element);
  }

  /** An error on one value of an annotation of {@code element}. */
  public void error(Element element, AnnotationMirror annotation, AnnotationValue value,
      Message message, Object... args) {
    errors++;
    messager.printMessage(Diagnostic.Kind.ERROR, message.format(args), element, annotation, value);
  }

  /** Errors reported so far. */
  public int errorCount() {
    return errors;
  }
}
