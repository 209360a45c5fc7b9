/*
 * pmscan: runs a written-tracking trace (the format of `bin/ptwalk syscalls`) against the real
 * kernel of this machine and prints what the kernel answers, one JSON line per command that
 * reports something.
 *
 *   pmscan TRACE       run TRACE; exit 0, or 2 with "TRACE:L: message" on a bad trace,
 *                      or 1 when the machine cannot run it (no userfaultfd, region clash...)
 *   pmscan --check TRACE   only parse and check TRACE (exit 0 or 2); needs no kernel feature
 *   pmscan --probe     exit 0 and print "key value" lines on what recorded outputs depend
 *                      on (swap, soft-dirty, THP...) when this kernel supports async uffd-wp
 *                      and PAGEMAP_SCAN; exit 3 with "unsupported REASON" otherwise
 *
 * The whole trace is parsed and checked before anything runs, so a bad trace prints nothing on
 * stdout. docs/syscalls-differential.md describes the format, the choices and the kernel
 * behaviours seen. Build: gcc -std=c11 -O2 -Wall -Wextra -Werror -o pmscan pmscan.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- UAPI that older linux-libc-dev lacks (6.1 has none of these); upstream values. ---- */

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC 0x858458f6
#endif

#ifndef PAGEMAP_SCAN
/* include/uapi/linux/fs.h since v6.7 */
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PAGE_IS_HUGE (1 << 6)
#define PAGE_IS_SOFT_DIRTY (1 << 7)
struct page_region {
    uint64_t start;
    uint64_t end;
    uint64_t categories;
};
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
struct pm_scan_arg {
    uint64_t size;
    uint64_t flags;
    uint64_t start;
    uint64_t end;
    uint64_t walk_end;
    uint64_t vec;
    uint64_t vec_len;
    uint64_t max_pages;
    uint64_t category_inverted;
    uint64_t category_mask;
    uint64_t category_anyof_mask;
    uint64_t return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD (1 << 8) /* v6.14 */
#endif

/* /proc/PID/pagemap entry bits (fs/proc/task_mmu.c) */
#define PM_PFRAME_MASK ((UINT64_C(1) << 55) - 1)
#define PM_SOFT_DIRTY (UINT64_C(1) << 55)
#define PM_UFFD_WP (UINT64_C(1) << 57)
#define PM_GUARD_REGION (UINT64_C(1) << 58)
#define PM_FILE (UINT64_C(1) << 61)
#define PM_SWAP (UINT64_C(1) << 62)
#define PM_PRESENT (UINT64_C(1) << 63)

/* ---- The trace model ---- */

#define PAGE 4096UL
#define AREA_BASE 0x7f0000000000UL /* region k: AREA_BASE + k * SLOT + at * PAGE */
#define SLOT 0x400000UL
#define SLOT_PAGES (SLOT / PAGE)
#define MAX_REGIONS 8
#define AREA_PAGES (MAX_REGIONS * SLOT_PAGES)
#define DEFAULT_VEC 512
#define MAX_VEC 65536
#define NAME_MAX_LEN 32

static const char *const CATS[9] = {"WPALLOWED", "WRITTEN", "FILE",       "PRESENT", "SWAPPED",
                                    "PFNZERO",   "HUGE",    "SOFT_DIRTY", "GUARD"};
#define CATS_ALL 0x1ffULL

enum kind { K_ANON, K_SHMEM, K_TMPFS, K_SHAREDANON, K_PRIVFILE, K_EXTFILE };
static const char *const KIND_NAMES[] = {"anon", "shmem", "tmpfs", "sharedanon", "privfile",
                                         "extfile"};
#define N_KINDS 6

struct region {
    char name[NAME_MAX_LEN + 1];
    uint64_t pages, at;
    enum kind kind;
    bool uffd;
    unsigned long base; /* address of page 0 */
};

enum verb {
    V_UFFD,
    V_REGION,
    V_WRITE,
    V_READ,
    V_WP,
    V_UNWP,
    V_DONTNEED,
    V_FREE,
    V_PAGEOUT,
    V_CLEAR_REFS,
    V_FORK,
    V_SCAN,
    V_PAGEMAP,
    V_CPU
};
static const char *const VERB_NAMES[] = {"uffd",    "region",     "write", "read",
                                          "wp",      "unwp",       "dontneed",
                                          "free",    "pageout",    "clear_refs",
                                          "fork",    "scan",       "pagemap",
                                          "cpu"};
#define N_VERBS 14

struct command {
    enum verb verb;
    long line;
    int region;       /* index, or -1 */
    uint64_t page;    /* write/read */
    uint64_t first;   /* windows */
    uint64_t nr;
    uint64_t value;   /* cpu */
    char text[24];    /* clear_refs value, verbatim */
    /* scan */
    uint64_t flags, required, anyof, excluded, inverted, ret_mask, vec, max;
};

struct trace {
    const char *path;
    uint64_t features;
    struct region regions[MAX_REGIONS];
    int n_regions;
    struct command *cmds;
    size_t n_cmds, cap_cmds;
};

/* ---- Errors ---- */

static const char *g_path;
static long g_line;

static void __attribute__((noreturn, format(printf, 1, 2))) bad(const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s:%ld: ", g_path, g_line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static void __attribute__((noreturn, format(printf, 1, 2))) fatal(const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fputs("pmscan: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static const char *errname(int e) {
    const char *n = strerrorname_np(e);
    static char buf[24];
    if (n)
        return n;
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

/* ---- Parsing ---- */

/* A number: decimal or 0x hex, unsigned 64-bit; false if TOK is not one. */
static bool parse_u64(const char *tok, uint64_t *out) {
    uint64_t v = 0;
    int base = 10;
    const char *p = tok;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (!*p)
        return false;
    for (; *p; p++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return true;
}

static uint64_t number(const char *what, const char *tok) {
    uint64_t v;
    if (!parse_u64(tok, &v))
        bad("%s: '%s' is not a number (use decimal or 0x hex)", what, tok);
    return v;
}

/* A category list: names, ALL, NONE or numbers, separated by commas. */
static uint64_t categories(const char *key, const char *list) {
    uint64_t mask = 0;
    char buf[256];
    if (strlen(list) >= sizeof buf)
        bad("%s=: list too long", key);
    strcpy(buf, list);
    char *save = NULL;
    int n = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), n++) {
        uint64_t v;
        int i;
        for (i = 0; i < 9; i++)
            if (!strcmp(t, CATS[i]))
                break;
        if (i < 9)
            mask |= 1ULL << i;
        else if (!strcmp(t, "ALL"))
            mask |= CATS_ALL;
        else if (!strcmp(t, "NONE"))
            ;
        else if (parse_u64(t, &v))
            mask |= v;
        else
            bad("%s=: unknown category '%s' (use WPALLOWED WRITTEN FILE PRESENT SWAPPED PFNZERO "
                "HUGE SOFT_DIRTY GUARD, ALL, NONE or a number)",
                key, t);
    }
    if (n == 0 || list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,"))
        bad("%s=: empty category in '%s'", key, list);
    return mask;
}

static bool valid_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

static int find_region(struct trace *t, const char *name) {
    for (int i = 0; i < t->n_regions; i++)
        if (!strcmp(t->regions[i].name, name))
            return i;
    if (!valid_name(name))
        bad("'%s' is not a region name", name);
    bad("unknown region '%s' (declare it first with: region %s pages=N kind=K)", name, name);
}

/* Splits KEY=VALUE; returns false for a bare word. */
static bool split_kv(char *tok, char **key, char **val) {
    char *eq = strchr(tok, '=');
    if (!eq)
        return false;
    *eq = 0;
    *key = tok;
    *val = eq + 1;
    if (!**val)
        bad("%s=: missing value", tok);
    return true;
}

static void once(bool *seen, const char *key) {
    if (*seen)
        bad("%s= given twice", key);
    *seen = true;
}

/* A window [first, first+nr) of pages of region R, bounded by the region area. */
static void window(struct trace *t, struct command *c, char **toks, int ntok, int from,
                   const char *usage) {
    struct region *r = &t->regions[c->region];
    bool seen_first = false, seen_nr = false;
    c->first = 0;
    for (int i = from; i < ntok; i++) {
        char *key, *val;
        if (!split_kv(toks[i], &key, &val))
            bad("unexpected '%s' (usage: %s)", toks[i], usage);
        if (!strcmp(key, "first")) {
            once(&seen_first, key);
            c->first = number("first", val);
        } else if (!strcmp(key, "nr")) {
            once(&seen_nr, key);
            c->nr = number("nr", val);
        } else {
            bad("unknown option '%s=' (usage: %s)", key, usage);
        }
    }
    if (!seen_nr)
        c->nr = c->first < r->pages ? r->pages - c->first : 0;
    uint64_t limit = AREA_PAGES - ((r->base - AREA_BASE) / PAGE);
    if (c->first > limit || c->nr > limit - c->first)
        bad("window first=%" PRIu64 " nr=%" PRIu64 " runs past the end of the region area "
            "(at most %" PRIu64 " pages from the start of region %s)",
            c->first, c->nr, limit, r->name);
}

static struct command *new_command(struct trace *t, enum verb v) {
    if (t->n_cmds == t->cap_cmds) {
        t->cap_cmds = t->cap_cmds ? t->cap_cmds * 2 : 64;
        t->cmds = realloc(t->cmds, t->cap_cmds * sizeof *t->cmds);
        if (!t->cmds)
            fatal("out of memory");
    }
    struct command *c = &t->cmds[t->n_cmds++];
    memset(c, 0, sizeof *c);
    c->verb = v;
    c->line = g_line;
    c->region = -1;
    return c;
}

static void parse_uffd(struct trace *t, char **toks, int ntok, bool *seen_uffd) {
    const char *usage = "uffd features=F[,F...] with F async, unpopulated, shmem or none";
    if (*seen_uffd)
        bad("uffd given twice");
    if (t->n_regions > 0)
        bad("uffd must come before the first region");
    *seen_uffd = true;
    if (ntok != 2)
        bad("usage: %s", usage);
    char *key, *val;
    if (!split_kv(toks[1], &key, &val) || strcmp(key, "features"))
        bad("unexpected '%s' (usage: %s)", toks[1], usage);
    char buf[128];
    if (strlen(val) >= sizeof buf)
        bad("features=: list too long");
    strcpy(buf, val);
    uint64_t f = 0;
    bool none = false;
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save), n++) {
        if (!strcmp(w, "async"))
            f |= UFFD_FEATURE_WP_ASYNC;
        else if (!strcmp(w, "unpopulated"))
            f |= UFFD_FEATURE_WP_UNPOPULATED;
        else if (!strcmp(w, "shmem"))
            f |= UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
        else if (!strcmp(w, "none"))
            none = true;
        else
            bad("unknown feature '%s' (usage: %s)", w, usage);
    }
    if (n == 0 || val[0] == ',' || val[strlen(val) - 1] == ',' || strstr(val, ",,"))
        bad("features=: empty feature in '%s'", val);
    if (none && n > 1)
        bad("features=none cannot be combined with other features");
    t->features = f;
}

static void parse_region(struct trace *t, char **toks, int ntok) {
    const char *usage = "region NAME pages=N kind=K [at=P] [uffd=wp|none], K one of anon shmem "
                        "tmpfs sharedanon privfile extfile";
    if (ntok < 2)
        bad("usage: %s", usage);
    if (!valid_name(toks[1]))
        bad("'%s' is not a valid region name (1 to %d letters, digits, '_', '-' or '.')",
            toks[1], NAME_MAX_LEN);
    for (int i = 0; i < t->n_regions; i++)
        if (!strcmp(t->regions[i].name, toks[1]))
            bad("region '%s' is already declared", toks[1]);
    if (t->n_regions == MAX_REGIONS)
        bad("too many regions (at most %d)", MAX_REGIONS);
    struct region *r = &t->regions[t->n_regions];
    memset(r, 0, sizeof *r);
    strcpy(r->name, toks[1]);
    r->uffd = true;
    bool seen_pages = false, seen_kind = false, seen_at = false, seen_uffd = false;
    for (int i = 2; i < ntok; i++) {
        char *key, *val;
        if (!split_kv(toks[i], &key, &val))
            bad("unexpected '%s' (usage: %s)", toks[i], usage);
        if (!strcmp(key, "pages")) {
            once(&seen_pages, key);
            r->pages = number("pages", val);
        } else if (!strcmp(key, "at")) {
            once(&seen_at, key);
            r->at = number("at", val);
        } else if (!strcmp(key, "kind")) {
            once(&seen_kind, key);
            int k;
            for (k = 0; k < N_KINDS; k++)
                if (!strcmp(val, KIND_NAMES[k]))
                    break;
            if (k == N_KINDS)
                bad("unknown kind '%s' (use anon, shmem, tmpfs, sharedanon, privfile or "
                    "extfile)",
                    val);
            r->kind = (enum kind)k;
        } else if (!strcmp(key, "uffd")) {
            once(&seen_uffd, key);
            if (!strcmp(val, "wp"))
                r->uffd = true;
            else if (!strcmp(val, "none"))
                r->uffd = false;
            else
                bad("uffd=%s: use uffd=wp or uffd=none", val);
        } else {
            bad("unknown option '%s=' (usage: %s)", key, usage);
        }
    }
    if (!seen_pages)
        bad("region %s needs pages=N (usage: %s)", r->name, usage);
    if (!seen_kind)
        bad("region %s needs kind=K (usage: %s)", r->name, usage);
    if (r->pages == 0)
        bad("pages=0: a region has at least one page");
    if (r->at >= SLOT_PAGES || r->pages > SLOT_PAGES - r->at)
        bad("at=%" PRIu64 " pages=%" PRIu64 " does not fit the region's 4 MiB slot (at + pages "
            "<= %lu)",
            r->at, r->pages, SLOT_PAGES);
    r->base = AREA_BASE + (unsigned long)t->n_regions * SLOT + r->at * PAGE;
    t->n_regions++;
    struct command *c = new_command(t, V_REGION);
    c->region = t->n_regions - 1;
}

static void parse_scan(struct trace *t, struct command *c, char **toks, int ntok) {
    const char *usage = "scan NAME [first=P] [nr=N] [wp] [wponly] [check] [flags=N] "
                        "[required=C] [anyof=C] [excluded=C] [inverted=C] [return=C] [vec=N] "
                        "[max=N]";
    struct region *r = &t->regions[c->region];
    bool seen_first = false, seen_nr = false, seen_flags = false, seen_req = false,
         seen_any = false, seen_exc = false, seen_inv = false, seen_ret = false,
         seen_vec = false, seen_max = false;
    uint64_t word_flags = 0, flags = 0;
    c->ret_mask = CATS_ALL;
    c->vec = DEFAULT_VEC;
    for (int i = 2; i < ntok; i++) {
        char *key, *val;
        if (!strcmp(toks[i], "wp")) {
            word_flags |= PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
            continue;
        }
        if (!strcmp(toks[i], "wponly")) {
            word_flags |= PM_SCAN_WP_MATCHING;
            continue;
        }
        if (!strcmp(toks[i], "check")) {
            word_flags |= PM_SCAN_CHECK_WPASYNC;
            continue;
        }
        if (!split_kv(toks[i], &key, &val))
            bad("unexpected '%s' (usage: %s)", toks[i], usage);
        if (!strcmp(key, "first")) {
            once(&seen_first, key);
            c->first = number("first", val);
        } else if (!strcmp(key, "nr")) {
            once(&seen_nr, key);
            c->nr = number("nr", val);
        } else if (!strcmp(key, "flags")) {
            once(&seen_flags, key);
            flags = number("flags", val);
        } else if (!strcmp(key, "required")) {
            once(&seen_req, key);
            c->required = categories(key, val);
        } else if (!strcmp(key, "anyof")) {
            once(&seen_any, key);
            c->anyof = categories(key, val);
        } else if (!strcmp(key, "excluded")) {
            once(&seen_exc, key);
            c->excluded = categories(key, val);
        } else if (!strcmp(key, "inverted")) {
            once(&seen_inv, key);
            c->inverted = categories(key, val);
        } else if (!strcmp(key, "return")) {
            once(&seen_ret, key);
            c->ret_mask = categories(key, val);
        } else if (!strcmp(key, "vec")) {
            once(&seen_vec, key);
            c->vec = number("vec", val);
            if (c->vec > MAX_VEC)
                bad("vec=%" PRIu64 " is too large (at most %d)", c->vec, MAX_VEC);
        } else if (!strcmp(key, "max")) {
            once(&seen_max, key);
            c->max = number("max", val);
        } else {
            bad("unknown option '%s=' (usage: %s)", key, usage);
        }
    }
    c->flags = seen_flags ? flags : word_flags;
    if (!seen_nr)
        c->nr = c->first < r->pages ? r->pages - c->first : 0;
    uint64_t limit = AREA_PAGES - ((r->base - AREA_BASE) / PAGE);
    if (c->first > limit || c->nr > limit - c->first)
        bad("window first=%" PRIu64 " nr=%" PRIu64 " runs past the end of the region area "
            "(at most %" PRIu64 " pages from the start of region %s)",
            c->first, c->nr, limit, r->name);
}

static void parse_line(struct trace *t, char *line, bool *seen_uffd) {
    char *hash = strchr(line, '#');
    if (hash)
        *hash = 0;
    char *toks[64];
    int ntok = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " \t\r\v\f\n", &save); w;
         w = strtok_r(NULL, " \t\r\v\f\n", &save)) {
        if (ntok == 64)
            bad("too many words on one line");
        toks[ntok++] = w;
    }
    if (ntok == 0)
        return;
    int v;
    for (v = 0; v < N_VERBS; v++)
        if (!strcmp(toks[0], VERB_NAMES[v]))
            break;
    if (v == N_VERBS)
        bad("unknown verb '%s' (use uffd, region, write, read, wp, unwp, dontneed, free, "
            "pageout, clear_refs, fork, scan, pagemap or cpu)",
            toks[0]);
    switch ((enum verb)v) {
    case V_UFFD:
        parse_uffd(t, toks, ntok, seen_uffd);
        return;
    case V_REGION:
        parse_region(t, toks, ntok);
        return;
    case V_FORK:
        if (ntok != 1)
            bad("unexpected '%s' (usage: fork)", toks[1]);
        new_command(t, V_FORK);
        return;
    case V_CLEAR_REFS: {
        if (ntok != 2)
            bad("usage: clear_refs V (the value written to /proc/self/clear_refs, e.g. 4)");
        const char *s = toks[1];
        size_t n = strlen(s);
        bool ok = n > 0 && n < sizeof(((struct command *)0)->text);
        for (size_t i = 0; ok && i < n; i++)
            ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
                 (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '+' || s[i] == '-' || s[i] == '_';
        if (!ok)
            bad("clear_refs: '%s' is not a value (letters, digits, '+', '-' or '_', at most "
                "23)",
                s);
        struct command *c = new_command(t, V_CLEAR_REFS);
        strcpy(c->text, s);
        return;
    }
    case V_CPU: {
        if (ntok != 2)
            bad("usage: cpu N");
        uint64_t n = number("cpu", toks[1]);
        if (n >= CPU_SETSIZE)
            bad("cpu %" PRIu64 ": CPU numbers go up to %d", n, CPU_SETSIZE - 1);
        struct command *c = new_command(t, V_CPU);
        c->value = n;
        return;
    }
    default:
        break;
    }
    /* The verbs that name a region. */
    if (ntok < 2)
        bad("%s needs a region name", toks[0]);
    int r = find_region(t, toks[1]);
    struct command *c = new_command(t, (enum verb)v);
    c->region = r;
    switch ((enum verb)v) {
    case V_WRITE:
    case V_READ: {
        if (ntok != 3)
            bad("usage: %s NAME PAGE", toks[0]);
        c->page = number("page", toks[2]);
        struct region *reg = &t->regions[r];
        if (c->page >= SLOT_PAGES - reg->at)
            bad("page %" PRIu64 " is outside region %s's 4 MiB slot (pages below %" PRIu64 ")",
                c->page, reg->name, SLOT_PAGES - reg->at);
        return;
    }
    case V_WP:
    case V_UNWP:
    case V_DONTNEED:
    case V_FREE:
    case V_PAGEOUT:
    case V_PAGEMAP: {
        char usage[64];
        snprintf(usage, sizeof usage, "%s NAME [first=P] [nr=N]", toks[0]);
        window(t, c, toks, ntok, 2, usage);
        return;
    }
    case V_SCAN:
        parse_scan(t, c, toks, ntok);
        return;
    default:
        bad("internal: verb %s", toks[0]);
    }
}

