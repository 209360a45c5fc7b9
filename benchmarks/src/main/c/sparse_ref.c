/*
 * sparse_ref: the C reference for SparseBench.
 *
 * 1,000 present, writable pages scattered at random over a VMA of 1 GiB, 1 TiB, 64 TiB and
 * 126 TiB starting at 1 GiB (SparseBench's layout), on the same 4-level radix of 512-entry
 * tables as ptwalk_ref.c, write-protected in one walk by two walkers doing the same per-PTE work
 * as ptwalk_ref.c's apply_as_wrprotect (plain read, leaf, exchange, leaf, store, count, flush
 * range), under each PTE table's spinlock:
 *
 *   - "slots": the descent of mm/pagewalk.c, which looks at every slot of every table it enters
 *     (walk_pgd_range .. walk_pte_range; none entries are skipped, not their slots);
 *   - "summary": the same descent, but each table keeps a 512-bit population summary, as the
 *     simulation's PgDir and PteTable do, and the walker jumps from populated slot to populated
 *     slot (find_next_bit on the summary words).
 *
 * It prints one line per walker and range, with the per-run minimum and median in microseconds
 * per walk and the tables of each level the walk enters, and at the end the 126 TiB / 1 GiB
 * ratios:
 *
 *   summary gib=129024 min=92.8 median=104.9 modified=1000 pud=247 pmd=996 pte=1000
 *
 * The first tenth of the runs is untimed warm-up. That ratio for
 * "summary" is what the same walk costs C when only the tables visited grow with the range.
 *
 * Build: gcc -O2 -o sparse_ref sparse_ref.c
 * Usage: sparse_ref [runs]   (default 300)
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ref_common.h"

#define PAGE_SHIFT 12
#define PMD_SHIFT 21
#define PUD_SHIFT 30
#define PGDIR_SHIFT 39
#define PTRS_PER_TABLE 512
#define SUMMARY_WORDS (PTRS_PER_TABLE / 64)

#define _PAGE_PRESENT (1UL << 0)
#define _PAGE_RW (1UL << 1)
#define _PAGE_USER (1UL << 2)
#define _PAGE_ACCESSED (1UL << 5)

#define POPULATED 1000
#define VMA_START (1UL << 30)

/* A table of any level: 512 entries, the population summary, and the ptl for PTE tables. */
struct table {
  uint64_t entry[PTRS_PER_TABLE]; /* PTEs, or pointers to the next level */
  uint64_t summary[SUMMARY_WORDS];
  spinlock_t ptl;
};

static struct table *table_alloc(void) {
  struct table *t = aligned_alloc(4096, sizeof(struct table) + 4096 - sizeof(struct table) % 4096);
  if (t == NULL) {
    fprintf(stderr, "sparse_ref: out of memory\n");
    exit(1);
  }
  memset(t, 0, sizeof(*t));
  return t;
}

static inline unsigned idx(uint64_t addr, int shift) {
  return (addr >> shift) & (PTRS_PER_TABLE - 1);
}

static inline void set_entry(struct table *t, unsigned i, uint64_t v) {
  WRITE_ONCE(t->entry[i], v);
  t->summary[i / 64] |= 1UL << (i % 64);
}

/* pte_alloc and the levels above it; returns the PTE table. */
static struct table *pte_alloc(struct table *pgd, uint64_t addr, uint64_t *tables) {
  struct table *t = pgd;
  for (int shift = PGDIR_SHIFT, level = 0; shift > PAGE_SHIFT; shift -= 9, level++) {
    unsigned i = idx(addr, shift);
    if (t->entry[i] == 0) {
      set_entry(t, i, (uint64_t)(uintptr_t)table_alloc());
      tables[level]++;
    }
    t = (struct table *)(uintptr_t)t->entry[i];
  }
  return t;
}

/* The next populated slot in [i, end), or end: find_next_bit on the summary. */
static inline unsigned next_populated(const struct table *t, unsigned i, unsigned end) {
  while (i < end) {
    uint64_t word = READ_ONCE(t->summary[i / 64]) >> (i % 64);
    if (word != 0) {
      unsigned n = i + (unsigned)__builtin_ctzll(word);
      return n < end ? n : end;
    }
    i = (i / 64 + 1) * 64;
  }
  return end;
}

struct walk {
  uint64_t total, tlbflush_start, tlbflush_end;
};

