#include "core/au.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *au_strerror(int code) {
  switch (code) {
#define AU_X(name, val, text) case val: return text;
    AU_ERRNO_MAP(AU_X)
#undef AU_X
  }
  return "unknown error";
}

const char *au_errname(int code) {
  switch (code) {
#define AU_X(name, val, text) case val: return "AU_E_" #name;
    AU_ERRNO_MAP(AU_X)
#undef AU_X
  }
  return "AU_E_UNKNOWN";
}

static int err_vset(struct au_err *err, int code, bool retry, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static int err_vset(struct au_err *err, int code, bool retry, const char *fmt, va_list ap) {
  if (!err || err->code != 0)
    return code;
  err->code = code;
  err->retryable = retry;
  vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
  return code;
}

int au_err_set(struct au_err *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  err_vset(err, code, false, fmt, ap);
  va_end(ap);
  return code;
}

int au_err_set_retry(struct au_err *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  err_vset(err, code, true, fmt, ap);
  va_end(ap);
  return code;
}

void au_err_prefix(struct au_err *err, const char *fmt, ...) {
  if (!err || err->code == 0)
    return;
  char ctx[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx, sizeof(ctx), fmt, ap);
  va_end(ap);
  char tmp[AU_ERR_MSG_MAX];
  size_t n = strlen(ctx);
  if (n > sizeof(tmp) - 3)
    n = sizeof(tmp) - 3;
  memcpy(tmp, ctx, n);
  tmp[n++] = ':';
  tmp[n++] = ' ';
  size_t m = strnlen(err->msg, sizeof(err->msg));
  if (m > sizeof(tmp) - 1 - n)
    m = sizeof(tmp) - 1 - n;
  memcpy(tmp + n, err->msg, m);
  tmp[n + m] = 0;
  memcpy(err->msg, tmp, sizeof(err->msg));
}

void au_err_clear(struct au_err *err) {
  if (!err)
    return;
  memset(err, 0, sizeof(*err));
}

void *au_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "aurum: out of memory allocating %zu bytes\n", n);
    abort();
  }
  return p;
}

void *au_xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz ? sz : 1);
  if (!p) {
    fprintf(stderr, "aurum: out of memory allocating %zu x %zu bytes\n", n, sz);
    abort();
  }
  return p;
}

void *au_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "aurum: out of memory reallocating %zu bytes\n", n);
    abort();
  }
  return q;
}

char *au_xstrdup(const char *s) { return au_xstrndup(s, strlen(s)); }

char *au_xstrndup(const char *s, size_t n) {
  char *p = au_xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}
