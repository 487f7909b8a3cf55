/* miso.c - Midcontinent ISO: LMPs from the anonymous market-report CSVs, 5-minute LMPs and
 * actual load from the keyed Data Exchange APIs.
 *
 * Market reports (no auth), one file per market day:
 *   GET {base}/{YYYYMMDD}_{da_expost_lmp|da_exante_lmp|rt_lmp_final}.csv
 *     Day Ahead Market ExPost LMPs            <- title
 *     07/14/2026                              <- market day
 *                                             <- blank
 *     ,,,All Hours-Ending are Eastern Standard Time (EST)
 *     Node,Type,Value,HE 1,...,HE 24
 *     ILLINOIS.HUB,Hub,LMP,36.24,28.52,...    <- one row per node and Value (LMP, MCC, MLC)
 *   Hours are hour-ending in fixed EST (UTC-5) all year: every day has HE 1..24, no DST
 *   gap or repeat; HE h starts at 00:00 EST + (h-1) h = 05:00Z + (h-1) h. Numbers may lack
 *   the leading zero (".92", "-.67"). energy = LMP - MCC - MLC. A day that is not published
 *   is a 404 whose XML body says BlobNotFound: an empty window while the day may still be
 *   published (market day >= today EST - publish_lag_days), an error for older days.
 *
 * Data Exchange (Ocp-Apim-Subscription-Key; 100 calls/minute, 24,000/day per key):
 *   GET {api_base}/real-time/{YYYY-MM-DD}/lmp-expost?preliminaryFinal=..&timeResolution=5min
 *   GET {lgi_base}/real-time/{YYYY-MM-DD}/demand/actual?timeResolution=hourly&geoResolution=region
 *   {"data":[{"timeInterval":{"start":"2024-03-10 00:00:00.000","end":...},"node":..,"lmp":..,
 *   "mcc":..,"mec":..,"mlc":..}],"page":{"pageNumber":1,...,"lastPage":false}}; times EST.
 *   Later pages are pushed to `more` with pageNumber+1 until lastPage. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "parse/csv.h"
#include "parse/json.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MISO_ISO "MISO"
#define MISO_TZ "Etc/GMT+5" /* fixed EST, UTC-5, all year */
#define EST_OFFSET (5 * AU_HOUR)
#define MAX_NODES 200000

enum miso_kind { K_REPORT, K_API_LMP, K_API_LOAD };

struct miso_table {
  enum miso_kind kind;
  const char *report; /* file suffix */
  const char *market;
  int lag_days; /* default publish lag */
};

static const struct miso_table t_da = {K_REPORT, "da_expost_lmp", "DA_EXPOST", 0};
static const struct miso_table t_dax = {K_REPORT, "da_exante_lmp", "DA_EXANTE", 0};
static const struct miso_table t_rtf = {K_REPORT, "rt_lmp_final", "RT_FINAL", 7};
static const struct miso_table t_rt5 = {K_API_LMP, NULL, "RT5_EXPOST", 0};
static const struct miso_table t_load = {K_API_LOAD, NULL, "ACTUAL", 0};

static const struct au_option_def miso_opts[] = {
    {"api_key", AU_OPT_STR, NULL, "MISO_API_KEY",
     "Data Exchange subscription key, pricing product (lmp_rt_5min)", true},
    {"lgi_api_key", AU_OPT_STR, NULL, "MISO_LGI_API_KEY",
     "Data Exchange key, load/generation/interchange product (load_actual); default api_key", true},
    {"api_base", AU_OPT_STR, "https://apim.misoenergy.org/pricing/v1", "AURUM_MISO_API_BASE",
     "Data Exchange pricing base URL", false},
    {"lgi_base", AU_OPT_STR, "https://apim.misoenergy.org/lgi/v1", "AURUM_MISO_LGI_BASE",
     "Data Exchange load/generation/interchange base URL", false},
    {NULL, 0, NULL, NULL, NULL, false},
};
static const struct au_option_def report_opts[] = {
    {"nodes", AU_OPT_LIST, NULL, NULL, "node names to keep (all when unset)", false},
    {"publish_lag_days", AU_OPT_INT, NULL, NULL,
     "days after which a missing report file is an error, not an empty window", false},
    {NULL, 0, NULL, NULL, NULL, false},
};
static const struct au_option_def rt5_opts[] = {
    {"nodes", AU_OPT_LIST, NULL, NULL, "node names to keep (all when unset)", false},
    {"preliminary_final", AU_OPT_STR, "Final", NULL, "Preliminary or Final ex-post prices", false},
    {NULL, 0, NULL, NULL, NULL, false},
};
static const struct au_option_def load_opts[] = {
    {"geo_resolution", AU_OPT_STR, "region", NULL, "region or localResourceZone", false},
    {NULL, 0, NULL, NULL, NULL, false},
};

#define REPORT_TABLE(nm, desc, dest, p)                                                              \
  {.name = nm, .description = desc, .schema = &au_lmp_schema, .dest_table = dest,                    \
   .cursor_col = "interval_start_utc", .watermark_requires = "lmp", .trade_tz = MISO_TZ,             \
   .interval_minutes = 60, .default_batch_days = 1, .default_lookback_hours = 24,                    \
   .default_history_days = 7, .default_rate_delay = 0, .max_request_days = 1, .opts = report_opts, \
   .priv = p}

