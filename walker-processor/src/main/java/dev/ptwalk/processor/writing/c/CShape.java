package dev.ptwalk.processor.writing.c;

import dev.ptwalk.processor.model.PteBit;
import dev.ptwalk.processor.model.Scope;
import dev.ptwalk.processor.model.VmaFilter;
import dev.ptwalk.processor.model.WalkLock;
import dev.ptwalk.processor.model.WalkerKind;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The C of one {@link dev.ptwalk.processor.model.WalkShape} in one file: the walk state and the
 * callbacks its walkers share, then each walker's own callbacks, ops table and entry point. One
 * subclass per shape, each named after the kernel walker it follows; this class holds what they
 * have in common (the huge-entry skips, the VMA filters, the bitmap, the entry points' checks and
 * comments).
 */
abstract class CShape {
  /** The file's prefix, the callback class in snake case. */
  protected final String p;
  /** The shape's name in function and structure names: {@code wp_clean}. */
  protected final String k;
  /** The walk state's local variable: {@code wpwalk}. */
  protected final String var;
  /** This shape's walkers, in source order. */
  protected final List<CWalker> walkers;

  CShape(String p, String k, String var, List<CWalker> walkers) {
    this.p = p;
    this.k = k;
    this.var = var;
    this.walkers = List.copyOf(walkers);
  }

  /** How the file's header names this shape: {@code in the shape of mm/...: ...}. */
  abstract String shapeText();

  /** Paragraphs of the file's header after the one {@link #shapeText()} ends. */
  List<String> moreParagraphs() {
    return List.of();
  }

  /** The headers this shape needs, as {@code <linux/pagewalk.h>}. */
  abstract Set<String> includes();

  /** Whether it needs {@code "internal.h"} of {@code mm/}. */
  boolean needsMmInternal() {
    return false;
  }

  /** The structures, the shared callbacks, then each walker. */
  abstract void write(CText out);

  /** What the walk counts, in the return value and the bitmap: {@code changed}. */
  String changed() {
    return "changed";
  }

  // ---- names ----

  /** A shared function or structure of this shape: {@code <p>_<k>_<suffix>}. */
  String fn(String suffix) {
    return p + "_" + k + "_" + suffix;
  }

  String walkStruct() {
    return fn("walk");
  }

  /** The bitmap walk state of {@code scope}; one per scope when both have bitmap walkers. */
  String bitmapStruct(Scope scope) {
    if (bitmapScopes().size() < 2) {
      return fn("bitmap_walk");
    }
    return fn((scope == Scope.MAPPING ? "mapping" : "mm") + "_bitmap_walk");
  }

  // ---- what the walkers have ----

  boolean any(Scope scope) {
    return walkers.stream().anyMatch(w -> w.scope() == scope);
  }

  /** The scopes that have bitmap walkers, in order of the first such walker. */
  Set<Scope> bitmapScopes() {
    Set<Scope> out = new LinkedHashSet<>();
    walkers.stream().filter(CWalker::bitmap).forEach(w -> out.add(w.scope()));
    return out;
  }

  boolean anyBitmap() {
    return !bitmapScopes().isEmpty();
  }

  WalkerKind firstKind() {
    return walkers.get(0).kind();
  }

  /** The kinds of {@code ws} in order of appearance, joined: "WRPROTECT or CLEAN". */
  static String kinds(List<CWalker> ws, String conjunction) {
    Set<String> names = new LinkedHashSet<>();
    ws.forEach(w -> names.add(w.kind().name()));
    return join(new ArrayList<>(names), conjunction);
  }

  static String join(List<String> items, String conjunction) {
    if (items.size() < 2) {
      return String.join("", items);
    }
    return String.join(", ", items.subList(0, items.size() - 1)) + " " + conjunction + " "
        + items.get(items.size() - 1);
  }

  /** "leaf" for one walker, "leaves" for several. */
  String leaves() {
    return walkers.size() == 1 ? "leaf" : "leaves";
  }

  /** The first walker before {@code w} in this shape, or null. */
  CWalker earlier(CWalker w) {
    int i = walkers.indexOf(w);
    return i > 0 ? walkers.get(0) : null;
  }