static void parse(struct trace *t, const char *path) {
    FILE *f = fopen(path, "r");
    g_path = path;
    g_line = 0;
    if (!f) {
        fprintf(stderr, "%s:0: cannot open: %s\n", path, strerror(errno));
        exit(2);
    }
    char *line = NULL;
    size_t cap = 0;
    bool seen_uffd = false;
    while (getline(&line, &cap, f) >= 0) {
        g_line++;
        if (memchr(line, 0, strlen(line) + 1) != line + strlen(line))
            bad("NUL byte in line");
        parse_line(t, line, &seen_uffd);
    }
    if (ferror(f)) {
        fprintf(stderr, "%s:%ld: read error: %s\n", path, g_line, strerror(errno));
        exit(2);
    }
    free(line);
    fclose(f);
}

/* ---- The machine side ---- */

static int g_uffd = -1;
static int g_pagemap = -1;
static uint64_t g_zero_pfn; /* 0: PFNs hidden from us; ask PAGEMAP_SCAN instead */
static sigjmp_buf g_fault_jmp;
static volatile sig_atomic_t g_in_access;

static void on_fault(int sig) {
    if (g_in_access)
        siglongjmp(g_fault_jmp, sig);
    signal(sig, SIG_DFL);
    raise(sig);
}

static long uffd_open(uint64_t features, uint64_t *offered) {
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    if (fd < 0)
        return -errno;
    struct uffdio_api api = {.api = UFFD_API, .features = features};
    if (ioctl((int)fd, UFFDIO_API, &api)) {
        int e = errno;
        close((int)fd);
        return -e;
    }
    if (offered)
        *offered = api.features;
    return fd;
}