static const struct au_table_def miso_tables[] = {
    REPORT_TABLE("lmp_da_hourly", "Day-ahead ex-post hourly LMPs (market report da_expost_lmp)",
                 "miso_lmp_da_hourly", &t_da),
    REPORT_TABLE("lmp_da_exante_hourly", "Day-ahead ex-ante hourly LMPs (market report da_exante_lmp)",
                 "miso_lmp_da_exante_hourly", &t_dax),
    REPORT_TABLE("lmp_rt_hourly_final", "Real-time final hourly LMPs (market report rt_lmp_final)",
                 "miso_lmp_rt_hourly_final", &t_rtf),
    {.name = "lmp_rt_5min", .description = "Real-time 5-minute ex-post LMPs (Data Exchange pricing API; key)",
     .schema = &au_lmp_schema, .dest_table = "miso_lmp_rt_5min", .cursor_col = "interval_start_utc",
     .watermark_requires = "lmp", .trade_tz = MISO_TZ, .interval_minutes = 5, .default_batch_days = 1,
     .default_lookback_hours = 24, .default_history_days = 1, .default_rate_delay = 0, .max_request_days = 1,
     .opts = rt5_opts, .priv = &t_rt5},
    {.name = "load_actual", .description = "Hourly actual load by region (Data Exchange LGI API; key)",
     .schema = &au_load_schema, .dest_table = "miso_load_actual", .cursor_col = "interval_start_utc",
     .watermark_requires = "load_mw", .trade_tz = MISO_TZ, .interval_minutes = 60, .default_batch_days = 1,
     .default_lookback_hours = 48, .default_history_days = 7, .default_rate_delay = 0, .max_request_days = 1,
     .opts = load_opts, .priv = &t_load},
};

static const char *const miso_base_env[] = {"AURUM_MISO_BASE", "MISO_BASE_URL", NULL};

/* --- planning ------------------------------------------------------------------- */

static int64_t est_day_of(au_time t) {
  au_time l = t - EST_OFFSET;
  return l >= 0 ? l / AU_DAY : -((-l + AU_DAY - 1) / AU_DAY);
}
static au_time est_day_start(int64_t day) { return day * AU_DAY + EST_OFFSET; }

static const char *api_key(const struct au_source_ctx *ctx, const struct miso_table *mt, const char **cred) {
  const char *k = NULL;
  *cred = "MISO_API_KEY";
  if (mt->kind == K_API_LOAD) {
    k = au_opts_get(ctx->opts, "lgi_api_key");
    if (k && *k)
      *cred = "MISO_LGI_API_KEY";
  }
  if (!k || !*k)
    k = au_opts_get(ctx->opts, "api_key");
  return k && *k ? k : NULL;
}

static int miso_plan(struct au_source_ctx *ctx, au_time start, au_time end, struct au_reqlist *out,
                     struct au_err *err) {
  const struct miso_table *mt = ctx->table->priv;
  const char *cred = NULL, *key = NULL;
  if (mt->kind != K_REPORT) {
    key = api_key(ctx, mt, &cred);
    if (!key)
      return au_err_set(err, AU_E_CONFIG,
                        mt->kind == K_API_LMP
                            ? "miso.%s needs a MISO Data Exchange key (pricing product): set MISO_API_KEY "
                              "or sources.miso.api_key; the market-report tables need no key"
                            : "miso.%s needs a MISO Data Exchange key (load, generation and interchange "
                              "product): set MISO_LGI_API_KEY (or MISO_API_KEY) or sources.miso.lgi_api_key",
                        ctx->table->name);
    const char *pf = au_opts_get(ctx->opts, "preliminary_final");
    if (mt->kind == K_API_LMP && pf && strcmp(pf, "Final") && strcmp(pf, "Preliminary"))
      return au_err_set(err, AU_E_CONFIG, "miso: preliminary_final must be Preliminary or Final, got '%s'", pf);
    const char *geo = au_opts_get(ctx->opts, "geo_resolution");
    if (mt->kind == K_API_LOAD && geo && strcmp(geo, "region") && strcmp(geo, "localResourceZone"))
      return au_err_set(err, AU_E_CONFIG, "miso: geo_resolution must be region or localResourceZone, got '%s'",
                        geo);
  }
  if (end <= start)
    return 0;
  for (int64_t day = est_day_of(start), last = est_day_of(end - 1); day <= last; day++) {
    int y, m, d;
    au_civil_from_days(day, &y, &m, &d);
    char url[1024];
    if (mt->kind == K_REPORT) {
      snprintf(url, sizeof(url), "%s/%04d%02d%02d_%s.csv", ctx->base_url, y, m, d, mt->report);
    } else if (mt->kind == K_API_LMP) {
      const char *pf = au_opts_get(ctx->opts, "preliminary_final");
      snprintf(url, sizeof(url), "%s/real-time/%04d-%02d-%02d/lmp-expost?preliminaryFinal=%s&timeResolution=5min",
               au_opts_get(ctx->opts, "api_base"), y, m, d, pf && *pf ? pf : "Final");
    } else {
      const char *geo = au_opts_get(ctx->opts, "geo_resolution");
      snprintf(url, sizeof(url), "%s/real-time/%04d-%02d-%02d/demand/actual?timeResolution=hourly&geoResolution=%s",
               au_opts_get(ctx->opts, "lgi_base"), y, m, d, geo && *geo ? geo : "region");
    }
    struct au_request *r = au_reqlist_push(out);
    au_request_set_url(r, url);
    if (key) {
      au_request_add_header(r, "Ocp-Apim-Subscription-Key", key);
      au_request_add_header(r, "Cache-Control", "no-cache");
      r->credential = cred;
    }
    r->win_start = est_day_start(day);
    r->win_end = est_day_start(day + 1);
    r->cookie = day;
    r->cookie2 = 1; /* page number (API tables) */
    snprintf(r->label, sizeof(r->label), "miso.%s %04d-%02d-%02d", ctx->table->name, y, m, d);
  }
  return 0;
}

