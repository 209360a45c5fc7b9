/*
 * ptwalk_ref: the C reference for DenseBench.
 *
 * The same work as the generated walkers, in C, on the same 4-level radix of 512-entry tables:
 * a VMA of 1 Mi pages (4 GiB) at 0x7f0000000000, every PTE present and writable, one in eight
 * dirty, walked by the kernel's apply_as_clean (with a bitmap) and apply_as_wrprotect steps:
 *
 *   - the descent of mm/pagewalk.c (walk_pgd_range .. walk_pmd_range), skipping none entries;
 *   - per PTE table, its split ptl taken around the table's loop (pte_offset_map_lock), a
 *     spinlock whose fast path is the queued spinlock's: an acquire cmpxchg to lock, a release
 *     store to unlock;
 *   - per PTE, a plain single-copy-atomic read (ptep_get, READ_ONCE) and the leaf (pte_mkclean or
 *     pte_wrprotect); if that changes the PTE, ptep_modify_prot_start, which on x86 SMP is
 *     ptep_get_and_clear, an atomic exchange with 0 (native_ptep_get_and_clear), the leaf again
 *     on the value taken, and ptep_modify_prot_commit, which is set_pte_at, a plain store
 *     (native_set_pte, WRITE_ONCE); then, as wp_pte and clean_record_pte of
 *     mm/mapping_dirty_helpers.c do, the count, the TLB flush range (min/max) and, for clean, the
 *     bitmap bit and the dirty window.
 *
 * Each run resets the PTEs (untimed), then times one walk of the whole VMA with
 * CLOCK_MONOTONIC. The output is one line per workload with the per-run minimum and the median,
 * in ns per PTE walked:
 *
 *   clean min=0.951 median=0.982 runs=20 modified=131072
 *   wrprotect min=5.240 median=5.301 runs=20 modified=1048576
 *
 * Build: gcc -O2 -o ptwalk_ref ptwalk_ref.c   (benchmarks/compare.sh does it)
 * Usage: ptwalk_ref [runs]   (default 20)
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
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PMD_SHIFT 21
#define PMD_SIZE (1UL << PMD_SHIFT)
#define PUD_SHIFT 30
#define PGDIR_SHIFT 39
#define PTRS_PER_TABLE 512

/* The x86-64 PTE bits the workloads use (arch/x86/include/asm/pgtable_types.h). */
#define _PAGE_PRESENT (1UL << 0)
#define _PAGE_RW (1UL << 1)
#define _PAGE_USER (1UL << 2)
#define _PAGE_ACCESSED (1UL << 5)
#define _PAGE_DIRTY (1UL << 6)

#define BASE 0x7f0000000000UL
#define PAGES (1UL << 20)
#define DIRTY_EVERY 8

/* A PTE page and its ptl (the kernel keeps the ptl in the page's struct ptdesc). */
struct pte_table {
  uint64_t *ptes;
  spinlock_t ptl;
};

/* An upper-level directory: 512 pointers to the next level, NULL when none. */
struct pgdir {
  void *next[PTRS_PER_TABLE];
};

static struct pgdir *pgd;

static void *zalloc_page(size_t size) {
  void *p = aligned_alloc(PAGE_SIZE, size < PAGE_SIZE ? PAGE_SIZE : size);
  if (p == NULL) {
    fprintf(stderr, "ptwalk_ref: out of memory\n");
    exit(1);
  }
  memset(p, 0, size < PAGE_SIZE ? PAGE_SIZE : size);
  return p;
}

static inline unsigned idx(uint64_t addr, int shift) {
  return (addr >> shift) & (PTRS_PER_TABLE - 1);
}

/* __pte_alloc and the levels above it. */
static struct pte_table *pte_alloc(uint64_t addr) {
  struct pgdir *pud = pgd->next[idx(addr, PGDIR_SHIFT)];
  if (pud == NULL) {
    pud = pgd->next[idx(addr, PGDIR_SHIFT)] = zalloc_page(sizeof(struct pgdir));
  }
  struct pgdir *pmd = pud->next[idx(addr, PUD_SHIFT)];
  if (pmd == NULL) {
    pmd = pud->next[idx(addr, PUD_SHIFT)] = zalloc_page(sizeof(struct pgdir));
  }
  struct pte_table *pt = pmd->next[idx(addr, PMD_SHIFT)];
  if (pt == NULL) {
    pt = calloc(1, sizeof(*pt));
    pt->ptes = zalloc_page(PTRS_PER_TABLE * sizeof(uint64_t));
    pmd->next[idx(addr, PMD_SHIFT)] = pt;
  }
  return pt;
}