/* The first directory of the list (or the environment override) on a file system of the kind
 * wanted: tmpfs when TMPFS, a disk file system (neither tmpfs nor ramfs) otherwise. */
static const char *pick_dir(bool tmpfs, const char *env, const char *const *cands, long *fstype) {
    const char *over = getenv(env);
    const char *const *p = cands;
    const char *one[2] = {over, NULL};
    if (over && *over)
        p = one;
    for (; *p; p++) {
        struct statfs s;
        if (statfs(*p, &s))
            continue;
        bool is_tmp = s.f_type == TMPFS_MAGIC || s.f_type == RAMFS_MAGIC;
        if (is_tmp == tmpfs && access(*p, W_OK) == 0) {
            *fstype = (long)s.f_type;
            return *p;
        }
    }
    return NULL;
}

static const char *const TMPFS_DIRS[] = {"/dev/shm", "/run/shm", "/tmp", NULL};
static const char *const DISK_DIRS[] = {"/var/tmp", "/tmp", "/root", NULL};

static int region_file(struct region *r) {
    long fstype;
    int fd;
    if (r->kind == K_SHMEM || r->kind == K_PRIVFILE) {
        char name[64];
        snprintf(name, sizeof name, "pmscan-%s", r->name);
        fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);
        if (fd < 0)
            fatal("region %s: memfd_create: %s", r->name, strerror(errno));
    } else {
        bool tmp = r->kind == K_TMPFS;
        const char *dir = tmp ? pick_dir(true, "PMSCAN_TMPFS_DIR", TMPFS_DIRS, &fstype)
                              : pick_dir(false, "PMSCAN_EXTFILE_DIR", DISK_DIRS, &fstype);
        const char *env = tmp ? "PMSCAN_TMPFS_DIR" : "PMSCAN_EXTFILE_DIR";
        const char *what = tmp ? "tmpfs" : "disk file system (not tmpfs or ramfs)";
        if (!dir && getenv(env) && *getenv(env))
            fatal("region %s: %s=%s is not a writable directory on a %s", r->name, env,
                  getenv(env), what);
        if (!dir)
            fatal("region %s: found no writable directory on a %s; set %s", r->name, what, env);
        char path[4096];
        snprintf(path, sizeof path, "%s/pmscan-XXXXXX", dir);
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
            fatal("region %s: cannot create a file in %s: %s", r->name, dir, strerror(errno));
        unlink(path);
    }
    if (ftruncate(fd, (off_t)(r->pages * PAGE)))
        fatal("region %s: ftruncate: %s", r->name, strerror(errno));
    return fd;
}

