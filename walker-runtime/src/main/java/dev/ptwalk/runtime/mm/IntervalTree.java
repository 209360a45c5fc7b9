package dev.ptwalk.runtime.mm;

import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * An augmented balanced search tree of closed intervals {@code [start, last]}, answering "which
 * intervals intersect {@code [first, last]}" in O(log n + k).
 *
 * <p>Mirrors {@code include/linux/interval_tree_generic.h} as instantiated for {@code
 * vma_interval_tree} in {@code mm/interval_tree.c}: nodes are ordered by start, and every node
 * keeps the largest {@code last} of its subtree so a query prunes subtrees that end before it.
 * The kernel balances with a red-black tree; this one is an AVL tree, with the same bounds.
 * Intervals with equal starts are visited in insertion order. Not thread-safe: the owner locks
 * it ({@code i_mmap_rwsem}).
 *
 * @param <T> the item stored with each interval; each item at most once (by identity)
 */
public final class IntervalTree<T> {
  private static final class Node<T> {
    final long start;
    final long last;
    final long seq;
    final T item;
    Node<T> left;
    Node<T> right;
    int height = 1;
    long subtreeLast;

    Node(long start, long last, long seq, T item) {
      this.start = start;
      this.last = last;
      this.seq = seq;
      this.item = item;
      this.subtreeLast = last;
    }
  }

  private final IdentityHashMap<T, Node<T>> nodes = new IdentityHashMap<>();
  private Node<T> root;
  private long nextSeq;

  /** An empty tree. */
  public IntervalTree() {}

  /** {@code vma_interval_tree_insert}: add {@code item} over {@code [start, last]}. */
  public void insert(long start, long last, T item) {
    if (item == null) {
      throw new NullPointerException("item");
    }
    if (start > last) {
      throw new IllegalArgumentException(
          "interval [" + start + ", " + last + "] is empty: start must be <= last");
    }
    if (nodes.containsKey(item)) {
      throw new IllegalArgumentException(item + " is already in the tree");
    }
    Node<T> node = new Node<>(start, last, nextSeq++, item);
    nodes.put(item, node);
    root = insert(root, node);
  }

  /** {@code vma_interval_tree_remove}: remove {@code item}; false if it was not there. */
  public boolean remove(T item) {
    Node<T> node = nodes.remove(item);
    if (node == null) {
      return false;
    }
    root = remove(root, node);
    return true;
  }

  /** Number of intervals. */
  public int size() {
    return nodes.size();
  }

  /** Height of the tree: at most about 1.44 log2(n + 2). */
  public int height() {
    return h(root);
  }

  /**
   * {@code vma_interval_tree_foreach}: the items whose interval intersects {@code [first, last]},
   * by ascending start. The tree must not change while the iteration runs.
   */
  public Iterable<T> overlapping(long first, long last) {
    return () -> new OverlapIterator(first, last);
  }

  /** Check the ordering, balance and augmentation of every node; for tests. */
  void checkInvariants() {
    check(root);
  }

  private final class OverlapIterator implements Iterator<T> {
    private final long first;
    private final long last;
    private final ArrayDeque<Node<T>> stack = new ArrayDeque<>();
    private Node<T> next;

    OverlapIterator(long first, long last) {
      this.first = first;
      this.last = last;
      pushLeft(root);
      advance();
    }

    /** Push n and its left spine, skipping any subtree that ends before {@code first}. */
    private void pushLeft(Node<T> n) {
      while (n != null && n.subtreeLast >= first) {
        stack.push(n);
        n = n.left;
      }
    }

    private void advance() {
      next = null;
      while (!stack.isEmpty()) {
        Node<T> n = stack.pop();
        if (n.start > last) {
          stack.clear();
          return;
        }
        pushLeft(n.right);
        if (n.last >= first) {
          next = n;
          return;
        }
      }
    }

    @Override
    public boolean hasNext() {
      return next != null;
    }

    @Override
    public T next() {
      if (next == null) {
        throw new NoSuchElementException();
      }
      T item = next.item;
      advance();
      return item;
    }
  }

  private static int compare(Node<?> a, Node<?> b) {
    int c = Long.compare(a.start, b.start);
    return c != 0 ? c : Long.compare(a.seq, b.seq);
  }

  private static <T> int h(Node<T> n) {
    return n == null ? 0 : n.height;
  }

  private static <T> void update(Node<T> n) {
    n.height = 1 + Math.max(h(n.left), h(n.right));
    long m = n.last;
    if (n.left != null) {
      m = Math.max(m, n.left.subtreeLast);
    }
    if (n.right != null) {
      m = Math.max(m, n.right.subtreeLast);
    }
    n.subtreeLast = m;
  }

  private static <T> Node<T> rotateRight(Node<T> n) {
    Node<T> l = n.left;
    n.left = l.right;
    l.right = n;
    update(n);
    update(l);
    return l;
  }

  private static <T> Node<T> rotateLeft(Node<T> n) {
    Node<T> r = n.right;
    n.right = r.left;
    r.left = n;
    update(n);
    update(r);
    return r;
  }

  private static <T> Node<T> balance(Node<T> n) {
    update(n);
    int bf = h(n.left) - h(n.right);
    if (bf > 1) {
      if (h(n.left.left) < h(n.left.right)) {
        n.left = rotateLeft(n.left);
      }
      return rotateRight(n);
    }
    if (bf < -1) {
      if (h(n.right.right) < h(n.right.left)) {
        n.right = rotateRight(n.right);
      }
      return rotateLeft(n);
    }
    return n;
  }

  private static <T> Node<T> insert(Node<T> n, Node<T> x) {
    if (n == null) {
      return x;
    }
    if (compare(x, n) < 0) {
      n.left = insert(n.left, x);
    } else {
      n.right = insert(n.right, x);
    }
    return balance(n);
  }

  private static <T> Node<T> remove(Node<T> n, Node<T> x) {
    int c = compare(x, n);
    if (c < 0) {
      n.left = remove(n.left, x);
    } else if (c > 0) {
      n.right = remove(n.right, x);
    } else {
      if (n.left == null) {
        return n.right;
      }
      if (n.right == null) {
        return n.left;
      }
      Node<T> m = n.right;
      while (m.left != null) {
        m = m.left;
      }
      m.right = removeMin(n.right);
      m.left = n.left;
      return balance(m);
    }
    return balance(n);
  }

  private static <T> Node<T> removeMin(Node<T> n) {
    if (n.left == null) {
      return n.right;
    }
    n.left = removeMin(n.left);
    return balance(n);
  }

  private static <T> long check(Node<T> n) {
    if (n == null) {
      return Long.MIN_VALUE;
    }
    if (n.left != null && compare(n.left, n) >= 0 || n.right != null && compare(n.right, n) <= 0) {
      throw new IllegalStateException("order broken at [" + n.start + ", " + n.last + "]");
    }
    if (Math.abs(h(n.left) - h(n.right)) > 1 || n.height != 1 + Math.max(h(n.left), h(n.right))) {
      throw new IllegalStateException("balance broken at [" + n.start + ", " + n.last + "]");
    }
    long m = Math.max(n.last, Math.max(check(n.left), check(n.right)));
    if (m != n.subtreeLast) {
      throw new IllegalStateException("subtreeLast broken at [" + n.start + ", " + n.last + "]");
    }
    return m;
  }
}
