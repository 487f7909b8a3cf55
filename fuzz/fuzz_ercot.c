/* fuzz_ercot.c - libFuzzer target for the ERCOT parsers: the first byte picks the table and
 * the response kind (API JSON page, MIS document list, MIS CSV-in-ZIP / CSV report); the rest
 * is the body of a fake request. Rows must be well-formed whatever the input. */
#include "core/au.h"
#include "core/batch.h"
#include "core/err.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const tables[] = {"spp_rt_15min", "spp_da_hourly", "lmp_sced", "load_actual_weather_zone",
                                     "load_forecast"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  unsigned sel = data[0];
  const struct au_source_ops *src;
  const struct au_table_def *t;
  struct au_err err = AU_ERR_INIT;
  char q[64] = "ercot.";
  strcat(q, tables[sel % 5]);
  if (au_table_find(q, &src, &t, &err))
    __builtin_trap();
  struct au_opts opts = {0};
  au_opts_set(&opts, "id_token", "tok");
  au_opts_set(&opts, "api_key", "key");
  au_opts_set(&opts, "mis_max_docs", "50");
  struct au_source_ctx ctx = {src, t, "http://x/api/public-reports", &opts, 0, 0, NULL, NULL};
  if (src->init(&ctx, &err))
    __builtin_trap();
  struct au_batch *b = au_batch_new(t->schema, 64);
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.cookie2 = (sel / 5) % 3;           /* 0 API page, 1 MIS list, 2 MIS report */
  req.cookie = req.cookie2 == 2 ? 1700000000LL * 1000000 : 1;
  req.win_start = 1699000000LL * 1000000;
  req.win_end = req.win_start + 86400LL * 1000000 * 3;
  char *body = malloc(size);
  memcpy(body, data + 1, size - 1);
  struct au_response resp = {200, body, size - 1, NULL};
  struct au_reqlist more = {0};
  int rc = src->parse(&ctx, &req, &resp, b, &more, &err);
  if (rc != 0 && rc != AU_E_NODATA && err.code == 0)
    __builtin_trap(); /* every failure carries a message */
  for (size_t r = 0; r < b->nrows; r++) { /* intervals are ordered and keyed */
    if (b->schema == &au_lmp_schema &&
        (au_batch_int(b, r, AU_LMP_END) <= au_batch_int(b, r, AU_LMP_START) || au_batch_is_null(b, r, AU_LMP_LOC_ID)))
      __builtin_trap();
    if (b->schema == &au_load_schema && au_batch_int(b, r, AU_LOAD_END) <= au_batch_int(b, r, AU_LOAD_START))
      __builtin_trap();
  }
  au_reqlist_release(&more);
  au_batch_free(b);
  free(body);
  src->fini(&ctx);
  au_opts_release(&opts);
  return 0;
}
