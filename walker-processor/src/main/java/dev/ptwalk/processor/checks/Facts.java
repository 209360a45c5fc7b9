package dev.ptwalk.processor.checks;

import com.sun.source.tree.Tree;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import javax.lang.model.element.VariableElement;

/**
 * The domain of the body check: what one path knows at one program point, keyed by program
 * elements and the objects they hold, never by names or source text.
 *
 * <p>An {@link Obj} is an abstract object: a parameter's value, the object made at one
 * allocation or call site (the most recent one; older ones of the same site are merged into one
 * "old" object, so loops stay finite), the initial content of a field, the mm of a VMA, the lock
 * of a PTE table. A {@link State} maps variables ({@link Loc}: a {@link VariableElement}, or a
 * field of an object) to objects, and holds the facts per object: which notifier ranges are open
 * (and over which mm), which were ended, which PTE changes still owe a TLB flush (of which mm,
 * made under which table's lock), the walker's own {@code tlb_flush_pending} count per mm. States
 * are values; a program point holds a set of them, and {@link #join} is set union. Every part of a
 * state is finite for a given method (counts are capped at {@link #MAX_PENDING}), so the
 * interpreter's fixpoints terminate.
 */
final class Facts {
  /** The pending count at which the domain stops counting. */
  static final int MAX_PENDING = 3;

  private Facts() {}

  /** What an abstract object stands for. */
  enum Kind {
    /** A parameter's value; key: the parameter's {@link VariableElement}. */
    PARAM,
    /** The object made at one site (a {@code new}, a call, a loop variable); key: its tree. */
    SITE,
    /** The initial content of a field; key: its {@link Loc}. */
    FIELD,
    /** The mm of a VMA; key: the VMA's object. */
    MM_OF,
    /** The lock (ptl) of a PTE table; key: the table's object. */
    PTL_OF,
    /** The null reference. */
    NULL,
    /** Anything the check cannot tell apart. */
    UNKNOWN
  }

  /** An abstract object; {@code old} merges earlier objects of the same site. */
  record Obj(Kind kind, Object key, boolean old) {
    static final Obj UNKNOWN = new Obj(Kind.UNKNOWN, null, false);
    static final Obj NULL = new Obj(Kind.NULL, null, false);

    static Obj param(VariableElement e) {
      return new Obj(Kind.PARAM, e, false);
    }

    static Obj site(Tree t) {
      return new Obj(Kind.SITE, t, false);
    }

    static Obj field(Loc l) {
      return new Obj(Kind.FIELD, l, false);
    }

    static Obj mmOf(Obj vma) {
      return vma.kind == Kind.UNKNOWN ? UNKNOWN : new Obj(Kind.MM_OF, vma, false);
    }

    static Obj ptlOf(Obj table) {
      return table.kind == Kind.UNKNOWN ? UNKNOWN : new Obj(Kind.PTL_OF, table, false);
    }

    boolean unknown() {
      return kind == Kind.UNKNOWN || kind == Kind.NULL;
    }

    /** This object with every reference to the current object of {@code site} made old. */
    Obj age(Tree site) {
      switch (kind) {
        case SITE:
          return key == site && !old ? new Obj(kind, key, true) : this;
        case MM_OF:
        case PTL_OF: {
          Obj inner = ((Obj) key).age(site);
          return inner == key ? this : new Obj(kind, inner, old);
        }
        case FIELD: {
          Loc l = (Loc) key;
          Loc aged = l.age(site);
          return aged == l ? this : new Obj(kind, aged, old);
        }
        default:
          return this;
      }
    }
  }

  /** A variable: a local, a parameter or a field of this class ({@code base} null), or a field. */
  record Loc(Obj base, VariableElement var) {
    Loc age(Tree site) {
      if (base == null) {
        return this;
      }
      Obj b = base.age(site);
      return b == base ? this : new Loc(b, var);
    }
  }

  /** An open notifier bracket: its range object, the mm it covers, where it was opened. */
  record Bracket(Obj range, Obj mm, long pos) {
    Bracket age(Tree site) {
      return new Bracket(range.age(site), mm.age(site), pos);
    }
  }

  /**
   * A PTE change that still owes a TLB flush: where it was made, of which mm, under which PTE
   * table's lock ({@code null} when the lock is out of sight, in an {@code @InBracket} helper),
   * the end of its bracket if that came first with the pending count raised (else {@code -1}),
   * and whether it owes a flush only where {@code mm_tlb_flush_nested} is true.
   */
  record Change(long pos, Obj mm, Obj table, long endPos, boolean nestedOnly) {
    Change age(Tree site) {
      return new Change(pos, mm.age(site), table == null ? null : table.age(site), endPos,
          nestedOnly);
    }

