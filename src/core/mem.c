/* mem.c - see mem.h. The library does not depend on jemalloc: mallctl is a weak reference,
 * bound only when the program links jemalloc (CMake target au_malloc). */
#include "core/mem.h"

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

void au_mem_eager(void) {
  if (mallctl) {
    ssize_t zero = 0;
    unsigned n = 0;
    size_t sz = sizeof(n);
    /* the default of arenas created later, then every existing arena */
    int rc = mallctl("arenas.dirty_decay_ms", NULL, NULL, &zero, sizeof(zero));
    rc |= mallctl("arenas.muzzy_decay_ms", NULL, NULL, &zero, sizeof(zero));
    rc |= mallctl("arenas.narenas", &n, &sz, NULL, 0);
    for (unsigned i = 0; rc == 0 && i < n; i++) {
      char name[64];
      snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", i);
      int r1 = mallctl(name, NULL, NULL, &zero, sizeof(zero));
      snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", i);
      int r2 = mallctl(name, NULL, NULL, &zero, sizeof(zero));
      (void)r1; /* EFAULT for an arena not initialized yet: it takes the new default */
      (void)r2;
    }
    if (rc == 0)
      return;
  }
#ifdef __GLIBC__
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

void au_mem_trim(void) {
  if (mallctl) {
    /* 4096 = MALLCTL_ARENAS_ALL */
    if (mallctl("arena.4096.purge", NULL, NULL, NULL, 0) == 0)
      return;
  }
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}
