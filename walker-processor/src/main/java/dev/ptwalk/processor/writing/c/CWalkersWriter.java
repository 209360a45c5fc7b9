package dev.ptwalk.processor.writing.c;

import dev.ptwalk.processor.model.CallbackSpec;
import dev.ptwalk.processor.model.Scope;
import dev.ptwalk.processor.model.WalkShape;
import dev.ptwalk.processor.model.WalkersSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes the kernel C of one {@link WalkersSpec}: {@code <Generated>.c} and {@code
 * <Generated>.h}, on the page-walk API of Linux 6.12, in the layout {@code docs/c-translation.md}
 * describes. The same input always gives the same bytes.
 *
 * <p>The file holds, in this order: the header comment, the includes, every leaf in source order,
 * then per {@link WalkShape} (in the order of its first walker) the walk state and the callbacks
 * its walkers share, followed by each of its walkers in source order: its own callbacks, its
 * {@code mm_walk_ops} and its entry point. Which shape, filter, event and lock a walker has is read
 * from its {@link dev.ptwalk.processor.model.WalkerKind}, never from the kind's name.
 */
final class CWalkersWriter {
  /** Linux 6.12, whose page-walk API the C is written on. */
  static final String LINUX = "6.12";

  /** Every header a shape may include, in the order the files include them. */
  private static final List<String> INCLUDE_ORDER = List.of("linux/pagewalk.h",
      "linux/hugetlb.h", "linux/bitmap.h", "linux/bitops.h", "linux/mmu_notifier.h",
      "linux/mm_inline.h", "linux/page_idle.h", "linux/swap.h", "linux/swapops.h",
      "linux/userfaultfd_k.h", "asm/cacheflush.h", "asm/tlb.h", "asm/tlbflush.h");

  /**
   * A callback to write a walker for.
   *
   * @param cb the callback
   * @param javaSignature how comments name it: {@code DirtyHelpers.wrprotect(long pte)}
   * @param leaf its translation
   */
  record Walker(CallbackSpec cb, String javaSignature, CLeaf leaf) {}

  /** A callback that gets no C walker, and why, in words that finish a sentence. */
  record Dropped(CallbackSpec cb, String why) {}

  /**
   * What was written.
   *
   * @param c the {@code .c} file, or null when no walker was left to write
   * @param h the {@code .h} file, or null likewise
   * @param dropped the callbacks given that got no walker
   */
  record Result(String c, String h, List<Dropped> dropped) {}

