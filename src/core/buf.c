#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void au_buf_init(struct au_buf *b, size_t max) {
  b->ptr = NULL;
  b->len = b->cap = 0;
  b->max = max ? max : (size_t)-1;
}

void au_buf_release(struct au_buf *b) {
  free(b->ptr);
  b->ptr = NULL;
  b->len = b->cap = 0;
}

void au_buf_reset(struct au_buf *b) {
  b->len = 0;
  if (b->ptr)
    b->ptr[0] = 0;
}

int au_buf_grow(struct au_buf *b, size_t extra) {
  size_t max = b->max ? b->max : (size_t)-1;
  if (extra > max || b->len > max - extra)
    return AU_E_TOOBIG;
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return 0;
  size_t ncap = b->cap ? b->cap : 256;
  while (ncap < need)
    ncap = ncap * 2 < ncap ? need : ncap * 2;
  char *p = realloc(b->ptr, ncap);
  if (!p)
    return AU_E_NOMEM;
  b->ptr = p;
  b->cap = ncap;
  return 0;
}

int au_buf_add(struct au_buf *b, const void *data, size_t n) {
  int rc = au_buf_grow(b, n);
  if (rc)
    return rc;
  if (n)
    memcpy(b->ptr + b->len, data, n);
  b->len += n;
  b->ptr[b->len] = 0;
  return 0;
}

int au_buf_adds(struct au_buf *b, const char *s) { return au_buf_add(b, s, strlen(s)); }

int au_buf_addc(struct au_buf *b, char c) { return au_buf_add(b, &c, 1); }

int au_buf_printf(struct au_buf *b, const char *fmt, ...) {
  va_list ap;
  char small[256];
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0)
    return AU_E_INVAL;
  if ((size_t)n < sizeof(small))
    return au_buf_add(b, small, (size_t)n);
  int rc = au_buf_grow(b, (size_t)n);
  if (rc)
    return rc;
  va_start(ap, fmt);
  vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

int au_buf_add_json_str(struct au_buf *b, const char *s, size_t n) {
  int rc = au_buf_addc(b, '"');
  for (size_t i = 0; i < n && rc == 0; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': rc = au_buf_add(b, "\\\"", 2); break;
    case '\\': rc = au_buf_add(b, "\\\\", 2); break;
    case '\n': rc = au_buf_add(b, "\\n", 2); break;
    case '\r': rc = au_buf_add(b, "\\r", 2); break;
    case '\t': rc = au_buf_add(b, "\\t", 2); break;
    default:
      if (c < 0x20)
        rc = au_buf_printf(b, "\\u%04x", c);
      else
        rc = au_buf_addc(b, (char)c);
    }
  }
  if (rc == 0)
    rc = au_buf_addc(b, '"');
  return rc;
}

char *au_buf_detach(struct au_buf *b, size_t *len) {
  char *p = b->ptr;
  if (len)
    *len = b->len;
  b->ptr = NULL;
  b->len = b->cap = 0;
  return p;
}