    /** This change past the end of its bracket at {@code end}, with the pending count raised. */
    Change deferred(long end) {
      return new Change(pos, mm, table, end, nestedOnly);
    }

    /**
     * This change, flushed by the walker's flush of what it changed itself, owing a flush only
     * where another walker is pending too ({@code mm_tlb_flush_nested}).
     */
    Change onlyIfNested() {
      return new Change(pos, mm, table, endPos, true);
    }
  }

  /**
   * A PTE a get-and-clear change left none, under the ptl of {@code table}, of {@code mm}, at the
   * address {@code addr} computes; {@code flushed} once a TLB flush covered it ({@code ptep_clear_flush}). A value
   * installed there after the flush needs no flush of its own: no CPU can have cached it.
   */
  record Cleared(Obj table, Obj mm, Tree addr, boolean flushed) {
    Cleared age(Tree site) {
      return new Cleared(table.age(site), mm.age(site), addr, flushed);
    }
  }

  /**
   * A PTE value a variable holds from a plain read of {@code table} at {@code pos}; {@code
   * staleAt} is where a change of that table took the PTE since (else {@code -1}): a value computed
   * from the read no longer has the accessed and dirty bits hardware set in between.
   */
  record Read(Obj table, long pos, long staleAt) {
    Read age(Tree site) {
      return new Read(table.age(site), pos, staleAt);
    }
  }

  /**
   * What one path knows at one point: a value (equality over every part), its hash computed once
   * when first asked, since states live in sets and are compared at every join.
   */
  static final class State {
    private final Map<Loc, Obj> store;
    private final Map<Obj, Obj> mmOf;
    private final Set<Bracket> open;
    private final Map<Obj, Long> ended;
    private final Set<Change> unflushed;
    private final Map<Obj, Integer> pending;
    private final Map<Obj, Long> pendingPos;
    private final Set<Cleared> cleared;
    private final Map<VariableElement, Read> reads;
    private final boolean inCallerBracket;
    private final String via;
    private int hash;

    State(Map<Loc, Obj> store, Map<Obj, Obj> mmOf, Set<Bracket> open, Map<Obj, Long> ended, Set<Change> unflushed, Map<Obj, Integer> pending, Map<Obj, Long> pendingPos, Set<Cleared> cleared, Map<VariableElement, Read> reads, boolean inCallerBracket, String via) {
      this.store = store;
      this.mmOf = mmOf;
      this.open = open;
      this.ended = ended;
      this.unflushed = unflushed;
      this.pending = pending;
      this.pendingPos = pendingPos;
      this.cleared = cleared;
      this.reads = reads;
      this.inCallerBracket = inCallerBracket;
      this.via = via;
    }

    Map<Loc, Obj> store() {
      return store;
    }

    Map<Obj, Obj> mmOf() {
      return mmOf;
    }

    Set<Bracket> open() {
      return open;
    }

    Map<Obj, Long> ended() {
      return ended;
    }

    Set<Change> unflushed() {
      return unflushed;
    }

    Map<Obj, Integer> pending() {
      return pending;
    }

    Map<Obj, Long> pendingPos() {
      return pendingPos;
    }

    Set<Cleared> cleared() {
      return cleared;
    }

    Map<VariableElement, Read> reads() {
      return reads;
    }

    boolean inCallerBracket() {
      return inCallerBracket;
    }

    String via() {
      return via;
    }

    @Override
    public boolean equals(Object o) {
      if (this == o) {
        return true;
      }
      if (!(o instanceof State)) {
        return false;
      }
      State x = (State) o;
      return hashCode() == x.hashCode() && inCallerBracket == x.inCallerBracket
          && java.util.Objects.equals(via, x.via) && store.equals(x.store)
          && mmOf.equals(x.mmOf) && open.equals(x.open) && ended.equals(x.ended)
          && unflushed.equals(x.unflushed) && pending.equals(x.pending)
          && pendingPos.equals(x.pendingPos) && cleared.equals(x.cleared)
          && reads.equals(x.reads);
    }

    @Override
    public int hashCode() {
      int h = hash;
      if (h == 0) {
        h = java.util.Objects.hash(store, mmOf, open, ended, unflushed, pending, pendingPos,
            cleared, reads, inCallerBracket, via);
        hash = h == 0 ? 1 : h;
      }
      return hash;
    }