/* --- node filter ------------------------------------------------------------------ */

static bool node_wanted(const char *list, const char *s, size_t n) {
  if (!list || !*list)
    return true;
  const char *p = list;
  while (*p) {
    while (*p == ' ' || *p == ',')
      p++;
    const char *e = p;
    while (*e && *e != ',')
      e++;
    const char *q = e;
    while (q > p && q[-1] == ' ')
      q--;
    if ((size_t)(q - p) == n && memcmp(p, s, n) == 0)
      return true;
    p = e;
  }
  return false;
}

/* --- market report CSV -------------------------------------------------------------- */

struct node {
  uint32_t name_off, name_len, type_off, type_len;
  double v[3][24];
  uint8_t have[3][24];
};

struct rep {
  int64_t day;             /* requested market day (days since epoch) */
  bool header_seen, date_seen;
  uint64_t hdr_line;
  struct node *nodes;
  size_t n, cap;
  uint32_t *hash; /* node index + 1, open addressing */
  size_t hcap;
  char *arena;
  size_t alen, acap;
  const char *only;
};

static uint64_t fnv(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

static uint32_t arena_add(struct rep *r, const char *s, size_t n) {
  if (r->alen + n + 1 > r->acap) {
    r->acap = (r->alen + n + 1) * 2;
    r->arena = au_xrealloc(r->arena, r->acap);
  }
  uint32_t off = (uint32_t)r->alen;
  memcpy(r->arena + off, s, n);
  r->arena[off + n] = 0;
  r->alen += n + 1;
  return off;
}

static void rehash(struct rep *r) {
  size_t cap = r->hcap ? r->hcap * 2 : 1024;
  free(r->hash);
  r->hash = au_xcalloc(cap, sizeof(*r->hash));
  r->hcap = cap;
  for (size_t i = 0; i < r->n; i++) {
    size_t h = (size_t)fnv(r->arena + r->nodes[i].name_off, r->nodes[i].name_len) & (cap - 1);
    while (r->hash[h])
      h = (h + 1) & (cap - 1);
    r->hash[h] = (uint32_t)i + 1;
  }
}

/* Index of node name, created when missing; -1 when there are too many. */
static long node_index(struct rep *r, const char *name, size_t n, const char *type, size_t tn) {
  if (r->hcap == 0 || (r->n + 1) * 2 > r->hcap)
    rehash(r);
  size_t h = (size_t)fnv(name, n) & (r->hcap - 1);
  while (r->hash[h]) {
    struct node *x = &r->nodes[r->hash[h] - 1];
    if (x->name_len == n && memcmp(r->arena + x->name_off, name, n) == 0)
      return (long)r->hash[h] - 1;
    h = (h + 1) & (r->hcap - 1);
  }
  if (r->n >= MAX_NODES)
    return -1;
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 256;
    r->nodes = au_xrealloc(r->nodes, r->cap * sizeof(*r->nodes));
  }
  struct node *x = &r->nodes[r->n];
  memset(x, 0, sizeof(*x));
  x->name_off = arena_add(r, name, n);
  x->name_len = (uint32_t)n;
  x->type_off = arena_add(r, type, tn);
  x->type_len = (uint32_t)tn;
  r->hash[h] = (uint32_t)r->n + 1;
  return (long)r->n++;
}

static bool field_is(const struct au_csv_row *row, size_t i, const char *want) {
  if (i >= row->nfields)
    return false;
  const char *s = row->fields[i];
  size_t n = row->lens[i];
  while (n && (*s == ' ' || *s == '\t')) {
    s++;
    n--;
  }
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  return n == strlen(want) && strncasecmp(s, want, n) == 0;
}

