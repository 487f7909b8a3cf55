#include "core/au.h"
#include "core/batch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- string interning pool: open addressing over (offset, len) into one arena --- */
struct au_strpool {
  char *data;
  size_t len, cap;
  uint32_t *offs;   /* string id -> offset into data (strings are NUL-terminated) */
  uint32_t *lens;
  uint32_t n, ncap;
  uint32_t *slots;  /* hash slots: id + 1, 0 = empty */
  uint32_t nslots;
};

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ULL;
  }
  return h;
}

static void pool_rehash(struct au_strpool *p, uint32_t nslots) {
  free(p->slots);
  p->slots = au_xcalloc(nslots, sizeof(uint32_t));
  p->nslots = nslots;
  for (uint32_t id = 0; id < p->n; id++) {
    uint64_t h = hash_bytes(p->data + p->offs[id], p->lens[id]);
    uint32_t i = (uint32_t)h & (nslots - 1);
    while (p->slots[i])
      i = (i + 1) & (nslots - 1);
    p->slots[i] = id + 1;
  }
}

static uint32_t pool_intern(struct au_strpool *p, const char *s, size_t n) {
  if (p->nslots == 0)
    pool_rehash(p, 256);
  uint64_t h = hash_bytes(s, n);
  uint32_t i = (uint32_t)h & (p->nslots - 1);
  while (p->slots[i]) {
    uint32_t id = p->slots[i] - 1;
    if (p->lens[id] == n && memcmp(p->data + p->offs[id], s, n) == 0)
      return id;
    i = (i + 1) & (p->nslots - 1);
  }
  if (p->len + n + 1 > p->cap) {
    size_t ncap = p->cap ? p->cap : 4096;
    while (ncap < p->len + n + 1)
      ncap *= 2;
    p->data = au_xrealloc(p->data, ncap);
    p->cap = ncap;
  }
  if (p->n == p->ncap) {
    p->ncap = p->ncap ? p->ncap * 2 : 64;
    p->offs = au_xrealloc(p->offs, p->ncap * sizeof(uint32_t));
    p->lens = au_xrealloc(p->lens, p->ncap * sizeof(uint32_t));
  }
  uint32_t id = p->n++;
  p->offs[id] = (uint32_t)p->len;
  p->lens[id] = (uint32_t)n;
  memcpy(p->data + p->len, s, n);
  p->data[p->len + n] = 0;
  p->len += n + 1;
  p->slots[i] = id + 1;
  if ((uint64_t)p->n * 2 > p->nslots)
    pool_rehash(p, p->nslots * 2);
  return id;
}

static void pool_clear(struct au_strpool *p) {
  p->len = 0;
  p->n = 0;
  if (p->slots)
    memset(p->slots, 0, p->nslots * sizeof(uint32_t));
}

static void pool_free(struct au_strpool *p) {
  free(p->data);
  free(p->offs);
  free(p->lens);
  free(p->slots);
  free(p);
}

/* --- schema --- */
const char *au_type_name(enum au_type t) {
  switch (t) {
  case AU_T_TIME: return "time";
  case AU_T_TIMESTAMP: return "timestamp";
  case AU_T_DOUBLE: return "double";
  case AU_T_INT: return "int64";
  case AU_T_TEXT: return "text";
  case AU_T_BOOL: return "bool";
  }
  return "?";
}

int au_schema_find(const struct au_schema *s, const char *name) {
  for (int i = 0; i < s->ncols; i++)
    if (strcmp(s->cols[i].name, name) == 0)
      return i;
  return -1;
}

int au_schema_key_cols(const struct au_schema *s, int *idx, int max) {
  int n = 0;
  if (s->key_order) {
    for (int i = 0; i < s->nkey && n < max; i++)
      idx[n++] = s->key_order[i];
    return n;
  }
  for (int i = 0; i < s->ncols && n < max; i++)
    if (s->cols[i].flags & AU_COL_KEY)
      idx[n++] = i;
  return n;
}