static void do_region(struct command *c, struct region *r) {
    size_t len = r->pages * PAGE;
    int prot = PROT_READ | PROT_WRITE;
    int fd = -1, flags = MAP_FIXED_NOREPLACE;
    switch (r->kind) {
    case K_ANON:
        flags |= MAP_PRIVATE | MAP_ANONYMOUS;
        break;
    case K_SHAREDANON:
        flags |= MAP_SHARED | MAP_ANONYMOUS;
        break;
    case K_PRIVFILE:
        flags |= MAP_PRIVATE;
        fd = region_file(r);
        break;
    default:
        flags |= MAP_SHARED;
        fd = region_file(r);
        break;
    }
    void *p = mmap((void *)r->base, len, prot, flags, fd, 0);
    if (p == MAP_FAILED)
        fatal("line %ld: cannot map region %s at %#lx: %s", c->line, r->name, r->base,
              strerror(errno));
    if (p != (void *)r->base)
        fatal("line %ld: region %s mapped at %p, not %#lx (kernel without "
              "MAP_FIXED_NOREPLACE?)",
              c->line, r->name, p, r->base);
    if (fd >= 0)
        close(fd);
    if (madvise(p, len, MADV_NOHUGEPAGE))
        fatal("line %ld: region %s: MADV_NOHUGEPAGE: %s", c->line, r->name, strerror(errno));
    if (!r->uffd)
        return;
    struct uffdio_register reg = {
        .range = {.start = r->base, .len = len},
        .mode = UFFDIO_REGISTER_MODE_WP,
    };
    if (ioctl(g_uffd, UFFDIO_REGISTER, &reg))
        printf("{\"line\":%ld,\"region\":\"%s\",\"error\":\"%s\",\"op\":\"UFFDIO_REGISTER\"}\n",
               c->line, r->name, errname(errno));
}

