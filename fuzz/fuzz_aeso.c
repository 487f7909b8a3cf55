/* fuzz_aeso.c - the AESO pool price parser on arbitrary bodies. */
#include "core/au.h"
#include "core/batch.h"
#include "core/err.h"
#include "sources/source.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const struct au_source_ops *src;
  static const struct au_table_def *tbl;
  if (!src && au_table_find("aeso.pool_price", &src, &tbl, NULL) != 0)
    return 0;
  struct au_opts opts = {0};
  struct au_source_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.src = src;
  ctx.table = tbl;
  ctx.opts = &opts;
  struct au_batch *b = au_batch_new(tbl->schema, 64);
  struct au_request req;
  memset(&req, 0, sizeof(req));
  struct au_response resp = {200, (const char *)data, size, "application/json"};
  struct au_reqlist more = {0};
  struct au_err err = AU_ERR_INIT;
  int rc = src->parse(&ctx, &req, &resp, b, &more, &err);
  if (rc != 0 && rc != AU_E_NODATA && err.code == 0)
    __builtin_trap(); /* every failure must explain itself */
  au_reqlist_release(&more);
  au_batch_free(b);
  return 0;
}
