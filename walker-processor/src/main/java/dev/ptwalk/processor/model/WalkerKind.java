package dev.ptwalk.processor.model;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Everything that differs between kinds of walker, in one typed description: the PTE changes its
 * leaf may make, its notifier event, the scopes it supports and the lock each takes, the shape of
 * its bracket and flush, its VMA filter, whether it has a bitmap, and the kernel functions it
 * mirrors. The writer, the callback check, the diagnostics and the docs read this and never branch
 * on a kind's name, as {@code mm/pagewalk.c} reads a {@code struct mm_walk_ops}.
 *
 * <p>Adding a kind is adding a constant here (and to {@code PteCallback.Kind}), picking a {@link
 * WalkShape} and a {@link VmaFilter}; a new shape or filter also needs its step in the writer.
 * Mirrors {@code PteCallback.Kind} by name, so the model never depends on the annotation classes.
 */
public final class WalkerKind {
  private static final String DIRTY_HELPERS_SOURCE = "{@code mm/as_dirty_helpers.c} of the 2019"
      + " patch; mainline\n{@code mm/mapping_dirty_helpers.c}";

  /** {@code apply_as_wrprotect} / {@code wp_shared_mapping_range}: take write permission away. */
  public static final WalkerKind WRPROTECT = builder("WRPROTECT")
      .verb("Write-protects")
      .imperative("Write-protect")
      .kernel("apply_as_wrprotect", "wp_pte")
      .source(DIRTY_HELPERS_SOURCE)
      .allow(Transition.clearing("wrprotect", "pte_wrprotect", PteBit.RW))
      .event(NotifierEvent.PROTECTION_PAGE)
      .scopes(Scope.MAPPING)
      .shape(WalkShape.PER_VMA_BRACKET)
      .filter(VmaFilter.SHARED_WRITABLE_IO)
      .build();

  /**
   * {@code apply_as_clean} / {@code clean_record_shared_mapping_range}: clear the dirty bit,
   * optionally recording each page cleaned in a bitmap.
   */
  public static final WalkerKind CLEAN = builder("CLEAN")
      .verb("Cleans")
      .imperative("Clean")
      .kernel("apply_as_clean", "clean_record_pte")
      .source(DIRTY_HELPERS_SOURCE)
      .allow(Transition.clearing("mkclean", "pte_mkclean", PteBit.DIRTY))
      .event(NotifierEvent.PROTECTION_PAGE)
      .scopes(Scope.MAPPING)
      .shape(WalkShape.PER_VMA_BRACKET)
      .filter(VmaFilter.SHARED_WRITABLE_IO)
      .bitmap()
      .build();

  /**
   * {@code clear_refs_write} with {@code CLEAR_REFS_SOFT_DIRTY}: clear soft-dirty and write
   * permission, so that the next store faults and sets soft-dirty again.
   */
  public static final WalkerKind SOFT_DIRTY = builder("SOFT_DIRTY")
      .verb("Clears the soft-dirty bit of")
      .imperative("Reset soft-dirty tracking of")
      .kernel("clear_refs_write", "clear_soft_dirty")
      .allow(Transition.clearing("clearSoftDirty", "pte_clear_soft_dirty", PteBit.SOFT_DIRTY))
      .allow(Transition.clearing("wrprotect", "pte_wrprotect", PteBit.RW))
      .event(NotifierEvent.SOFT_DIRTY)
      .scopes(Scope.MM)
      .mmLock(WalkLock.MMAP_WRITE)
      .shape(WalkShape.WHOLE_RANGE_FLUSH_MM)
      .filter(VmaFilter.NOT_PFNMAP)
      .bitmap()
      .build();