static void do_access(struct command *c, struct region *r) {
    bool write = c->verb == V_WRITE;
    volatile char *p = (volatile char *)(r->base + c->page * PAGE + 64);
    int sig = sigsetjmp(g_fault_jmp, 1);
    if (sig == 0) {
        g_in_access = 1;
        if (write)
            *p = 1;
        else
            (void)*p;
        g_in_access = 0;
        return;
    }
    g_in_access = 0;
    printf("{\"line\":%ld,\"segfault\":{\"region\":\"%s\",\"page\":%" PRIu64
           ",\"access\":\"%s\",\"signal\":\"%s\"}}\n",
           c->line, r->name, c->page, write ? "write" : "read",
           sig == SIGBUS ? "SIGBUS" : "SIGSEGV");
}

static void do_window(struct command *c, struct region *r) {
    unsigned long start = r->base + c->first * PAGE, len = c->nr * PAGE;
    int rc;
    if (c->verb == V_WP || c->verb == V_UNWP) {
        struct uffdio_writeprotect wp = {
            .range = {.start = start, .len = len},
            .mode = c->verb == V_WP ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
        };
        rc = ioctl(g_uffd, UFFDIO_WRITEPROTECT, &wp);
    } else {
        int advice = c->verb == V_DONTNEED ? MADV_DONTNEED
                     : c->verb == V_FREE   ? MADV_FREE
                                           : MADV_PAGEOUT;
        rc = madvise((void *)start, len, advice);
    }
    if (rc)
        printf("{\"line\":%ld,\"%s\":\"%s\",\"error\":\"%s\"}\n", c->line, VERB_NAMES[c->verb],
               r->name, errname(errno));
}

