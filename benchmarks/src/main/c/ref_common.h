/*
 * What the C references (ptwalk_ref.c, sparse_ref.c) share: single-copy-atomic accesses, the
 * split page-table lock's uncontended path, and the clock.
 */
#ifndef PTWALK_REF_COMMON_H
#define PTWALK_REF_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define READ_ONCE(x) (*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))

/* The split page-table lock: a spinlock_t with the queued spinlock's uncontended path. */
typedef struct {
  uint32_t val;
} spinlock_t;

static inline void spin_lock(spinlock_t *lock) {
  uint32_t expected = 0;
  while (!__atomic_compare_exchange_n(&lock->val, &expected, 1, 0, __ATOMIC_ACQUIRE,
                                      __ATOMIC_RELAXED)) {
    expected = 0;
    __builtin_ia32_pause();
  }
}

static inline void spin_unlock(spinlock_t *lock) {
  __atomic_store_n(&lock->val, 0, __ATOMIC_RELEASE);
}

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000UL + (uint64_t)ts.tv_nsec;
}

/* qsort's comparison for doubles, ascending. */
static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

#endif
