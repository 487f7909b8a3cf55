/* au.h - common setup included first by every aurum source file. */
#ifndef AU_H
#define AU_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define AU_VERSION "0.1.0"
#define AU_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define AU_WUR __attribute__((warn_unused_result))
#define AU_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define AU_UNUSED(x) ((void)(x))

/* Allocation that aborts on OOM for small fixed-size objects (git xmalloc policy).
 * Input-driven growth must use bounded buffers that return AU_E_TOOBIG instead. */
void *au_xmalloc(size_t n);
void *au_xcalloc(size_t n, size_t sz);
void *au_xrealloc(void *p, size_t n);
char *au_xstrdup(const char *s);
char *au_xstrndup(const char *s, size_t n);

#endif
