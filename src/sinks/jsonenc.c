/* jsonenc.c - Kafka keys, event ids and JSON values of batch rows. See jsonenc.h.
 *
 * A row is written in two passes: the first makes sure every string and time of the row is
 * in the batch caches and sums an upper bound of the row's length, so the buffer grows at
 * most once; the second copies prepared fragments. */
#include "sinks/jsonenc.h"

#include "core/err.h"
#include "core/time.h"
#include "core/uuid.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CELL_MAX = 48 }; /* longest non-string cell text: time with µs + quotes, %.17g, int64 */
enum { SLACK = 32 };    /* fragments of <= SLACK bytes are copied as one fixed-size block: every
                         * source has SLACK readable bytes and every row reserves SLACK extra */

struct tcache { /* the last time formatted in a column, with its quotes */
  au_time v;
  bool ok;
  uint8_t n;
  char s[CELL_MAX];
};

struct au_jenc {
  const struct au_schema *schema;
  int keycols[16], nkey;
  int cursor_col;
  struct au_buf head;     /* {"event_id":"                                    */
  struct au_buf mid;      /* ,"tenant_id":..,"schema_version":..,"producer":.. */
  size_t *name_off;       /* ,"<name>": fragments of each column in names       */
  size_t *name_len;
  struct au_buf names;
  size_t fixed;           /* bytes of every fragment of a value + CELL_MAX per non-text cell */
  enum au_type *type;     /* per column */
  int *text_cols, ntext;  /* TEXT columns (their length is known only per row) */
  struct tcache *tc;      /* per column */
  /* strings of the current batch by id: offset / length of the quoted, escaped text in
   * strs; off == UINT32_MAX when not yet rendered */
  uint32_t *soff, *slen;
  uint32_t scap, sn;
  struct au_buf strs;
  /* event id: SHA-1 of the namespace + "<source>.<table>\n" prefix, then the key */
  uint8_t prefix[16 + 200];
  size_t prefix_len;
  EVP_MD *md;
  EVP_MD_CTX *ctx;
};

/* Copy a fragment; short ones as one fixed-size block (see SLACK). */
static inline char *put(char *d, const char *src, size_t n) {
  if (n <= SLACK)
    memcpy(d, src, SLACK);
  else
    memcpy(d, src, n);
  return d + n;
}

/* --- strings --------------------------------------------------------------------- */

static int add_json_str(struct au_buf *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == '"' || c == '\\')
      return au_buf_add_json_str(b, s, n);
  }
  int rc = au_buf_grow(b, n + 2);
  if (rc)
    return rc;
  b->ptr[b->len++] = '"';
  memcpy(b->ptr + b->len, s, n);
  b->len += n;
  b->ptr[b->len++] = '"';
  b->ptr[b->len] = 0;
  return 0;
}

/* The quoted text of string id in the strs cache (rendered on first use). Every string
 * is followed by SLACK readable bytes. */
static int str_of(struct au_jenc *e, const struct au_batch *b, uint32_t id, const char **p, size_t *n) {
  if (id < e->sn && e->soff[id] != UINT32_MAX) {
    *p = e->strs.ptr + e->soff[id];
    *n = e->slen[id];
    return 0;
  }
  size_t len;
  const char *s = au_batch_str(b, id, &len);
  size_t off = e->strs.len;
  int rc = add_json_str(&e->strs, s, len);
  if (rc == 0)
    rc = au_buf_grow(&e->strs, SLACK);
  if (rc)
    return rc;
  if (id < e->sn && off <= UINT32_MAX - 1 && e->strs.len - off <= UINT32_MAX) {
    e->soff[id] = (uint32_t)off;
    e->slen[id] = (uint32_t)(e->strs.len - off);
  }
  *p = e->strs.ptr + off;
  *n = e->strs.len - off;
  return 0;
}

/* --- encoder --------------------------------------------------------------------- */