  /** The first walker before {@code w} in this shape and its scope, or null. */
  CWalker earlierInScope(CWalker w) {
    for (CWalker o : walkers) {
      if (o == w) {
        return null;
      }
      if (o.scope() == w.scope()) {
        return o;
      }
    }
    return null;
  }

  // ---- the walk state ----

  /** The bitmap walk states, after the plain one. */
  void bitmapStructs(CText out) {
    for (Scope scope : bitmapScopes()) {
      List<CWalker> ws = walkers.stream().filter(w -> w.bitmap() && w.scope() == scope).toList();
      String where = bitmapScopes().size() < 2 ? ""
          : scope == Scope.MAPPING ? " over a file" : " of an mm";
      CText.Doc doc = CText.Doc.struct(bitmapStruct(scope),
          "State of a " + kinds(ws, "or") + " walk" + where + " with a bitmap")
          .param("base", "The state every walk of this shape keeps");
      out.blank();
      if (scope == Scope.MAPPING) {
        out.doc(doc.param("bitmap_pgoff", "File page of bit 0 of @bitmap")
            .param("bitmap", "One bit per file page, set for each PTE " + changed())
            .param("start", "First bit set, relative to @bitmap_pgoff")
            .param("end", "Last bit set plus one, relative to @bitmap_pgoff"));
        out.open("struct " + bitmapStruct(scope) + " {")
            .line("struct " + walkStruct() + " base;")
            .line("pgoff_t bitmap_pgoff;")
            .line("unsigned long *bitmap;")
            .line("pgoff_t start;")
            .line("pgoff_t end;")
            .close("};");
      } else {
        out.doc(doc.param("bitmap_start", "Address of the page of bit 0 of @bitmap")
            .param("bitmap", "One bit per page, set for each PTE " + changed())
            .param("start", "First bit set")
            .param("end", "Last bit set plus one"));
        out.open("struct " + bitmapStruct(scope) + " {")
            .line("struct " + walkStruct() + " base;")
            .line("unsigned long bitmap_start;")
            .line("unsigned long *bitmap;")
            .line("unsigned long start;")
            .line("unsigned long end;")
            .close("};");
      }
    }
  }

  /** {@code struct <bitmap walk> *bwalk = container_of(...)}, for a walker with a bitmap. */
  void bitmapLocal(CText out, CWalker w) {
    out.line("struct " + bitmapStruct(w.scope()) + " *bwalk = container_of(" + var
        + ", typeof(*bwalk), base);");
  }

  /**
   * A walker's {@code pte_entry} up to its first statement: the comment {@code doc}, the
   * signature, the walk's private state, for a walker with a bitmap its bitmap walk, the PTE read
   * with {@code ptep_get}, {@code local} and, with a bitmap, the local {@link #recordBit} uses.
   * The body is left open.
   */
  void pteEntryOpen(CText out, CWalker w, CText.Doc doc, String local) {
    out.blank();
    out.doc(doc);
    out.signature("static int", w.fn("pte"), entryParams("pte_t", "pte", "addr"), "");
    out.raw("{").in();
    out.line("struct " + walkStruct() + " *" + var + " = walk->private;");
    if (w.bitmap()) {
      bitmapLocal(out, w);
    }
    out.line("pte_t ptent = ptep_get(pte);");
    out.line(local);
    if (w.bitmap()) {
      out.line(bitLocal(w));
    }
    out.blank();
  }

  /** The local that {@link #recordBit} uses. */
  static String bitLocal(CWalker w) {
    return w.scope() == Scope.MAPPING ? "pgoff_t pgoff;" : "unsigned long bit;";
  }

  /** Set the bit of the page at {@code addr} of {@code vma} and widen the window. */
  void recordBit(CText out, CWalker w, String vma) {
    String bit = w.scope() == Scope.MAPPING ? "pgoff" : "bit";
    if (w.scope() == Scope.MAPPING) {
      out.line("pgoff = ((addr - " + vma + "->vm_start) >> PAGE_SHIFT) + " + vma
          + "->vm_pgoff - bwalk->bitmap_pgoff;");
    } else {
      out.line("bit = (addr - bwalk->bitmap_start) >> PAGE_SHIFT;");
    }
    out.line("__set_bit(" + bit + ", bwalk->bitmap);");
    out.line("bwalk->start = min(bwalk->start, " + bit + ");");
    out.line("bwalk->end = max(bwalk->end, " + bit + " + 1);");
  }

