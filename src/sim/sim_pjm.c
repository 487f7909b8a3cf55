/* sim_pjm.c - PJM Data Miner 2 (api.pjm.com/api/v1/<feed>): da_hrl_lmps, rt_hrl_lmps,
 * rt_fivemin_hrl_lmps, hrl_load_metered and load_frcstd_7_day in the JSON envelope of
 * iso-apis.md §4 ({links, items, searchSpecification, totalRows}).
 *
 * Rules served like the real API: header Ocp-Apim-Subscription-Key (or query
 * subscription-key) required (401 otherwise; when AURUM_SIM_PJM_API_KEY is set the key
 * must equal it); rowCount 1..50000 and startRow 1-based paging; date filters
 * "MM/DD/YYYY HH:MMtoMM/DD/YYYY HH:MM" (inclusive, on the *_utc or *_ept column), < 366
 * days; archived LMP data (older than 731 days, 186 for 5-minute) only within one UTC
 * calendar year, not straddling the cut-off and without pnode_id filters; pnode_id=a;b
 * filter; a per-key rate limit (AURUM_SIM_PJM_RATE_PER_MIN, default 600/min) answered
 * with 429 + Retry-After. Revised intervals (sim revisions) are served as two versions:
 * version_nbr 1 with row_is_current=false (the model value) and version_nbr 2 current
 * (unless row_is_current=true is asked). Clock: DA for day D from D-1 13:30 EPT, real-time
 * and metered data once the interval has ended, forecasts issued every 12 h UTC. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "sim/sim.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ISO "pjm"
#define EPT "America/New_York"
#define PREFIX "/api/v1/"

struct pnode {
  long long id;
  const char *name, *type, *zone;
};

/* Ids of the hubs/zones are PJM's; the GEN/LOAD/INTERFACE/AGGREGATE entries are illustrative. */
static const struct pnode nodes[] = {
    {1, "PJM-RTO", "ZONE", NULL},
    {3, "MID-ATL/APS", "ZONE", NULL},
    {51217, "WESTERN HUB", "HUB", NULL},
    {51288, "AECO", "ZONE", "AECO"},
    {51291, "BGE", "ZONE", "BGE"},
    {51292, "DPL", "ZONE", "DPL"},
    {51293, "JCPL", "ZONE", "JCPL"},
    {51295, "PECO", "ZONE", "PECO"},
    {51297, "PEPCO", "ZONE", "PEPCO"},
    {51298, "PPL", "ZONE", "PPL"},
    {51299, "PSEG", "ZONE", "PSEG"},
    {4669664, "NEW JERSEY HUB", "HUB", NULL},
    {33092371, "COMED", "ZONE", "COMED"},
    {34497127, "N ILLINOIS HUB", "HUB", NULL},
    {34508503, "DAY", "ZONE", "DAY"},
    {8445784, "AEP", "ZONE", "AEP"},
    {116013753, "AEP-DAYTON HUB", "HUB", NULL},
    {34964545, "DOM", "ZONE", "DOM"},
    {51287, "EASTERN HUB", "HUB", NULL},
    {40243766, "NYIS", "INTERFACE", NULL},
    {40523629, "MISO", "INTERFACE", NULL},
    {1269364670, "PSEG_RESID_AGG", "AGGREGATE", "PSEG"},
    {2156111904, "BRANDONSH 13 KV BS1", "GEN", "PEPCO"},
    {2156113094, "WOODSTOC 34 KV LD1", "LOAD", "COMED"},
};
static const char *const load_areas[] = {"AE", "AEP", "APS", "ATSI", "BC", "CE", "DAY", "DOM",
                                         "DPL", "DUQ", "PE", "PL", "PS", "RTO"};
static const char *const fc_areas[] = {"RTO_COMBINED", "MID_ATLANTIC_REGION", "WESTERN_REGION",
                                       "SOUTHERN_REGION", "AE/MIDATL", "BG&E/MIDATL", "COMED"};