static struct pte_table *pte_offset(uint64_t addr) {
  struct pgdir *pud = pgd->next[idx(addr, PGDIR_SHIFT)];
  struct pgdir *pmd = pud->next[idx(addr, PUD_SHIFT)];
  return pmd->next[idx(addr, PMD_SHIFT)];
}

/* Every PTE present, writable, accessed, one in DIRTY_EVERY dirty (Fixtures.fill). */
static void fill(void) {
  uint64_t i = 0;
  for (uint64_t a = BASE; a < BASE + PAGES * PAGE_SIZE; a += PAGE_SIZE, i++) {
    uint64_t pfn = 0x100000 + (i & 0xffffff);
    uint64_t pte = (pfn << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED
                   | (i % DIRTY_EVERY == 0 ? _PAGE_DIRTY : 0);
    WRITE_ONCE(pte_offset(a)->ptes[idx(a, PAGE_SHIFT)], pte);
  }
}

static inline uint64_t pte_mkclean(uint64_t pte) { return pte & ~_PAGE_DIRTY; }
static inline uint64_t pte_wrprotect(uint64_t pte) { return pte & ~_PAGE_RW; }

/* native_ptep_get_and_clear on SMP: xchg. */
static inline uint64_t ptep_get_and_clear(uint64_t *ptep) {
  return __atomic_exchange_n(ptep, 0, __ATOMIC_SEQ_CST);
}

/* The state of one walk: wp_walk and clean_walk of mm/mapping_dirty_helpers.c. */
struct walk {
  uint64_t vm_start, vm_pgoff;
  uint64_t tlbflush_start, tlbflush_end, total;
  uint64_t bitmap_pgoff, dirty_start, dirty_end;
  uint64_t *bitmap;
};

/*
 * walk_pte_range with the leaf inlined, for one PTE table: the plain read decides, the
 * exchange takes, the store commits. `clean` is a constant at each call site.
 */
static inline __attribute__((always_inline)) void walk_pte_range(struct walk *w,
    struct pte_table *pt, uint64_t addr, uint64_t end, int clean) {
  uint64_t *ptep = &pt->ptes[idx(addr, PAGE_SHIFT)];
  spin_lock(&pt->ptl);
  for (; addr < end; addr += PAGE_SIZE, ptep++) {
    uint64_t ptent = READ_ONCE(*ptep);
    uint64_t next = clean ? pte_mkclean(ptent) : pte_wrprotect(ptent);
    if (next == ptent) {
      continue;
    }
    uint64_t old = ptep_get_and_clear(ptep);                   /* ptep_modify_prot_start */
    WRITE_ONCE(*ptep, clean ? pte_mkclean(old) : pte_wrprotect(old)); /* ..._commit */
    w->total++;
    w->tlbflush_start = addr < w->tlbflush_start ? addr : w->tlbflush_start;
    w->tlbflush_end = addr + PAGE_SIZE > w->tlbflush_end ? addr + PAGE_SIZE : w->tlbflush_end;
    if (clean) {
      uint64_t bit = ((addr - w->vm_start) >> PAGE_SHIFT) + w->vm_pgoff - w->bitmap_pgoff;
      w->bitmap[bit >> 6] |= 1UL << (bit & 63);
      w->dirty_start = bit < w->dirty_start ? bit : w->dirty_start;
      w->dirty_end = bit + 1 > w->dirty_end ? bit + 1 : w->dirty_end;
    }
  }
  spin_unlock(&pt->ptl);
}

/* walk_pgd_range down to walk_pmd_range: none entries are skipped whole. */
static inline __attribute__((always_inline)) void walk_range(struct walk *w, uint64_t start,
    uint64_t end, int clean) {
  for (uint64_t a = start, next; a < end; a = next) {
    next = ((a >> PGDIR_SHIFT) + 1) << PGDIR_SHIFT;
    next = next < end ? next : end;
    struct pgdir *pud = READ_ONCE(pgd->next[idx(a, PGDIR_SHIFT)]);
    if (pud == NULL) {
      continue;
    }
    for (uint64_t b = a, bnext; b < next; b = bnext) {
      bnext = ((b >> PUD_SHIFT) + 1) << PUD_SHIFT;
      bnext = bnext < next ? bnext : next;
      struct pgdir *pmd = READ_ONCE(pud->next[idx(b, PUD_SHIFT)]);
      if (pmd == NULL) {
        continue;
      }
      for (uint64_t c = b, cnext; c < bnext; c = cnext) {
        cnext = ((c >> PMD_SHIFT) + 1) << PMD_SHIFT;
        cnext = cnext < bnext ? cnext : bnext;
        struct pte_table *pt = READ_ONCE(pmd->next[idx(c, PMD_SHIFT)]);
        if (pt == NULL) {
          continue;
        }
        walk_pte_range(w, pt, c, cnext, clean);
      }
    }
  }
}

/* wp_clean_post_vma's flush_tlb_range, reduced to recording the range it is given. */
static volatile uint64_t flushed_start, flushed_end;

static __attribute__((noinline)) void flush_tlb_range(uint64_t start, uint64_t end) {
  flushed_start = start;
  flushed_end = end;
}

static __attribute__((noinline)) uint64_t apply_as_clean(uint64_t *bitmap) {
  struct walk w = {BASE, 0, BASE + PAGES * PAGE_SIZE, BASE, 0, 0, PAGES, 0, bitmap};
  walk_range(&w, BASE, BASE + PAGES * PAGE_SIZE, 1);
  if (w.tlbflush_end > w.tlbflush_start) {
    flush_tlb_range(w.tlbflush_start, w.tlbflush_end);
  }
  if (w.dirty_end <= w.dirty_start && w.total != 0) {
    fprintf(stderr, "ptwalk_ref: broken dirty window\n");
    exit(1);
  }
  return w.total;
}

static __attribute__((noinline)) uint64_t apply_as_wrprotect(void) {
  struct walk w = {BASE, 0, BASE + PAGES * PAGE_SIZE, BASE, 0, 0, 0, 0, NULL};
  walk_range(&w, BASE, BASE + PAGES * PAGE_SIZE, 0);
  if (w.tlbflush_end > w.tlbflush_start) {
    flush_tlb_range(w.tlbflush_start, w.tlbflush_end);
  }
  return w.total;
}

static void report(const char *name, double *ns, int runs, uint64_t modified) {
  qsort(ns, runs, sizeof(double), cmp_double);
  printf("%s min=%.3f median=%.3f runs=%d modified=%" PRIu64 "\n", name, ns[0], ns[runs / 2],
         runs, modified);
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 20;
  if (runs < 1 || runs > 100000) {
    fprintf(stderr, "usage: ptwalk_ref [runs], runs in 1..100000\n");
    return 2;
  }
  pgd = zalloc_page(sizeof(struct pgdir));
  for (uint64_t a = BASE; a < BASE + PAGES * PAGE_SIZE; a += PMD_SIZE) {
    pte_alloc(a);
  }
  uint64_t *bitmap = calloc(PAGES / 64, sizeof(uint64_t));
  double *clean = calloc(runs, sizeof(double));
  double *wrprotect = calloc(runs, sizeof(double));
  uint64_t cleaned = 0, protected = 0;
  /* One untimed walk of each first, as JMH's warm-up iterations do for the Java side. */
  fill();
  apply_as_clean(bitmap);
  fill();
  apply_as_wrprotect();
  for (int r = 0; r < runs; r++) {
    fill();
    uint64_t t0 = now_ns();
    cleaned = apply_as_clean(bitmap);
    clean[r] = (double)(now_ns() - t0) / PAGES;
  }
  for (int r = 0; r < runs; r++) {
    fill();
    uint64_t t0 = now_ns();
    protected = apply_as_wrprotect();
    wrprotect[r] = (double)(now_ns() - t0) / PAGES;
  }
  if (cleaned != PAGES / DIRTY_EVERY || protected != PAGES) {
    fprintf(stderr, "ptwalk_ref: modified %" PRIu64 " and %" PRIu64 " PTEs, expected %lu and %lu\n",
            cleaned, protected, PAGES / DIRTY_EVERY, PAGES);
    return 1;
  }
  report("clean", clean, runs, cleaned);
  report("wrprotect", wrprotect, runs, protected);
  return 0;
}
