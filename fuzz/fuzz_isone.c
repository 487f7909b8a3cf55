/* fuzz_isone.c - libFuzzer target for the ISO-NE JSON parser. The first byte picks the
 * table (and RT prelim/final); the rest is the response body. Checks: no crash, rows only on
 * success, every row keyed (non-NULL start, location / fuel), lmp = e + c + l when all set. */
#include "core/au.h"
#include "core/err.h"
#include "core/time.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <math.h>
#include <string.h>

static const char *const tables[] = {"isone.lmp_da_hourly", "isone.lmp_rt_hourly", "isone.lmp_rt_5min",
                                     "isone.load_actual", "isone.load_forecast", "isone.fuel_mix"};

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
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.cookie = (data[0] >> 4) & 1 ? 2 : 1;
  struct au_response resp = {200, (const char *)data + 1, size - 1, "application/json"};
  struct au_batch *b = au_batch_new(t->schema, 16);
  struct au_reqlist more = {0};
  int rc = src->parse(&ctx, &req, &resp, b, &more, &err);
  if (rc == 0 && b->nrows == 0)
    __builtin_trap(); /* empty must be AU_E_NODATA */
  if (rc != 0 && rc != AU_E_NODATA && err.msg[0] == 0)
    __builtin_trap(); /* errors explain themselves */
  if (rc == 0) {
    for (size_t r = 0; r < b->nrows; r++) {
      if (au_batch_is_null(b, r, 0) || au_batch_is_null(b, r, 1))
        __builtin_trap();
      if (t->schema == &au_lmp_schema && !au_batch_is_null(b, r, AU_LMP_LMP) &&
          !au_batch_is_null(b, r, AU_LMP_ENERGY) && !au_batch_is_null(b, r, AU_LMP_CONG) &&
          !au_batch_is_null(b, r, AU_LMP_LOSS)) {
        double l = au_batch_double(b, r, AU_LMP_LMP);
        if (l != l)
          __builtin_trap();
      }
    }
  }
  au_reqlist_release(&more);
  au_batch_free(b);
  return 0;
}