enum feed_kind { F_DA, F_RT, F_RT5, F_LOAD, F_FCST };
struct feed {
  const char *name;
  enum feed_kind kind;
  int minutes;
  int archive_days;
  const char *utc_col, *ept_col;
  const char *const *fields; /* output order */
};

static const char *const lmp_da_fields[] = {
    "datetime_beginning_utc", "datetime_beginning_ept", "pnode_id", "pnode_name", "voltage", "equipment",
    "type", "zone", "system_energy_price_da", "total_lmp_da", "congestion_price_da", "marginal_loss_price_da",
    "row_is_current", "version_nbr", NULL};
static const char *const lmp_rt_fields[] = {
    "datetime_beginning_utc", "datetime_beginning_ept", "pnode_id", "pnode_name", "voltage", "equipment",
    "type", "zone", "system_energy_price_rt", "total_lmp_rt", "congestion_price_rt", "marginal_loss_price_rt",
    "row_is_current", "version_nbr", NULL};
static const char *const load_fields[] = {"datetime_beginning_utc", "datetime_beginning_ept", "nerc_region",
                                          "mkt_region", "zone", "load_area", "mw", "is_verified", NULL};
static const char *const fc_fields[] = {"evaluated_at_datetime_utc", "evaluated_at_datetime_ept",
                                        "forecast_datetime_beginning_utc", "forecast_datetime_beginning_ept",
                                        "forecast_datetime_ending_utc", "forecast_datetime_ending_ept",
                                        "forecast_area", "forecast_load_mw", NULL};

static const struct feed feeds[] = {
    {"da_hrl_lmps", F_DA, 60, 731, "datetime_beginning_utc", "datetime_beginning_ept", lmp_da_fields},
    {"rt_hrl_lmps", F_RT, 60, 731, "datetime_beginning_utc", "datetime_beginning_ept", lmp_rt_fields},
    {"rt_fivemin_hrl_lmps", F_RT5, 5, 186, "datetime_beginning_utc", "datetime_beginning_ept", lmp_rt_fields},
    {"hrl_load_metered", F_LOAD, 60, 0, "datetime_beginning_utc", "datetime_beginning_ept", load_fields},
    {"load_frcstd_7_day", F_FCST, 60, 0, "forecast_datetime_beginning_utc", "forecast_datetime_beginning_ept",
     fc_fields},
};

#define FC_EVERY (12 * AU_HOUR)
#define FC_HORIZON (7 * AU_DAY)

/* --- rate limit (per key, fixed one-minute windows) ------------------------------- */
static pthread_mutex_t rl_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  char key[64];
  int64_t minute;
  int count;
} rl[16];

/* 0 = allowed, else seconds to wait. Uses the real clock (throttling is about wall time). */
static int rate_check(const char *key) {
  const char *lim = getenv("AURUM_SIM_PJM_RATE_PER_MIN");
  int limit = lim && *lim ? atoi(lim) : 600;
  if (limit <= 0)
    return 0;
  au_time now = au_now_real();
  int64_t minute = now / AU_MINUTE;
  int wait = 0;
  pthread_mutex_lock(&rl_mu);
  size_t slot = 0;
  for (size_t i = 0; i < AU_ARRAY_LEN(rl); i++) {
    if (strncmp(rl[i].key, key, sizeof(rl[i].key) - 1) == 0) {
      slot = i;
      break;
    }
    if (!rl[i].key[0] || rl[i].minute < rl[slot].minute)
      slot = i;
  }
  if (strncmp(rl[slot].key, key, sizeof(rl[slot].key) - 1) != 0) {
    snprintf(rl[slot].key, sizeof(rl[slot].key), "%s", key);
    rl[slot].minute = minute;
    rl[slot].count = 0;
  }
  if (rl[slot].minute != minute) {
    rl[slot].minute = minute;
    rl[slot].count = 0;
  }
  if (rl[slot].count >= limit)
    wait = (int)(((minute + 1) * AU_MINUTE - now + AU_USEC - 1) / AU_USEC);
  else
    rl[slot].count++;
  pthread_mutex_unlock(&rl_mu);
  return wait;
}

