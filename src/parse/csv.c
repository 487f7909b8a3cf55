#include "core/au.h"
#include "parse/csv.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parser state ---------------------------------------------------------------- */

enum {
  S_START, /* at the start of a field */
  S_UNQ,   /* inside an unquoted field */
  S_QUO,   /* inside a quoted field */
  S_QQ,    /* just saw a quote inside a quoted field: escape or close */
  S_AFTERQ /* after a closing quote and some spaces */
};

struct au_csv {
  struct au_csv_limits lim;
  char delim;
  au_csv_row_cb cb;
  void *arg;
  unsigned char special[256]; /* bytes that stop an unquoted run */

  char *buf; /* the current record: fields back to back, each NUL-terminated */
  size_t blen, bcap;
  size_t fstart; /* offset of the current field in buf */

  size_t *offs; /* per field: offset in buf */
  size_t *lens;
  const char **ptrs;
  size_t nf, fcap;

  int state;
  bool rec_started; /* a byte of the current record was consumed */
  bool pending_cr;  /* the last chunk ended with a CR line end; swallow a leading LF */
  uint64_t line;    /* current physical line, 1-based */
  uint64_t rec_line;
  uint64_t rows;

  unsigned char bom[3]; /* BOM prefix held back while undecided */
  unsigned bom_n;
  bool bom_done;
  int failed;
};

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

struct au_csv *au_csv_new(const struct au_csv_limits *lim, char delim, au_csv_row_cb cb,
                          void *arg) {
  struct au_csv *p = au_xcalloc(1, sizeof(*p));
  p->lim.max_field = lim && lim->max_field ? lim->max_field : AU_CSV_DEFAULT_MAX_FIELD;
  p->lim.max_fields = lim && lim->max_fields ? lim->max_fields : AU_CSV_DEFAULT_MAX_FIELDS;
  p->lim.max_rows = lim && lim->max_rows ? lim->max_rows : SIZE_MAX;
  if (delim == '"' || delim == '\n' || delim == '\r' || delim == 0)
    delim = ',';
  p->delim = delim;
  p->cb = cb;
  p->arg = arg;
  p->special[(unsigned char)delim] = 1;
  p->special['"'] = 1;
  p->special['\n'] = 1;
  p->special['\r'] = 1;
  p->line = 1;
  p->state = S_START;
  return p;
}

void au_csv_free(struct au_csv *p) {
  if (!p)
    return;
  free(p->buf);
  free(p->offs);
  free(p->lens);
  free(p->ptrs);
  free(p);
}

uint64_t au_csv_rows(const struct au_csv *p) { return p ? p->rows : 0; }

/* ---- record assembly --------------------------------------------------------------- */

static int fail(struct au_csv *p, struct au_err *err, int code, const char *what) {
  return au_err_set(err, code, "csv line %llu, field %zu: %s", (unsigned long long)p->line,
                    p->nf + 1, what);
}

static int reserve(struct au_csv *p, size_t extra, struct au_err *err) {
  if (p->bcap - p->blen > extra) /* keeps one byte for a NUL */
    return 0;
  size_t need = p->blen + extra + 1;
  if (need < p->blen)
    return fail(p, err, AU_E_TOOBIG, "record too large");
  size_t ncap = p->bcap ? p->bcap : 4096;
  while (ncap < need)
    ncap = ncap * 2 < ncap ? need : ncap * 2;
  char *nb = realloc(p->buf, ncap);
  if (!nb)
    return fail(p, err, AU_E_NOMEM, "out of memory");
  p->buf = nb;
  p->bcap = ncap;
  return 0;
}

static int add_bytes(struct au_csv *p, const unsigned char *s, size_t n, struct au_err *err) {
  if (n > p->lim.max_field - (p->blen - p->fstart)) {
    char msg[64];
    snprintf(msg, sizeof(msg), "field exceeds %zu bytes", p->lim.max_field);
    return fail(p, err, AU_E_TOOBIG, msg);
  }
  int rc = reserve(p, n, err);
  if (rc)
    return rc;
  memcpy(p->buf + p->blen, s, n);
  p->blen += n;
  return 0;
}

