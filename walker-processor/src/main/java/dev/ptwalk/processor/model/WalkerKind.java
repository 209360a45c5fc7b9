package dev.ptwalk.processor.model;

/**
 * What a walker does to PTEs, and what follows from that for the generated code.
 *
 * <p>Mirrors {@code PteCallback.Kind}; kept separate so the model never depends on the annotation
 * classes being loadable.
 */
public enum WalkerKind {
  /** {@code apply_as_wrprotect}: clear the write bit. */
  WRPROTECT("PROTECTION_PAGE", false, "Write-protects", "apply_as_wrprotect", "wp_pte"),
  /** {@code apply_as_clean}: clear the dirty bit, optionally recording it in a bitmap. */
  CLEAN("PROTECTION_PAGE", true, "Cleans", "apply_as_clean", "clean_record_pte");

  private final String notifierEvent;
  private final boolean supportsBitmap;
  private final String verb;
  private final String kernelWalker;
  private final String kernelLeaf;

  WalkerKind(String notifierEvent, boolean supportsBitmap, String verb, String kernelWalker,
      String kernelLeaf) {
    this.notifierEvent = notifierEvent;
    this.supportsBitmap = supportsBitmap;
    this.verb = verb;
    this.kernelWalker = kernelWalker;
    this.kernelLeaf = kernelLeaf;
  }

  /** The {@code MmuNotifierEvent} constant the walker's bracket uses. */
  public String notifierEvent() {
    return notifierEvent;
  }

  /** Whether {@code bitmap = true} is allowed. */
  public boolean supportsBitmap() {
    return supportsBitmap;
  }

  /** The verb opening the walker's javadoc: "Write-protects", "Cleans". */
  public String verb() {
    return verb;
  }

  /** The kernel function the walker mirrors. */
  public String kernelWalker() {
    return kernelWalker;
  }

  /** The kernel leaf callback the user's callback stands for. */
  public String kernelLeaf() {
    return kernelLeaf;
  }

  /** The kind named by a {@code PteCallback.Kind} constant, or null for an unknown one. */
  public static WalkerKind fromConstant(String name) {
    for (WalkerKind k : values()) {
      if (k.name().equals(name)) {
        return k;
      }
    }
    return null;
  }
}