  /**
   * {@code PAGEMAP_SCAN} with {@code PM_SCAN_WP_MATCHING} ({@code make_uffd_wp_pte}): mark pages
   * uffd write-protected, which takes write permission away; an unpopulated page gets a uffd-wp
   * marker.
   */
  public static final WalkerKind UFFD_WP = builder("UFFD_WP")
      .verb("Write-protects for userfaultfd")
      .imperative("Userfaultfd-write-protect")
      .kernel("do_pagemap_scan", "make_uffd_wp_pte")
      .allow(new Transition("mkuffdWp", "pte_mkuffd_wp", EnumSet.of(PteBit.UFFD_WP),
          EnumSet.of(PteBit.RW)))
      .allow(Transition.clearing("wrprotect", "pte_wrprotect", PteBit.RW))
      .event(NotifierEvent.PROTECTION_VMA)
      .scopes(Scope.MM)
      .mmLock(WalkLock.MMAP_READ)
      .shape(WalkShape.PER_TABLE_FLUSH)
      .filter(VmaFilter.UFFD_WP_ASYNC)
      .bitmap()
      .build();

  /**
   * {@code ptep_clear_young_notify} as aging walkers use it: clear the accessed bit, in the PTE
   * and in secondary MMUs.
   */
  public static final WalkerKind YOUNG = builder("YOUNG")
      .verb("Ages")
      .imperative("Age")
      .kernel("walk_pte_range", "ptep_clear_young_notify")
      .source("{@code mm/vmscan.c}, MGLRU's walk of an mm; over a file's mappings as\n"
          + "{@code folio_referenced} in {@code mm/rmap.c} visits them")
      .allow(Transition.clearing("mkold", "pte_mkold", PteBit.ACCESSED))
      .scopes(Scope.MM, Scope.MAPPING)
      .mmLock(WalkLock.MMAP_READ)
      .shape(WalkShape.CLEAR_YOUNG_NOTIFY)
      .filter(VmaFilter.NOT_PFNMAP_OR_IO)
      .bitmap()
      .build();

  /**
   * {@code MADV_FREE} ({@code madvise_free_single_vma}, {@code madvise_free_pte_range}): clear the
   * dirty and accessed bits of private anonymous pages and mark their folios lazily freeable, so
   * reclaim may discard them unless they are written again.
   */
  public static final WalkerKind LAZYFREE = builder("LAZYFREE")
      .verb("Lazily frees")
      .imperative("Free lazily")
      .kernel("madvise_free_single_vma", "madvise_free_pte_range")
      .allow(Transition.clearing("mkclean", "pte_mkclean", PteBit.DIRTY))
      .allow(Transition.clearing("mkold", "pte_mkold", PteBit.ACCESSED))
      .event(NotifierEvent.CLEAR)
      .scopes(Scope.MM)
      .mmLock(WalkLock.MMAP_READ)
      .shape(WalkShape.MMU_GATHER)
      .filter(VmaFilter.PRIVATE_ANON)
      .build();

  private static final List<WalkerKind> BUILTINS =
      List.of(WRPROTECT, CLEAN, SOFT_DIRTY, UFFD_WP, YOUNG, LAZYFREE);

  private final String name;
  private final String verb;
  private final String imperative;
  private final String kernelWalker;
  private final String kernelLeaf;
  private final String source;
  private final List<Transition> transitions;
  private final NotifierEvent event;
  private final List<Scope> scopes;
  private final WalkLock mmLock;
  private final WalkShape shape;
  private final VmaFilter filter;
  private final boolean bitmap;

  private WalkerKind(Builder b) {
    this.name = b.name;
    this.verb = Objects.requireNonNull(b.verb, "verb");
    this.imperative = b.imperative != null ? b.imperative : imperativeOf(verb);
    this.kernelWalker = Objects.requireNonNull(b.kernelWalker, "kernel");
    this.kernelLeaf = b.kernelLeaf;
    this.source = b.source;
    this.transitions = List.copyOf(b.transitions);
    this.event = b.event;
    this.scopes = List.copyOf(b.scopes);
    this.mmLock = b.mmLock;
    this.shape = Objects.requireNonNull(b.shape, "shape");
    this.filter = Objects.requireNonNull(b.filter, "filter");
    this.bitmap = b.bitmap;
    if (transitions.isEmpty() || scopes.isEmpty()) {
      throw new IllegalArgumentException(name + ": a kind needs transitions and scopes");
    }
    if (scopes.contains(Scope.MM) && mmLock == null) {
      throw new IllegalArgumentException(name + ": an MM-scope kind needs its mmap lock");
    }
    if ((event == null) != (shape == WalkShape.CLEAR_YOUNG_NOTIFY)) {
      throw new IllegalArgumentException(
          name + ": every shape but CLEAR_YOUNG_NOTIFY brackets its changes with an event");
    }
  }

