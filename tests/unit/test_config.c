/* test_config.c - YAML config, ${ENV} expansion and the Lakeflow pipeline spec. */
#include "core/au.h"
#include "au_test.h"
#include "core/err.h"
#include "pipeline/backfill.h"
#include "pipeline/config.h"

#include <stdlib.h>
#include <string.h>

TEST(yaml_full) {
  setenv("AU_TEST_KEY", "secret-1", 1);
  unsetenv("AU_TEST_MISSING");
  const char *y = "store: sqlite:/tmp/x.db\n"
                  "log_format: json\n"
                  "sources:\n"
                  "  aeso:\n"
                  "    api_key: ${AU_TEST_KEY}\n"
                  "    base_url: ${AU_TEST_MISSING:-http://127.0.0.1:9}\n"
                  "    rate_limit: 30\n"
                  "tables:\n"
                  "  - table: aeso.pool_price\n"
                  "    destination: prices\n"
                  "    start_date: 2024-01-01\n"
                  "    lookback_hours: 48\n"
                  "    batch_size_days: 7\n"
                  "    rate_limit_delay: 0.5\n";
  struct au_config c;
  au_config_init(&c);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_config_parse_yaml(&c, y, strlen(y), &err), 0);
  if (err.code)
    fprintf(stderr, "%s\n", err.msg);
  CHECK_EQ_STR(c.store_url, "sqlite:/tmp/x.db");
  CHECK_EQ_STR(c.log_format, "json");
  CHECK_EQ_INT(c.ntables, 1);
  const struct au_table_cfg *t = au_config_find_table(&c, "aeso.pool_price");
  CHECK(t != NULL);
  if (t) {
    CHECK_EQ_STR(t->dest, "prices");
    CHECK_EQ_STR(t->start_date, "2024-01-01");
    CHECK_EQ_INT(t->lookback_hours, 48);
    CHECK_EQ_INT(t->batch_size_days, 7);
    CHECK_NEAR(t->rate_limit_delay, 0.5, 0);
    struct au_opts o = {0};
    char *base = NULL;
    unsetenv("AESO_API_KEY");
    unsetenv("AURUM_AESO_BASE");
    CHECK_EQ_INT(au_config_resolve(&c, t, &o, &base, &err), 0);
    CHECK_EQ_STR(au_opts_get(&o, "api_key"), "secret-1");
    CHECK_EQ_STR(base, "http://127.0.0.1:9");
    struct au_http_policy p;
    CHECK_EQ_INT(au_config_http_policy(t->src, &o, t->rate_limit_delay, &p, &err), 0);
    CHECK_NEAR(p.rate_per_min, 30, 0);
    CHECK_NEAR(p.min_spacing, 0.5, 0);
    free(base);
    au_opts_release(&o);
  }
  au_config_release(&c);
}

TEST(yaml_unknown_key_is_error) {
  const char *y = "sources:\n  aeso:\n    api_kee: x\n";
  struct au_config c;
  au_config_init(&c);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_config_parse_yaml(&c, y, strlen(y), &err), AU_E_CONFIG);
  CHECK(strstr(err.msg, "api_kee") != NULL);
  CHECK(strstr(err.msg, "line 3") != NULL);
  au_config_release(&c);

  const char *y2 = "tables:\n  - table: aeso.pool_price\n    lookback_hours: soon\n";
  au_config_init(&c);
  au_err_clear(&err);
  CHECK_EQ_INT(au_config_parse_yaml(&c, y2, strlen(y2), &err), AU_E_CONFIG);
  CHECK(strstr(err.msg, "lookback_hours") != NULL);
  au_config_release(&c);

  const char *y3 = "tables:\n  - table: nope.pool_price\n";
  au_config_init(&c);
  au_err_clear(&err);
  CHECK(au_config_parse_yaml(&c, y3, strlen(y3), &err) != 0);
  CHECK(strstr(err.msg, "nope") != NULL);
  au_config_release(&c);

  const char *y4 = "sources: [unclosed\n";
  au_config_init(&c);
  au_err_clear(&err);
  CHECK_EQ_INT(au_config_parse_yaml(&c, y4, strlen(y4), &err), AU_E_CONFIG);
  CHECK(strstr(err.msg, "YAML line") != NULL);
  au_config_release(&c);
}

