package dev.ptwalk.processor.writing.c;

import dev.ptwalk.processor.model.CallbackSpec;
import dev.ptwalk.processor.model.Scope;
import dev.ptwalk.processor.model.WalkerKind;

/**
 * One walker of a C file: a callback, its translated leaf, and the names they get.
 *
 * @param cb the callback
 * @param leaf its leaf
 * @param javaSignature the callback as the comments name it: {@code
 *     DirtyHelpers.wrprotect(long pte)}
 * @param leafName the leaf function, {@code dirty_helpers_wrprotect}
 * @param name the walker's prefix and entry point, {@code dirty_helpers_apply_as_wrprotect}
 */
record CWalker(CallbackSpec cb, CLeaf leaf, String javaSignature, String leafName, String name) {
  WalkerKind kind() {
    return cb.kind();
  }

  Scope scope() {
    return cb.scope();
  }

  boolean bitmap() {
    return cb.bitmap();
  }

  /** The leaf applied to {@code pte}, at {@code addr} of {@code vma} when it takes them. */
  String leafCall(String pte, String vma) {
    StringBuilder sb = new StringBuilder(leafName).append('(').append(pte);
    if (leaf.arity() >= 2) {
      sb.append(", addr");
    }
    if (leaf.arity() >= 3) {
      sb.append(", ").append(vma);
    }
    return sb.append(')').toString();
  }

  /** The function of this walker named with {@code suffix}: {@code <name>_pte}. */
  String fn(String suffix) {
    return name + "_" + suffix;
  }
}
