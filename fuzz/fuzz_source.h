/* fuzz_source.h - the body of the libFuzzer targets for the SPP and NYISO parsers (CSV
 * responses, per-table options): a target defines FUZZ_SOURCE (the source name) and
 * FUZZ_EXACT_IDENTITY (1 where the parser derives a component, so lmp = energy + congestion
 * + loss holds up to rounding), then includes this file. The first input byte picks the
 * table, the location kind (0x10), the request cookie (0x20) and a 404 status (0x40); the
 * rest is the response body. Any return code is fine; crashes, leaks, UB and an error
 * without a message are not. */
#ifndef AU_FUZZ_SOURCE_H
#define AU_FUZZ_SOURCE_H
#include "core/au.h"
#include "core/err.h"
#include "core/time.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <math.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const struct au_source_ops *src = au_source_find(FUZZ_SOURCE);
  if (!src)
    __builtin_trap();
  uint8_t sel = data[0];
  const struct au_table_def *t = &src->tables[sel % src->ntables];
  struct au_opts opts = {0};
  if (sel & 0x10)
    au_opts_set(&opts, "location_kind", "gen");
  struct au_source_ctx ctx = {src, t, "http://fuzz", &opts, au_time_utc(2024, 11, 4, 12, 0, 0),
                              au_time_utc(2024, 11, 4, 12, 0, 0), NULL, NULL};
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.win_start = au_time_utc(2024, 11, 3, 4, 0, 0);
  req.win_end = req.win_start + 25 * AU_HOUR;
  req.cookie = (sel & 0x20) ? 1 : 0;
  struct au_response resp = {(sel & 0x40) ? 404 : 200, (const char *)data + 1, size - 1, "text/csv"};
  struct au_batch *b = au_batch_new(t->schema, 64);
  struct au_reqlist more = {0};
  struct au_err err = AU_ERR_INIT;
  int rc = src->parse(&ctx, &req, &resp, b, &more, &err);
  if (rc == 0 && t->schema == &au_lmp_schema)
    for (size_t r = 0; r < b->nrows; r++) {
      if (au_batch_is_null(b, r, AU_LMP_LMP) || au_batch_is_null(b, r, AU_LMP_ENERGY) ||
          au_batch_is_null(b, r, AU_LMP_CONG) || au_batch_is_null(b, r, AU_LMP_LOSS))
        continue;
      double l = au_batch_double(b, r, AU_LMP_LMP), s = au_batch_double(b, r, AU_LMP_ENERGY) +
                                                        au_batch_double(b, r, AU_LMP_CONG) +
                                                        au_batch_double(b, r, AU_LMP_LOSS);
      if (isfinite(l) && isfinite(s) && fabs(l) < 1e12 && fabs(s) < 1e12 && FUZZ_EXACT_IDENTITY &&
          fabs(l - s) > 1e-9 * (1 + fabs(l) + fabs(au_batch_double(b, r, AU_LMP_ENERGY)) +
                                     fabs(au_batch_double(b, r, AU_LMP_CONG)) + fabs(au_batch_double(b, r, AU_LMP_LOSS))))
        __builtin_trap();
    }
  if (rc != 0 && rc != AU_E_NODATA && err.msg[0] == 0)
    __builtin_trap(); /* every error carries a message */
  au_reqlist_release(&more);
  au_batch_free(b);
  au_opts_release(&opts);
  return 0;
}

#endif