  // ---- huge entries ----

  private static final Map<PteBit, String> HUGE_QUERY = Map.of(PteBit.RW, "write", PteBit.DIRTY,
      "dirty", PteBit.ACCESSED, "young", PteBit.SOFT_DIRTY, "soft_dirty", PteBit.UFFD_WP,
      "uffd_wp");
  private static final Map<PteBit, String> PROSE = Map.of(PteBit.RW, "writable", PteBit.DIRTY,
      "dirty", PteBit.ACCESSED, "young", PteBit.SOFT_DIRTY, "soft-dirty", PteBit.UFFD_WP,
      "uffd-wp");

  /** The bits the kinds set ({@code true}) or clear ({@code false}), in {@link PteBit} order. */
  private Map<PteBit, Boolean> changedBits() {
    Set<PteBit> sets = EnumSet.noneOf(PteBit.class);
    Set<PteBit> clears = EnumSet.noneOf(PteBit.class);
    walkers.forEach(w -> {
      sets.addAll(w.kind().allowedSets());
      clears.addAll(w.kind().allowedClears());
    });
    Map<PteBit, Boolean> out = new java.util.EnumMap<>(PteBit.class);
    for (PteBit b : PteBit.values()) {
      if (HUGE_QUERY.containsKey(b) && sets.contains(b) != clears.contains(b)) {
        out.put(b, sets.contains(b));
      }
    }
    return out;
  }

  /**
   * The condition under which a huge entry holds state the leaves would have changed: {@code
   * pmd_write(pmdval) || pmd_dirty(pmdval)}; null if there is none. A PUD has no uffd-wp bit.
   */
  String hugeWarning(String level) {
    List<String> terms = new ArrayList<>();
    changedBits().forEach((bit, set) -> {
      if (!(level.equals("pud") && bit == PteBit.UFFD_WP)) {
        terms.add((set ? "!" : "") + level + "_" + HUGE_QUERY.get(bit) + "(" + level + "val)");
      }
    });
    return terms.isEmpty() ? null : String.join(" || ", terms);
  }

  /** What a PUD cannot show, for its comment: {@code ; a PUD has no uffd-wp bit, ...}. */
  private String pudCaveat() {
    Map<PteBit, Boolean> bits = changedBits();
    if (!bits.containsKey(PteBit.UFFD_WP)) {
      return "";
    }
    List<String> rest = new ArrayList<>();
    bits.forEach((bit, set) -> {
      if (bit != PteBit.UFFD_WP) {
        rest.add(set ? "one that is not " + PROSE.get(bit) : "a " + PROSE.get(bit) + " one");
      }
    });
    return "; a PUD has no uffd-wp bit, so "
        + (rest.isEmpty() ? "none is" : "only " + join(rest, "or") + " is") + " warned about";
  }

  /**
   * {@code <prefix>_huge_pmd}, the helper a {@code .pmd_entry} that walks its page table itself
   * calls first: it steps over a huge PMD, never splitting it, with a warning if {@code
   * warnedIf} (prose) holds. Its comment says so.
   */
  void hugePmdHelper(CText out, String warnedIf) {
    out.blank();
    out.doc(CText.Doc.function(fn("huge_pmd"), "Skip a huge PMD, never split it")
        .param("pmd", "The PMD")
        .param("walk", "The walk")
        .para("The " + leaves() + (walkers.size() == 1 ? " works" : " work") + " on PTEs only:"
            + " a huge PMD is stepped over, with a warning if " + warnedIf + ".")
        .returns("True if the PMD is huge and has been skipped."));
    out.signature("static bool", fn("huge_pmd"), List.of("pmd_t *pmd", "struct mm_walk *walk"),
        "");
    out.raw("{").in();
    out.line("pmd_t pmdval = pmdp_get_lockless(pmd);");
    out.blank();
    out.when("if (!pmd_trans_huge(pmdval) && !pmd_devmap(pmdval))", "return false;");
    String warn = hugeWarning("pmd");
    if (warn != null) {
      out.line("WARN_ON(" + warn + ");");
    }
    out.line("walk->action = ACTION_CONTINUE;");
    out.blank();
    out.line("return true;");
    out.out().raw("}");
  }