static int end_field(struct au_csv *p, struct au_err *err) {
  if (p->nf >= p->lim.max_fields) {
    char msg[64];
    snprintf(msg, sizeof(msg), "more than %zu fields in a record", p->lim.max_fields);
    return fail(p, err, AU_E_TOOBIG, msg);
  }
  int rc = reserve(p, 1, err);
  if (rc)
    return rc;
  if (p->nf == p->fcap) {
    size_t ncap = p->fcap ? p->fcap * 2 : 64;
    p->offs = au_xrealloc(p->offs, ncap * sizeof(*p->offs));
    p->lens = au_xrealloc(p->lens, ncap * sizeof(*p->lens));
    p->ptrs = au_xrealloc(p->ptrs, ncap * sizeof(*p->ptrs));
    p->fcap = ncap;
  }
  p->offs[p->nf] = p->fstart;
  p->lens[p->nf] = p->blen - p->fstart;
  p->nf++;
  p->buf[p->blen++] = 0;
  p->fstart = p->blen;
  return 0;
}

static int end_record(struct au_csv *p, struct au_err *err) {
  int rc = end_field(p, err);
  if (rc)
    return rc;
  if (p->rows >= p->lim.max_rows)
    return au_err_set(err, AU_E_TOOBIG, "csv line %llu: more than %zu rows",
                      (unsigned long long)p->rec_line, p->lim.max_rows);
  p->rows++;
  for (size_t i = 0; i < p->nf; i++)
    p->ptrs[i] = p->buf + p->offs[i];
  struct au_csv_row row = {p->ptrs, p->lens, p->nf, p->rows, p->rec_line};
  rc = p->cb ? p->cb(p->arg, &row, err) : 0;
  if (rc) {
    if (rc > 0)
      rc = AU_E_CANCELLED;
    return au_err_set(err, rc, "csv line %llu: row callback stopped the parse",
                      (unsigned long long)p->rec_line);
  }
  p->blen = 0;
  p->fstart = 0;
  p->nf = 0;
  p->rec_started = false;
  return 0;
}

static inline void start_record(struct au_csv *p) {
  if (!p->rec_started) {
    p->rec_started = true;
    p->rec_line = p->line;
  }
}

/* Consume the line end c ('\n' or '\r') whose first byte is already consumed. */
static inline const unsigned char *line_end(struct au_csv *p, unsigned char c,
                                            const unsigned char *s, const unsigned char *end) {
  p->line++;
  if (c == '\r') {
    if (s < end) {
      if (*s == '\n')
        s++;
    } else {
      p->pending_cr = true;
    }
  }
  return s;
}

/* ---- the state machine ------------------------------------------------------------ */