/* --- batch --- */
struct au_batch *au_batch_new(const struct au_schema *schema, size_t cap) {
  struct au_batch *b = au_xcalloc(1, sizeof(*b));
  b->schema = schema;
  b->cap = cap ? cap : 1024;
  b->cols = au_xcalloc((size_t)schema->ncols, sizeof(*b->cols));
  b->nulls = au_xcalloc((size_t)schema->ncols, sizeof(*b->nulls));
  for (int c = 0; c < schema->ncols; c++) {
    b->cols[c] = au_xmalloc(b->cap * sizeof(union au_cell));
    b->nulls[c] = au_xmalloc(b->cap);
  }
  b->pool = au_xcalloc(1, sizeof(*b->pool));
  return b;
}

void au_batch_free(struct au_batch *b) {
  if (!b)
    return;
  for (int c = 0; c < b->schema->ncols; c++) {
    free(b->cols[c]);
    free(b->nulls[c]);
  }
  free(b->cols);
  free(b->nulls);
  pool_free(b->pool);
  free(b);
}

void au_batch_clear(struct au_batch *b) {
  b->nrows = 0;
  pool_clear(b->pool);
}

size_t au_batch_add_row(struct au_batch *b) {
  if (b->nrows == b->cap) {
    size_t ncap = b->cap * 2;
    for (int c = 0; c < b->schema->ncols; c++) {
      b->cols[c] = au_xrealloc(b->cols[c], ncap * sizeof(union au_cell));
      b->nulls[c] = au_xrealloc(b->nulls[c], ncap);
    }
    b->cap = ncap;
  }
  size_t r = b->nrows++;
  for (int c = 0; c < b->schema->ncols; c++) {
    b->nulls[c][r] = 1;
    b->cols[c][r].i = 0;
  }
  return r;
}

void au_batch_drop_last(struct au_batch *b) {
  if (b->nrows)
    b->nrows--;
}

#define LAST(b) ((b)->nrows - 1)

void au_batch_set_time_at(struct au_batch *b, size_t r, int col, au_time v) {
  b->cols[col][r].i = v;
  b->nulls[col][r] = 0;
}
void au_batch_set_double_at(struct au_batch *b, size_t r, int col, double v) {
  b->cols[col][r].d = v;
  b->nulls[col][r] = 0;
}
void au_batch_set_text_at(struct au_batch *b, size_t r, int col, const char *s, size_t len) {
  b->cols[col][r].s = pool_intern(b->pool, s, len);
  b->nulls[col][r] = 0;
}

void au_batch_set_time(struct au_batch *b, int col, au_time v) { au_batch_set_time_at(b, LAST(b), col, v); }
void au_batch_set_double(struct au_batch *b, int col, double v) { au_batch_set_double_at(b, LAST(b), col, v); }
void au_batch_set_int(struct au_batch *b, int col, int64_t v) { au_batch_set_time_at(b, LAST(b), col, v); }
void au_batch_set_bool(struct au_batch *b, int col, bool v) { au_batch_set_time_at(b, LAST(b), col, v ? 1 : 0); }
void au_batch_set_text(struct au_batch *b, int col, const char *s, size_t len) {
  au_batch_set_text_at(b, LAST(b), col, s, len);
}
void au_batch_set_null(struct au_batch *b, int col) {
  b->nulls[col][LAST(b)] = 1;
  b->cols[col][LAST(b)].i = 0;
}

uint32_t au_batch_intern(struct au_batch *b, const char *s, size_t len) { return pool_intern(b->pool, s, len); }

const char *au_batch_str(const struct au_batch *b, uint32_t id, size_t *len) {
  if (len)
    *len = b->pool->lens[id];
  return b->pool->data + b->pool->offs[id];
}

uint32_t au_batch_nstrings(const struct au_batch *b) { return b->pool->n; }

const char *au_batch_text(const struct au_batch *b, size_t r, int col, size_t *len) {
  return au_batch_str(b, b->cols[col][r].s, len);
}

/* --- numbers as text --- */
/* --- numbers --------------------------------------------------------------------- */

static size_t fmt_u64(uint64_t u, char *d) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  for (size_t k = 0; k < n; k++)
    d[k] = tmp[n - 1 - k];
  d[n] = 0;
  return n;
}