/* The spec, verbatim: strings everywhere, scd_type in table. */
static const char spec_strings[] =
    "{\"pipeline_spec\":{\"connection_name\":\"aeso_conn\",\"object\":[{\"table\":{\"source_table\":"
    "\"pool_price\",\"destination_catalog\":\"main\",\"destination_schema\":\"bronze\",\"destination_table\":"
    "\"aeso_pool_price_bronze\",\"scd_type\":\"SCD_TYPE_1\",\"table_configuration\":{\"start_date\":\"2024-01-01\","
    "\"lookback_hours\":\"24\",\"batch_size_days\":\"7\",\"rate_limit_delay\":\"0.5\"}}}]}}";
/* The seed's other example: numbers, scd_type inside table_configuration, sequence_by. */
static const char spec_numbers[] =
    "{\"pipeline_spec\":{\"connection_name\":\"my_connection\",\"object\":[{\"table\":{\"source_table\":"
    "\"pool_price\",\"destination_catalog\":\"cat\",\"destination_schema\":\"sch\",\"destination_table\":\"pp\","
    "\"table_configuration\":{\"scd_type\":\"SCD_TYPE_1\",\"start_date\":\"2023-06-01\",\"lookback_hours\":48,"
    "\"batch_size_days\":30,\"rate_limit_delay\":0.1,\"sequence_by\":\"ingestion_time\"}}}]}}";

TEST(pipeline_spec_as_written) {
  struct au_config c;
  au_config_init(&c);
  struct au_err err = AU_ERR_INIT;
  const char *conn = "{\"api_key\":\"abc\"}";
  CHECK_EQ_INT(au_config_parse_pipeline_spec(&c, spec_strings, strlen(spec_strings), conn, strlen(conn), &err), 0);
  if (err.code)
    fprintf(stderr, "%s\n", err.msg);
  const struct au_table_cfg *t = au_config_find_table(&c, "aeso.pool_price");
  CHECK(t != NULL);
  if (t) {
    CHECK_EQ_STR(t->dest, "aeso_pool_price_bronze");
    CHECK_EQ_STR(t->dest_schema, "bronze");
    CHECK_EQ_STR(t->dest_catalog, "main");
    CHECK_EQ_INT(t->lookback_hours, 24);
    CHECK_EQ_INT(t->batch_size_days, 7);
    CHECK_NEAR(t->rate_limit_delay, 0.5, 0);
    CHECK_EQ_STR(t->start_date, "2024-01-01");
    CHECK_EQ_STR(t->scd_type, "SCD_TYPE_1");
    CHECK_EQ_STR(t->sequence_by, "ingestion_time");
  }
  CHECK_EQ_INT(c.nsources, 1);
  CHECK_EQ_STR(au_opts_get(&c.sources[0].opts, "api_key"), "abc");
  au_config_release(&c);

  au_config_init(&c);
  au_err_clear(&err);
  CHECK_EQ_INT(au_config_parse_pipeline_spec(&c, spec_numbers, strlen(spec_numbers), conn, strlen(conn), &err), 0);
  if (err.code)
    fprintf(stderr, "%s\n", err.msg);
  t = au_config_find_table(&c, "aeso.pool_price");
  CHECK(t != NULL);
  if (t) {
    CHECK_EQ_STR(t->dest, "pp");
    CHECK_EQ_INT(t->lookback_hours, 48);
    CHECK_EQ_INT(t->batch_size_days, 30);
    CHECK_NEAR(t->rate_limit_delay, 0.1, 1e-15);
  }
  au_config_release(&c);
}

TEST(pipeline_spec_errors) {
  struct au_config c;
  au_config_init(&c);
  struct au_err err = AU_ERR_INIT;
  const char *bad = "{\"pipeline_spec\":{\"object\":[{\"table\":{\"source_table\":\"pool_price\","
                    "\"table_configuration\":{\"scd_type\":\"SCD_TYPE_2\"}}}]}}";
  CHECK_EQ_INT(au_config_parse_pipeline_spec(&c, bad, strlen(bad), NULL, 0, &err), AU_E_CONFIG);
  CHECK(strstr(err.msg, "SCD_TYPE_1") != NULL);
  au_config_release(&c);
  au_config_init(&c);
  au_err_clear(&err);
  const char *unk = "{\"pipeline_spec\":{\"object\":[{\"table\":{\"source_table\":\"pool_price\","
                    "\"table_configuration\":{\"lookbak_hours\":\"3\"}}}]}}";
  CHECK_EQ_INT(au_config_parse_pipeline_spec(&c, unk, strlen(unk), NULL, 0, &err), AU_E_CONFIG);
  CHECK(strstr(err.msg, "lookbak_hours") != NULL);
  au_config_release(&c);
  au_config_init(&c);
  au_err_clear(&err);
  const char *trunc = "{\"pipeline_spec\":{\"object\":[";
  CHECK_EQ_INT(au_config_parse_pipeline_spec(&c, trunc, strlen(trunc), NULL, 0, &err), AU_E_CONFIG);
  CHECK(strstr(err.msg, "line 1") != NULL);
  au_config_release(&c);
}