  /** The kinds ptwalk knows, in {@code PteCallback.Kind} order. */
  public static List<WalkerKind> builtins() {
    return BUILTINS;
  }

  /** The built-in kind named by a {@code PteCallback.Kind} constant, or null for an unknown one. */
  public static WalkerKind fromConstant(String name) {
    return named(BUILTINS, name);
  }

  /** The kind named {@code name} among {@code kinds}, or null. */
  public static WalkerKind named(List<WalkerKind> kinds, String name) {
    for (WalkerKind k : kinds) {
      if (k.name.equals(name)) {
        return k;
      }
    }
    return null;
  }

  /** A builder for a kind named as its {@code PteCallback.Kind} constant. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** The {@code PteCallback.Kind} constant's name. */
  public String name() {
    return name;
  }

  /** The verb opening a walker's javadoc: "Write-protects", "Cleans". */
  public String verb() {
    return verb;
  }

  /**
   * The verb opening the kernel-doc summary of the walker's C entry point, imperative as the
   * kernel's own summaries are: "Write-protect", "Reset soft-dirty tracking of". Defaults to
   * {@link #verb()} without the {@code s} of its verbs ("Cleans and ages": "Clean and age").
   */
  public String imperative() {
    return imperative;
  }

  /** The verbs of {@code verb} (its first word, and each after "and" or "or") without their s. */
  private static String imperativeOf(String verb) {
    String[] words = verb.split(" ");
    for (int i = 0; i < words.length; i++) {
      boolean isVerb = i == 0 || words[i - 1].equals("and") || words[i - 1].equals("or");
      if (isVerb && words[i].endsWith("s")) {
        words[i] = words[i].substring(0, words[i].length() - 1);
      }
    }
    return String.join(" ", words);
  }

  /** The kernel function the walker mirrors. */
  public String kernelWalker() {
    return kernelWalker;
  }

  /**
   * Where the kernel walker lives, as javadoc text: its file ({@code {@code fs/proc/task_mmu.c}}),
   * or more when it moved.
   */
  public String source() {
    return source != null ? source : "{@code " + shape.kernelFile() + "}";
  }

  /** The kernel leaf (or per-PTE step) the user's callback stands for. */
  public String kernelLeaf() {
    return kernelLeaf;
  }

  /** The {@code Pte} helpers a leaf may call, and what each changes. */
  public List<Transition> transitions() {
    return transitions;
  }

  /** Every bit some allowed helper sets. */
  public Set<PteBit> allowedSets() {
    Set<PteBit> out = EnumSet.noneOf(PteBit.class);
    transitions.forEach(t -> out.addAll(t.sets()));
    return out;
  }

  /** Every bit some allowed helper clears. */
  public Set<PteBit> allowedClears() {
    Set<PteBit> out = EnumSet.noneOf(PteBit.class);
    transitions.forEach(t -> out.addAll(t.clears()));
    return out;
  }

  /** Whether a helper that sets {@code sets} and clears {@code clears} stays within this kind. */
  public boolean allows(Set<PteBit> sets, Set<PteBit> clears, boolean changesPfn) {
    return !changesPfn && allowedSets().containsAll(sets) && allowedClears().containsAll(clears);
  }

  /** What a leaf may do, in words: {@code clear RW (Pte.wrprotect)}, alternatives joined by "or". */
  public String allowedDescription() {
    return transitions.stream().map(Transition::describe).collect(Collectors.joining(" or "));
  }

  /** The helpers a leaf may call, as {@code Pte.wrprotect and the Pte queries} reads them. */
  public String allowedHelpers() {
    return transitions.stream().map(t -> "Pte." + t.helper()).collect(Collectors.joining(", "));
  }

  /** The notifier event of the walker's invalidate bracket; empty for a kind without one. */
  public Optional<NotifierEvent> event() {
    return Optional.ofNullable(event);
  }