  /**
   * The C of {@code spec} for {@code walkers}, the callbacks that translated, in source order;
   * {@code signatures} names every callback of {@code spec}, in its order, so that the file's
   * header comment can name those that get no walker.
   */
  Result write(WalkersSpec spec, List<Walker> walkers, List<String> signatures) {
    List<Dropped> dropped = new ArrayList<>();
    String p = CNames.snake(String.join("_", spec.ownerSimpleNames()));
    if (!CNames.isIdentifier(p)) {
      walkers.forEach(w -> dropped.add(new Dropped(w.cb(), "the class name "
          + spec.ownerQualifiedName() + " has no C spelling (" + p + ")")));
      return new Result(null, null, dropped);
    }
    List<Walker> kept = new ArrayList<>();
    for (Walker w : walkers) {
      String why = unsupported(w.cb(), kept);
      if (why != null) {
        dropped.add(new Dropped(w.cb(), why));
      } else {
        kept.add(w);
      }
    }
    List<CWalker> named = name(p, kept, dropped);
    if (named.isEmpty()) {
      return new Result(null, null, dropped);
    }
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < spec.callbacks().size(); i++) {
      CallbackSpec cb = spec.callbacks().get(i);
      if (named.stream().noneMatch(w -> w.cb() == cb)) {
        missing.add(signatures.get(i));
      }
    }
    Map<WalkShape, List<CWalker>> byShape = new LinkedHashMap<>();
    for (CWalker w : named) {
      byShape.computeIfAbsent(w.kind().shape(), s -> new ArrayList<>()).add(w);
    }
    List<CShape> shapes = new ArrayList<>();
    byShape.forEach((shape, ws) -> shapes.add(shape(shape, p, ws)));
    List<CWalker> fileOrder = new ArrayList<>();
    byShape.values().forEach(fileOrder::addAll);
    return new Result(cFile(spec, named, shapes, missing), hFile(spec, fileOrder, missing),
        dropped);
  }

  /** Why {@code cb} gets no C walker in any file, or null if it gets one. */
  private static String unsupported(CallbackSpec cb, List<Walker> before) {
    WalkShape shape = cb.kind().shape();
    boolean scopeOk;
    switch (shape) {
      case PER_VMA_BRACKET:
        scopeOk = cb.scope() == Scope.MAPPING;
        break;
      case CLEAR_YOUNG_NOTIFY:
        scopeOk = true;
        break;
      default:
        scopeOk = cb.scope() == Scope.MM;
        break;
    }
    if (!scopeOk) {
      return "ptwalk's C writer has no " + cb.scope() + "-scope form of the " + shape
          + " shape of a " + cb.kind() + " walker";
    }
    if (cb.bitmap() && shape == WalkShape.MMU_GATHER) {
      return "ptwalk's C writer has no form of the " + shape + " shape with a bitmap";
    }
    for (Walker o : before) {
      CallbackSpec other = o.cb();
      if (other.kind().shape() == shape) {
        if (other.kind().filter() != cb.kind().filter()
            || !other.kind().event().equals(cb.kind().event())) {
          return "its kind " + cb.kind() + " shares the " + shape + " shape of " + other.kind()
              + " (" + other.methodName() + "()) but not its VMA filter and notifier event, and"
              + " one file holds one test_walk and one bracket per shape";
        }
        break;
      }
    }
    return null;
  }

  /**
   * The C names of the walkers: {@code P_w} for a walker, {@code P_m} for a leaf ({@code P_w_leaf}
   * when another callback shares the method's name, or {@code P_m} is taken). A walker whose names
   * are taken already is dropped.
   */
  private static List<CWalker> name(String p, List<Walker> walkers, List<Dropped> dropped) {
    Map<String, String> taken = new HashMap<>();
    Set<WalkShape> shapes = new HashSet<>();
    walkers.forEach(w -> shapes.add(w.cb().kind().shape()));
    for (WalkShape shape : shapes) {
      String k = p + "_" + kName(shape);
      for (String s : List.of("walk", "bitmap_walk", "mm_bitmap_walk", "mapping_bitmap_walk",
          "pmd_entry", "pud_entry", "test_walk", "pre_vma", "post_vma", "pinned", "swap",
          "nonpresent", "huge_pmd", "folio_clean")) {
        taken.put(k + "_" + s, "a function or structure this file may define");
      }
    }
    Map<String, Integer> methodNames = new HashMap<>();
    walkers.forEach(w -> methodNames.merge(w.cb().methodName(), 1, Integer::sum));
    List<Walker> named = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (Walker w : walkers) {
      String name = p + "_" + CNames.snake(w.cb().walkerName());
      String clash = null;
      if (!CNames.isIdentifier(name)) {
        clash = "its walker's name " + w.cb().walkerName() + " has no C spelling";
      } else {
        for (String s : List.of("", "_pte", "_pmd_entry", "_pte_hole", "_ptes", "_ops")) {
          String by = taken.get(name + s);
          if (by != null) {
            clash = "its C name " + name + s + " is taken by " + by;
            break;
          }
        }
      }
      if (clash != null) {
        dropped.add(new Dropped(w.cb(), clash));
        continue;
      }
      for (String s : List.of("", "_pte", "_pmd_entry", "_pte_hole", "_ptes", "_ops")) {
        taken.put(name + s, "the walker of " + w.cb().methodName() + "()");
      }
      named.add(w);
      names.add(name);
    }
    List<CWalker> out = new ArrayList<>();
    Set<String> leaves = new HashSet<>();
    for (int i = 0; i < named.size(); i++) {
      Walker w = named.get(i);
      String name = names.get(i);
      String leaf = p + "_" + CNames.snake(w.cb().methodName());
      if (methodNames.get(w.cb().methodName()) > 1 || taken.containsKey(leaf)
          || leaves.contains(leaf) || !CNames.isIdentifier(leaf)) {
        leaf = name + "_leaf";
      }
      leaves.add(leaf);
      out.add(new CWalker(w.cb(), w.leaf(), w.javaSignature(), leaf, name));
    }
    return out;
  }

  /** The shape's name in C names. */
  static String kName(WalkShape shape) {
    switch (shape) {
      case PER_VMA_BRACKET:
        return "wp_clean";
      case WHOLE_RANGE_FLUSH_MM:
        return "soft_dirty";
      case PER_TABLE_FLUSH:
        return "uffd_wp";
      case CLEAR_YOUNG_NOTIFY:
        return "young";
      default:
        return "lazyfree";
    }
  }

  private static CShape shape(WalkShape shape, String p, List<CWalker> ws) {
    switch (shape) {
      case PER_VMA_BRACKET:
        return new WpCleanShape(p, ws);
      case WHOLE_RANGE_FLUSH_MM:
        return new SoftDirtyShape(p, ws);
      case PER_TABLE_FLUSH:
        return new UffdWpShape(p, ws);
      case CLEAR_YOUNG_NOTIFY:
        return new YoungShape(p, ws);
      default:
        return new LazyfreeShape(p, ws);
    }
  }

  private static String cFile(WalkersSpec spec, List<CWalker> walkers, List<CShape> shapes,
      List<String> missing) {
    CText out = new CText();
    out.raw("// SPDX-License-Identifier: GPL-2.0");
    String intro = "The walkers of " + spec.generatedSimpleName() + ".java written on the"
        + " page-walk API of Linux " + LINUX + ", ";
    CText.Doc header = CText.Doc.plain("Generated by ptwalk from " + spec.ownerQualifiedName()
        + ". Do not edit.");
    if (shapes.size() == 1) {
      header.para(intro + shapes.get(0).shapeText());
      shapes.get(0).moreParagraphs().forEach(header::para);
    } else {
      header.para(intro + "each in the shape of the kernel walker of its kind.");
      for (CShape s : shapes) {
        header.para("The " + CShape.kinds(s.walkers, "and")
            + (s.walkers.size() == 1 ? " walker is " : " walkers are ") + s.shapeText());
        s.moreParagraphs().forEach(header::para);
      }
    }
    if (!missing.isEmpty()) {
      header.para("ptwalk wrote no C for " + CShape.join(missing, "and") + ": the"
          + " [ptwalk:c-not-emitted] note" + (missing.size() == 1 ? " of the build says" : "s of"
          + " the build say") + " why.");
    }
    out.doc(header);
    Set<String> includes = new HashSet<>();
    shapes.forEach(s -> includes.addAll(s.includes()));
    for (String include : INCLUDE_ORDER) {
      if (includes.contains(include)) {
        out.raw("#include <" + include + ">");
      }
    }
    out.blank();
    if (shapes.stream().anyMatch(CShape::needsMmInternal)) {
      out.raw("#include \"internal.h\"");
    }
    out.raw("#include \"" + spec.generatedSimpleName() + ".h\"");
    for (CWalker w : walkers) {
      leaf(out, w);
    }
    shapes.forEach(s -> s.write(out));
    return out.toString();
  }

  private static void leaf(CText out, CWalker w) {
    int arity = w.leaf().arity();
    CText.Doc doc = CText.Doc.function(w.leafName(), "Leaf of " + w.name() + "()")
        .param("pte", "Value of the PTE");
    List<String> params = new ArrayList<>(List.of("pte_t pte"));
    if (arity >= 2) {
      doc.param("addr", "Address the PTE maps");
      params.add("unsigned long addr");
    }
    if (arity >= 3) {
      doc.param("vma", "VMA of the PTE");
      params.add("struct vm_area_struct *vma");
    }
    doc.para("Translated from the " + w.kind() + " callback " + w.javaSignature() + ".");
    if (arity > w.cb().shape().arity()) {
      doc.para("pte_mkwrite() needs the VMA, so the leaf takes @addr and @vma, which the"
          + " callback does not.");
    }
    doc.returns("The new value of the PTE, @pte itself to leave it unchanged.");
    out.blank();
    out.doc(doc);
    out.signature("static pte_t", w.leafName(), params, "");
    out.raw("{").in();
    CLeaf.write(out, w.leaf().body());
    out.out().raw("}");
  }

  private static String hFile(WalkersSpec spec, List<CWalker> walkers, List<String> missing) {
    CText out = new CText();
    out.raw("/* SPDX-License-Identifier: GPL-2.0 */");
    out.doc(CText.Doc.plain("Generated by ptwalk from " + spec.ownerQualifiedName()
        + ". Do not edit.").para("The entry points of " + spec.generatedSimpleName() + ".c, one"
        + " per @PteCallback method" + (missing.isEmpty() ? "" : " translated to C") + "."));
    String guard = CNames.guard(spec.generatedSimpleName());
    out.raw("#ifndef " + guard);
    out.raw("#define " + guard);
    out.blank();
    out.raw("#include <linux/types.h>");
    out.blank();
    if (walkers.stream().anyMatch(w -> w.scope() == Scope.MAPPING)) {
      out.raw("struct address_space;");
    }
    if (walkers.stream().anyMatch(w -> w.scope() == Scope.MM)) {
      out.raw("struct mm_struct;");
    }
    for (CWalker w : walkers) {
      out.blank();
      out.signature("unsigned long", w.name(), CShape.entryParams(w), ";");
    }
    out.blank();
    out.raw("#endif /* " + guard + " */");
    return out.toString();
  }
}