static int parse(struct au_csv *p, const unsigned char *s, const unsigned char *end,
                 struct au_err *err) {
  const unsigned char delim = (unsigned char)p->delim;
  int rc = 0;
  if (p->pending_cr && s < end) {
    if (*s == '\n')
      s++;
    p->pending_cr = false;
  }
  while (s < end) {
    switch (p->state) {
    case S_START: {
      unsigned char c = *s;
      if (c == '"') {
        start_record(p);
        p->state = S_QUO;
        s++;
      } else if (c == delim) {
        start_record(p);
        s++;
        if ((rc = end_field(p, err)))
          return rc;
      } else if (c == '\n' || c == '\r') {
        s++;
        if (p->rec_started && (rc = end_record(p, err))) /* "a,\n" ends with an empty field */
          return rc;
        s = line_end(p, c, s, end);
      } else {
        start_record(p);
        p->state = S_UNQ;
      }
      break;
    }
    case S_UNQ: {
      const unsigned char *q = s;
      const unsigned char *sp = p->special;
      while (q < end && !sp[*q])
        q++;
      if (q > s && (rc = add_bytes(p, s, (size_t)(q - s), err)))
        return rc;
      s = q;
      if (s == end)
        break;
      unsigned char c = *s++;
      if (c == delim) {
        p->state = S_START;
        if ((rc = end_field(p, err)))
          return rc;
      } else if (c == '"') {
        return fail(p, err, AU_E_PARSE, "quote inside unquoted field");
      } else { /* line end */
        p->state = S_START;
        if ((rc = end_record(p, err)))
          return rc;
        s = line_end(p, c, s, end);
      }
      break;
    }
    case S_QUO: {
      const unsigned char *q = memchr(s, '"', (size_t)(end - s));
      if (!q)
        q = end;
      /* lines up to the byte that makes the field too long, if one does, so the error's
       * line does not depend on how the input was split into chunks */
      size_t room = p->lim.max_field - (p->blen - p->fstart);
      const unsigned char *upto = (size_t)(q - s) > room ? s + room + 1 : q;
      for (const unsigned char *nl = s; (nl = memchr(nl, '\n', (size_t)(upto - nl))) != NULL; nl++)
        p->line++;
      if (q > s && (rc = add_bytes(p, s, (size_t)(q - s), err)))
        return rc;
      s = q;
      if (s < end) {
        s++;
        p->state = S_QQ;
      }
      break;
    }
    case S_QQ:
    case S_AFTERQ: {
      unsigned char c = *s++;
      if (c == '"' && p->state == S_QQ) {
        p->state = S_QUO;
        if ((rc = add_bytes(p, &c, 1, err)))
          return rc;
      } else if (c == delim) {
        p->state = S_START;
        if ((rc = end_field(p, err)))
          return rc;
      } else if (c == '\n' || c == '\r') {
        p->state = S_START;
        if ((rc = end_record(p, err)))
          return rc;
        s = line_end(p, c, s, end);
      } else if (c == ' ' || c == '\t') {
        p->state = S_AFTERQ;
      } else {
        return fail(p, err, AU_E_PARSE, "unexpected character after closing quote");
      }
      break;
    }
    }
  }
  return 0;
}

int au_csv_feed(struct au_csv *p, const char *data, size_t len, struct au_err *err) {
  if (p->failed)
    return p->failed;
  const unsigned char *s = (const unsigned char *)data, *end = s + len;
  int rc = 0;
  while (!p->bom_done && s < end) {
    if (*s == BOM[p->bom_n]) {
      p->bom[p->bom_n++] = *s++;
      if (p->bom_n == 3) {
        p->bom_done = true;
        p->bom_n = 0;
      }
    } else {
      p->bom_done = true;
      if (p->bom_n && (rc = parse(p, p->bom, p->bom + p->bom_n, err)))
        return p->failed = rc;
      p->bom_n = 0;
    }
  }
  if (s < end && (rc = parse(p, s, end, err)))
    p->failed = rc;
  return rc;
}

int au_csv_finish(struct au_csv *p, struct au_err *err) {
  if (p->failed)
    return p->failed;
  int rc = 0;
  if (!p->bom_done) {
    p->bom_done = true;
    if (p->bom_n && (rc = parse(p, p->bom, p->bom + p->bom_n, err)))
      return p->failed = rc;
    p->bom_n = 0;
  }
  if (p->state == S_QUO) {
    rc = au_err_set(err, AU_E_PARSE,
                    "csv line %llu, field %zu: unterminated quoted field (record starts on "
                    "line %llu)",
                    (unsigned long long)p->line, p->nf + 1, (unsigned long long)p->rec_line);
    return p->failed = rc;
  }
  if (p->rec_started && (rc = end_record(p, err)))
    return p->failed = rc;
  p->state = S_START;
  p->pending_cr = false;
  return 0;
}

/* ---- helpers ------------------------------------------------------------------------ */

