package dev.ptwalk.runtime.mm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class IntervalTreeTest {
  /** An interval with an identity, as a VMA is. */
  private record Item(long start, long last, int id) {}

  private static List<Item> collect(Iterable<Item> it) {
    List<Item> out = new ArrayList<>();
    it.forEach(out::add);
    return out;
  }

  private static List<Item> bruteForce(List<Item> all, long first, long last) {
    List<Item> out = new ArrayList<>();
    for (Item i : all) {
      if (i.start <= last && i.last >= first) {
        out.add(i);
      }
    }
    out.sort(Comparator.comparingLong(Item::start).thenComparingInt(Item::id));
    return out;
  }

  @Test
  void matchesBruteForceOnRandomInsertsRemovesAndQueries() {
    SplittableRandom rnd = new SplittableRandom(20261121);
    int queries = 0;
    for (int round = 0; round < 40; round++) {
      IntervalTree<Item> tree = new IntervalTree<>();
      List<Item> live = new ArrayList<>();
      long span = round % 2 == 0 ? 1_000 : 1L << 40;
      int id = 0;
      for (int op = 0; op < 400; op++) {
        if (live.isEmpty() || rnd.nextInt(4) != 0) {
          long s = rnd.nextLong(span);
          long len = rnd.nextInt(3) == 0 ? 0 : rnd.nextLong(span / 10 + 1);
          Item it = new Item(s, s + len, id++);
          tree.insert(it.start, it.last, it);
          live.add(it);
        } else {
          Item gone = live.remove(rnd.nextInt(live.size()));
          assertTrue(tree.remove(gone));
          assertFalse(tree.remove(gone), "a second remove finds nothing");
        }
        tree.checkInvariants();
        long a = rnd.nextLong(span);
        long b = a + (rnd.nextBoolean() ? 0 : rnd.nextLong(span / 5 + 1));
        assertEquals(bruteForce(live, a, b), collect(tree.overlapping(a, b)),
            "query [" + a + ", " + b + "] in round " + round + " op " + op);
        queries++;
      }
      assertEquals(live.size(), tree.size());
      assertEquals(bruteForce(live, 0, Long.MAX_VALUE), collect(tree.overlapping(0, Long.MAX_VALUE)));
    }
    assertEquals(16_000, queries);
  }

  @Test
  void staysBalancedUnderSortedInserts() {
    IntervalTree<Item> tree = new IntervalTree<>();
    for (int i = 0; i < 100_000; i++) {
      tree.insert(i, i, new Item(i, i, i));
    }
    tree.checkInvariants();
    // AVL height bound: 1.44 log2(n + 2).
    assertTrue(tree.height() <= 1.4405 * (Math.log(100_002) / Math.log(2)), "height " + tree.height());
    assertEquals(List.of(new Item(500, 500, 500), new Item(501, 501, 501)),
        collect(tree.overlapping(500, 501)));
  }

  @Test
  void equalStartsComeInInsertionOrderAndClosedEndsTouch() {
    IntervalTree<Item> tree = new IntervalTree<>();
    Item a = new Item(10, 19, 0);
    Item b = new Item(10, 11, 1);
    Item c = new Item(20, 29, 2);
    tree.insert(10, 19, a);
    tree.insert(10, 11, b);
    tree.insert(20, 29, c);
    assertEquals(List.of(a, b), collect(tree.overlapping(0, 10)));
    assertEquals(List.of(a, c), collect(tree.overlapping(19, 20)));
    assertEquals(List.of(), collect(tree.overlapping(30, 40)));
  }

  @Test
  void rejectsBadInsertsWithoutChangingTheTree() {
    IntervalTree<Item> tree = new IntervalTree<>();
    Item a = new Item(1, 2, 0);
    tree.insert(1, 2, a);
    assertThrows(IllegalArgumentException.class, () -> tree.insert(5, 4, new Item(5, 4, 1)));
    assertThrows(IllegalArgumentException.class, () -> tree.insert(1, 2, a));
    assertThrows(NullPointerException.class, () -> tree.insert(1, 2, null));
    assertEquals(1, tree.size());
    tree.checkInvariants();
  }
}