static void do_clear_refs(struct command *c) {
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    int e = 0;
    if (fd < 0) {
        e = errno;
    } else {
        if (write(fd, c->text, strlen(c->text)) < 0)
            e = errno;
        close(fd);
    }
    if (e)
        printf("{\"line\":%ld,\"clear_refs\":\"%s\",\"error\":\"%s\"}\n", c->line, c->text,
               errname(e));
}

static void do_fork(struct command *c) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid < 0) {
        printf("{\"line\":%ld,\"error\":\"%s\",\"op\":\"fork\"}\n", c->line, errname(errno));
        return;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
}

static void do_cpu(struct command *c) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)c->value, &set);
    if (sched_setaffinity(0, sizeof set, &set))
        printf("{\"line\":%ld,\"cpu\":%" PRIu64 ",\"error\":\"%s\"}\n", c->line, c->value,
               errname(errno));
}

static void print_cats(uint64_t cats) {
    putchar('[');
    bool first = true;
    for (int b = 0; b < 64; b++) {
        if (!(cats & (1ULL << b)))
            continue;
        if (!first)
            putchar(',');
        first = false;
        if (b < 9)
            printf("\"%s\"", CATS[b]);
        else
            printf("\"%" PRIu64 "\"", (uint64_t)1 << b);
    }
    putchar(']');
}

static void do_scan(struct command *c, struct region *r) {
    struct page_region *vec = NULL;
    if (c->vec) {
        vec = calloc(c->vec, sizeof *vec);
        if (!vec)
            fatal("out of memory");
    }
    struct pm_scan_arg arg = {
        .size = sizeof arg,
        .flags = c->flags,
        .start = r->base + c->first * PAGE,
        .end = r->base + (c->first + c->nr) * PAGE,
        .walk_end = UINT64_MAX, /* the kernel resets it; UINT64_MAX means "not written back" */
        .vec = (uint64_t)(uintptr_t)vec,
        .vec_len = c->vec,
        .max_pages = c->max,
        .category_inverted = c->excluded | c->inverted,
        .category_mask = c->required | c->excluded,
        .category_anyof_mask = c->anyof,
        .return_mask = c->ret_mask,
    };
    long ret = ioctl(g_pagemap, PAGEMAP_SCAN, &arg);
    int e = errno;
    char walk_end[32];
    if (arg.walk_end == UINT64_MAX)
        strcpy(walk_end, "null");
    else
        snprintf(walk_end, sizeof walk_end, "%" PRIu64,
                 (uint64_t)(arg.walk_end - r->base) / PAGE);
    if (ret < 0) {
        printf("{\"line\":%ld,\"scan\":\"%s\",\"error\":\"%s\",\"walk_end\":%s}\n", c->line,
               r->name, errname(e), walk_end);
    } else {
        printf("{\"line\":%ld,\"scan\":\"%s\",\"ret\":%ld,\"walk_end\":%s,\"ranges\":[", c->line,
               r->name, ret, walk_end);
        for (long i = 0; i < ret; i++) {
            printf("%s{\"start\":%" PRIu64 ",\"end\":%" PRIu64 ",\"cats\":", i ? "," : "",
                   (uint64_t)(vec[i].start - r->base) / PAGE,
                   (uint64_t)(vec[i].end - r->base) / PAGE);
            print_cats(vec[i].categories);
            putchar('}');
        }
        puts("]}");
    }
    free(vec);
}

/* Which pages of [start, start+nr pages) map the zero page, by PAGEMAP_SCAN: used when this
 * process cannot see PFNs in pagemap (no CAP_SYS_ADMIN). */
static void zero_pages_by_scan(unsigned long start, uint64_t nr, bool *zero) {
    struct page_region *vec = calloc(nr, sizeof *vec);
    if (!vec)
        fatal("out of memory");
    struct pm_scan_arg arg = {
        .size = sizeof arg,
        .start = start,
        .end = start + nr * PAGE,
        .vec = (uint64_t)(uintptr_t)vec,
        .vec_len = nr,
        .return_mask = PAGE_IS_PFNZERO,
    };
    long n = ioctl(g_pagemap, PAGEMAP_SCAN, &arg);
    if (n < 0)
        fatal("PAGEMAP_SCAN for the zero page: %s", strerror(errno));
    for (long i = 0; i < n; i++)
        if (vec[i].categories & PAGE_IS_PFNZERO)
            for (uint64_t a = vec[i].start; a < vec[i].end; a += PAGE)
                zero[(a - start) / PAGE] = true;
    free(vec);
}

