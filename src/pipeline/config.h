/* config.h - aurum's configuration tree.
 *
 * Sources of settings, later ones winning: built-in defaults < environment variables <
 * aurum.yaml (or --config FILE; ${ENV} and ${ENV:-default} expanded) < a Lakeflow
 * pipeline spec + connection JSON < command-line flags. Unknown keys are errors. */
#ifndef AU_CONFIG_H
#define AU_CONFIG_H
#include "core/au.h"
#include "sources/source.h"

struct au_err;

struct au_source_cfg {
  char *name;           /* "aeso" */
  struct au_opts opts;  /* base_url, api_key, rate_limit, ... as text */
};

struct au_table_cfg {
  char *qualified;      /* "aeso.pool_price" */
  const struct au_source_ops *src;
  const struct au_table_def *def;
  char *dest;           /* destination table */
  char *dest_schema;    /* optional schema (PostgreSQL) / Lakeflow destination_schema */
  char *dest_catalog;   /* Lakeflow destination_catalog (recorded, not used) */
  char *start_date;     /* "YYYY-MM-DD[...]" or NULL */
  int lookback_hours;
  int batch_size_days;
  bool batch_size_days_set; /* given in the config (else the source may choose, see below) */
  double rate_limit_delay;
  char *sequence_by;    /* default "ingestion_time" */
  char *scd_type;       /* "SCD_TYPE_1" */
  struct au_opts opts;  /* table-specific options (nodes, market, ...) */
  char **sinks;         /* "store", "kafka" */
  size_t nsinks;
  struct au_opts kafka; /* per-table Kafka overrides (topic, format) */
  /* backfill quotas of this dataset (0 = unlimited; see docs/backfill.md) */
  double max_records_per_hour;
  double max_bytes_per_hour;
  int max_concurrent_requests;
  int priority;         /* backfill job priority, higher first */
};

struct au_config {
  char *path;           /* config file read, or NULL */
  char *store_url;
  char *log_format;     /* "text" | "json" */
  char *log_level;
  double lock_timeout;  /* seconds */
  int batch_retries;
  struct au_source_cfg *sources;
  size_t nsources;
  struct au_table_cfg *tables;
  size_t ntables;
  struct au_opts kafka; /* bootstrap_servers, format, schema_registry_url, properties.* */
};

void au_config_init(struct au_config *c);

/* Trade days per window (committed batch) and default backfill chunk of t: batch_size_days
 * when the config sets it, else what the source asks for these options (window_days),
 * else the table's default. */
int au_table_window_days(const struct au_config *c, const struct au_table_cfg *t);
void au_config_release(struct au_config *c);

/* Load a YAML file into c. explicit: the user named it (missing file is an error);
 * otherwise a missing ./aurum.yaml is fine. */
int au_config_load_yaml(struct au_config *c, const char *path, bool explicit, struct au_err *err);
/* Parse YAML text (for tests). */
int au_config_parse_yaml(struct au_config *c, const char *text, size_t len, struct au_err *err);
/* Merge a Lakeflow pipeline spec and connection JSON (either may be NULL). */
int au_config_load_pipeline_spec(struct au_config *c, const char *spec_path, const char *conn_path,
                                 struct au_err *err);
int au_config_parse_pipeline_spec(struct au_config *c, const char *spec, size_t spec_len,
                                  const char *conn, size_t conn_len, struct au_err *err);

/* Find or add the config of a source / table ("aeso.pool_price"). */
struct au_source_cfg *au_config_source(struct au_config *c, const char *name);
struct au_table_cfg *au_config_table(struct au_config *c, const char *qualified, struct au_err *err);
const struct au_table_cfg *au_config_find_table(const struct au_config *c, const char *qualified);

/* Resolved settings for running one table: merged options (defaults < env < source
 * config < table config) and the base URL. Caller releases opts. */
int au_config_resolve(const struct au_config *c, const struct au_table_cfg *t, struct au_opts *opts,
                      char **base_url, struct au_err *err);
/* HTTP politeness from the source's defaults and its options
 * (rate_limit, min_spacing, timeout, retry_attempts, backoff_factor, user_agent). */
int au_config_http_policy(const struct au_source_ops *src, const struct au_opts *opts,
                          double rate_limit_delay, struct au_http_policy *p, struct au_err *err);

/* Whether key is an option of the source/table or a common source option. */
bool au_config_option_known(const struct au_source_ops *src, const struct au_table_def *t, const char *key);

/* Expand ${VAR} and ${VAR:-default} in s (malloc'd result). */
char *au_config_expand_env(const char *s);

#endif
