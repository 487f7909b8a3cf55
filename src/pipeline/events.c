/* events.c - `aurum extract --format events`: the seed connectors' normalized price record,
 * one JSON line per price component of every canonical LMP row:
 *
 *   {"event_id": "<uuid v5>", "occurred_at": 1704096000000000, "tenant_id": "default",
 *    "schema_version": "1.0", "producer": "aurum/0.1.0", "market": "CAISO",
 *    "node": "TH_SP15_GEN-APND", "lmp_type": "LMP", "price": 35.1, "market_run_id": "DAM",
 *    "interval_start": "2024-01-01T08:00:00Z",
 *    "extraction_metadata": {"extraction_time": "2024-...Z", "source": "caiso", "version": "0.1.0"}}
 *
 * lmp_type uses CAISO's component names: LMP (total), MCE (energy), MCC (congestion), MCL
 * (loss), MGHG (greenhouse gas); NULL components are skipped. event_id is the v5 UUID (aurum
 * namespace) of "<source>|<market_run_id>|<node>|<interval_start>|<lmp_type>", so a re-run
 * yields the same ids. occurred_at is the interval start in microseconds since the epoch.
 * tenant_id comes from AURUM_TENANT_ID (default "default"). Works for every table whose
 * schema is the canonical LMP row; other tables answer AU_E_UNSUPPORTED. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "core/uuid.h"
#include "pipeline/config.h"
#include "sources/canonical.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_SCHEMA_VERSION "1.0"

int au_extract_events_write(const struct au_table_cfg *t, const struct au_batch *b, FILE *f, struct au_err *err);

static const struct {
  int col;
  const char *name;
} comps[] = {{AU_LMP_LMP, "LMP"}, {AU_LMP_ENERGY, "MCE"}, {AU_LMP_CONG, "MCC"}, {AU_LMP_LOSS, "MCL"},
             {AU_LMP_GHG, "MGHG"}};

int au_extract_events_write(const struct au_table_cfg *t, const struct au_batch *b, FILE *f, struct au_err *err) {
  if (b->schema != &au_lmp_schema)
    return au_err_set(err, AU_E_UNSUPPORTED, "--format events needs a table with the canonical LMP row (%s has not)",
                      t ? t->qualified : "this table");
  const char *tenant = getenv("AURUM_TENANT_ID");
  if (!tenant || !*tenant)
    tenant = "default";
  const char *source = t && t->src ? t->src->name : "aurum";
  struct au_buf line = AU_BUF_INIT(0), key = AU_BUF_INIT(0);
  int rc = 0;
  for (size_t r = 0; r < b->nrows && !rc; r++) {
    size_t nlen, mlen;
    const char *node = au_batch_text(b, r, AU_LMP_LOC_ID, &nlen);
    const char *mkt = au_batch_text(b, r, AU_LMP_MARKET, &mlen);
    const char *iso = au_batch_text(b, r, AU_LMP_ISO, NULL);
    au_time start = au_batch_int(b, r, AU_LMP_START);
    au_time ing = au_batch_int(b, r, AU_LMP_INGEST);
    char ts[32], its[32];
    au_time_fmt(start, ts);
    au_time_fmt_us(ing, its);
    for (size_t c = 0; c < AU_ARRAY_LEN(comps) && !rc; c++) {
      if (au_batch_is_null(b, r, comps[c].col))
        continue;
      char num[64];
      const char *v;
      size_t vlen;
      au_batch_cell_str(b, r, comps[c].col, num, sizeof(num), &v, &vlen);
      au_buf_reset(&key);
      char id[37];
      if (au_buf_printf(&key, "%s|%.*s|%.*s|%s|%s", source, (int)mlen, mkt, (int)nlen, node, ts, comps[c].name)) {
        rc = au_err_set(err, AU_E_NOMEM, "out of memory");
        break;
      }
      au_uuid_v5(au_uuid_ns_aurum, key.ptr, key.len, id);
      au_buf_reset(&line);
      if (au_buf_printf(&line, "{\"event_id\":\"%s\",\"occurred_at\":%" PRId64 ",\"tenant_id\":", id, (int64_t)start) ||
          au_buf_add_json_str(&line, tenant, strlen(tenant)) ||
          au_buf_printf(&line, ",\"schema_version\":\"" EVENT_SCHEMA_VERSION "\",\"producer\":\"aurum/" AU_VERSION
                               "\",\"market\":") ||
          au_buf_add_json_str(&line, iso, strlen(iso)) || au_buf_adds(&line, ",\"node\":") ||
          au_buf_add_json_str(&line, node, nlen) ||
          au_buf_printf(&line, ",\"lmp_type\":\"%s\",\"price\":%.*s,\"market_run_id\":", comps[c].name, (int)vlen, v) ||
          au_buf_add_json_str(&line, mkt, mlen) ||
          au_buf_printf(&line,
                        ",\"interval_start\":\"%s\",\"extraction_metadata\":{\"extraction_time\":\"%s\","
                        "\"source\":",
                        ts, its) ||
          au_buf_add_json_str(&line, source, strlen(source)) ||
          au_buf_adds(&line, ",\"version\":\"" AU_VERSION "\"}}\n")) {
        rc = au_err_set(err, AU_E_NOMEM, "out of memory formatting events");
        break;
      }
      if (fwrite(line.ptr, 1, line.len, f) != line.len)
        rc = au_err_set(err, AU_E_IO, "cannot write events");
    }
  }
  au_buf_release(&line);
  au_buf_release(&key);
  return rc;
}