    /** The state at a method's entry; an {@code @InBracket} helper starts in its caller's. */
    static State initial(boolean inCallerBracket) {
      return new State(Map.of(), Map.of(), Set.of(), Map.of(), Set.of(), Map.of(), Map.of(),
          Set.of(), Map.of(), inCallerBracket, null);
    }

    State withStore(Map<Loc, Obj> s) {
      return new State(frozen(s), mmOf, open, ended, unflushed, pending, pendingPos,
          cleared, reads, inCallerBracket, via);
    }

    State withMmOf(Map<Obj, Obj> m) {
      return new State(store, frozen(m), open, ended, unflushed, pending, pendingPos,
          cleared, reads, inCallerBracket, via);
    }

    State withBrackets(Set<Bracket> o, Map<Obj, Long> e) {
      return new State(store, mmOf, frozen(o), frozen(e), unflushed, pending, pendingPos,
          cleared, reads, inCallerBracket, via);
    }

    State withUnflushed(Set<Change> u) {
      return new State(store, mmOf, open, ended, frozen(u), pending, pendingPos, cleared,
          reads, inCallerBracket, via);
    }

    State withCleared(Set<Cleared> c) {
      return new State(store, mmOf, open, ended, unflushed, pending, pendingPos, frozen(c),
          reads, inCallerBracket, via);
    }

    State withReads(Map<VariableElement, Read> r) {
      return new State(store, mmOf, open, ended, unflushed, pending, pendingPos, cleared,
          frozen(r), inCallerBracket, via);
    }

    State withPending(Map<Obj, Integer> p, Map<Obj, Long> pos) {
      return new State(store, mmOf, open, ended, unflushed, frozen(p), frozen(pos),
          cleared, reads, inCallerBracket, via);
    }

    State withVia(String v) {
      return java.util.Objects.equals(v, via) ? this
          : new State(store, mmOf, open, ended, unflushed, pending, pendingPos, cleared, reads,
              inCallerBracket, v);
    }

    /** This state on an exception path, remembering where the exception came from. */
    State thrown(String path) {
      return via != null ? this
          : new State(store, mmOf, open, ended, unflushed, pending, pendingPos, cleared, reads,
              inCallerBracket, path);
    }

    /** This state once a catch block has handled the exception. */
    State caught() {
      return via == null ? this
          : new State(store, mmOf, open, ended, unflushed, pending, pendingPos, cleared, reads,
              inCallerBracket, null);
    }

    /** Which path this is, for messages. */
    String path() {
      return via != null ? "the path where " + via + " propagates" : "some path";
    }

    /** The object {@code loc} holds. */
    Obj get(Loc loc) {
      Obj o = store.get(loc);
      if (o != null) {
        return o;
      }
      switch (loc.var().getKind()) {
        case PARAMETER:
          return Obj.param(loc.var());
        case FIELD:
          return Obj.field(loc);
        default:
          return Obj.UNKNOWN;
      }
    }

    /** This state with {@code loc} holding {@code o}. */
    State set(Loc loc, Obj o) {
      if (o.equals(store.get(loc))) {
        return this;
      }
      Map<Loc, Obj> s = new LinkedHashMap<>(store);
      s.put(loc, o);
      return withStore(s);
    }

    /**
     * This state before a new object of {@code site} is made: the current one, if the state
     * knows it, becomes old (merged with any older one).
     */
    State age(Tree site) {
      if (!mentions(site)) {
        return this;
      }
      Map<Loc, Obj> s = mapValues(store, site);
      Map<Obj, Obj> m = new LinkedHashMap<>();
      mmOf.forEach((k, v) -> m.put(k.age(site), v.age(site)));
      Set<Bracket> o = new LinkedHashSet<>();
      open.forEach(b -> o.add(b.age(site)));
      Map<Obj, Long> e = new LinkedHashMap<>();
      ended.forEach((k, v) -> e.merge(k.age(site), v, Math::min));
      Set<Change> u = new LinkedHashSet<>();
      unflushed.forEach(c -> u.add(c.age(site)));
      Map<Obj, Integer> p = new LinkedHashMap<>();
      pending.forEach((k, v) -> p.merge(k.age(site), v, (a, b) -> Math.min(MAX_PENDING, a + b)));
      Map<Obj, Long> pp = new LinkedHashMap<>();
      pendingPos.forEach((k, v) -> pp.merge(k.age(site), v, Math::min));
      Set<Cleared> c = new LinkedHashSet<>();
      cleared.forEach(x -> c.add(x.age(site)));
      Map<VariableElement, Read> r = new LinkedHashMap<>();
      reads.forEach((k, v) -> r.put(k, v.age(site)));
      State aged = new State(frozen(s), frozen(m), frozen(o), frozen(e), frozen(u), frozen(p),
          frozen(pp), frozen(c), frozen(r), inCallerBracket, via);
      return aged.equals(this) ? this : aged;
    }