static int rep_row(void *arg, const struct au_csv_row *row, struct au_err *err) {
  struct rep *r = arg;
  if (!r->header_seen) {
    if (row->nfields >= 1 && field_is(row, 0, "Node")) {
      if (row->nfields != 27 || !field_is(row, 1, "Type") || !field_is(row, 2, "Value"))
        return au_err_set(err, AU_E_PARSE,
                          "csv line %llu: header has %zu fields, expected Node,Type,Value,HE 1..HE 24",
                          (unsigned long long)row->line, row->nfields);
      for (int h = 1; h <= 24; h++) {
        char want[8];
        snprintf(want, sizeof(want), "HE %d", h);
        if (!field_is(row, (size_t)(2 + h), want))
          return au_err_set(err, AU_E_PARSE, "csv line %llu, field %d: expected '%s', got '%.20s'",
                            (unsigned long long)row->line, 3 + h, want, row->fields[2 + h]);
      }
      r->header_seen = true;
      r->hdr_line = row->line;
      return 0;
    }
    if (row->row > 8)
      return au_err_set(err, AU_E_PARSE, "csv line %llu: no 'Node,Type,Value,HE 1..' header in the preamble",
                        (unsigned long long)row->line);
    /* the market-day line of the preamble: MM/DD/YYYY */
    int mo, d, y, n = 0;
    if (row->nfields >= 1 && sscanf(row->fields[0], "%d/%d/%d%n", &mo, &d, &y, &n) == 3 &&
        (size_t)n == row->lens[0]) {
      if (au_days_from_civil(y, mo, d) != r->day) {
        int ry, rm, rd;
        au_civil_from_days(r->day, &ry, &rm, &rd);
        return au_err_set(err, AU_E_PARSE, "csv line %llu: report is for %02d/%02d/%04d, requested %02d/%02d/%04d",
                          (unsigned long long)row->line, mo, d, y, rm, rd, ry);
      }
      r->date_seen = true;
    }
    for (size_t i = 0; i < row->nfields; i++)
      if (strstr(row->fields[i], "Hours-Ending") && !strstr(row->fields[i], "EST"))
        return au_err_set(err, AU_E_PARSE, "csv line %llu: hours are not in EST: '%.60s'",
                          (unsigned long long)row->line, row->fields[i]);
    return 0;
  }
  if (row->nfields != 27)
    return au_err_set(err, AU_E_PARSE, "csv line %llu: %zu fields, expected 27", (unsigned long long)row->line,
                      row->nfields);
  int vi;
  if (field_is(row, 2, "LMP"))
    vi = 0;
  else if (field_is(row, 2, "MCC"))
    vi = 1;
  else if (field_is(row, 2, "MLC"))
    vi = 2;
  else
    return au_err_set(err, AU_E_PARSE, "csv line %llu, field 3: unknown Value '%.20s' (expected LMP, MCC, MLC)",
                      (unsigned long long)row->line, row->fields[2]);
  if (row->lens[0] == 0)
    return au_err_set(err, AU_E_PARSE, "csv line %llu, field 1: empty node name", (unsigned long long)row->line);
  if (!node_wanted(r->only, row->fields[0], row->lens[0]))
    return 0;
  long ni = node_index(r, row->fields[0], row->lens[0], row->fields[1], row->lens[1]);
  if (ni < 0)
    return au_err_set(err, AU_E_TOOBIG, "csv line %llu: more than %d nodes", (unsigned long long)row->line,
                      MAX_NODES);
  struct node *x = &r->nodes[ni];
  for (int h = 0; h < 24; h++) {
    const char *s = row->fields[3 + h];
    size_t n = row->lens[3 + h];
    if (au_str_is_blank_or_dash(s, n))
      continue;
    double v;
    if (au_parse_double(s, n, &v) != 0)
      return au_err_set(err, AU_E_PARSE, "csv line %llu, field %d (HE %d): not a number: '%.20s'",
                        (unsigned long long)row->line, 4 + h, h + 1, s);
    if (x->have[vi][h])
      return au_err_set(err, AU_E_PARSE, "csv line %llu: second %s row for node %.60s",
                        (unsigned long long)row->line, vi == 0 ? "LMP" : vi == 1 ? "MCC" : "MLC", row->fields[0]);
    x->v[vi][h] = v;
    x->have[vi][h] = 1;
  }
  return 0;
}

static void type_of(const char *t, size_t n, char *out, size_t outsz) {
  static const struct {
    const char *miso, *canon;
  } map[] = {{"Hub", "HUB"}, {"Loadzone", "LOAD_ZONE"}, {"Interface", "INTERFACE"}, {"Gennode", "GEN_NODE"}};
  for (size_t i = 0; i < AU_ARRAY_LEN(map); i++)
    if (strlen(map[i].miso) == n && strncasecmp(t, map[i].miso, n) == 0) {
      snprintf(out, outsz, "%s", map[i].canon);
      return;
    }
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < outsz; i++)
    out[k++] = (t[i] >= 'a' && t[i] <= 'z') ? (char)(t[i] - 32) : (t[i] == ' ' ? '_' : t[i]);
  out[k] = 0;
}