static inline void wp_pte(struct walk *w, uint64_t *ptep, uint64_t addr) {
  uint64_t ptent = READ_ONCE(*ptep);
  if (!(ptent & _PAGE_RW)) {
    return;
  }
  uint64_t old = __atomic_exchange_n(ptep, 0, __ATOMIC_SEQ_CST);
  WRITE_ONCE(*ptep, old & ~_PAGE_RW);
  w->total++;
  w->tlbflush_start = addr < w->tlbflush_start ? addr : w->tlbflush_start;
  w->tlbflush_end = addr + 4096 > w->tlbflush_end ? addr + 4096 : w->tlbflush_end;
}

/* One level of the descent over [addr, end) in table t whose slots are 1 << shift bytes. */
static void walk_level(struct walk *w, struct table *t, int shift, uint64_t addr, uint64_t end,
                       int summary) {
  uint64_t size = 1UL << shift;
  unsigned first = idx(addr, shift);
  unsigned last = first + (unsigned)((end - 1 - (addr & ~(size - 1))) >> shift); /* inclusive */
  uint64_t base = (addr & ~((size << 9) - 1));
  if (shift == PAGE_SHIFT) {
    spin_lock(&t->ptl);
  }
  for (unsigned i = summary ? next_populated(t, first, last + 1) : first; i <= last;
       i = summary ? next_populated(t, i + 1, last + 1) : i + 1) {
    uint64_t a = base + ((uint64_t)i << shift);
    if (shift == PAGE_SHIFT) {
      wp_pte(w, &t->entry[i], a);
      continue;
    }
    struct table *next = (struct table *)(uintptr_t)READ_ONCE(t->entry[i]);
    if (next == NULL) {
      continue;
    }
    uint64_t from = a < addr ? addr : a;
    uint64_t to = a + size < end ? a + size : end;
    walk_level(w, next, shift - 9, from, to, summary);
  }
  if (shift == PAGE_SHIFT) {
    spin_unlock(&t->ptl);
  }
}

static __attribute__((noinline)) uint64_t apply_as_wrprotect(struct table *pgd, uint64_t start,
                                                             uint64_t end, int summary) {
  struct walk w = {0, end, start};
  walk_level(&w, pgd, PGDIR_SHIFT, start, end, summary);
  return w.total;
}

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15UL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
  return z ^ (z >> 31);
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 300;
  if (runs < 1 || runs > 100000) {
    fprintf(stderr, "usage: sparse_ref [runs], runs in 1..100000\n");
    return 2;
  }
  static const uint64_t range_gib[] = {1, 1024, 65536, 129024};
  double min[2][4];
  double *us = calloc(runs, sizeof(double));
  printf("sparse_ref: %d pages, us per walk over %d runs\n", POPULATED, runs);
  for (int r = 0; r < 4; r++) {
    uint64_t pages = (range_gib[r] << 30) >> PAGE_SHIFT;
    uint64_t end = VMA_START + (pages << PAGE_SHIFT);
    struct table *pgd = table_alloc();
    uint64_t tables[3] = {0, 0, 0};
    uint64_t *ptep[POPULATED];
    uint64_t rng = 7;
    for (int i = 0; i < POPULATED; i++) {
      uint64_t addr = VMA_START + ((splitmix64(&rng) % pages) << PAGE_SHIFT);
      struct table *pt = pte_alloc(pgd, addr, tables);
      ptep[i] = &pt->entry[idx(addr, PAGE_SHIFT)];
      set_entry(pt, idx(addr, PAGE_SHIFT), 1);
    }
    for (int summary = 0; summary < 2; summary++) {
      uint64_t modified = 0;
      for (int run = -runs / 10; run < runs; run++) { /* the first tenth untimed */
        for (int i = 0; i < POPULATED; i++) {
          uint64_t pfn = 0x100000 + (uint64_t)i;
          WRITE_ONCE(*ptep[i], (pfn << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER
                                   | _PAGE_ACCESSED);
        }
        uint64_t t0 = now_ns();
        modified = apply_as_wrprotect(pgd, VMA_START, end, summary);
        if (run >= 0) {
          us[run] = (double)(now_ns() - t0) / 1000.0;
        }
      }
      qsort(us, runs, sizeof(double), cmp_double);
      min[summary][r] = us[0];
      printf("%s gib=%" PRIu64 " min=%.1f median=%.1f modified=%" PRIu64 " pud=%" PRIu64
             " pmd=%" PRIu64 " pte=%" PRIu64 "\n",
             summary ? "summary" : "slots", range_gib[r], us[0], us[runs / 2], modified,
             tables[0], tables[1], tables[2]);
    }
  }
  printf("126 TiB / 1 GiB by the minima: slots %.2fx, summary %.2fx\n", min[0][3] / min[0][0],
         min[1][3] / min[1][0]);
  return 0;
}