size_t au_fmt_i64(int64_t v, char *d) {
  if (v >= 0)
    return fmt_u64((uint64_t)v, d);
  d[0] = '-';
  return 1 + fmt_u64((uint64_t)0 - (uint64_t)v, d + 1);
}

/* |iv| / 10^k as fixed-point text with its sign, trailing zeros dropped. */
static size_t fixed_text(bool neg, uint64_t iv, int k, char *d) {
  char dig[24];
  size_t n = fmt_u64(iv, dig), o = 0;
  if (neg)
    d[o++] = '-';
  if ((size_t)k >= n) { /* 0.00ddd */
    d[o++] = '0';
    d[o++] = '.';
    for (size_t z = 0; z < (size_t)k - n; z++)
      d[o++] = '0';
    memcpy(d + o, dig, n);
    o += n;
  } else {
    memcpy(d + o, dig, n - (size_t)k);
    o += n - (size_t)k;
    if (k) {
      d[o++] = '.';
      memcpy(d + o, dig + n - k, (size_t)k);
      o += (size_t)k;
    }
  }
  if (k) {
    while (d[o - 1] == '0')
      o--;
    if (d[o - 1] == '.')
      o--;
  }
  d[o] = 0;
  return o;
}

/* The shortest of %.15g, %.16g, %.17g that reads back as v (au_batch_cell_str's rule).
 *
 * Fast path, exact and without strtod: if r / 10^k == v for an integer r with |r| < 10^15
 * and k <= 8, then the decimal r/10^k reads back as v (IEEE division is correctly rounded,
 * and so is strtod: both give the double nearest to r/10^k). It has at most 15 significant
 * digits and v lies within half an ulp of it, far less than half a unit of the 15th digit,
 * so %.15g rounds v to exactly that decimal; with 1e-4 <= |v| < 1e15 %.15g uses no
 * exponent, and %g drops trailing zeros as fixed_text does. */
size_t au_fmt_double(double v, char *d) {
  static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
  double a = fabs(v);
  if (v == 0) {
    if (signbit(v)) {
      memcpy(d, "-0", 3);
      return 2;
    }
    memcpy(d, "0", 2);
    return 1;
  }
  if (a >= 1e-4 && a < 1e15) {
    for (int k = 0; k <= 8; k++) {
      double r = nearbyint(a * p10[k]);
      if (r >= 1e15)
        break;
      if (r / p10[k] == a)
        return fixed_text(v < 0, (uint64_t)r, k, d);
    }
  }
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(d, 32, "%.*g", prec, v);
    if (strtod(d, NULL) == v)
      break;
  }
  return (size_t)n;
}

bool au_batch_cell_str(const struct au_batch *b, size_t r, int col, char *buf, size_t bufsz,
                       const char **out, size_t *outlen) {
  if (b->nulls[col][r])
    return false;
  union au_cell v = b->cols[col][r];
  int n = 0;
  switch (b->schema->cols[col].type) {
  case AU_T_TIME: n = (int)au_time_fmt(v.i, buf); break;
  case AU_T_TIMESTAMP: n = (int)au_time_fmt_us(v.i, buf); break;
  case AU_T_DOUBLE:
    if (bufsz >= 32 && isfinite(v.d)) {
      n = (int)au_fmt_double(v.d, buf);
      break;
    }
    /* shortest representation that round-trips */
    for (int prec = 15; prec <= 17; prec++) {
      n = snprintf(buf, bufsz, "%.*g", prec, v.d);
      if (strtod(buf, NULL) == v.d)
        break;
    }
    break;
  case AU_T_INT:
    n = bufsz >= 24 ? (int)au_fmt_i64(v.i, buf) : snprintf(buf, bufsz, "%lld", (long long)v.i);
    break;
  case AU_T_BOOL: n = snprintf(buf, bufsz, "%s", v.i ? "true" : "false"); break;
  case AU_T_TEXT: {
    size_t l;
    *out = au_batch_str(b, v.s, &l);
    *outlen = l;
    return true;
  }
  }
  *out = buf;
  *outlen = (size_t)n;
  return true;
}