static int parse_report(struct au_source_ctx *ctx, const struct miso_table *mt, const struct au_request *req,
                        const struct au_response *resp, struct au_batch *out, struct au_err *err) {
  struct rep r;
  memset(&r, 0, sizeof(r));
  r.day = req->cookie;
  r.only = au_opts_get(ctx->opts, "nodes");
  struct au_csv *p = au_csv_new(NULL, ',', rep_row, &r);
  int rc = au_csv_feed(p, resp->body, resp->len, err);
  if (!rc)
    rc = au_csv_finish(p, err);
  au_csv_free(p);
  if (!rc && !r.header_seen)
    rc = au_err_set(err, AU_E_PARSE, "csv: no 'Node,Type,Value,HE 1..HE 24' header (%zu bytes)", resp->len);
  if (!rc && !r.date_seen)
    rc = au_err_set(err, AU_E_PARSE, "csv: no market-day line (MM/DD/YYYY) before the header at line %llu",
                    (unsigned long long)r.hdr_line);
  au_time day0 = est_day_start(r.day);
  for (size_t i = 0; !rc && i < r.n; i++) {
    struct node *x = &r.nodes[i];
    char ty[32];
    type_of(r.arena + x->type_off, x->type_len, ty, sizeof(ty));
    for (int h = 0; h < 24; h++) {
      if (!x->have[0][h] && !x->have[1][h] && !x->have[2][h])
        continue;
      au_batch_add_row(out);
      au_time t = day0 + (au_time)h * AU_HOUR; /* HE h+1 EST */
      au_batch_set_time(out, AU_LMP_START, t);
      au_batch_set_time(out, AU_LMP_END, t + AU_HOUR);
      au_lmp_set_meta(out, MISO_ISO, mt->market, "USD/MWh", MISO_TZ, 60, ctx->ingestion_time);
      au_batch_set_text(out, AU_LMP_LOC_ID, r.arena + x->name_off, x->name_len);
      au_batch_set_text(out, AU_LMP_LOC_NAME, r.arena + x->name_off, x->name_len);
      au_batch_set_text(out, AU_LMP_LOC_TYPE, ty, strlen(ty));
      if (x->have[0][h])
        au_batch_set_double(out, AU_LMP_LMP, x->v[0][h]);
      if (x->have[1][h])
        au_batch_set_double(out, AU_LMP_CONG, x->v[1][h]);
      if (x->have[2][h])
        au_batch_set_double(out, AU_LMP_LOSS, x->v[2][h]);
      if (x->have[0][h] && x->have[1][h] && x->have[2][h]) {
        double e = x->v[0][h] - x->v[1][h] - x->v[2][h];
        au_batch_set_double(out, AU_LMP_ENERGY, (double)llround(e * 1e6) / 1e6);
      }
    }
  }
  bool empty = r.n == 0;
  free(r.nodes);
  free(r.hash);
  free(r.arena);
  if (rc)
    return rc;
  return empty ? AU_E_NODATA : 0;
}

/* --- Data Exchange JSON --------------------------------------------------------------- */

/* The response streams through yajl (parse/json.h): each data[] item's mapped fields are
 * kept until the item's map closes, then it becomes a row; nothing else is held, so a page
 * costs its rows, not a document tree. Keys may come in any order (page before data too). */

enum api_field { AF_NONE = -1, AF_LMP, AF_MEC, AF_MCC, AF_MLC, AF_LOAD, AF_NODE, AF_LOC, AF_TI, AF_N };
enum ti_field { TF_NONE = -1, TF_START, TF_END };
enum vk { VK_NONE, VK_NULL, VK_NUM, VK_STR, VK_OTHER };
enum api_where { AW_TOP, AW_ROOT, AW_DATA, AW_ITEM, AW_TI, AW_PAGE, AW_SKIP };

#define API_STR_MAX 256 /* node, region and timestamp strings; longer ones are errors */

struct api_val {
  enum vk k;
  double num;
  size_t n;
  char s[API_STR_MAX];
};

struct api {
  struct au_source_ctx *ctx;
  const struct miso_table *mt;
  struct au_batch *out;
  struct au_err *err;
  int rc;
  enum api_where w, back;
  int depth, skip_from;
  enum { RK_OTHER, RK_DATA, RK_PAGE } rootkey;
  int cur;            /* field of the next value (item: api_field, timeInterval: ti_field, page: 0/1) */
  bool data_seen, page_seen;
  size_t nitems;
  /* the current item */
  struct api_val f[AF_N], start, end;
  bool item_is_map;
  /* page */
  enum vk last_kind;
  bool last_false;
  bool pn_int;
  int64_t pn;
  /* per-response constants */
  const char *only;
  bool lrz;
  au_time step;
};

static const char *const api_names[AF_N] = {"lmp", "mec", "mcc", "mlc", "load", "node", NULL, "timeInterval"};

static int api_fail(struct api *a, int rc) {
  a->rc = rc;
  return 0; /* stop yajl */
}

static void api_skip(struct api *a) {
  a->back = a->w;
  a->w = AW_SKIP;
  a->skip_from = a->depth;
}

static int val_set(struct api *a, struct api_val *v, const char *name, enum vk k, const char *s, size_t n) {
  v->k = k;
  v->n = 0;
  if (k == VK_NUM) {
    char tmp[64];
    char *end = NULL;
    if (n >= sizeof(tmp))
      return api_fail(a, au_err_set(a->err, AU_E_PARSE, "data[%zu], field %s: number too long", a->nitems, name));
    memcpy(tmp, s, n);
    tmp[n] = 0;
    v->num = strtod(tmp, &end);
    if (end != tmp + n)
      return api_fail(a, au_err_set(a->err, AU_E_PARSE, "data[%zu], field %s: not a number", a->nitems, name));
  } else if (k == VK_STR) {
    if (n >= sizeof(v->s))
      return api_fail(a, au_err_set(a->err, AU_E_PARSE, "data[%zu], field %s: longer than %d bytes", a->nitems,
                                    name, API_STR_MAX - 1));
    memcpy(v->s, s, n);
    v->s[n] = 0;
    v->n = n;
  }
  return 1;
}

static int est_time(const struct api_val *v, au_time *out) {
  bool off = false;
  if (v->k != VK_STR || au_time_parse_iso(v->s, v->n, out, &off))
    return AU_E_PARSE;
  if (!off)
    *out += EST_OFFSET; /* EST wall clock -> UTC */
  return 0;
}