    /** Whether anything in this state refers to the current object of {@code site}. */
    private boolean mentions(Tree site) {
      for (Map.Entry<Loc, Obj> e : store.entrySet()) {
        if (e.getValue().age(site) != e.getValue() || e.getKey().age(site) != e.getKey()) {
          return true;
        }
      }
      for (Map.Entry<Obj, Obj> e : mmOf.entrySet()) {
        if (e.getKey().age(site) != e.getKey() || e.getValue().age(site) != e.getValue()) {
          return true;
        }
      }
      for (Bracket b : open) {
        if (b.range().age(site) != b.range() || b.mm().age(site) != b.mm()) {
          return true;
        }
      }
      for (Obj o : ended.keySet()) {
        if (o.age(site) != o) {
          return true;
        }
      }
      for (Change c : unflushed) {
        if (c.mm().age(site) != c.mm() || c.table() != null && c.table().age(site) != c.table()) {
          return true;
        }
      }
      for (Obj o : pending.keySet()) {
        if (o.age(site) != o) {
          return true;
        }
      }
      for (Cleared c : cleared) {
        if (c.table().age(site) != c.table() || c.mm().age(site) != c.mm()) {
          return true;
        }
      }
      for (Read r : reads.values()) {
        if (r.table().age(site) != r.table()) {
          return true;
        }
      }
      return false;
    }

    private static Map<Loc, Obj> mapValues(Map<Loc, Obj> store, Tree site) {
      Map<Loc, Obj> s = new LinkedHashMap<>();
      store.forEach((k, v) -> s.put(k.age(site), v.age(site)));
      return s;
    }
  }

  /**
   * The join of two program points' facts: every state either may be in, with states that differ
   * only in the changes owing a flush merged into one (the union of those changes: each is checked
   * on its own, so nothing is lost; the cleared PTEs, a must-fact, are intersected).
   */
  static Set<State> join(Set<State> a, Set<State> b) {
    Map<State, State> merged = new LinkedHashMap<>();
    for (Set<State> in : List.of(a, b)) {
      for (State s : in) {
        State key = s.withUnflushed(Set.of()).withCleared(Set.of());
        State prev = merged.get(key);
        if (prev == null) {
          merged.put(key, s);
        } else {
          Set<Change> u = new LinkedHashSet<>(prev.unflushed());
          u.addAll(s.unflushed());
          Set<Cleared> c = new LinkedHashSet<>(prev.cleared());
          c.retainAll(s.cleared());
          merged.put(key, prev.withUnflushed(u).withCleared(c));
        }
      }
    }
    return new LinkedHashSet<>(merged.values());
  }

  /** {@code f} applied to every state of {@code in}. */
  static Set<State> map(Set<State> in, UnaryOperator<State> f) {
    Set<State> out = new LinkedHashSet<>();
    for (State s : in) {
      out.add(f.apply(s));
    }
    return out;
  }

  /**
   * Whether two mm objects may be the same mm: equal, either unknown, or one the mm of a VMA and
   * the other an mm held directly (their relation is not visible). Only two visibly different
   * VMAs' mms, or two visibly different mm objects, are different.
   */
  static boolean sameMm(Obj a, Obj b) {
    if (a.equals(b) || a.unknown() || b.unknown()) {
      return true;
    }
    return (a.kind() == Kind.MM_OF) != (b.kind() == Kind.MM_OF);
  }

  /** Whether two PTE table objects may be the same table. */
  static boolean sameTable(Obj a, Obj b) {
    return a.equals(b) || a.unknown() || b.unknown();
  }

  private static <K, V> Map<K, V> frozen(Map<K, V> m) {
    return Collections.unmodifiableMap(new LinkedHashMap<>(m));
  }

  private static <T> Set<T> frozen(Set<T> s) {
    return Collections.unmodifiableSet(new LinkedHashSet<>(s));
  }
}
