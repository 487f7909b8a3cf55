/* bench_sqlite.c - the SQLite store's write path: 1,000,000 canonical LMP rows (2,000 nodes x
 * 500 hours) in batches of 50,000, each batch one transaction, into a fresh database
 * (/tmp/aurum-bench-sqlite.db or argv[1]). Rows arrive time-major, nodes shuffled within
 * the hour (as most operators publish them); the store writes them in primary-key order.
 * Prints seconds and rows/s of the writes (row generation excluded). */
#include "core/au.h"
#include "core/time.h"
#include "core/err.h"
#include "sources/canonical.h"
#include "store/store.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static void fill(struct au_batch *b, size_t first, size_t n) {
  au_batch_clear(b);
  char node[32];
  au_time t0 = au_time_utc(2024, 1, 1, 0, 0, 0), ing = au_time_utc(2024, 6, 1, 0, 0, 0) + 123456;
  for (size_t i = first; i < first + n; i++) {
    au_batch_add_row(b);
    int nl = snprintf(node, sizeof(node), "NODE_%05zu_APND", (i * 7) % 2000);
    au_time t = t0 + (au_time)(i / 2000) * AU_HOUR;
    au_batch_set_time(b, AU_LMP_START, t);
    au_batch_set_time(b, AU_LMP_END, t + AU_HOUR);
    au_batch_set_text(b, AU_LMP_LOC_ID, node, (size_t)nl);
    au_batch_set_text(b, AU_LMP_LOC_TYPE, "APNODE", 6);
    long cents = 2000 + (long)((i * 7919) % 10000);
    au_batch_set_double(b, AU_LMP_LMP, (double)cents / 100.0);
    au_batch_set_double(b, AU_LMP_ENERGY, (double)(cents - 325) / 100.0);
    au_batch_set_double(b, AU_LMP_CONG, 2.5);
    au_batch_set_double(b, AU_LMP_LOSS, 0.75);
    au_lmp_set_meta(b, "CAISO", "DAM", "USD/MWh", "America/Los_Angeles", 60, ing);
  }
}
int main(int argc, char **argv) {
  const char *db = argc > 1 ? argv[1] : "/tmp/aurum-bench-sqlite.db";
  char path[600], url[620];
  const char *sfx[] = {"", "-wal", "-shm"};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof(path), "%s%s", db, sfx[i]);
    unlink(path);
  }
  snprintf(url, sizeof(url), "sqlite:%s", db);
  struct au_store *s;
  struct au_err e = AU_ERR_INIT;
  if (au_store_open(url, &s, &e)) { puts(e.msg); return 1; }
  struct au_table_ref ref = {"caiso.lmp_dam", "caiso_lmp_dam", &au_lmp_schema, AU_LMP_INGEST};
  if (s->ops->ensure_table(s, &ref, &e)) { puts(e.msg); return 1; }
  size_t N = 1000000, B = 50000;
  struct au_batch *b = au_batch_new(&au_lmp_schema, B);
  double w = 0;
  for (size_t d = 0; d < N; d += B) {
    fill(b, d, B);
    double t0 = au_mono();
    struct au_merge_stats ms = {0};
    if (s->ops->begin(s, &e) || s->ops->write(s, &ref, b, &ms, &e) || s->ops->commit(s, NULL, &e)) { puts(e.msg); return 1; }
    w += au_mono() - t0;
  }
  printf("bench_sqlite: %zu LMP rows in batches of %zu: writes %.2f s = %.0f rows/s\n", N, B, w, (double)N / w);
  au_store_close(s);
  au_batch_free(b);
  return 0;
}
