package dev.ptwalk.processor.writing;

import static dev.ptwalk.processor.writing.RuntimeNames.VMA;

import com.palantir.javapoet.ClassName;
import com.palantir.javapoet.CodeBlock;
import dev.ptwalk.processor.model.CallbackShape;
import dev.ptwalk.processor.model.CallbackSpec;
import dev.ptwalk.processor.model.Scope;
import dev.ptwalk.processor.model.WalkerKind;

/**
 * The javadoc of one walker: what it does, the kernel walker it is, its steps in order (read from
 * the kind's {@link dev.ptwalk.processor.model.WalkShape}), and its parameters.
 */
final class WalkerJavadoc {
  private final ClassName owner;
  private final CallbackSpec cb;
  private final WalkerKind kind;
  private final Scope scope;
  private final boolean bitmap;
  private final CodeBlock.Builder doc = CodeBlock.builder();

  WalkerJavadoc(ClassName owner, CallbackSpec cb) {
    this.owner = owner;
    this.cb = cb;
    this.kind = cb.kind();
    this.scope = cb.scope();
    this.bitmap = cb.bitmap();
  }

  /** The javadoc, each paragraph, list item and tag wrapped to end before column 100. */
  CodeBlock write() {
    CodeBlock raw = unwrapped();
    return CodeBlock.of("$L", Javadocs.wrap(raw.toString(), 100 - 5));
  }

  private CodeBlock unwrapped() {
    String range = scope == Scope.MAPPING
        ? "every PTE that maps file pages {@code [firstIndex, firstIndex + nr)} of\n"
            + "{@code mapping}, in every mm that maps them,"
        : "every PTE of {@code [start, end)} in {@code mm}";
    doc.add("$L $L through the callback\n{@link $L#$N($L)}.\n", kind.verb(), range,
        String.join(".", owner.simpleNames()), cb.methodName(), linkParams(cb.shape()));
    doc.add("This is the kernel's {@code $L}\nwith that callback as its {@code $L}\n"
        + "($L).\n", kind.kernelWalker(), kind.kernelLeaf(), kind.source());
    steps();
    doc.add("\n@param $L\n", scope == Scope.MAPPING ? "mapping the file whose mappings are walked"
        : "mm the address space walked");
    if (scope == Scope.MAPPING) {
      doc.add("@param firstIndex first file page (pgoff) of the range\n");
      doc.add("@param nr number of file pages in the range\n");
      if (bitmap) {
        doc.add("@param bitmapPgoff file page of bit 0 of {@code bitmap}; at most"
            + " {@code firstIndex}\n");
        doc.add("@param bitmap OR'd with one bit per PTE modified; needs at least\n"
            + "    {@code firstIndex + nr - bitmapPgoff} bits\n");
      }
    } else {
      doc.add("@param start first address of the range, page aligned\n");
      doc.add("@param end end of the range (exclusive), page aligned, at most the mm's"
          + " {@code TASK_SIZE}\n");
      if (bitmap) {
        doc.add("@param bitmap OR'd with bit {@code (addr - start) >> 12} per PTE modified;"
            + " needs at\n    least {@code (end - start) >> 12} bits\n");
      }
    }
    if (bitmap) {
      doc.add("@param window in: the bits already set ({@code start >= end} means none); out:\n"
          + "    widened to cover every bit set\n");
    }
    if (kind.shape() == dev.ptwalk.processor.model.WalkShape.CLEAR_YOUNG_NOTIFY) {
      doc.add("@param aging how secondary MMUs are asked ({@code mmu_notifier_clear_young}): all"
          + " of them, or the fast ones only\n");
    }
    doc.add("@return the number of PTEs modified; PTEs the callback leaves unchanged are not"
        + " counted$L\n", scope == Scope.MAPPING
            ? ", and a\n    page mapped by several VMAs counts once per VMA" : "");
    String nulls = scope == Scope.MAPPING ? "{@code mapping}" : "{@code mm}";
    doc.add("@throws NullPointerException if $L is null\n", bitmap
        ? nulls + ", {@code bitmap} or {@code window}" : nulls);
    if (scope == Scope.MAPPING) {
      doc.add("@throws IllegalArgumentException if {@code firstIndex} or {@code nr} is negative or"
          + " their sum\n    overflows$L\n", bitmap
              ? ", or the bitmap does not cover the range" : "");
    } else {
      doc.add("@throws IllegalArgumentException if {@code start} or {@code end} is not page"
          + " aligned,\n    {@code start > end}, or {@code end} is past the mm's"
          + " {@code TASK_SIZE}$L\n", bitmap ? ", or the bitmap does not\n    cover the range"
              : "");
    }
    return doc.build();
  }

