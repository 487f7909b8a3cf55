/* bench_pg.c - COPY + merge of canonical LMP rows into the PostgreSQL store.
 *
 *   bench_pg URL [ROWS] [BATCH] [CSV_OUT]
 *
 * Phase 1 merges ROWS fresh rows (1000 nodes x hourly intervals), phase 2 the same keys
 * again with a newer ingestion_time and changed prices (all updates). Each batch is one
 * transaction with a watermark, as in `aurum sync`, with the per-row outcome array.
 * Prints rows/s per phase and the peak RSS. With CSV_OUT, also writes the phase-1 rows
 * as CSV (for the `psql \copy` ceiling in bench_pg.sh). */
#include "core/au.h"
#include "core/batch.h"
#include "core/err.h"
#include "core/time.h"
#include "sources/canonical.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void fill(struct au_batch *b, size_t from, size_t n, au_time ingest, double bump) {
  static const au_time t0 = 1704067200LL * AU_USEC; /* 2024-01-01T00:00:00Z */
  char loc[32], name[48];
  for (size_t i = from; i < from + n; i++) {
    size_t node = i % 1000, hour = i / 1000;
    au_batch_add_row(b);
    au_time st = t0 + (au_time)hour * AU_HOUR;
    au_batch_set_time(b, AU_LMP_START, st);
    au_batch_set_time(b, AU_LMP_END, st + AU_HOUR);
    int ll = snprintf(loc, sizeof(loc), "NODE_%04zu", node);
    int nl = snprintf(name, sizeof(name), "Node %zu (bench)", node);
    au_batch_set_text(b, AU_LMP_LOC_ID, loc, (size_t)ll);
    au_batch_set_text(b, AU_LMP_LOC_NAME, name, (size_t)nl);
    au_batch_set_text(b, AU_LMP_LOC_TYPE, "NODE", 4);
    double e = 20.0 + (double)(hour % 24) * 1.25 + bump;
    double c = (double)(node % 7) * 0.37 - 1.0;
    double l = (double)(node % 5) * 0.11;
    au_batch_set_double(b, AU_LMP_ENERGY, e);
    au_batch_set_double(b, AU_LMP_CONG, c);
    au_batch_set_double(b, AU_LMP_LOSS, l);
    au_batch_set_double(b, AU_LMP_LMP, e + c + l);
    au_lmp_set_meta(b, "BENCH", "DAM", "USD/MWh", "America/New_York", 60, ingest);
  }
}

static void write_csv(const char *path, size_t rows) {
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    exit(1);
  }
  struct au_batch *b = au_batch_new(&au_lmp_schema, 10000);
  char buf[128];
  for (size_t done = 0; done < rows;) {
    size_t n = rows - done < 10000 ? rows - done : 10000;
    au_batch_clear(b);
    fill(b, done, n, 1704153600LL * AU_USEC, 0);
    for (size_t r = 0; r < b->nrows; r++) {
      for (int c = 0; c < AU_LMP_NCOLS; c++) {
        const char *out;
        size_t len;
        if (c)
          fputc(',', f);
        if (au_batch_cell_str(b, r, c, buf, sizeof(buf), &out, &len))
          fwrite(out, 1, len, f);
      }
      fputc('\n', f);
    }
    done += n;
  }
  au_batch_free(b);
  fclose(f);
}

static double phase(struct au_store *s, const struct au_table_ref *ref, size_t rows, size_t bsz,
                    au_time ingest, double bump, struct au_merge_stats *tot) {
  struct au_err err = AU_ERR_INIT;
  struct au_batch *b = au_batch_new(&au_lmp_schema, bsz);
  uint8_t *oc = malloc(bsz);
  double gen = 0, t0 = au_mono();
  for (size_t done = 0; done < rows;) {
    size_t n = rows - done < bsz ? rows - done : bsz;
    double g0 = au_mono();
    au_batch_clear(b);
    fill(b, done, n, ingest, bump);
    gen += au_mono() - g0;
    struct au_merge_stats ms = {0, 0, 0, oc};
    struct au_state_update up = {ref->key, au_batch_int(b, b->nrows - 1, AU_LMP_START), NULL};
    if (s->ops->begin(s, &err) || s->ops->write(s, ref, b, &ms, &err) ||
        s->ops->commit(s, &up, &err)) {
      fprintf(stderr, "bench_pg: %s\n", err.msg);
      exit(1);
    }
    tot->inserted += ms.inserted;
    tot->updated += ms.updated;
    tot->unchanged += ms.unchanged;
    done += n;
  }
  double took = au_mono() - t0 - gen; /* batch generation excluded */
  free(oc);
  au_batch_free(b);
  return took;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_pg URL [ROWS] [BATCH] [CSV_OUT]\n");
    return 2;
  }
  size_t rows = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
  size_t bsz = argc > 3 ? strtoull(argv[3], NULL, 10) : 100000;
  if (argc > 4)
    write_csv(argv[4], rows);
  struct au_err err = AU_ERR_INIT;
  struct au_store *s;
  if (au_store_open(argv[1], &s, &err)) {
    fprintf(stderr, "bench_pg: %s\n", err.msg);
    return 1;
  }
  const struct au_table_ref ref = {"bench.lmp", "bench_lmp", &au_lmp_schema, AU_LMP_INGEST};
  if (s->ops->ensure_table(s, &ref, &err)) {
    fprintf(stderr, "bench_pg: %s\n", err.msg);
    return 1;
  }
  struct au_merge_stats a = {0}, u = {0};
  double t1 = phase(s, &ref, rows, bsz, 1704153600LL * AU_USEC, 0, &a);
  double t2 = phase(s, &ref, rows, bsz, 1704240000LL * AU_USEC, 0.5, &u);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("fresh insert: %zu rows in %.2f s = %.0f rows/s (inserted %llu)\n", rows, t1, rows / t1,
         (unsigned long long)a.inserted);
  printf("all updates:  %zu rows in %.2f s = %.0f rows/s (updated %llu)\n", rows, t2, rows / t2,
         (unsigned long long)u.updated);
  printf("batch size %zu rows; peak RSS %.1f MiB\n", bsz, ru.ru_maxrss / 1024.0);
  au_store_close(s);
  return a.inserted == rows && u.updated == rows ? 0 : 1;
}