  /** The body of a {@code .pmd_entry} or helper that steps over a huge PMD. */
  void skipHugePmd(CText out, boolean resched) {
    out.line("pmd_t pmdval = pmdp_get_lockless(pmd);");
    out.blank();
    if (resched) {
      out.line("cond_resched();");
    }
    String warn = hugeWarning("pmd");
    out.open("if (pmd_trans_huge(pmdval) || pmd_devmap(pmdval)) {");
    if (warn != null) {
      out.line("WARN_ON(" + warn + ");");
    }
    out.line("walk->action = ACTION_CONTINUE;");
    out.close("}");
    out.line("return 0;");
  }

  /** The shared {@code .pud_entry}, as {@code pmdFunction} one level up. */
  void pudEntry(CText out, String pmdFunction) {
    out.blank();
    out.doc(CText.Doc.function(fn("pud_entry"), "Skip a huge PUD, never split it")
        .param("pud", "The PUD")
        .param("addr", "Start of the range it maps")
        .param("end", "End of that range")
        .param("walk", "The walk")
        .para("As " + pmdFunction + "(), one level up" + pudCaveat() + ".")
        .returns("0, to go on walking."));
    out.signature("static int", fn("pud_entry"), List.of("pud_t *pud", "unsigned long addr",
        "unsigned long end", "struct mm_walk *walk"), "");
    out.raw("{");
    out.raw("#ifdef CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD");
    out.in();
    out.line("pud_t pudval = pudp_get(pud);");
    out.blank();
    String warn = hugeWarning("pud");
    out.open("if (pud_trans_huge(pudval) || pud_devmap(pudval)) {");
    if (warn != null) {
      out.line("WARN_ON(" + warn + ");");
    }
    out.line("walk->action = ACTION_CONTINUE;");
    out.close("}");
    out.out();
    out.raw("#endif");
    out.in().line("return 0;").out();
    out.raw("}");
  }

  /** The parameters of a {@code .pmd_entry}, {@code .pud_entry} or {@code .pte_entry}. */
  static List<String> entryParams(String type, String name, String start) {
    return List.of(type + " *" + name, "unsigned long " + start, "unsigned long end",
        "struct mm_walk *walk");
  }

  // ---- the VMA filter ----

  /** The shared {@code .test_walk}: the kind's {@link VmaFilter}. */
  void testWalk(CText out) {
    boolean mapping = any(Scope.MAPPING);
    boolean mm = any(Scope.MM);
    VmaFilter filter = firstKind().filter();
    String text = filterText(filter);
    if (mapping) {
      text += mm ? " Over a file only i_mmap_rwsem is held, so vm_flags is read once; there,"
          + " walk_page_mapping() ends the walk at the first VMA skipped."
          : " Only i_mmap_rwsem is held, so vm_flags is read once. walk_page_mapping() ends"
          + " the walk at the first VMA skipped.";
    }
    out.blank();
    out.doc(CText.Doc.function(fn("test_walk"), "The VMA filter of " + kinds(walkers, "and"))
        .param("start", mm ? "Start of the range walked in the VMA" : "Start of the VMA")
        .param("end", mm ? "End of that range" : "End of the VMA")
        .param("walk", "The walk")
        .para(text)
        .returns("1 to skip the VMA, 0 to walk it."));
    out.signature("static int", fn("test_walk"), List.of("unsigned long start",
        "unsigned long end", "struct mm_walk *walk"), "");
    out.raw("{").in();
    String flags = mapping ? "READ_ONCE(vma->vm_flags)" : "vma->vm_flags";
    switch (filter) {
      case SHARED_WRITABLE_IO:
        out.line("unsigned long vm_flags = " + (mapping ? "READ_ONCE(walk->vma->vm_flags)"
            : "walk->vma->vm_flags") + ";");
        out.blank();
        out.when("if ((vm_flags & (VM_SHARED | VM_WRITE)) != (VM_SHARED | VM_WRITE))", "return 1;");
        out.when("if (WARN_ON((vm_flags & (VM_HUGETLB | VM_IO)) != VM_IO))", "return 1;");
        break;
      case NOT_PFNMAP:
        out.when("if (" + (mapping ? "READ_ONCE(walk->vma->vm_flags)" : "walk->vma->vm_flags")
            + " & VM_PFNMAP)", "return 1;");
        break;
      case NOT_PFNMAP_OR_IO:
        if (mapping) {
          out.line("unsigned long vm_flags = READ_ONCE(walk->vma->vm_flags);");
          out.blank();
          out.when("if (vm_flags & (VM_PFNMAP | VM_IO))", "return 1;");
        } else {
          out.when("if (walk->vma->vm_flags & (VM_PFNMAP | VM_IO))", "return 1;");
        }
        break;
      case UFFD_WP_ASYNC:
        out.line("struct vm_area_struct *vma = walk->vma;");
        out.blank();
        out.when("if (!userfaultfd_wp_async(vma) || !userfaultfd_wp_use_markers(vma))",
            "return 1;");
        out.when("if (" + flags + " & VM_PFNMAP)", "return 1;");
        break;
      default:
        out.line("struct vm_area_struct *vma = walk->vma;");
        out.blank();
        out.when("if (!vma_is_anonymous(vma))", "return 1;");
        out.when("if (" + flags + " & (VM_LOCKED | VM_PFNMAP))", "return 1;");
        break;
    }
    out.blank();
    out.line("return 0;");
    out.out().raw("}");
  }