  /**
   * What announces the leaf's change to secondary MMUs and other CPUs, for messages: {@code Its
   * PROTECTION_PAGE notifier event and its TLB flush}.
   */
  public String coverage() {
    return event == null
        ? "Its mmu_notifier_clear_young call (and no TLB flush: x86 tolerates a stale accessed bit)"
        : "Its " + event + " notifier event and its TLB flush";
  }

  /** The scopes this kind supports; the first is its default, the kernel's. */
  public List<Scope> scopes() {
    return scopes;
  }

  /** The scope {@code Scope.DEFAULT} stands for. */
  public Scope defaultScope() {
    return scopes.get(0);
  }

  /** Whether this kind can walk {@code scope}. */
  public boolean supports(Scope scope) {
    return scopes.contains(scope);
  }

  /** The lock held for a walk of {@code scope}. */
  public WalkLock lock(Scope scope) {
    return scope == Scope.MAPPING ? WalkLock.I_MMAP_READ : mmLock;
  }

  /** The bracket and flush shape. */
  public WalkShape shape() {
    return shape;
  }

  /** Which VMAs the walker visits. */
  public VmaFilter filter() {
    return filter;
  }

  /** Whether {@code bitmap = true} is allowed. */
  public boolean supportsBitmap() {
    return bitmap;
  }

  /** The names of the kinds among {@code kinds} that have a bitmap: "CLEAN, SOFT_DIRTY". */
  public static String withBitmap(List<WalkerKind> kinds) {
    List<String> names = new ArrayList<>();
    for (WalkerKind k : kinds) {
      if (k.bitmap) {
        names.add(k.name);
      }
    }
    if (names.size() < 2) {
      return String.join("", names);
    }
    return String.join(", ", names.subList(0, names.size() - 1)) + " and "
        + names.get(names.size() - 1);
  }

  @Override
  public String toString() {
    return name;
  }

  /** Builds a {@link WalkerKind}; every property but the bitmap and the mmap lock is required. */
  public static final class Builder {
    private final String name;
    private String verb;
    private String imperative;
    private String kernelWalker;
    private String kernelLeaf;
    private String source;
    private final List<Transition> transitions = new ArrayList<>();
    private NotifierEvent event;
    private final List<Scope> scopes = new ArrayList<>();
    private WalkLock mmLock;
    private WalkShape shape;
    private VmaFilter filter;
    private boolean bitmap;

    private Builder(String name) {
      this.name = Objects.requireNonNull(name, "name");
    }

    /** The javadoc verb. */
    public Builder verb(String verb) {
      this.verb = verb;
      return this;
    }

    /** The imperative verb of the C entry point's summary; see {@link WalkerKind#imperative()}. */
    public Builder imperative(String imperative) {
      this.imperative = imperative;
      return this;
    }

    /** The kernel walker and leaf this kind mirrors. */
    public Builder kernel(String walker, String leaf) {
      this.kernelWalker = walker;
      this.kernelLeaf = leaf;
      return this;
    }

    /** Where the kernel walker lives, as javadoc text, when not just its shape's file. */
    public Builder source(String javadoc) {
      this.source = javadoc;
      return this;
    }

    /** One more helper the leaf may call. */
    public Builder allow(Transition t) {
      transitions.add(t);
      return this;
    }

    /** The bracket's notifier event. */
    public Builder event(NotifierEvent e) {
      this.event = e;
      return this;
    }

    /** The supported scopes, the kernel's own first. */
    public Builder scopes(Scope... s) {
      scopes.addAll(List.of(s));
      return this;
    }

    /** The mmap lock of an MM-scope walk. */
    public Builder mmLock(WalkLock lock) {
      this.mmLock = lock;
      return this;
    }

    /** The bracket and flush shape. */
    public Builder shape(WalkShape s) {
      this.shape = s;
      return this;
    }

    /** The VMA filter. */
    public Builder filter(VmaFilter f) {
      this.filter = f;
      return this;
    }

    /** Allow {@code bitmap = true}. */
    public Builder bitmap() {
      this.bitmap = true;
      return this;
    }

    /** The kind. */
    public WalkerKind build() {
      return new WalkerKind(this);
    }
  }
}