static inline int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static void trim(const char **s, size_t *len) {
  const char *a = *s, *b = *s + *len;
  while (a < b && (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n'))
    a++;
  while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r' || b[-1] == '\n'))
    b--;
  *s = a;
  *len = (size_t)(b - a);
}

static bool name_eq(const char *f, size_t flen, const char *name, size_t nlen, unsigned flags) {
  if (flags & AU_CSV_LOOSE) {
    trim(&f, &flen);
    trim(&name, &nlen);
  }
  if (flen != nlen)
    return false;
  if (!(flags & (AU_CSV_ICASE | AU_CSV_LOOSE)))
    return memcmp(f, name, flen) == 0;
  for (size_t i = 0; i < flen; i++) {
    int a = lower((unsigned char)f[i]), b = lower((unsigned char)name[i]);
    if (flags & AU_CSV_LOOSE) {
      if (a == '_')
        a = ' ';
      if (b == '_')
        b = ' ';
    }
    if (a != b)
      return false;
  }
  return true;
}

int au_csv_header_index(const struct au_csv_row *hdr, const char *name, unsigned flags) {
  if (!hdr || !name)
    return -1;
  size_t nlen = strlen(name);
  for (size_t i = 0; i < hdr->nfields && i < (size_t)INT32_MAX; i++) {
    size_t flen = hdr->lens ? hdr->lens[i] : strlen(hdr->fields[i]);
    if (name_eq(hdr->fields[i], flen, name, nlen, flags))
      return (int)i;
  }
  return -1;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void init_c_locale(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

/* Validate [+-]? (d+ (. d*)? | . d+) ([eE] [+-]? d+)? exactly. */
static bool is_decimal(const char *s, size_t n) {
  size_t i = 0, digits = 0;
  if (i < n && (s[i] == '+' || s[i] == '-'))
    i++;
  while (i < n && s[i] >= '0' && s[i] <= '9')
    i++, digits++;
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++, digits++;
  }
  if (!digits)
    return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    size_t ed = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++, ed++;
    if (!ed)
      return false;
  }
  return i == n;
}

int au_parse_double(const char *s, size_t len, double *out) {
  if (!s)
    return AU_E_PARSE;
  trim(&s, &len);
  char tmp[128];
  if (len == 0 || len >= sizeof(tmp) || !is_decimal(s, len))
    return AU_E_PARSE;
  memcpy(tmp, s, len);
  tmp[len] = 0;
  pthread_once(&c_locale_once, init_c_locale);
  char *e = NULL;
  errno = 0;
  double v = c_locale ? strtod_l(tmp, &e, c_locale) : strtod(tmp, &e);
  if (e != tmp + len || !isfinite(v))
    return AU_E_PARSE;
  /* ERANGE with a finite result is an underflow to a tiny/zero value: accept it. */
  *out = v;
  return 0;
}

int au_parse_int64(const char *s, size_t len, int64_t *out) {
  if (!s)
    return AU_E_PARSE;
  trim(&s, &len);
  size_t i = 0;
  bool neg = false;
  if (i < len && (s[i] == '+' || s[i] == '-'))
    neg = s[i++] == '-';
  if (i == len)
    return AU_E_PARSE;
  uint64_t v = 0;
  const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return AU_E_PARSE;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (lim - d) / 10)
      return AU_E_PARSE;
    v = v * 10 + d;
  }
  if (neg)
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  else
    *out = (int64_t)v;
  return 0;
}

bool au_str_is_blank_or_dash(const char *s, size_t len) {
  if (!s)
    return true;
  trim(&s, &len);
  if (len == 0)
    return true;
  if (len == 1 && s[0] == '-')
    return true;
  if (len == 2 && lower((unsigned char)s[0]) == 'n' && lower((unsigned char)s[1]) == 'a')
    return true;
  if (len == 3 && lower((unsigned char)s[0]) == 'n' && s[1] == '/' &&
      lower((unsigned char)s[2]) == 'a')
    return true;
  return false;
}
