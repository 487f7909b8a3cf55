/* fuzz_csv.c - libFuzzer target for the push CSV parser. The first byte picks the chunk
 * size; the rest is fed in chunks, then in one piece, and both runs must agree (record
 * count, field bytes hash, result code). Fields also go through the number helpers. */
#include "core/au.h"
#include "parse/csv.h"

#include <stdlib.h>
#include <string.h>

struct acc {
  uint64_t rows, hash;
  int hdr_idx;
};

static int on_row(void *arg, const struct au_csv_row *row, struct au_err *err) {
  struct acc *a = arg;
  a->rows++;
  a->hash = a->hash * 1099511628211ull ^ row->line ^ (row->row << 20) ^ row->nfields;
  for (size_t i = 0; i < row->nfields; i++) {
    if (row->fields[i][row->lens[i]] != 0)
      __builtin_trap();
    for (size_t k = 0; k < row->lens[i]; k++)
      a->hash = (a->hash ^ (unsigned char)row->fields[i][k]) * 1099511628211ull;
    a->hash ^= 0x9e3779b97f4a7c15ull;
    double d;
    int64_t v;
    if (au_parse_double(row->fields[i], row->lens[i], &d) == 0 && d != d)
      __builtin_trap(); /* never NaN */
    (void)au_parse_int64(row->fields[i], row->lens[i], &v);
    (void)au_str_is_blank_or_dash(row->fields[i], row->lens[i]);
  }
  if (row->row == 1)
    a->hdr_idx = au_csv_header_index(row, "mw", AU_CSV_LOOSE);
  return 0;
}

static int run(const char *d, size_t n, size_t chunk, struct acc *a, struct au_err *err) {
  struct au_csv_limits lim = {4096, 256, 100000};
  struct au_csv *p = au_csv_new(&lim, ',', on_row, a);
  int rc = 0;
  for (size_t off = 0; off < n && !rc; off += chunk)
    rc = au_csv_feed(p, d + off, n - off < chunk ? n - off : chunk, err);
  if (!rc)
    rc = au_csv_finish(p, err);
  au_csv_free(p);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t chunk = (size_t)data[0] % 64 + 1;
  const char *d = (const char *)data + 1;
  size_t n = size - 1;
  struct acc a1 = {0}, a2 = {0};
  struct au_err e1 = AU_ERR_INIT, e2 = AU_ERR_INIT;
  int rc1 = run(d, n, chunk, &a1, &e1);
  int rc2 = run(d, n, n ? n : 1, &a2, &e2);
  if (rc1 != rc2 || a1.rows != a2.rows || a1.hash != a2.hash || a1.hdr_idx != a2.hdr_idx ||
      strcmp(e1.msg, e2.msg) != 0)
    __builtin_trap();
  if (rc1 && !e1.msg[0])
    __builtin_trap(); /* every error has a message */
  return 0;
}