/* A number field: missing or null is a NULL value, anything but a number an error. */
static int api_num(struct api *a, int f, const char *name, bool *isnull, double *out) {
  const struct api_val *v = &a->f[f];
  *isnull = v->k == VK_NONE || v->k == VK_NULL;
  if (*isnull)
    return 0;
  if (v->k != VK_NUM)
    return au_err_set(a->err, AU_E_PARSE, "data[%zu], field %s: not a number", a->nitems, name);
  *out = v->num;
  return 0;
}

static int api_row(struct api *a) {
  size_t i = a->nitems;
  au_time t, te;
  if (!a->item_is_map || est_time(&a->start, &t))
    return au_err_set(a->err, AU_E_PARSE, "data[%zu], field timeInterval.start: missing or not a time", i);
  if (a->end.k == VK_NONE)
    te = t + a->step;
  else if (est_time(&a->end, &te) || te <= t)
    return au_err_set(a->err, AU_E_PARSE, "data[%zu], field timeInterval.end: not a time after start", i);
  struct au_batch *out = a->out;
  const struct au_source_ctx *ctx = a->ctx;
  if (a->mt->kind == K_API_LMP) {
    const struct api_val *node = &a->f[AF_NODE];
    if (node->k != VK_STR || node->n == 0)
      return au_err_set(a->err, AU_E_PARSE, "data[%zu], field node: missing", i);
    if (!node_wanted(a->only, node->s, node->n))
      return 0;
    static const int c[4] = {AU_LMP_LMP, AU_LMP_ENERGY, AU_LMP_CONG, AU_LMP_LOSS};
    double v[4] = {0};
    bool nul[4];
    for (int k = 0; k < 4; k++)
      if (api_num(a, AF_LMP + k, api_names[AF_LMP + k], &nul[k], &v[k]))
        return a->err->code;
    au_batch_add_row(out);
    au_batch_set_time(out, AU_LMP_START, t);
    au_batch_set_time(out, AU_LMP_END, te);
    au_lmp_set_meta(out, MISO_ISO, a->mt->market, "USD/MWh", MISO_TZ, ctx->table->interval_minutes,
                    ctx->ingestion_time);
    au_batch_set_text(out, AU_LMP_LOC_ID, node->s, node->n);
    au_batch_set_text(out, AU_LMP_LOC_NAME, node->s, node->n);
    for (int k = 0; k < 4; k++)
      if (!nul[k])
        au_batch_set_double(out, c[k], v[k]);
    return 0;
  }
  const char *lname = a->lrz ? "localResourceZone" : "region";
  const struct api_val *loc = &a->f[AF_LOC];
  if (loc->k != VK_STR || loc->n == 0)
    return au_err_set(a->err, AU_E_PARSE, "data[%zu], field %s: missing", i, lname);
  double mw = 0;
  bool nul;
  if (api_num(a, AF_LOAD, "load", &nul, &mw))
    return a->err->code;
  char id[64];
  size_t n = loc->n < sizeof(id) - 1 ? loc->n : sizeof(id) - 1;
  for (size_t k = 0; k < n; k++) {
    char ch = loc->s[k];
    id[k] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
  }
  id[n] = 0;
  au_batch_add_row(out);
  au_batch_set_time(out, AU_LOAD_START, t);
  au_batch_set_time(out, AU_LOAD_END, te);
  au_load_set_meta(out, MISO_ISO, a->mt->market, MISO_TZ, ctx->table->interval_minutes, ctx->ingestion_time);
  au_batch_set_text(out, AU_LOAD_LOC_ID, id, n);
  au_batch_set_text(out, AU_LOAD_LOC_TYPE, a->lrz ? "LRZ" : "REGION", a->lrz ? 3 : 6);
  if (!nul)
    au_batch_set_double(out, AU_LOAD_MW, mw);
  au_batch_set_time(out, AU_LOAD_PUBLISHED, te);
  return 0;
}

static void item_reset(struct api *a, bool is_map) {
  for (int k = 0; k < AF_N; k++)
    a->f[k].k = VK_NONE;
  a->start.k = a->end.k = VK_NONE;
  a->item_is_map = is_map;
  a->cur = AF_NONE;
}

static int item_done(struct api *a) {
  int rc = api_row(a);
  a->nitems++;
  return rc ? api_fail(a, rc) : 1;
}

static int api_scalar(struct api *a, enum vk k, const char *s, size_t n) {
  switch (a->w) {
  case AW_TOP:
    return api_fail(a, au_err_set(a->err, AU_E_PARSE, "JSON top level is not an object"));
  case AW_DATA: /* an item that is not an object */
    item_reset(a, false);
    return item_done(a);
  case AW_ITEM: {
    int f = a->cur;
    a->cur = AF_NONE;
    if (f == AF_NONE || f == AF_TI) /* a timeInterval that is not an object: start is missing */
      return 1;
    return val_set(a, &a->f[f], f == AF_LOC ? (a->lrz ? "localResourceZone" : "region") : api_names[f], k, s, n);
  }
  case AW_TI: {
    int f = a->cur;
    a->cur = TF_NONE;
    if (f == TF_START)
      return val_set(a, &a->start, "timeInterval.start", k, s, n);
    if (f == TF_END)
      return val_set(a, &a->end, "timeInterval.end", k, s, n);
    return 1;
  }
  case AW_PAGE:
    if (a->cur == 0) { /* lastPage that is not a boolean */
      a->last_kind = k;
      a->last_false = false;
    } else if (a->cur == 1) { /* pageNumber: an integer */
      a->pn_int = false;
      if (k == VK_NUM && n > 0 && n < 19 && !memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n)) {
        char tmp[24];
        memcpy(tmp, s, n);
        tmp[n] = 0;
        a->pn = strtoll(tmp, NULL, 10);
        a->pn_int = true;
      }
    }
    a->cur = -1;
    return 1;
  default:
    return 1;
  }
}

