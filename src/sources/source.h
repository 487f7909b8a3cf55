/* source.h - the source plug-in interface.
 *
 * A source describes its tables (schema, key, cursor, time conventions, politeness),
 * plans HTTP requests for a time window and parses response bodies into a columnar
 * batch. It never touches the network or the clock: both come from the caller, so
 * every source can be tested on recorded bytes. Adding an operator is one file with a
 * `const struct au_source_ops au_source_<name>` plus one line in registry.c. */
#ifndef AU_SOURCE_H
#define AU_SOURCE_H
#include "core/au.h"
#include "core/batch.h"
#include "core/time.h"
#include "net/http.h"

struct au_err;

enum au_opt_type { AU_OPT_STR = 1, AU_OPT_INT, AU_OPT_DOUBLE, AU_OPT_BOOL, AU_OPT_LIST };

/* An option a source or table accepts (unknown keys are configuration errors). */
struct au_option_def {
  const char *name;
  enum au_opt_type type;
  const char *def;   /* default as text, or NULL */
  const char *env;   /* environment variable that sets it, or NULL */
  const char *doc;
  bool secret;       /* never printed */
};

struct au_table_def {
  const char *name;           /* "pool_price" (qualified: "aeso.pool_price") */
  const char *description;
  const struct au_schema *schema;
  const char *dest_table;     /* default destination table, e.g. "aeso_pool_price" */
  const char *cursor_col;     /* data-time column of the watermark */
  const char *watermark_requires; /* column that must be non-NULL for a row to count
                                     toward the watermark (NULL: every row counts) */
  const char *trade_tz;       /* IANA zone of the operator's trade day */
  int interval_minutes;
  int default_batch_days;     /* window size of one committed batch */
  int default_lookback_hours; /* incremental re-read before the watermark */
  int default_history_days;   /* initial load when no start_date */
  double default_rate_delay;  /* seconds to sleep between batches */
  int max_request_days;       /* 0 = no limit; the planner splits longer windows */
  const struct au_option_def *opts; /* table-specific options, NULL-terminated by name */
  const void *priv;           /* source-private table data (query names, ...) */
};

/* A resolved option set: key/value text, looked up by name. */
struct au_kv {
  char *key;
  char *value;
};
struct au_opts {
  struct au_kv *v;
  size_t n, cap;
};
void au_opts_set(struct au_opts *o, const char *key, const char *value);
const char *au_opts_get(const struct au_opts *o, const char *key);
void au_opts_release(struct au_opts *o);
void au_opts_copy(struct au_opts *dst, const struct au_opts *src);

/* One planned HTTP request. Strings are owned by the request. */
struct au_request {
  char *url;
  struct au_http_header *headers; /* name/value strings owned */
  size_t nheaders;
  char *method;          /* NULL = GET */
  char *body;
  size_t body_len;
  const char *credential; /* static string naming the credential ("AESO_API_KEY") */
  au_time win_start;     /* data window covered [start, end) */
  au_time win_end;
  int64_t cookie;        /* source-private: page number, node group, ... */
  int64_t cookie2;
  char label[160];       /* for logs and error messages */
};

struct au_reqlist {
  struct au_request *v;
  size_t n, cap;
};

/* Append a request; returns it (zeroed) for the caller to fill. */
struct au_request *au_reqlist_push(struct au_reqlist *l);
void au_request_set_url(struct au_request *r, const char *url);
void au_request_add_header(struct au_request *r, const char *name, const char *value);
void au_request_release(struct au_request *r);
void au_reqlist_clear(struct au_reqlist *l);
void au_reqlist_release(struct au_reqlist *l);

struct au_response {
  long status;
  const char *body;
  size_t len;
  const char *content_type;
};

struct au_source_ops;

/* Everything a source sees for one table run. */
struct au_source_ctx {
  const struct au_source_ops *src;
  const struct au_table_def *table;
  const char *base_url;        /* resolved: config > env > default */
  const struct au_opts *opts;  /* merged source + table options */
  au_time now;                 /* the run's clock (AURUM_NOW honoured) */
  au_time ingestion_time;      /* one value for the whole run */
  struct au_http_client *http; /* for sources that need an auth pre-flight (token) */
  void *priv;                  /* source-private state created by init */
};

struct au_source_ops {
  int version;                 /* AU_SOURCE_OPS_VERSION */
  const char *name;            /* "aeso" */
  const char *title;           /* "Alberta Electric System Operator" */
  const char *default_base;    /* "https://apimgw.aeso.ca" */
  const char *const *base_env; /* NULL-terminated env names overriding the base URL */
  const struct au_option_def *opts; /* source-level options, terminated by a NULL name */
  const struct au_table_def *tables;
  size_t ntables;
  struct au_http_policy policy; /* default politeness */

  /* Optional: validate options and create ctx->priv. */
  int (*init)(struct au_source_ctx *ctx, struct au_err *err);
  void (*fini)(struct au_source_ctx *ctx);
  /* Plan the requests that fetch the data window [start, end) (UTC). */
  int (*plan)(struct au_source_ctx *ctx, au_time start, au_time end, struct au_reqlist *out,
              struct au_err *err);
  /* Parse one response into rows appended to out. May push follow-up requests (next
   * page) to more. Returns 0, AU_E_NODATA (an empty window, not a failure),
   * AU_E_SPLIT (ask the planner to split the request's window), or an error whose
   * message carries the row/column or byte position. On error the rows appended by
   * this call are removed by the caller. */
  int (*parse)(struct au_source_ctx *ctx, const struct au_request *req,
               const struct au_response *resp, struct au_batch *out, struct au_reqlist *more,
               struct au_err *err);
  /* Optional: the window (trade days per committed batch, and default backfill chunk) for
   * a table with these options when the user did not set batch_size_days; 0 = the table's
   * default_batch_days. E.g. CAISO's every-node mode answers one day per request, so its
   * windows are one day instead of holding 31 days of every node in memory. */
  int (*window_days)(const struct au_table_def *def, const struct au_opts *table_opts,
                     const struct au_opts *source_opts);
};

#define AU_SOURCE_OPS_VERSION 1

/* --- registry (registry.c) ------------------------------------------------------- */
const struct au_source_ops *const *au_sources(size_t *n);
const struct au_source_ops *au_source_find(const char *name);
/* Find "source.table"; also accepts a bare table name when only one source has it. */
int au_table_find(const char *qualified, const struct au_source_ops **src,
                  const struct au_table_def **table, struct au_err *err);
/* Option definition lookup across the source's and the table's options. */
const struct au_option_def *au_option_find(const struct au_source_ops *src,
                                           const struct au_table_def *t, const char *name);

#endif
