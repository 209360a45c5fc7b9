package dev.ptwalk.processor.validation;

import java.util.Locale;

/**
 * Every diagnostic ptwalk's processor reports, each with a stable code that users can search for.
 * A message says what is wrong and how to fix it; it is printed as {@code [ptwalk:code] text}.
 */
public enum Message {
  /** The callback is an instance method. */
  CALLBACK_NOT_STATIC("callback-not-static",
      "@PteCallback method %s() must be static: the generated walker calls it without an"
          + " instance. Add 'static' to the method."),
  /** The callback is private. */
  CALLBACK_PRIVATE("callback-private",
      "@PteCallback method %s() must not be private: the generated class %s calls it from"
          + " outside %s. Make it package-private or public."),
  /** Wrong number or types of parameters. */
  CALLBACK_BAD_PARAMETERS("callback-bad-parameters",
      "@PteCallback method %s(%s) has the wrong parameters. A PTE callback takes (long pte),"
          + " (long pte, long addr) or (long pte, long addr, dev.ptwalk.runtime.mm.Vma vma)."),
  /** Return type is not long. */
  CALLBACK_BAD_RETURN("callback-bad-return",
      "@PteCallback method %s() returns %s; it must return long, the new PTE value (return the"
          + " argument unchanged for \"not modified\")."),
  /** Declared in an interface or annotation type. */
  CALLBACK_IN_INTERFACE("callback-in-interface",
      "@PteCallback method %s() is declared in interface %s. Callbacks live in a class: move it"
          + " to a top-level or static nested class."),
  /** Declared in a local class. */
  CALLBACK_IN_LOCAL_CLASS("callback-in-local-class",
      "@PteCallback method %s() is declared in local class %s, which generated code cannot name."
          + " Move it to a top-level or static nested class."),
  /** Declared in an anonymous class. */
  CALLBACK_IN_ANONYMOUS_CLASS("callback-in-anonymous-class",
      "@PteCallback method %s() is declared in an anonymous class, which generated code cannot"
          + " name. Move it to a top-level or static nested class."),
  /** Declared in a non-static nested class. */
  CALLBACK_IN_INNER_CLASS("callback-in-inner-class",
      "@PteCallback method %s() is declared in inner class %s. Make the class static: callbacks"
          + " live in top-level or static nested classes."),
  /** Has type parameters. */
  CALLBACK_GENERIC("callback-generic",
      "@PteCallback method %s() declares type parameters <%s>; a PTE callback is not generic."
          + " Remove them."),
  /** Declares a checked exception. */
  CALLBACK_THROWS_CHECKED("callback-throws-checked",
      "@PteCallback method %s() declares checked exception %s, which the generated walker cannot"
          + " propagate. Handle it inside the callback, or throw an unchecked exception."),
  /** {@code bitmap = true} on a kind without a bitmap. */
  BITMAP_UNSUPPORTED("bitmap-unsupported",
      "@PteCallback(%s) has no dirty bitmap: only CLEAN walkers record the pages they change."
          + " Remove 'bitmap = true', or use CLEAN."),
  /** Two callbacks of one class generate the same walker. */
  DUPLICATE_WALKER_NAME("duplicate-walker-name",
      "@PteCallback method %s() would generate walker %s.%s(), which %s() already generates."
          + " Give one of them a different name = \"...\"."),
  /** {@code name()} is not a Java identifier. */
  BAD_WALKER_NAME("bad-walker-name",
      "name = \"%s\" is not a valid Java method name%s. Use an identifier such as"
          + " \"applyAsClean\", or leave name empty to get %s."),
  /** The class holding the callback is private, or inside a private class. */
  CLASS_NOT_ACCESSIBLE("class-not-accessible",
      "@PteCallback method %s() is in %s, which is private, so the generated %s in package %s"
          + " cannot call it. Make %s package-private or public."),
  /** walker-runtime is not on the compile classpath. */
  RUNTIME_MISSING("runtime-missing",
      "the walkers generated for %s need walker-runtime on the compile classpath (%s is"
          + " missing). Add the dependency dev.ptwalk:walker-runtime."),
  /** The Filer refused the generated file. */
  GENERATED_CLASS_EXISTS("generated-class-exists",
      "could not write %s: %s. Rename the class holding the callbacks, or the other type."),
  /** A bug in the processor. */
  INTERNAL_ERROR("internal-error",
      "ptwalk's processor failed on %s; this is a bug in ptwalk, please report it with this"
          + " trace: %s");

  private final String code;
  private final String template;

  Message(String code, String template) {
    this.code = code;
    this.template = template;
  }

  /** The stable code, as in {@code [ptwalk:callback-not-static]}. */
  public String code() {
    return code;
  }

  /** The full text for {@code args}, prefixed by the code. */
  public String format(Object... args) {
    return "[ptwalk:" + code + "] " + String.format(Locale.ROOT, template, args);
  }
}