/* --- replies ----------------------------------------------------------------------- */

static void apim_error(struct au_sim_reply *rep, int status, const char *msg) {
  au_buf_reset(&rep->body);
  rep->status = status;
  rep->content_type = "application/json";
  rep->rows = 0;
  if (au_buf_printf(&rep->body, "{ \"statusCode\": %d, \"message\": ", status) ||
      au_buf_add_json_str(&rep->body, msg, strlen(msg)) || au_buf_adds(&rep->body, " }"))
    au_buf_reset(&rep->body);
}

static void dm_error(struct au_sim_reply *rep, int status, const char *field, const char *msg) {
  au_buf_reset(&rep->body);
  rep->status = status;
  rep->content_type = "application/json";
  rep->rows = 0;
  int rc = au_buf_adds(&rep->body, "{\"errors\":[{\"field\":");
  if (!rc)
    rc = field ? au_buf_add_json_str(&rep->body, field, strlen(field)) : au_buf_adds(&rep->body, "null");
  if (!rc)
    rc = au_buf_adds(&rep->body, ",\"message\":");
  if (!rc)
    rc = au_buf_add_json_str(&rep->body, msg, strlen(msg));
  if (!rc)
    rc = au_buf_adds(&rep->body, ",\"detail\":[]}]}");
  if (rc)
    au_buf_reset(&rep->body);
}

static void pjm_error(struct au_sim_ctx *ctx, const struct au_sim_request *req, int status,
                      const char *message, struct au_sim_reply *rep) {
  AU_UNUSED(ctx);
  AU_UNUSED(req);
  if (status == 401 || status == 403 || status == 429)
    apim_error(rep, status, message);
  else
    dm_error(rep, status, NULL, message);
}

/* --- query parsing ------------------------------------------------------------------- */

/* "MM/DD/YYYY HH:MM" (also "M/D/YYYY", optional ":SS") at s; returns chars used or 0. */
static size_t parse_mdy(const char *s, int *y, int *mo, int *d, int *h, int *mi) {
  int n = 0, ss = 0;
  *h = *mi = 0;
  if (sscanf(s, "%d/%d/%d %d:%d%n", mo, d, y, h, mi, &n) == 5 && n > 0) {
    int n2 = 0;
    if (s[n] == ':' && sscanf(s + n, ":%d%n", &ss, &n2) == 1)
      n += n2;
  } else if (sscanf(s, "%d/%d/%d%n", mo, d, y, &n) == 3 && n > 0) {
  } else {
    return 0;
  }
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *y < 1990 || *y > 2100 || *h < 0 || *h > 23 || *mi < 0 ||
      *mi > 59)
    return 0;
  return (size_t)n;
}

/* Parse the filter "Ato B" / "A to B" / "A" into [t0, t1] (inclusive) UTC. */
static bool parse_range(const char *v, bool ept, au_time *t0, au_time *t1) {
  int y, mo, d, h, mi;
  size_t n = parse_mdy(v, &y, &mo, &d, &h, &mi);
  if (!n)
    return false;
  const struct au_tz *tz = au_tz_get(EPT, NULL);
  if (ept) {
    if (au_tz_from_local(tz, y, mo, d, h, mi, 0, AU_FOLD_EARLIER, true, t0))
      return false;
  } else {
    *t0 = au_time_utc(y, mo, d, h, mi, 0);
  }
  const char *p = v + n;
  while (*p == ' ')
    p++;
  if (!*p) {
    *t1 = *t0;
    return true;
  }
  if (strncasecmp(p, "to", 2) != 0)
    return false;
  p += 2;
  while (*p == ' ')
    p++;
  size_t n2 = parse_mdy(p, &y, &mo, &d, &h, &mi);
  if (!n2 || p[n2])
    return false;
  if (ept) {
    if (au_tz_from_local(tz, y, mo, d, h, mi, 0, AU_FOLD_LATER, true, t1))
      return false;
  } else {
    *t1 = au_time_utc(y, mo, d, h, mi, 0);
  }
  return *t1 >= *t0;
}