TEST(env_expansion) {
  setenv("AU_X", "1", 1);
  unsetenv("AU_Y");
  char *s = au_config_expand_env("a${AU_X}b${AU_Y}c${AU_Y:-d}e");
  CHECK_EQ_STR(s, "a1bcde");
  free(s);
}

/* Windows: CAISO's every-node mode asks for one-day windows (and backfill chunks) unless the
 * config sets batch_size_days; other tables keep their default. */
TEST(window_days) {
  const char *y = "tables:\n"
                  "  - table: caiso.lmp_dam\n"
                  "    grp_type: ALL_APNODES\n"
                  "  - table: caiso.lmp_rtm\n"
                  "    grp_type: ALL_APNODES\n"
                  "    batch_size_days: 2\n"
                  "  - table: caiso.lmp_fmm\n"
                  "    nodes: TH_NP15_GEN-APND\n"
                  "  - table: aeso.pool_price\n";
  struct au_config c;
  au_config_init(&c);
  struct au_err err = AU_ERR_INIT;
  CHECK_EQ_INT(au_config_parse_yaml(&c, y, strlen(y), &err), 0);
  CHECK_EQ_INT((long)c.ntables, 4);
  CHECK_EQ_INT(au_table_window_days(&c, &c.tables[0]), 1);
  CHECK_EQ_INT(au_table_window_days(&c, &c.tables[1]), 2);
  CHECK_EQ_INT(au_table_window_days(&c, &c.tables[2]), c.tables[2].def->default_batch_days);
  CHECK_EQ_INT(au_table_window_days(&c, &c.tables[3]), 30);
  /* the backfill's default chunk follows the window */
  struct au_chunk_range *ch = NULL;
  size_t n = 0;
  au_time start = au_time_utc(2024, 1, 1, 8, 0, 0);
  CHECK_EQ_INT(au_backfill_plan(&c, &c.tables[0], start, start + 10 * AU_DAY, 0, &ch, &n, &err), 0);
  CHECK_EQ_INT((long)n, 10);
  free(ch);
  au_config_release(&c);

  /* the same mode set for the whole source: windows and the backfill's chunks follow it */
  const char *y2 = "sources:\n"
                   "  caiso:\n"
                   "    grp_type: ALL_APNODES\n"
                   "tables:\n"
                   "  - table: caiso.lmp_dam\n"
                   "  - table: caiso.lmp_rtm\n"
                   "    batch_size_days: 2\n";
  au_config_init(&c);
  CHECK_EQ_INT(au_config_parse_yaml(&c, y2, strlen(y2), &err), 0);
  CHECK_EQ_INT(au_table_window_days(&c, &c.tables[0]), 1);
  CHECK_EQ_INT(au_table_window_days(&c, &c.tables[1]), 2);
  CHECK_EQ_INT(au_backfill_plan(&c, &c.tables[0], start, start + 10 * AU_DAY, 0, &ch, &n, &err), 0);
  CHECK_EQ_INT((long)n, 10);
  free(ch);
  /* without the config only the table's own options count (a 31-day default) */
  CHECK_EQ_INT(au_backfill_plan(NULL, &c.tables[0], start, start + 10 * AU_DAY, 0, &ch, &n, &err), 0);
  CHECK_EQ_INT((long)n, 1);
  free(ch);
  au_config_release(&c);
}

TEST_LIST{T(yaml_full), T(yaml_unknown_key_is_error), T(pipeline_spec_as_written), T(pipeline_spec_errors),
          T(env_expansion), T(window_days)};
AU_TEST_MAIN()