static void do_pagemap(struct command *c, struct region *r) {
    unsigned long start = r->base + c->first * PAGE;
    uint64_t *pme = calloc(c->nr ? c->nr : 1, sizeof *pme);
    bool *zero = calloc(c->nr ? c->nr : 1, sizeof *zero);
    if (!pme || !zero)
        fatal("out of memory");
    size_t want = c->nr * sizeof *pme;
    if (want) {
        ssize_t got = pread(g_pagemap, pme, want, (off_t)(start / PAGE * sizeof *pme));
        if (got != (ssize_t)want)
            fatal("line %ld: reading /proc/self/pagemap: %s", c->line,
                  got < 0 ? strerror(errno) : "short read");
        if (!g_zero_pfn)
            zero_pages_by_scan(start, c->nr, zero);
    }
    printf("{\"line\":%ld,\"pagemap\":\"%s\",\"first\":%" PRIu64 ",\"pages\":[", c->line,
           r->name, c->first);
    for (uint64_t i = 0; i < c->nr; i++) {
        uint64_t e = pme[i];
        char s[8];
        int n = 0;
        if (e & PM_PRESENT)
            s[n++] = 'P';
        if (e & PM_SWAP)
            s[n++] = 'S';
        if (e & PM_FILE)
            s[n++] = 'F';
        if (e & PM_UFFD_WP)
            s[n++] = 'W';
        if (e & PM_SOFT_DIRTY)
            s[n++] = 'D';
        if ((e & PM_PRESENT) &&
            (g_zero_pfn ? (e & PM_PFRAME_MASK) == g_zero_pfn : zero[i]))
            s[n++] = 'Z';
        if (e & PM_GUARD_REGION)
            s[n++] = 'G';
        s[n] = 0;
        printf("%s\"%s\"", i ? "," : "", s);
    }
    puts("]}");
    free(pme);
    free(zero);
}

/* The zero page's PFN, from a read-faulted private anonymous page outside the region area;
 * 0 when pagemap hides PFNs from this process. */
static uint64_t find_zero_pfn(void) {
    volatile char *p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t e = 0;
    if (p == MAP_FAILED)
        fatal("mmap: %s", strerror(errno));
    (void)madvise((void *)p, PAGE, MADV_NOHUGEPAGE);
    (void)*p;
    if (pread(g_pagemap, &e, sizeof e, (off_t)((uintptr_t)p / PAGE * sizeof e)) != sizeof e)
        fatal("reading /proc/self/pagemap: %s", strerror(errno));
    munmap((void *)p, PAGE);
    return (e & PM_PRESENT) ? (e & PM_PFRAME_MASK) : 0;
}

/* Re-executes once with ASLR off, so that no library can sit in the region area. */
static void no_randomize(char **argv) {
    int pers = personality(0xffffffff);
    if (pers == -1 || (pers & ADDR_NO_RANDOMIZE) || getenv("PMSCAN_NO_REEXEC"))
        return;
    if (personality((unsigned long)pers | ADDR_NO_RANDOMIZE) == -1)
        return;
    setenv("PMSCAN_NO_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    /* Still here: run with ASLR on; a clash is reported when a region is mapped. */
}

static void pin_to_current_cpu(void) {
    int cpu = sched_getcpu();
    cpu_set_t set;
    if (cpu < 0)
        fatal("sched_getcpu: %s", strerror(errno));
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set))
        fatal("sched_setaffinity: %s", strerror(errno));
}

static void run(struct trace *t) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);

    g_pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (g_pagemap < 0)
        fatal("open /proc/self/pagemap: %s", strerror(errno));
    g_zero_pfn = find_zero_pfn();
    pin_to_current_cpu();
    if (t->n_regions > 0) {
        /* UFFD_FEATURE_SIGBUS: a write fault that would wait for a handler (uffd-wp without
         * WP_ASYNC) raises SIGBUS instead of hanging; the async paths never reach it. */
        long fd = uffd_open(t->features | UFFD_FEATURE_SIGBUS, NULL);
        if (fd < 0)
            fatal("userfaultfd with features %#" PRIx64 ": %s", t->features, strerror((int)-fd));
        g_uffd = (int)fd;
    }
    for (size_t i = 0; i < t->n_cmds; i++) {
        struct command *c = &t->cmds[i];
        struct region *r = c->region >= 0 ? &t->regions[c->region] : NULL;
        switch (c->verb) {
        case V_REGION:
            do_region(c, r);
            break;
        case V_WRITE:
        case V_READ:
            do_access(c, r);
            break;
        case V_WP:
        case V_UNWP:
        case V_DONTNEED:
        case V_FREE:
        case V_PAGEOUT:
            do_window(c, r);
            break;
        case V_CLEAR_REFS:
            do_clear_refs(c);
            break;
        case V_FORK:
            do_fork(c);
            break;
        case V_SCAN:
            do_scan(c, r);
            break;
        case V_PAGEMAP:
            do_pagemap(c, r);
            break;
        case V_CPU:
            do_cpu(c);
            break;
        case V_UFFD:
            break;
        }
    }
    fflush(stdout);
}

/* The bracketed choice of a /sys setting such as "always [madvise] never", or "unknown". */
static void sys_choice(const char *path, char *out, size_t len) {
    char buf[256] = {0};
    FILE *f = fopen(path, "r");
    snprintf(out, len, "unknown");
    if (!f)
        return;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *l = strchr(buf, '['), *r = l ? strchr(l, ']') : NULL;
    if (l && r)
        snprintf(out, len, "%.*s", (int)(r - l - 1), l + 1);
}