static bool want_field(const char *fields, const char *name) {
  if (!fields || !*fields)
    return true;
  size_t n = strlen(name);
  const char *p = fields;
  while (*p) {
    while (*p == ' ' || *p == ',')
      p++;
    const char *e = p;
    while (*e && *e != ',')
      e++;
    const char *q = e;
    while (q > p && q[-1] == ' ')
      q--;
    if ((size_t)(q - p) == n && strncasecmp(p, name, n) == 0)
      return true;
    p = e;
  }
  return false;
}

static bool in_semis(const char *list, const char *s) {
  size_t n = strlen(s);
  const char *p = list;
  while (p && *p) {
    const char *e = strchr(p, ';');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == n && strncasecmp(p, s, n) == 0)
      return true;
    p = e ? e + 1 : NULL;
  }
  return false;
}

/* --- data ------------------------------------------------------------------------------ */

static au_time cutoff_of(au_time now, int days) {
  const struct au_tz *tz = au_tz_get(EPT, NULL);
  int y, m, d;
  au_tz_local_date(tz, now, &y, &m, &d);
  au_civil_from_days(au_days_from_civil(y, m, d) - days, &y, &m, &d);
  return au_tz_day_start(tz, y, m, d);
}

static bool published(const struct feed *f, au_time t, au_time now) {
  if (f->kind == F_DA) {
    const struct au_tz *tz = au_tz_get(EPT, NULL);
    int y, m, d;
    au_tz_local_date(tz, t, &y, &m, &d);
    au_time day = au_tz_day_start(tz, y, m, d);
    return now >= day - 10 * AU_HOUR - 30 * AU_MINUTE; /* 13:30 EPT the day before */
  }
  return t + (au_time)f->minutes * AU_MINUTE <= now;
}

static int add_stamp(struct au_buf *b, const char *name, au_time t, bool local, bool *first) {
  struct au_civil c;
  if (local)
    au_tz_to_local(au_tz_get(EPT, NULL), t, &c);
  else
    au_time_to_civil(t, &c);
  return au_buf_printf(b, "%s\"%s\":\"%04d-%02d-%02dT%02d:%02d:%02d\"", *first ? "" : ",", name, c.year, c.month,
                       c.day, c.hour, c.minute, c.second) ||
         ((*first = false), 0);
}

static int add_kv_num(struct au_buf *b, const char *name, double v, bool *first) {
  int rc = au_buf_printf(b, "%s\"%s\":%.5f", *first ? "" : ",", name, v);
  *first = false;
  return rc;
}

static int add_kv_str(struct au_buf *b, const char *name, const char *v, bool *first) {
  int rc = au_buf_printf(b, "%s\"%s\":", *first ? "" : ",", name);
  if (!rc)
    rc = v ? au_buf_add_json_str(b, v, strlen(v)) : au_buf_adds(b, "null");
  *first = false;
  return rc;
}

static int lmp_item(struct au_buf *b, const struct feed *f, const char *fields, const struct pnode *n, au_time t,
                    const double parts[AU_SIM_NCOMPONENTS], bool current, int version) {
  bool first = true;
  int rc = au_buf_addc(b, '{');
  for (const char *const *fn = f->fields; *fn && !rc; fn++) {
    const char *name = *fn;
    if (!want_field(fields, name))
      continue;
    if (!strcmp(name, "datetime_beginning_utc"))
      rc = add_stamp(b, name, t, false, &first);
    else if (!strcmp(name, "datetime_beginning_ept"))
      rc = add_stamp(b, name, t, true, &first);
    else if (!strcmp(name, "pnode_id")) {
      rc = au_buf_printf(b, "%s\"pnode_id\":%lld", first ? "" : ",", n->id);
      first = false;
    } else if (!strcmp(name, "pnode_name"))
      rc = add_kv_str(b, name, n->name, &first);
    else if (!strcmp(name, "voltage") || !strcmp(name, "equipment"))
      rc = add_kv_str(b, name, NULL, &first);
    else if (!strcmp(name, "type"))
      rc = add_kv_str(b, name, n->type, &first);
    else if (!strcmp(name, "zone"))
      rc = add_kv_str(b, name, n->zone, &first);
    else if (!strncmp(name, "system_energy_price", 19))
      rc = add_kv_num(b, name, parts[AU_SIM_ENERGY], &first);
    else if (!strncmp(name, "total_lmp", 9))
      rc = add_kv_num(b, name, parts[AU_SIM_LMP], &first);
    else if (!strncmp(name, "congestion_price", 16))
      rc = add_kv_num(b, name, parts[AU_SIM_CONGESTION], &first);
    else if (!strncmp(name, "marginal_loss_price", 19))
      rc = add_kv_num(b, name, parts[AU_SIM_LOSS], &first);
    else if (!strcmp(name, "row_is_current")) {
      rc = au_buf_printf(b, "%s\"row_is_current\":%s", first ? "" : ",", current ? "true" : "false");
      first = false;
    } else if (!strcmp(name, "version_nbr")) {
      rc = au_buf_printf(b, "%s\"version_nbr\":%d", first ? "" : ",", version);
      first = false;
    }
  }
  return rc ? rc : au_buf_addc(b, '}');
}

