/* fuzz_miso.c - libFuzzer target for the MISO parsers: the market-report CSV (the first
 * byte's low bits pick a report table, a day and the status) and the Data Exchange JSON
 * (5-minute LMP and actual load). Checks: no crash or leak, every error has a message,
 * report rows sit on the requested EST day's 24 hours, follow-up pages advance. */
#include "core/au.h"
#include "core/err.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tables[] = {"miso.lmp_da_hourly", "miso.lmp_rt_hourly_final", "miso.lmp_rt_5min",
                                     "miso.load_actual"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const struct au_source_ops *src;
  const struct au_table_def *t;
  struct au_err err = AU_ERR_INIT;
  int ti = data[0] & 3;
  if (au_table_find(tables[ti], &src, &t, &err))
    __builtin_trap();
  struct au_opts opts = {0};
  au_opts_set(&opts, "api_key", "k");
  au_opts_set(&opts, "api_base", "http://x/pricing/v1");
  au_opts_set(&opts, "lgi_base", "http://x/lgi/v1");
  au_opts_set(&opts, "geo_resolution", (data[0] & 4) ? "localResourceZone" : "region");
  if (data[0] & 8)
    au_opts_set(&opts, "nodes", "ILLINOIS.HUB,MICHIGAN.HUB");
  struct au_source_ctx ctx = {.src = src, .table = t, .base_url = "http://x/marketreports", .opts = &opts,
                              .now = au_time_utc(2026, 7, 20, 0, 0, 0), .ingestion_time = 1};
  int64_t day = (data[0] & 16) ? au_days_from_civil(2026, 7, 14) : au_days_from_civil(2024, 3, 10);
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.url = "http://x/pricing/v1/real-time/2026-07-14/lmp-expost?preliminaryFinal=Final&timeResolution=5min";
  req.cookie = day;
  req.cookie2 = 1;
  snprintf(req.label, sizeof(req.label), "fuzz");
  char *body = malloc(size);
  memcpy(body, data + 1, size - 1);
  struct au_response resp = {(data[0] & 32) ? 404 : 200, body, size - 1, "text/csv"};
  struct au_batch *b = au_batch_new(t->schema, 16);
  struct au_reqlist more = {0};
  int rc = src->parse(&ctx, &req, &resp, b, &more, &err);
  if (rc && rc != AU_E_NODATA && !err.msg[0])
    __builtin_trap();
  au_time d0 = day * AU_DAY + 5 * AU_HOUR;
  for (size_t r = 0; rc == 0 && ti < 2 && r < b->nrows; r++) {
    au_time s = au_batch_int(b, r, 0);
    if (s < d0 || s >= d0 + AU_DAY || (s - d0) % AU_HOUR)
      __builtin_trap();
  }
  for (size_t i = 0; rc == 0 && i < more.n; i++)
    if (more.v[i].cookie2 <= req.cookie2)
      __builtin_trap();
  au_reqlist_release(&more);
  au_batch_free(b);
  free(body);
  au_opts_release(&opts);
  return 0;
}
