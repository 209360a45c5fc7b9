package dev.ptwalk.processor.writing;

import com.palantir.javapoet.ClassName;

/**
 * The runtime types generated code refers to, by name only: the processor never loads them.
 */
final class RuntimeNames {
  private static final String RT = "dev.ptwalk.runtime";

  static final ClassName ADDRESS_SPACE = ClassName.get(RT + ".mm", "AddressSpace");
  static final ClassName VMA = ClassName.get(RT + ".mm", "Vma");
  static final ClassName MM_STRUCT = ClassName.get(RT + ".mm", "MmStruct");
  static final ClassName VM_FLAGS = ClassName.get(RT + ".mm", "VmFlags");
  static final ClassName PGTABLE = ClassName.get(RT + ".pgtable", "Pgtable");
  static final ClassName PTE_TABLE = ClassName.get(RT + ".pgtable", "PteTable");
  static final ClassName MMU_NOTIFIER_RANGE = ClassName.get(RT + ".notifier", "MmuNotifierRange");
  static final ClassName MMU_NOTIFIER_EVENT = ClassName.get(RT + ".notifier", "MmuNotifierEvent");
  static final ClassName MMU_NOTIFIERS = ClassName.get(RT + ".notifier", "MmuNotifiers");
  static final ClassName AGING = ClassName.get(RT + ".notifier", "Aging");
  static final ClassName TLB_FLUSH = ClassName.get(RT + ".cpu", "TlbFlush");
  static final ClassName CACHE_FLUSH = ClassName.get(RT + ".cpu", "CacheFlush");
  static final ClassName BUG = ClassName.get(RT + ".debug", "Bug");
  static final ClassName PTE_TABLE_CURSOR = ClassName.get(RT + ".walk", "PteTableCursor");
  static final ClassName DIRTY_WINDOW = ClassName.get(RT, "DirtyWindow");
  static final ClassName PTE = ClassName.get(RT, "Pte");
  static final ClassName MMU_GATHER = ClassName.get(RT + ".mm", "MmuGather");
  static final ClassName FOLIO = ClassName.get(RT + ".mm", "Folio");
  static final ClassName GENERATED = ClassName.get("javax.annotation.processing", "Generated");
  static final ClassName OBJECTS = ClassName.get("java.util", "Objects");
  static final ClassName CHECKED_WALKER = ClassName.get("dev.ptwalk.annotations", "CheckedWalker");

  private RuntimeNames() {}
}