struct emit {
  struct au_buf *b;
  int64_t idx, lo, hi; /* 1-based row numbers; emit rows lo..hi */
  size_t rows;
  int rc;
};

static bool slot(struct emit *e) {
  e->idx++;
  if (e->idx < e->lo || e->idx > e->hi || e->rc)
    return false;
  if (e->rows++)
    e->rc = au_buf_addc(e->b, ',');
  return !e->rc;
}

/* DA and RT 5-minute: the model at the interval; RT hourly: the mean of its twelve
 * 5-minute intervals (each part rounded to 5 decimals, LMP = their sum). */
static void model_parts(struct au_sim_ctx *ctx, const struct feed *f, const char *node, au_time t,
                        double parts[AU_SIM_NCOMPONENTS]) {
  if (f->kind != F_RT) {
    au_sim_price_parts(au_sim_seed(ctx), ISO, node, t, parts);
    return;
  }
  double sum[AU_SIM_NCOMPONENTS] = {0}, p[AU_SIM_NCOMPONENTS];
  for (int i = 0; i < 12; i++) {
    au_sim_price_parts(au_sim_seed(ctx), ISO, node, t + i * 5 * AU_MINUTE, p);
    for (int c = 0; c < AU_SIM_NCOMPONENTS; c++)
      sum[c] += p[c];
  }
  for (int c = 1; c < AU_SIM_NCOMPONENTS; c++)
    parts[c] = au_sim_round5(sum[c] / 12.0);
  parts[AU_SIM_LMP] = parts[AU_SIM_ENERGY] + parts[AU_SIM_CONGESTION] + parts[AU_SIM_LOSS] + parts[AU_SIM_GHG];
}

static void gen_lmp(struct au_sim_ctx *ctx, const struct feed *f, const char *fields, const char *ids,
                    const char *cur_filter, au_time t0, au_time t1, struct emit *e) {
  au_time step = (au_time)f->minutes * AU_MINUTE, now = au_sim_now(ctx);
  bool only_current = cur_filter && !strcasecmp(cur_filter, "true");
  bool only_old = cur_filter && !strcasecmp(cur_filter, "false");
  for (au_time t = t0 - ((t0 % step) + step) % step; t <= t1; t += step) {
    if (t < t0 || !published(f, t, now))
      continue;
    double delta = au_sim_revision_delta(ctx, ISO, t);
    for (size_t k = 0; k < AU_ARRAY_LEN(nodes); k++) {
      char idbuf[24];
      snprintf(idbuf, sizeof(idbuf), "%lld", nodes[k].id);
      if (ids && !in_semis(ids, idbuf))
        continue;
      double model[AU_SIM_NCOMPONENTS], served[AU_SIM_NCOMPONENTS];
      model_parts(ctx, f, nodes[k].name, t, model);
      memcpy(served, model, sizeof(served));
      if (delta != 0) {
        served[AU_SIM_ENERGY] = au_sim_round5(served[AU_SIM_ENERGY] + delta);
        served[AU_SIM_LMP] = served[AU_SIM_ENERGY] + served[AU_SIM_CONGESTION] + served[AU_SIM_LOSS];
      }
      if (delta != 0 && !only_current && slot(e))
        e->rc = lmp_item(e->b, f, fields, &nodes[k], t, model, false, 1);
      if (!only_old && slot(e))
        e->rc = lmp_item(e->b, f, fields, &nodes[k], t, served, true, delta != 0 ? 2 : 1);
    }
  }
}