struct au_jenc *au_jenc_new(const struct au_schema *s, const struct au_envelope *env, const int *keycols, int nkey) {
  struct au_jenc *e = au_xcalloc(1, sizeof(*e));
  e->schema = s;
  e->nkey = nkey < 16 ? nkey : 16;
  memcpy(e->keycols, keycols, (size_t)e->nkey * sizeof(int));
  e->cursor_col = env->cursor_col;
  au_buf_init(&e->head, 0);
  au_buf_init(&e->mid, 0);
  au_buf_init(&e->names, 0);
  au_buf_init(&e->strs, 0);
  int rc = au_buf_adds(&e->head, "{\"event_id\":\"");
  char num[24];
  if (!rc)
    rc = au_buf_adds(&e->mid, ",\"tenant_id\":");
  if (!rc)
    rc = add_json_str(&e->mid, env->tenant, strlen(env->tenant));
  if (!rc)
    rc = au_buf_adds(&e->mid, ",\"schema_version\":");
  if (!rc)
    rc = au_buf_add(&e->mid, num, au_fmt_i64(env->schema_version, num));
  if (!rc)
    rc = au_buf_adds(&e->mid, ",\"producer\":\"aurum/" AU_VERSION "\"");
  e->name_off = au_xcalloc((size_t)s->ncols, sizeof(size_t));
  e->name_len = au_xcalloc((size_t)s->ncols, sizeof(size_t));
  for (int c = 0; !rc && c < s->ncols; c++) {
    e->name_off[c] = e->names.len;
    rc = au_buf_addc(&e->names, ',');
    if (!rc)
      rc = add_json_str(&e->names, s->cols[c].name, strlen(s->cols[c].name));
    if (!rc)
      rc = au_buf_addc(&e->names, ':');
    e->name_len[c] = e->names.len - e->name_off[c];
  }
  if (!rc)
    rc = au_buf_grow(&e->head, SLACK);
  if (!rc)
    rc = au_buf_grow(&e->mid, SLACK);
  if (!rc)
    rc = au_buf_grow(&e->names, SLACK);
  if (rc) /* unbounded buffers: only allocation failure, which aborts first */
    abort();
  e->type = au_xcalloc((size_t)s->ncols, sizeof(*e->type));
  e->text_cols = au_xcalloc((size_t)s->ncols, sizeof(int));
  /* head + id + ","occurred_at":" + time + mid + names + "}" + cells */
  e->fixed = e->head.len + 36 + 16 + CELL_MAX + e->mid.len + e->names.len + 1 + SLACK;
  for (int c = 0; c < s->ncols; c++) {
    e->type[c] = s->cols[c].type;
    if (e->type[c] == AU_T_TEXT)
      e->text_cols[e->ntext++] = c;
    else
      e->fixed += CELL_MAX;
  }
  e->tc = au_xcalloc((size_t)s->ncols, sizeof(*e->tc));
  size_t sl = strlen(env->source), tl = strlen(env->table);
  if (sl + tl + 2 > sizeof(e->prefix) - 16)
    tl = sizeof(e->prefix) - 16 - 2 - sl;
  memcpy(e->prefix, au_uuid_ns_aurum, 16);
  memcpy(e->prefix + 16, env->source, sl);
  e->prefix[16 + sl] = '.';
  memcpy(e->prefix + 17 + sl, env->table, tl);
  e->prefix[17 + sl + tl] = '\n';
  e->prefix_len = 18 + sl + tl;
  e->md = EVP_MD_fetch(NULL, "SHA1", NULL);
  e->ctx = EVP_MD_CTX_new();
  return e;
}

void au_jenc_free(struct au_jenc *e) {
  if (!e)
    return;
  au_buf_release(&e->head);
  au_buf_release(&e->mid);
  au_buf_release(&e->names);
  au_buf_release(&e->strs);
  free(e->name_off);
  free(e->name_len);
  free(e->tc);
  free(e->type);
  free(e->text_cols);
  free(e->soff);
  free(e->slen);
  EVP_MD_CTX_free(e->ctx);
  EVP_MD_free(e->md);
  free(e);
}

void au_jenc_begin(struct au_jenc *e, const struct au_batch *b) {
  uint32_t n = au_batch_nstrings(b);
  if (n > e->scap) {
    e->scap = n + n / 2 + 16;
    e->soff = au_xrealloc(e->soff, e->scap * sizeof(uint32_t));
    e->slen = au_xrealloc(e->slen, e->scap * sizeof(uint32_t));
  }
  e->sn = n;
  if (n)
    memset(e->soff, 0xff, (size_t)n * sizeof(uint32_t));
  au_buf_reset(&e->strs);
  for (int c = 0; c < e->schema->ncols; c++)
    e->tc[c].ok = false;
}

/* The text of a time cell (quoted), from the column's one-entry cache. */
static const struct tcache *time_of(struct au_jenc *e, int c, au_time v, bool us) {
  struct tcache *t = &e->tc[c];
  if (!t->ok || t->v != v) {
    t->s[0] = '"';
    size_t n = us ? au_time_fmt_us(v, t->s + 1) : au_time_fmt(v, t->s + 1);
    t->s[n + 1] = '"';
    t->n = (uint8_t)(n + 2);
    t->v = v;
    t->ok = true;
  }
  return t;
}

/* Cell c of row r at d (room: CELL_MAX + SLACK, or the string's length + SLACK, reserved
 * by the caller); returns the end. Strings come from the cache the reserve pass filled. */