  private String filterText(VmaFilter filter) {
    switch (filter) {
      case SHARED_WRITABLE_IO:
        return "Only shared, writable VMAs can dirty the pages of a file. Hugetlb VMAs and VMAs"
            + " without VM_IO are not for "
            + (walkers.size() == 1 ? "this walker" : "these walkers")
            + ", and are skipped with a warning.";
      case NOT_PFNMAP:
        return "A VM_PFNMAP VMA maps no pages the mm tracks, and is skipped.";
      case NOT_PFNMAP_OR_IO:
        return "VM_PFNMAP and VM_IO VMAs map memory that reclaim never ages, and are skipped.";
      case UFFD_WP_ASYNC:
        return "Only VMAs registered for asynchronous userfaultfd write-protect, with markers for"
            + " empty PTEs, are walked; others are skipped without a word, as PAGEMAP_SCAN does"
            + " without PM_SCAN_CHECK_WPASYNC. A VM_PFNMAP VMA maps no pages the mm tracks, and"
            + " is skipped.";
      default:
        return "Only private anonymous memory may be freed lazily: a file, shmem or hugetlb VMA"
            + " is skipped, and so is a locked or VM_PFNMAP one.";
    }
  }

  // ---- each walker's callbacks ----

  /**
   * The comment of a walker's own callback: which Java callback it comes from and {@code full},
   * or, after a walker of the same shape, how it differs from that one's {@code suffix} callback.
   */
  String generated(CWalker w, String suffix, String full) {
    String page = w.scope() == Scope.MAPPING ? "file page" : "page";
    return generated(w, suffix, full,
        "Each PTE " + changed() + " also sets the bit of its " + page
            + " and widens the window of bits set.",
        ", and each PTE " + changed() + " also sets the bit of its " + page
            + " and widens the window of bits set");
  }

  String generated(CWalker w, String suffix, String full, String bitmapSentence,
      String bitmapClause) {
    String head = "Generated from " + w.javaSignature() + ". ";
    CWalker ref = earlier(w);
    if (ref == null) {
      return head + full + (w.bitmap() ? " " + bitmapSentence : "");
    }
    String diff = "";
    if (w.bitmap() && (!ref.bitmap() || ref.scope() != w.scope())) {
      diff = bitmapClause;
    } else if (!w.bitmap() && ref.bitmap()) {
      diff = ", without a bitmap";
    }
    return head + "As " + ref.fn(suffix) + "()" + diff + ".";
  }