static void gen_load(struct au_sim_ctx *ctx, const struct feed *f, const char *fields, const char *areas,
                     au_time t0, au_time t1, struct emit *e) {
  au_time now = au_sim_now(ctx);
  for (au_time t = t0 - ((t0 % AU_HOUR) + AU_HOUR) % AU_HOUR; t <= t1; t += AU_HOUR) {
    if (t < t0 || !published(f, t, now))
      continue;
    for (size_t k = 0; k < AU_ARRAY_LEN(load_areas); k++) {
      const char *a = load_areas[k];
      if (areas && !in_semis(areas, a))
        continue;
      if (!slot(e))
        continue;
      bool rto = !strcmp(a, "RTO");
      double mw = au_sim_served_load(ctx, ISO, rto ? NULL : a, t);
      bool first = true;
      struct au_buf *b = e->b;
      int rc = au_buf_addc(b, '{');
      for (const char *const *fn = f->fields; *fn && !rc; fn++) {
        if (!want_field(fields, *fn))
          continue;
        if (!strcmp(*fn, "datetime_beginning_utc"))
          rc = add_stamp(b, *fn, t, false, &first);
        else if (!strcmp(*fn, "datetime_beginning_ept"))
          rc = add_stamp(b, *fn, t, true, &first);
        else if (!strcmp(*fn, "nerc_region"))
          rc = add_kv_str(b, *fn, "RFC", &first);
        else if (!strcmp(*fn, "mkt_region"))
          rc = add_kv_str(b, *fn, rto ? "RTO" : "MIDATL", &first);
        else if (!strcmp(*fn, "zone") || !strcmp(*fn, "load_area"))
          rc = add_kv_str(b, *fn, a, &first);
        else if (!strcmp(*fn, "mw")) {
          rc = au_buf_printf(b, "%s\"mw\":%.3f", first ? "" : ",", mw);
          first = false;
        } else if (!strcmp(*fn, "is_verified")) {
          rc = au_buf_printf(b, "%s\"is_verified\":%s", first ? "" : ",",
                             t + 3 * AU_DAY <= now ? "true" : "false");
          first = false;
        }
      }
      e->rc = rc ? rc : au_buf_addc(b, '}');
    }
  }
}

