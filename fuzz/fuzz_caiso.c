/* fuzz_caiso.c - the CAISO OASIS parser on arbitrary responses. The first byte picks the
 * table (LMP pivot, load forecast, AS) and, if the rest is not a ZIP, the input is wrapped in
 * one (as CSV or XML member), so both the ZIP layer and the report parsers are exercised. */
#include "core/au.h"
#include "core/batch.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "parse/zip.h"
#include "parse/zipwrite.h"
#include "sources/source.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const tables[] = {"caiso.lmp_dam", "caiso.lmp_rtm", "caiso.load_forecast", "caiso.as_dam"};
  if (size < 1)
    return 0;
  const char *table = tables[data[0] % 4];
  bool xml = (data[0] >> 2) & 1;
  data++;
  size--;
  const struct au_source_ops *src;
  const struct au_table_def *tbl;
  if (au_table_find(table, &src, &tbl, NULL) != 0)
    return 0;
  struct au_opts opts = {0};
  if (xml)
    au_opts_set(&opts, "oasis_result_format", "1");
  struct au_source_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.src = src;
  ctx.table = tbl;
  ctx.base_url = "http://sim/oasisapi";
  ctx.opts = &opts;
  struct au_err err = AU_ERR_INIT;
  if (src->init && src->init(&ctx, &err) != 0) {
    au_opts_release(&opts);
    return 0;
  }
  struct au_buf zip = AU_BUF_INIT(0);
  const char *body = (const char *)data;
  size_t len = size;
  if (!au_zip_looks_like(data, size)) {
    const char *name = xml ? "fuzz.xml" : "fuzz.csv";
    const char *datas[1] = {(const char *)data};
    const char *names[1] = {name};
    size_t lens[1] = {size};
    struct au_err zerr = AU_ERR_INIT;
    if (au_zipw_build(&zip, names, datas, lens, 1, &zerr) == 0) {
      body = zip.ptr;
      len = zip.len;
    }
  }
  struct au_batch *b = au_batch_new(tbl->schema, 64);
  struct au_request req;
  memset(&req, 0, sizeof(req));
  req.win_start = au_time_utc(2024, 1, 1, 8, 0, 0);
  req.win_end = req.win_start + 2 * AU_DAY;
  struct au_response resp = {200, body, len, "application/x-zip-compressed"};
  struct au_reqlist more = {0};
  au_err_clear(&err);
  int rc = src->parse(&ctx, &req, &resp, b, &more, &err);
  if (rc != 0 && rc != AU_E_NODATA && rc != AU_E_SPLIT && err.code == 0)
    __builtin_trap(); /* every failure must explain itself */
  au_reqlist_release(&more);
  au_batch_free(b);
  au_buf_release(&zip);
  if (src->fini)
    src->fini(&ctx);
  au_opts_release(&opts);
  return 0;
}