static int api_null(void *c) { return api_scalar(c, VK_NULL, NULL, 0); }
static int api_bool(void *c, int v) {
  struct api *a = c;
  if (a->w == AW_PAGE && a->cur == 0) { /* lastPage: only a literal false asks for more */
    a->last_kind = VK_OTHER;
    a->last_false = !v;
    a->cur = -1;
    return 1;
  }
  return api_scalar(c, VK_OTHER, "", 0);
}
static int api_number(void *c, const char *s, size_t n) { return api_scalar(c, VK_NUM, s, n); }
static int api_string(void *c, const unsigned char *s, size_t n) { return api_scalar(c, VK_STR, (const char *)s, n); }

static int api_start(struct api *a, bool map) {
  a->depth++;
  switch (a->w) {
  case AW_TOP:
    if (!map)
      return api_fail(a, au_err_set(a->err, AU_E_PARSE, "JSON top level is not an object"));
    a->w = AW_ROOT;
    return 1;
  case AW_ROOT:
    if (a->rootkey == RK_DATA && !map) {
      a->data_seen = true;
      a->w = AW_DATA;
      return 1;
    }
    if (a->rootkey == RK_PAGE && map) {
      a->page_seen = true;
      a->w = AW_PAGE;
      a->cur = -1;
      return 1;
    }
    api_skip(a);
    return 1;
  case AW_DATA:
    item_reset(a, map);
    if (map) {
      a->w = AW_ITEM;
      return 1;
    }
    api_skip(a); /* an array item: an error when it closes */
    a->back = AW_ITEM;
    return 1;
  case AW_ITEM:
    if (a->cur == AF_TI && map) {
      a->w = AW_TI;
      a->cur = TF_NONE;
      return 1;
    }
    if (a->cur != AF_NONE && a->cur != AF_TI) { /* an object or array where a value belongs */
      struct api_val *v = &a->f[a->cur];
      v->k = VK_OTHER;
    }
    a->cur = AF_NONE;
    api_skip(a);
    return 1;
  case AW_TI:
    if (a->cur == TF_START)
      a->start.k = VK_OTHER;
    else if (a->cur == TF_END)
      a->end.k = VK_OTHER;
    a->cur = TF_NONE;
    api_skip(a);
    return 1;
  case AW_PAGE:
    if (a->cur == 0) {
      a->last_kind = VK_OTHER;
      a->last_false = false;
    }
    a->cur = -1;
    api_skip(a);
    return 1;
  default:
    return 1;
  }
}

static int api_start_map(void *c) { return api_start(c, true); }
static int api_start_array(void *c) { return api_start(c, false); }

static int api_end(void *c) {
  struct api *a = c;
  a->depth--;
  switch (a->w) {
  case AW_SKIP:
    if (a->depth < a->skip_from) {
      a->w = a->back;
      if (a->w == AW_ITEM && !a->item_is_map) { /* the skipped value was a non-object item */
        a->w = AW_DATA;
        return item_done(a);
      }
    }
    return 1;
  case AW_TI:
    a->w = AW_ITEM;
    return 1;
  case AW_ITEM:
    a->w = AW_DATA;
    return item_done(a);
  case AW_DATA:
  case AW_PAGE:
    a->w = AW_ROOT;
    return 1;
  case AW_ROOT:
    a->w = AW_TOP;
    return 1;
  default:
    return 1;
  }
}

static int api_on_key(void *c, const unsigned char *k, size_t n) {
  struct api *a = c;
  switch (a->w) {
  case AW_ROOT:
    a->rootkey = AU_JSON_KEY_IS(k, n, "data") ? RK_DATA : AU_JSON_KEY_IS(k, n, "page") ? RK_PAGE : RK_OTHER;
    return 1;
  case AW_ITEM:
    a->cur = AF_NONE;
    if (AU_JSON_KEY_IS(k, n, "timeInterval"))
      a->cur = AF_TI;
    else if (a->mt->kind == K_API_LMP) {
      for (int f = AF_LMP; f <= AF_MLC; f++)
        if (n == strlen(api_names[f]) && memcmp(k, api_names[f], n) == 0)
          a->cur = f;
      if (AU_JSON_KEY_IS(k, n, "node"))
        a->cur = AF_NODE;
    } else if (AU_JSON_KEY_IS(k, n, "load")) {
      a->cur = AF_LOAD;
    } else if (a->lrz ? AU_JSON_KEY_IS(k, n, "localResourceZone") : AU_JSON_KEY_IS(k, n, "region")) {
      a->cur = AF_LOC;
    }
    return 1;
  case AW_TI:
    a->cur = AU_JSON_KEY_IS(k, n, "start") ? TF_START : AU_JSON_KEY_IS(k, n, "end") ? TF_END : TF_NONE;
    return 1;
  case AW_PAGE:
    a->cur = AU_JSON_KEY_IS(k, n, "lastPage") ? 0 : AU_JSON_KEY_IS(k, n, "pageNumber") ? 1 : -1;
    return 1;
  default:
    return 1;
  }
}