static void gen_fcst(struct au_sim_ctx *ctx, const struct feed *f, const char *fields, const char *areas,
                     au_time t0, au_time t1, struct emit *e) {
  au_time now = au_sim_now(ctx);
  uint64_t seed = au_sim_seed(ctx);
  for (au_time t = t0 - ((t0 % AU_HOUR) + AU_HOUR) % AU_HOUR; t <= t1; t += AU_HOUR) {
    if (t < t0)
      continue;
    /* vintages v (multiples of 12 h) with v <= now, v <= t < v + 7 days */
    au_time vlast = now - ((now % FC_EVERY) + FC_EVERY) % FC_EVERY;
    for (au_time v = t - ((t % FC_EVERY) + FC_EVERY) % FC_EVERY - FC_HORIZON + FC_EVERY; v <= vlast; v += FC_EVERY) {
      if (v > t || t >= v + FC_HORIZON)
        continue;
      for (size_t k = 0; k < AU_ARRAY_LEN(fc_areas); k++) {
        const char *a = fc_areas[k];
        if (areas && !in_semis(areas, a))
          continue;
        if (!slot(e))
          continue;
        bool rto = !strcmp(a, "RTO_COMBINED");
        double lead = (double)(t - v) / (double)AU_DAY;
        double mw = au_sim_served_load(ctx, ISO, rto ? NULL : a, t) *
                    (1.0 + 0.01 * (1.0 + lead) * au_sim_gauss(seed, a, t ^ v));
        bool first = true;
        struct au_buf *b = e->b;
        int rc = au_buf_addc(b, '{');
        for (const char *const *fn = f->fields; *fn && !rc; fn++) {
          if (!want_field(fields, *fn))
            continue;
          if (!strcmp(*fn, "evaluated_at_datetime_utc"))
            rc = add_stamp(b, *fn, v, false, &first);
          else if (!strcmp(*fn, "evaluated_at_datetime_ept"))
            rc = add_stamp(b, *fn, v, true, &first);
          else if (!strcmp(*fn, "forecast_datetime_beginning_utc"))
            rc = add_stamp(b, *fn, t, false, &first);
          else if (!strcmp(*fn, "forecast_datetime_beginning_ept"))
            rc = add_stamp(b, *fn, t, true, &first);
          else if (!strcmp(*fn, "forecast_datetime_ending_utc"))
            rc = add_stamp(b, *fn, t + AU_HOUR, false, &first);
          else if (!strcmp(*fn, "forecast_datetime_ending_ept"))
            rc = add_stamp(b, *fn, t + AU_HOUR, true, &first);
          else if (!strcmp(*fn, "forecast_area"))
            rc = add_kv_str(b, *fn, a, &first);
          else if (!strcmp(*fn, "forecast_load_mw")) {
            rc = au_buf_printf(b, "%s\"forecast_load_mw\":%.0f", first ? "" : ",", mw);
            first = false;
          }
        }
        e->rc = rc ? rc : au_buf_addc(b, '}');
      }
    }
  }
}

