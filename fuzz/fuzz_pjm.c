/* fuzz_pjm.c - libFuzzer target for the PJM Data Miner 2 parser. The first byte picks the
 * table (LMP with or without the archive pnode filter, metered load, forecast) and the
 * status; the rest is the response body, parsed on a fake request. Checks: no crash or
 * leak, every error has a message, no rows are left behind an error by more than the
 * parser appended, and follow-up pages carry a startRow beyond the request's. Also feeds
 * the envelope scanner. */
#include "core/au.h"
#include "core/err.h"
#include "sources/canonical.h"
#include "sources/pjm.h"
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tables[] = {"pjm.lmp_da_hourly", "pjm.lmp_rt_5min", "pjm.load_metered", "pjm.load_forecast"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const struct au_source_ops *src;
  const struct au_table_def *t;
  struct au_err err = AU_ERR_INIT;
  if (au_table_find(tables[data[0] & 3], &src, &t, &err))
    __builtin_trap();
  struct au_opts opts = {0};
  au_opts_set(&opts, "api_key", "k");
  if (data[0] & 4)
    au_opts_set(&opts, "nodes", "1,51217");
  struct au_source_ctx ctx = {.src = src, .table = t, .base_url = "http://x/api/v1", .opts = &opts,
                              .now = 1700000000LL * AU_USEC, .ingestion_time = 1};
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.url = "http://x/api/v1/da_hrl_lmps?rowCount=50000&fields=a&datetime_beginning_utc=x&startRow=1";
  req.cookie = (data[0] & 8) ? 50001 : 1;
  req.cookie2 = ((data[0] & 4) ? 1 : 0) | ((int64_t)50000 << 1);
  snprintf(req.label, sizeof(req.label), "fuzz");
  char *body = malloc(size);
  memcpy(body, data + 1, size - 1);
  struct au_response resp = {(data[0] & 16) ? 400 : 200, body, size - 1, "application/json"};
  struct au_batch *b = au_batch_new(t->schema, 16);
  struct au_reqlist more = {0};
  int rc = src->parse(&ctx, &req, &resp, b, &more, &err);
  if (rc && rc != AU_E_NODATA && !err.msg[0])
    __builtin_trap();
  for (size_t i = 0; rc == 0 && i < more.n; i++)
    if (more.v[i].cookie <= req.cookie || !strstr(more.v[i].url, "&startRow="))
      __builtin_trap();
  for (size_t r = 0; rc == 0 && r < b->nrows; r++)
    if (au_batch_is_null(b, r, 0) || au_batch_int(b, r, 1) <= au_batch_int(b, r, 0))
      __builtin_trap(); /* every row has a start and ends after it */
  au_reqlist_release(&more);
  au_batch_free(b);
  struct au_pjm_scan sc;
  au_err_clear(&err);
  rc = au_pjm_scan_envelope(body, size - 1, "datetime_beginning_utc", &sc, &err);
  if (rc && !err.msg[0])
    __builtin_trap();
  free(body);
  au_opts_release(&opts);
  return 0;
}
