/* fuzz_ieso.c - libFuzzer target for the IESO CSV and XML report parsers. The first byte
 * picks the table; the request is the one the planner makes for a fixed EST day (or year),
 * the rest of the input is the response body. Checks: no crash, empty = AU_E_NODATA, rows
 * inside the request window for the yearly files, errors carry a message. */
#include "core/au.h"
#include "core/err.h"
#include "core/time.h"
#include "sources/source.h"

#include <string.h>

static const char *const tables[] = {"ieso.lmp_da_hourly",           "ieso.lmp_rt_5min",
                                     "ieso.ontario_zonal_da_hourly", "ieso.ontario_zonal_rt_5min",
                                     "ieso.hoep_hourly",             "ieso.load_actual"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const struct au_source_ops *src;
  const struct au_table_def *t;
  struct au_err err = AU_ERR_INIT;
  if (au_table_find(tables[data[0] % AU_ARRAY_LEN(tables)], &src, &t, &err))
    __builtin_trap();
  struct au_opts opts = {0};
  struct au_source_ctx ctx = {.src = src, .table = t, .base_url = "http://fuzz", .opts = &opts};
  struct au_reqlist q = {0};
  au_time a = au_time_utc(2025, 11, 2, 5, 0, 0);
  if (src->plan(&ctx, a, a + AU_DAY, &q, &err) || q.n == 0)
    __builtin_trap();
  const struct au_request *req = &q.v[(data[0] >> 3) % q.n];
  struct au_response resp = {200, (const char *)data + 1, size - 1, "text/plain"};
  struct au_batch *b = au_batch_new(t->schema, 16);
  struct au_reqlist more = {0};
  int rc = src->parse(&ctx, req, &resp, b, &more, &err);
  if (rc == 0 && b->nrows == 0)
    __builtin_trap();
  if (rc != 0 && rc != AU_E_NODATA && err.msg[0] == 0)
    __builtin_trap();
  if (rc == 0 && (data[0] % AU_ARRAY_LEN(tables)) >= 4)
    for (size_t r = 0; r < b->nrows; r++) {
      au_time s = au_batch_int(b, r, 0);
      if (s < req->win_start || s >= req->win_end)
        __builtin_trap();
    }
  au_reqlist_release(&more);
  au_reqlist_release(&q);
  au_batch_free(b);
  return 0;
}