  /** The {@code pte_entry} comment's parameters. */
  static CText.Doc pteEntryDoc(CWalker w, String summary) {
    return CText.Doc.function(w.fn("pte"), summary)
        .param("pte", "The PTE, its table locked")
        .param("addr", "Address it maps")
        .param("end", "@addr plus PAGE_SIZE")
        .param("walk", "The walk");
  }

  /** A walker's {@code mm_walk_ops}: {@code entries} as {@code key, value} pairs. */
  void ops(CText out, CWalker w, String... entries) {
    out.blank();
    String head = "static const struct mm_walk_ops " + w.fn("ops") + " = {";
    if (CLayout.width(head) <= CLayout.WIDTH) {
      out.raw(head);
    } else {
      out.raw("static const struct mm_walk_ops");
      out.raw(w.fn("ops") + " = {");
    }
    out.in();
    for (int i = 0; i < entries.length; i += 2) {
      out.line("." + entries[i] + " = " + entries[i + 1] + ",");
    }
    if (w.scope() == Scope.MM) {
      out.line(".walk_lock = " + (w.kind().lock(Scope.MM) == WalkLock.MMAP_WRITE
          ? "PGWALK_WRLOCK" : "PGWALK_RDLOCK") + ",");
    }
    out.out().raw("};");
  }

  // ---- entry points ----

  /** The parameters of {@code w}'s entry point, as its Java walker's. */
  static List<String> entryParams(CWalker w) {
    List<String> params = new ArrayList<>();
    if (w.scope() == Scope.MAPPING) {
      params.addAll(List.of("struct address_space *mapping", "pgoff_t first_index",
          "pgoff_t nr"));
      if (w.bitmap()) {
        params.addAll(List.of("pgoff_t bitmap_pgoff", "unsigned long *bitmap", "pgoff_t *start",
            "pgoff_t *end"));
      }
    } else {
      params.addAll(List.of("struct mm_struct *mm", "unsigned long start", "unsigned long end"));
      if (w.bitmap()) {
        params.addAll(List.of("unsigned long *bitmap", "unsigned long *window_start",
            "unsigned long *window_end"));
      }
    }
    return params;
  }

  /** The words naming {@code w}'s callback: {@code a CLEAN callback with a bitmap}. */
  static String callbackWords(CWalker w) {
    String where = w.scope() == w.kind().defaultScope() ? ""
        : w.scope() == Scope.MAPPING ? " over a file" : " over a range of an mm";
    return "a " + w.kind().name() + " callback" + where + (w.bitmap() ? " with a bitmap" : "");
  }

  /** How the lock taken for {@code w}'s walk reads in a sentence: {@code the mmap read lock}. */
  static String lockWords(CWalker w) {
    switch (w.kind().lock(w.scope())) {
      case I_MMAP_READ:
        return "i_mmap_rwsem";
      case MMAP_WRITE:
        return "the mmap write lock";
      default:
        return "the mmap read lock";
    }
  }

  /** The C call that takes {@code w}'s lock, {@code unlock} for the one that drops it. */
  static String lockCall(CWalker w, boolean unlock) {
    String name = w.kind().lock(w.scope()).kernelName();
    String call = unlock ? name.replace("_lock", "_unlock") : name;
    return call + "(" + (w.scope() == Scope.MAPPING ? "mapping" : "mm") + ");";
  }