static const yajl_callbacks api_callbacks = {
    api_null, api_bool, NULL, NULL, api_number, api_string, api_start_map, api_on_key, api_end, api_start_array, api_end,
};

static int parse_api(struct au_source_ctx *ctx, const struct miso_table *mt, const struct au_request *req,
                     const struct au_response *resp, struct au_batch *out, struct au_reqlist *more,
                     struct au_err *err) {
  if (resp->len > ((size_t)1 << 31))
    return au_err_set(err, AU_E_TOOBIG, "response of %zu bytes exceeds the 2 GiB limit", resp->len);
  struct api *a = au_xcalloc(1, sizeof(*a));
  a->ctx = ctx;
  a->mt = mt;
  a->out = out;
  a->err = err;
  a->w = AW_TOP;
  a->cur = -1;
  a->only = au_opts_get(ctx->opts, "nodes");
  const char *geo = au_opts_get(ctx->opts, "geo_resolution");
  a->lrz = geo && !strcmp(geo, "localResourceZone");
  a->step = (au_time)ctx->table->interval_minutes * AU_MINUTE;
  size_t before = out->nrows;
  int rc = au_json_stream(&api_callbacks, a, resp->body, resp->len, &a->rc, err);
  if (rc == 0 && !a->data_seen)
    rc = au_err_set(err, AU_E_PARSE, "response has no \"data\" array");
  /* paging */
  if (rc == 0 && a->page_seen && a->last_kind == VK_OTHER && a->last_false) {
    int64_t next = (a->pn_int ? a->pn : req->cookie2) + 1;
    if (next <= req->cookie2 || next > 100000) {
      rc = au_err_set(err, AU_E_PARSE, "page.pageNumber %lld does not advance", (long long)(next - 1));
      goto out;
    }
    struct au_buf u = AU_BUF_INIT(8192);
    const char *q = strstr(req->url, "&pageNumber=");
    if (au_buf_add(&u, req->url, q ? (size_t)(q - req->url) : strlen(req->url)) ||
        au_buf_printf(&u, "&pageNumber=%lld", (long long)next)) {
      au_buf_release(&u);
      rc = au_err_set(err, AU_E_TOOBIG, "request URL too long");
      goto out;
    }
    struct au_request *r = au_reqlist_push(more);
    au_request_set_url(r, u.ptr);
    au_buf_release(&u);
    for (size_t k = 0; k < req->nheaders; k++)
      au_request_add_header(r, req->headers[k].name, req->headers[k].value);
    r->credential = req->credential;
    r->win_start = req->win_start;
    r->win_end = req->win_end;
    r->cookie = req->cookie;
    r->cookie2 = next;
    snprintf(r->label, sizeof(r->label), "%.100s page %lld", req->label, (long long)next);
    char *dup = strstr(r->label, " page ");
    if (dup && strstr(dup + 1, " page ")) {
      char *second = strstr(dup + 1, " page ");
      memmove(dup, second, strlen(second) + 1);
    }
  } else if (rc == 0 && a->nitems == 0) {
    rc = AU_E_NODATA;
  }
out:
  if (rc && rc != AU_E_NODATA)
    while (out->nrows > before)
      au_batch_drop_last(out);
  free(a);
  return rc;
}

static int miso_parse(struct au_source_ctx *ctx, const struct au_request *req, const struct au_response *resp,
                      struct au_batch *out, struct au_reqlist *more, struct au_err *err) {
  const struct miso_table *mt = ctx->table->priv;
  if (resp->status == 404 && mt->kind == K_REPORT) {
    int lag = mt->lag_days;
    const char *lv = au_opts_get(ctx->opts, "publish_lag_days");
    if (lv && *lv)
      lag = atoi(lv);
    int64_t today = est_day_of(ctx->now);
    bool blob = resp->body && memmem(resp->body, resp->len, "BlobNotFound", 12);
    if (req->cookie + lag >= today)
      return AU_E_NODATA; /* not published yet */
    return au_err_set(err, AU_E_HTTP, "HTTP 404%s: %s is missing for a market day older than %d day(s)",
                      blob ? " BlobNotFound" : "", req->url, lag);
  }
  if (resp->status != 200) {
    int n = resp->len > 300 ? 300 : (int)resp->len;
    return au_err_set(err, AU_E_HTTP, "HTTP %ld: %.*s", resp->status, n, resp->body ? resp->body : "");
  }
  if (mt->kind == K_REPORT)
    return parse_report(ctx, mt, req, resp, out, err);
  return parse_api(ctx, mt, req, resp, out, more, err);
}

const struct au_source_ops au_source_miso = {
    .version = AU_SOURCE_OPS_VERSION,
    .name = "miso",
    .title = "Midcontinent ISO (market reports, Data Exchange)",
    .default_base = "https://docs.misoenergy.org/marketreports",
    .base_env = miso_base_env,
    .opts = miso_opts,
    .tables = miso_tables,
    .ntables = AU_ARRAY_LEN(miso_tables),
    /* the Data Exchange allows 100 calls/minute per key */
    .policy = {.rate_per_min = 100, .burst = 5, .max_attempts = 5},
    .plan = miso_plan,
    .parse = miso_parse,
};