static bool swap_on(void) {
    FILE *f = fopen("/proc/swaps", "r");
    char line[512];
    int n = 0;
    if (!f)
        return false;
    while (fgets(line, sizeof line, f))
        n++;
    fclose(f);
    return n > 1; /* a header, then one line per swap area */
}

/* Whether a written page of a new private anonymous mapping has pagemap's soft-dirty bit. */
static bool soft_dirty_on(int pm) {
    volatile char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
    uint64_t e = 0;
    if (p == MAP_FAILED)
        return false;
    *p = 1;
    if (pread(pm, &e, sizeof e, (off_t)((uintptr_t)p / PAGE * sizeof e)) != sizeof e)
        e = 0;
    munmap((void *)p, PAGE);
    return (e & PM_SOFT_DIRTY) != 0;
}

/* Whether PAGEMAP_SCAN reports a pte_none page of an unregistered VMA as WRITTEN, as the July
 * 2026 fix "fs/proc/task_mmu: fix PAGEMAP_SCAN written state for unpopulated ptes" does. */
static bool pte_none_written(int pm) {
    char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    (void)madvise(p, 2 * PAGE, MADV_NOHUGEPAGE);
    /* Fault one page and look at the other; both must share a page table. */
    bool same_table = ((uintptr_t)p >> 21) == ((uintptr_t)(p + PAGE) >> 21);
    char *written = p, *looked = same_table ? p + PAGE : p;
    if (!same_table)
        written = p + PAGE;
    *(volatile char *)written = 1;
    struct page_region v[2];
    struct pm_scan_arg arg = {
        .size = sizeof arg,
        .start = (uintptr_t)looked,
        .end = (uintptr_t)looked + PAGE,
        .vec = (uintptr_t)v,
        .vec_len = 2,
        .return_mask = PAGE_IS_WRITTEN,
    };
    long n = ioctl(pm, PAGEMAP_SCAN, &arg);
    munmap(p, 2 * PAGE);
    return n == 1 && (v[0].categories & PAGE_IS_WRITTEN);
}

static const char *fs_name(long type) {
    switch ((unsigned long)type) {
    case 0xEF53:
        return "ext4";
    case 0x58465342:
        return "xfs";
    case 0x9123683E:
        return "btrfs";
    case 0x794c7630:
        return "overlayfs";
    default:
        return "other";
    }
}

/*
 * Prints "key value" lines describing what the recordings depend on. Exit 0 when async uffd-wp
 * and PAGEMAP_SCAN work here; 3, with "unsupported REASON" first, when not.
 */
static int probe(void) {
    struct utsname u;
    uname(&u);
    uint64_t offered = 0;
    long fd = uffd_open(0, &offered);
    if (fd < 0) {
        printf("unsupported userfaultfd(UFFD_USER_MODE_ONLY) fails on Linux %s: %s\n",
               u.release, strerror((int)-fd));
        return 3;
    }
    close((int)fd);
    uint64_t need = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
    if ((offered & need) != need) {
        printf("unsupported Linux %s offers userfaultfd features %#" PRIx64
               ", without WP_ASYNC and WP_UNPOPULATED (Linux 6.7 or later has them)\n",
               u.release, offered);
        return 3;
    }
    int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pm < 0) {
        printf("unsupported cannot open /proc/self/pagemap: %s\n", strerror(errno));
        return 3;
    }
    struct pm_scan_arg arg = {.size = sizeof arg};
    if (ioctl(pm, PAGEMAP_SCAN, &arg) < 0) {
        printf("unsupported Linux %s has no PAGEMAP_SCAN: %s (Linux 6.7 or later has it)\n",
               u.release, strerror(errno));
        return 3;
    }
    char thp[32], shmem_thp[32];
    sys_choice("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof thp);
    sys_choice("/sys/kernel/mm/transparent_hugepage/shmem_enabled", shmem_thp,
               sizeof shmem_thp);
    cpu_set_t cpus;
    int ncpus = sched_getaffinity(0, sizeof cpus, &cpus) ? 0 : CPU_COUNT(&cpus);
    long fstype = 0;
    const char *disk = pick_dir(false, "PMSCAN_EXTFILE_DIR", DISK_DIRS, &fstype);
    printf("kernel %s\n", u.release);
    printf("uffd_features %#" PRIx64 "\n", offered);
    printf("swap %s\n", swap_on() ? "on" : "off");
    printf("soft_dirty %s\n", soft_dirty_on(pm) ? "on" : "off");
    printf("pte_none_written %s\n", pte_none_written(pm) ? "yes" : "no");
    printf("thp %s\n", thp);
    printf("shmem_thp %s\n", shmem_thp);
    printf("cpus %d\n", ncpus);
    printf("extfile_dir %s %s\n", disk ? disk : "none", disk ? fs_name(fstype) : "none");
    close(pm);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--probe"))
        return probe();
    bool check = argc == 3 && !strcmp(argv[1], "--check");
    if (!check && (argc != 2 || argv[1][0] == '-')) {
        fprintf(stderr, "usage: pmscan TRACE | pmscan --check TRACE | pmscan --probe\n");
        return 2;
    }
    if (!check)
        no_randomize(argv);
    struct trace t;
    memset(&t, 0, sizeof t);
    t.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED |
                 UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
    parse(&t, argv[argc - 1]);
    if (!check)
        run(&t);
    free(t.cmds);
    return 0;
}