  private void steps() {
    switch (kind.shape()) {
      case PER_VMA_BRACKET:
        lockAndVmas();
        step("{@code invalidateRangeStart} with event {@code $L} over exactly that\n"
            + "     range, {@code flushCacheRange}, {@code incTlbFlushPending};",
            kind.event().orElseThrow());
        leafStep("count the PTE and widen the\n     flush range" + bitStep());
        step("{@code flushTlbRange} over the PTEs changed, or over the whole range when\n"
            + "     {@code mmTlbFlushNested};");
        step("{@code invalidateRangeEnd}, {@code decTlbFlushPending}.");
        end();
        released("every\nchanged PTE flushed and nothing left open");
        break;
      case WHOLE_RANGE_FLUSH_MM:
        doc.add("\n<p>Under {@code $L}:\n\n<ol>\n", kind.lock(scope).kernelName());
        step("clear {@code VM_SOFTDIRTY} of every VMA of the range ({@code vmaSetPageProt}: the"
            + "\n     next store to each page faults);");
        step("{@code incTlbFlushPending}; {@code invalidateRangeStart} with event {@code $L}"
            + "\n     over {@code [start, end)};", kind.event().orElseThrow());
        step("for each VMA that is $L, clipped to the range, each PTE that is not none\n"
            + "     under its table's ptl: apply the callback to a plain read; if that changes\n"
            + "     the value, change it ({@code ptepModifyProtStart/Commit} when present, else\n"
            + "     {@code setPteAt}) and count it$L;", kind.filter().description(), bitStep());
        step("{@code invalidateRangeEnd}, then {@code flushTlbMm}, then\n"
            + "     {@code decTlbFlushPending}: the flush comes after the bracket, as in"
            + "\n     {@code clear_refs_write}, while the pending count still warns other"
            + " walkers.");
        end();
        released("the mm\nflushed and nothing left open");
        break;
      case PER_TABLE_FLUSH:
        doc.add("\n<p>Under {@code $L}, inside one {@code invalidateRangeStart/End} bracket with"
            + " event\n{@code $L} over {@code [start, end)}, for each VMA that is\n$L:\n\n<ol>\n",
            kind.lock(scope).kernelName(), kind.event().orElseThrow(),
            kind.filter().description());
        step("clip the range to the VMA; allocate every PTE table of it, as\n"
            + "     {@code pagemap_scan_pte_hole} does for holes;");
        step("for each PTE, under its table's ptl: apply the callback to a plain read; if\n"
            + "     that changes the value, change it ({@code ptepModifyProtStart/Commit} when"
            + "\n     present, else {@code setPteAt}: an unpopulated page gets a uffd-wp"
            + " marker)\n     and count it$L;", bitStep());
        step("still under the ptl, {@code flushTlbRange} from the first PTE changed to the"
            + "\n     end of the table's part of the range.");
        end();
        released("every\nchanged PTE flushed and nothing left open");
        break;
      case CLEAR_YOUNG_NOTIFY:
        lockAndVmas();
        step("for each present PTE, under its table's ptl: if the callback changes a plain"
            + "\n     read, {@code ptepTestAndClearYoung}; if the mm has notifiers,\n"
            + "     {@code MmuNotifiers.clearYoung} over the page; a page young in either is"
            + "\n     counted$L.", bitStep());
        end();
        doc.add("\n<p>No invalidate bracket and no TLB flush, as {@code ptep_clear_young_notify}"
            + " has none:\nclearing only the accessed bit takes nothing away from a TLB entry or"
            + " a secondary\nmapping, and a stale accessed bit costs aging accuracy, never data."
            + " The method is a\n{@code @CheckedWalker}: ptwalk's body check has verified it"
            + " changes no PTE\nrestrictively.\n");
        break;
      default:
        doc.add("\n<p>Under {@code $L}, with an {@code mmu_gather} for the whole call (which"
            + " raises\n{@code tlb_flush_pending}), for each VMA that is $L:\n\n<ol>\n",
            kind.lock(scope).kernelName(), kind.filter().description());
        step("clip the range to the VMA; {@code invalidateRangeStart} with event {@code $L}"
            + "\n     over it, {@code tlbStartVma};", kind.event().orElseThrow());
        step("for each present PTE of a folio no other process may map, under its table's"
            + "\n     ptl: clear the folio's dirty flag; if the callback changes a plain read,"
            + "\n     {@code ptepModifyProtStart/Commit} and {@code tlbRemoveTlbEntry}, and"
            + " count it;\n     mark the folio lazyfree;");
        step("{@code tlbEndVma} (nothing on x86, which merges the gathered ranges of all"
            + "\n     VMAs), {@code invalidateRangeEnd};");
        step("at the end, {@code tlbFinishMmu}: one flush of the range gathered, of the whole"
            + "\n     mm when another gather is pending on it ({@code mmTlbFlushNested},"
            + " 99baac21e458),\n     then {@code decTlbFlushPending}.");
        end();
        released("every\nchanged PTE flushed and nothing left open");
        break;
    }
  }