  /**
   * The comment and head of {@code w}'s entry point: {@code full} says how it walks, unless an
   * earlier walker of this shape and scope said it already; {@code returns} what it returns.
   */
  void entryHead(CText out, CWalker w, String full, String returns) {
    String summary = w.kind().imperative()
        + (w.scope() == Scope.MAPPING ? " a file range in every mm" : " a range of an mm");
    if (w.bitmap()) {
      summary += w.scope() == Scope.MAPPING ? ", recording it" : ", recording the pages "
          + changed();
    }
    CText.Doc doc = CText.Doc.function(w.name(), summary);
    if (w.scope() == Scope.MAPPING) {
      doc.param("mapping", "The file whose mappings are walked")
          .param("first_index", "First file page of the range")
          .param("nr", "Number of file pages in the range");
      if (w.bitmap()) {
        doc.param("bitmap_pgoff", "File page of bit 0 of @bitmap, at most @first_index")
            .param("bitmap", "ORed with one bit per PTE " + changed() + "; holds at least"
                + " @first_index + @nr - @bitmap_pgoff bits")
            .param("start", "In, the first bit already set; out, the first bit set")
            .param("end", "In, the last bit already set plus one, none set when not above"
                + " @start; out, the last bit set plus one");
      }
    } else {
      doc.param("mm", "The mm")
          .param("start", "Start of the range, page aligned")
          .param("end", "End of the range, page aligned, at most @mm->task_size");
      if (w.bitmap()) {
        doc.param("bitmap", "ORed with one bit per PTE " + changed() + ", bit (addr - @start)"
            + " >> PAGE_SHIFT for the page at addr; holds (@end - @start) >> PAGE_SHIFT bits")
            .param("window_start", "In, the first bit already set; out, the first bit set")
            .param("window_end", "In, the last bit already set plus one, none set when not"
                + " above @window_start; out, the last bit set plus one");
      }
    }
    CWalker ref = earlierInScope(w);
    doc.para("Generated from " + w.javaSignature() + ", " + callbackWords(w) + ". "
        + (ref == null ? full : "Walks as " + ref.name() + "() does."));
    out.blank();
    out.doc(doc.returns(returns));
    out.signature("unsigned long", w.name(), entryParams(w), "");
  }

  /** The walk state of {@code w}'s entry point: plain, or with the caller's bitmap. */
  void entryState(CText out, CWalker w) {
    if (!w.bitmap()) {
      out.initialized("struct " + walkStruct() + " " + var, "total", "0");
      return;
    }
    boolean mapping = w.scope() == Scope.MAPPING;
    String start = mapping ? "*start" : "*window_start";
    String end = mapping ? "*end" : "*window_end";
    out.line("bool none_set = " + start + " >= " + end + ";");
    out.open("struct " + bitmapStruct(w.scope()) + " bwalk = {");
    out.line(".base = { .total = 0 },");
    if (mapping) {
      out.line(".bitmap_pgoff = bitmap_pgoff,");
    } else {
      out.line(".bitmap_start = start,");
    }
    out.line(".bitmap = bitmap,");
    out.line(".start = none_set ? " + (mapping ? "nr" : "(end - start) >> PAGE_SHIFT") + " : "
        + start + ",");
    out.line(".end = none_set ? 0 : " + end + ",");
    out.close("};");
  }

  /** The check of an MM-scope entry point's range. */
  static void rangeChecks(CText out) {
    out.when("if (WARN_ON_ONCE(!PAGE_ALIGNED(start) || !PAGE_ALIGNED(end) || start > end || end"
        + " > mm->task_size))", "return 0;");
    out.when("if (start == end)", "return 0;");
  }

  /** The private argument of the walk: the walk state, or the base of the bitmap walk state. */
  String walkArg(CWalker w) {
    return w.bitmap() ? "&bwalk.base" : "&" + var;
  }

  /**
   * A MAPPING-scope walk: {@code walk_page_mapping()} under {@code i_mmap_rwsem}. A positive
   * {@code test_walk} return ends it and is returned: the {@code WARN_ON} says so.
   */
  void mappingWalk(CText out, CWalker w) {
    out.line(lockCall(w, false));
    out.line("WARN_ON(walk_page_mapping(mapping, first_index, nr, &" + w.fn("ops") + ", "
        + walkArg(w) + "));");
    out.line(lockCall(w, true));
  }

  /** Hand the window back, return the count, and export a MAPPING-scope entry point. */
  void entryEnd(CText out, CWalker w) {
    out.blank();
    if (w.bitmap()) {
      boolean mapping = w.scope() == Scope.MAPPING;
      out.line((mapping ? "*start" : "*window_start") + " = bwalk.start;");
      out.line((mapping ? "*end" : "*window_end") + " = bwalk.end;");
      out.blank();
      out.line("return bwalk.base.total;");
    } else {
      out.line("return " + var + ".total;");
    }
    out.out().raw("}");
    if (w.scope() == Scope.MAPPING) {
      out.raw("EXPORT_SYMBOL_GPL(" + w.name() + ");");
    }
  }
}