static int pjm_handle(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  const char *key = req->header(req, "Ocp-Apim-Subscription-Key");
  if (!key || !*key)
    key = req->arg(req, "subscription-key");
  const char *want = getenv("AURUM_SIM_PJM_API_KEY");
  if (!key || !*key) {
    apim_error(rep, 401,
               "Access denied due to missing subscription key. Make sure to include subscription key "
               "when making requests to an API.");
    return 0;
  }
  if (want && *want && strcmp(key, want) != 0) {
    apim_error(rep, 401,
               "Access denied due to invalid subscription key. Make sure to provide a valid key for an "
               "active subscription.");
    return 0;
  }
  int wait = rate_check(key);
  if (wait) {
    char msg[96], ra[16];
    snprintf(msg, sizeof(msg), "Rate limit is exceeded. Try again in %d seconds.", wait);
    apim_error(rep, 429, msg);
    snprintf(ra, sizeof(ra), "%d", wait);
    return au_sim_reply_header(rep, "Retry-After", ra);
  }
  const char *fname = req->path + strlen(PREFIX);
  const struct feed *f = NULL;
  for (size_t i = 0; i < AU_ARRAY_LEN(feeds); i++)
    if (strcmp(fname, feeds[i].name) == 0)
      f = &feeds[i];
  if (!f) {
    dm_error(rep, 404, NULL, "Resource not found");
    return 0;
  }
  if (strcmp(req->method, "GET") != 0) {
    dm_error(rep, 405, NULL, "Method not allowed");
    return 0;
  }
  const char *rcv = req->arg(req, "rowCount"), *srv = req->arg(req, "startRow");
  if (!rcv || !srv) {
    dm_error(rep, 400, !rcv ? "rowCount" : "startRow",
             "rowCount and startRow are required when other parameters are present");
    return 0;
  }
  char *end;
  long row_count = strtol(rcv, &end, 10);
  if (*end || row_count < 1 || row_count > 50000) {
    dm_error(rep, 400, "rowCount", "rowCount must be between 1 and 50000");
    return 0;
  }
  long start_row = strtol(srv, &end, 10);
  if (*end || start_row < 1) {
    dm_error(rep, 400, "startRow", "startRow must be 1 or greater");
    return 0;
  }
  const char *rv = req->arg(req, f->utc_col);
  const char *filter_name = f->utc_col;
  bool ept = false;
  if (!rv || !*rv) {
    rv = req->arg(req, f->ept_col);
    filter_name = f->ept_col;
    ept = true;
  }
  if (!rv || !*rv) {
    dm_error(rep, 400, f->utc_col, "a datetime filter is required");
    return 0;
  }
  au_time t0, t1;
  if (!parse_range(rv, ept, &t0, &t1)) {
    dm_error(rep, 400, filter_name, "Invalid date range; expected 'MM/DD/YYYY HH:MM to MM/DD/YYYY HH:MM'");
    return 0;
  }
  if (t1 - t0 >= 366 * AU_DAY) {
    dm_error(rep, 400, filter_name, "Error: Date range cannot exceed 366 days");
    return 0;
  }
  const char *ids = req->arg(req, "pnode_id");
  if (f->archive_days) {
    au_time cut = cutoff_of(au_sim_now(ctx), f->archive_days);
    if (t0 < cut && t1 >= cut) {
      dm_error(rep, 400, filter_name, "Date range in the API request spans over archived and standard data");
      return 0;
    }
    if (t0 < cut) {
      struct au_civil a, b;
      au_time_to_civil(t0, &a);
      au_time_to_civil(t1, &b);
      if (a.year != b.year) {
        dm_error(rep, 400, filter_name, "Archived data must be requested within one calendar year");
        return 0;
      }
      if (ids && *ids) {
        dm_error(rep, 400, "pnode_id", "Filter pnode_id is not supported for archived data");
        return 0;
      }
      if (req->arg(req, "sort")) {
        dm_error(rep, 400, "sort", "Sorting is not supported for archived data");
        return 0;
      }
    }
  }
  const char *fields = req->arg(req, "fields");
  const char *areas = req->arg(req, f->kind == F_FCST ? "forecast_area" : "load_area");
  struct au_buf *b = &rep->body;
  struct emit e = {b, 0, start_row, start_row + row_count - 1, 0, 0};
  int rc;
  rc = au_buf_adds(b, "{\"links\":[{\"rel\":\"self\",\"href\":");
  if (!rc) {
    char href[2048];
    snprintf(href, sizeof(href), "https://api.pjm.com%s", req->target);
    rc = au_buf_add_json_str(b, href, strlen(href));
  }
  if (!rc)
    rc = au_buf_printf(b, "},{\"rel\":\"metadata\",\"href\":\"https://api.pjm.com/api/v1/%s/metadata\"}],\"items\":[",
                       f->name);
  if (rc)
    return rc;
  if (f->kind == F_LOAD)
    gen_load(ctx, f, fields, areas, t0, t1, &e);
  else if (f->kind == F_FCST)
    gen_fcst(ctx, f, fields, areas, t0, t1, &e);
  else
    gen_lmp(ctx, f, fields, ids && *ids ? ids : NULL, req->arg(req, "row_is_current"), t0, t1, &e);
  if (e.rc)
    return e.rc;
  rc = au_buf_printf(b, "],\"searchSpecification\":{\"rowCount\":%ld,\"order\":\"Asc\",\"startRow\":%ld,"
                        "\"isActiveMetadata\":true,\"fields\":[],\"filters\":[{",
                     row_count, start_row);
  if (!rc)
    rc = au_buf_add_json_str(b, filter_name, strlen(filter_name));
  if (!rc)
    rc = au_buf_addc(b, ':');
  if (!rc)
    rc = au_buf_add_json_str(b, rv, strlen(rv));
  if (!rc)
    rc = au_buf_printf(b, "}]},\"totalRows\":%lld}", (long long)e.idx);
  if (rc)
    return rc;
  char tr[24];
  snprintf(tr, sizeof(tr), "%lld", (long long)e.idx);
  rep->rows = e.rows;
  return au_sim_reply_header(rep, "X-TotalRows", tr);
}

const struct au_sim_handler au_sim_pjm = {"pjm", PREFIX, pjm_handle, pjm_error};