  private void lockAndVmas() {
    if (scope == Scope.MAPPING) {
      doc.add("\n<p>Under {@code $L}, for each VMA of the mapping's i_mmap tree that\n"
          + "intersects the range:\n\n<ol>\n", kind.lock(scope).kernelName());
    } else {
      doc.add("\n<p>Under {@code $L}, for each VMA that intersects the range:\n\n<ol>\n",
          kind.lock(scope).kernelName());
    }
    switch (kind.filter()) {
      case SHARED_WRITABLE_IO:
        step("skip it unless {@code VM_SHARED} and {@code VM_WRITE}; warn and skip it if\n"
            + "     {@code VM_HUGETLB} or not {@code VM_IO};");
        break;
      default:
        step("skip it unless it is $L;", kind.filter().description());
        break;
    }
    step(scope == Scope.MAPPING
        ? "clip the range to the VMA and translate it to {@code [startAddr, endAddr)};"
        : "clip the range to the VMA;");
  }

  private void leafStep(String after) {
    step("for each PTE that is not none, under its table's ptl: apply the callback to a\n"
        + "     plain read; if that changes the value, {@code ptepModifyProtStart}, apply the\n"
        + "     callback to the value taken, {@code ptepModifyProtCommit}; $L;", after);
  }

  private String bitStep() {
    return bitmap ? "; set its bit in {@code bitmap}" : "";
  }

  private void step(String format, Object... args) {
    doc.add("  <li>" + format + "\n", args);
  }

  private void end() {
    doc.add("</ol>\n");
  }

  private void released(String what) {
    doc.add("\n<p>The locks, the bracket and the pending-flush counter are released in\n"
        + "{@code finally} blocks: an exception thrown by the callback propagates with $L."
        + " The method is a {@code @CheckedWalker}:\nptwalk's body check has verified these"
        + " steps on every path.\n", what);
  }

  static CodeBlock linkParams(CallbackShape shape) {
    switch (shape) {
      case PTE:
        return CodeBlock.of("long");
      case PTE_ADDR:
        return CodeBlock.of("long, long");
      default:
        return CodeBlock.of("long, long, $L", VMA.simpleName());
    }
  }
}