static char *put_cell(struct au_jenc *e, const struct au_batch *b, size_t r, int c, char *d) {
  if (au_batch_is_null(b, r, c)) {
    memcpy(d, "null", 4);
    return d + 4;
  }
  switch (e->type[c]) {
  case AU_T_DOUBLE: {
    double v = au_batch_double(b, r, c);
    if (!isfinite(v)) {
      memcpy(d, "null", 4);
      return d + 4;
    }
    return d + au_fmt_double(v, d);
  }
  case AU_T_INT: return d + au_fmt_i64(au_batch_int(b, r, c), d);
  case AU_T_BOOL:
    if (au_batch_int(b, r, c)) {
      memcpy(d, "true", 4);
      return d + 4;
    }
    memcpy(d, "false", 5);
    return d + 5;
  case AU_T_TIME:
  case AU_T_TIMESTAMP: {
    const struct tcache *t = time_of(e, c, au_batch_int(b, r, c), e->type[c] == AU_T_TIMESTAMP);
    return put(d, t->s, t->n);
  }
  case AU_T_TEXT: {
    const char *p;
    size_t n;
    if (str_of(e, b, b->cols[c][r].s, &p, &n))
      return d;
    return put(d, p, n);
  }
  }
  return d;
}

/* Bytes to reserve for the text cells of row r (renders their strings into the cache). */
static int reserve_text(struct au_jenc *e, const struct au_batch *b, size_t r, const int *cols, int n,
                        size_t *need) {
  for (int i = 0; i < n; i++) {
    int c = cols[i];
    if (au_batch_is_null(b, r, c)) {
      *need += 4;
      continue;
    }
    const char *p;
    size_t len;
    int rc = str_of(e, b, b->cols[c][r].s, &p, &len);
    if (rc)
      return rc;
    *need += len;
  }
  return 0;
}

int au_jenc_key(struct au_jenc *e, const struct au_batch *b, size_t r, struct au_buf *out) {
  size_t need = 2 + (size_t)e->nkey + SLACK;
  for (int k = 0; k < e->nkey; k++) {
    int c = e->keycols[k];
    if (e->type[c] != AU_T_TEXT) {
      need += CELL_MAX;
    } else {
      int rc = reserve_text(e, b, r, &c, 1, &need);
      if (rc)
        return rc;
    }
  }
  int rc = au_buf_grow(out, need);
  if (rc)
    return rc;
  char *d = out->ptr + out->len, *d0 = d;
  *d++ = '[';
  for (int k = 0; k < e->nkey; k++) {
    if (k)
      *d++ = ',';
    d = put_cell(e, b, r, e->keycols[k], d);
  }
  *d++ = ']';
  *d = 0;
  out->len += (size_t)(d - d0);
  return 0;
}

int au_jenc_value(struct au_jenc *e, const struct au_batch *b, size_t r, const char *event_id, struct au_buf *out) {
  size_t need = e->fixed;
  int rc = reserve_text(e, b, r, e->text_cols, e->ntext, &need);
  if (rc == 0)
    rc = au_buf_grow(out, need);
  if (rc)
    return rc;
  char *d = out->ptr + out->len, *d0 = d;
  d = put(d, e->head.ptr, e->head.len);
  memcpy(d, event_id, 36);
  d += 36;
  memcpy(d, "\",\"occurred_at\":", 16);
  d += 16;
  int cc = e->cursor_col;
  if (cc >= 0 && !au_batch_is_null(b, r, cc)) {
    /* the cursor is a time column: its cache entry is shared with the column itself */
    const struct tcache *t = time_of(e, cc, au_batch_int(b, r, cc), e->type[cc] == AU_T_TIMESTAMP);
    d = put(d, t->s, t->n);
  } else {
    memcpy(d, "null", 4);
    d += 4;
  }
  d = put(d, e->mid.ptr, e->mid.len);
  const char *names = e->names.ptr;
  for (int c = 0; c < e->schema->ncols; c++) {
    d = put(d, names + e->name_off[c], e->name_len[c]);
    d = put_cell(e, b, r, c, d);
  }
  *d++ = '}';
  *d = 0;
  out->len += (size_t)(d - d0);
  return 0;
}

void au_jenc_event_id(struct au_jenc *e, const char *key, size_t keylen, char out[37]) {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!e->md || !e->ctx || !EVP_DigestInit_ex2(e->ctx, e->md, NULL) ||
      !EVP_DigestUpdate(e->ctx, e->prefix, e->prefix_len) || !EVP_DigestUpdate(e->ctx, key, keylen) ||
      !EVP_DigestFinal_ex(e->ctx, md, &mdlen)) {
    uint8_t stack[640];
    size_t n = e->prefix_len - 16 + keylen;
    uint8_t *buf = n <= sizeof(stack) ? stack : au_xmalloc(n);
    memcpy(buf, e->prefix + 16, e->prefix_len - 16);
    memcpy(buf + e->prefix_len - 16, key, keylen);
    au_uuid_v5(au_uuid_ns_aurum, buf, n, out);
    if (buf != stack)
      free(buf);
    return;
  }
  static const char hex[] = "0123456789abcdef";
  md[6] = (uint8_t)((md[6] & 0x0f) | 0x50);
  md[8] = (uint8_t)((md[8] & 0x3f) | 0x80);
  char *o = out;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      *o++ = '-';
    *o++ = hex[md[i] >> 4];
    *o++ = hex[md[i] & 15];
  }
  *o = 0;
}
