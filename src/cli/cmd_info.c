/* cmd_info.c - `aurum sources` and `aurum state`. */
#include "core/au.h"
#include "cli/cli.h"
#include "core/err.h"
#include "core/time.h"
#include "sources/source.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char sources_usage[] =
    "usage: aurum sources [SOURCE | SOURCE.TABLE]\n"
    "\n"
    "Without an argument: every source and its tables. With a source or table: each table's\n"
    "columns (type, nullability), primary key, watermark cursor, trade-day time zone,\n"
    "interval, defaults, and the options (with their environment variables) it accepts.\n";

static void print_opts(const struct au_option_def *o, const char *indent) {
  for (; o && o->name; o++)
    printf("%s%-22s %-6s %s%s%s%s%s%s%s\n", indent, o->name,
           o->type == AU_OPT_INT ? "int" : o->type == AU_OPT_DOUBLE ? "number" : o->type == AU_OPT_BOOL ? "bool"
                                         : o->type == AU_OPT_LIST ? "list" : "text",
           o->doc ? o->doc : "", o->env ? " [env " : "", o->env ? o->env : "", o->env ? "]" : "",
           o->def ? " (default " : "", o->def ? o->def : "", o->def ? ")" : "");
}

static void print_table(const struct au_source_ops *s, const struct au_table_def *t) {
  printf("\n%s.%s — %s\n", s->name, t->name, t->description ? t->description : "");
  printf("  destination  %s\n", t->dest_table);
  printf("  primary key  (");
  bool first = true;
  for (int c = 0; c < t->schema->ncols; c++)
    if (t->schema->cols[c].flags & AU_COL_KEY) {
      printf("%s%s", first ? "" : ", ", t->schema->cols[c].name);
      first = false;
    }
  printf(")\n  cursor       %s%s%s\n", t->cursor_col, t->watermark_requires ? " (rows with " : "",
         t->watermark_requires ? t->watermark_requires : "");
  if (t->watermark_requires)
    printf("               ... only rows whose %s is set advance the watermark)\n", t->watermark_requires);
  printf("  ingestion    cdc, SCD type 1, sequence_by ingestion_time\n");
  printf("  time         trade days in %s; interval %d min\n", t->trade_tz ? t->trade_tz : "UTC",
         t->interval_minutes);
  printf("  defaults     batch_size_days %d, lookback_hours %d, history %d days, rate_limit_delay %.2gs\n",
         t->default_batch_days, t->default_lookback_hours, t->default_history_days, t->default_rate_delay);
  printf("  columns\n");
  for (int c = 0; c < t->schema->ncols; c++) {
    const struct au_column *col = &t->schema->cols[c];
    printf("    %-24s %-10s %-8s %s\n", col->name, au_type_name(col->type),
           col->flags & AU_COL_NULLABLE ? "null" : "not null", col->doc ? col->doc : "");
  }
  if (t->opts && t->opts->name) {
    printf("  table options\n");
    print_opts(t->opts, "    ");
  }
}

int au_cmd_sources(struct au_cli *cli, int argc, char **argv) {
  AU_UNUSED(cli);
  if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    fputs(sources_usage, stdout);
    return 0;
  }
  size_t n;
  const struct au_source_ops *const *all = au_sources(&n);
  const char *want = argc > 1 ? argv[1] : NULL;
  if (!want) {
    for (size_t i = 0; i < n; i++) {
      printf("%-8s %s\n         base %s", all[i]->name, all[i]->title, all[i]->default_base);
      if (all[i]->base_env && all[i]->base_env[0])
        printf(" (env %s)", all[i]->base_env[0]);
      printf("\n");
      for (size_t j = 0; j < all[i]->ntables; j++) {
        char q[128];
        snprintf(q, sizeof(q), "%s.%s", all[i]->name, all[i]->tables[j].name);
        printf("         %-34s %s\n", q, all[i]->tables[j].description);
      }
    }
    printf("\nDetails: aurum sources SOURCE  or  aurum sources SOURCE.TABLE\n");
    return 0;
  }
  const struct au_source_ops *s = au_source_find(want);
  if (s) {
    printf("%s — %s\n  base URL %s", s->name, s->title, s->default_base);
    for (const char *const *e = s->base_env; e && *e; e++)
      printf("%s%s", e == s->base_env ? " (env " : ", ", *e);
    printf("%s\n", s->base_env && s->base_env[0] ? ")" : "");
    if (s->opts && s->opts->name) {
      printf("  source options\n");
      print_opts(s->opts, "    ");
    }
    printf("  politeness: %.0f requests/min, min spacing %.2gs, %d attempts (common options: base_url, "
           "rate_limit, min_spacing, timeout, retry_attempts, backoff_factor, user_agent)\n",
           s->policy.rate_per_min, s->policy.min_spacing, s->policy.max_attempts ? s->policy.max_attempts : 5);
    for (size_t j = 0; j < s->ntables; j++)
      print_table(s, &s->tables[j]);
    return 0;
  }
  struct au_err err = AU_ERR_INIT;
  const struct au_table_def *t;
  if (au_table_find(want, &s, &t, &err) != 0)
    return au_cli_fail(err.code, err.msg);
  print_table(s, t);
  return 0;
}

static const char state_usage[] =
    "usage: aurum state [list]\n"
    "       aurum state reset TABLE[@DESTINATION]\n"
    "\n"
    "list (default): every table's high watermark (the latest interval with actual data) and\n"
    "when it was last committed. reset: forget a table's watermark so the next sync starts\n"
    "from start_date again (stored rows are kept; they are upserted). A table synced into a\n"
    "destination other than its default keeps its state as TABLE@DESTINATION.\n";

static int print_state(void *arg, const struct au_state *st) {
  AU_UNUSED(arg);
  char wm[32] = "-", up[40] = "-";
  if (st->watermark != AU_TIME_NONE)
    au_time_fmt(st->watermark, wm);
  if (st->updated_at != AU_TIME_NONE)
    au_time_fmt(st->updated_at, up);
  printf("%-32s %-22s %-22s %s\n", st->key, wm, up, st->details[0] ? st->details : "{}");
  return 0;
}

int au_cmd_state(struct au_cli *cli, int argc, char **argv) {
  if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    fputs(state_usage, stdout);
    return 0;
  }
  int rc = au_cli_load_config(cli);
  if (rc)
    return rc;
  bool reset = argc > 1 && !strcmp(argv[1], "reset");
  if (argc > 1 && !reset && strcmp(argv[1], "list")) {
    fputs(state_usage, stderr);
    return 2;
  }
  if (reset && argc != 3) {
    fputs(state_usage, stderr);
    return 2;
  }
  struct au_err err = AU_ERR_INIT;
  char key[160] = "";
  if (reset) {
    /* TABLE or TABLE@DESTINATION (the key a non-default destination's state has) */
    char name[160];
    snprintf(name, sizeof(name), "%s", argv[2]);
    char *at = strchr(name, '@');
    if (at)
      *at = 0;
    const struct au_source_ops *s;
    const struct au_table_def *t;
    if (au_table_find(name, &s, &t, &err) != 0)
      return au_cli_fail(err.code, err.msg);
    snprintf(key, sizeof(key), "%s.%s%s%s", s->name, t->name, at ? "@" : "", at ? at + 1 : "");
  }
  struct au_store *store;
  if ((rc = au_cli_open_store(cli, &store)))
    return rc;
  if (reset) {
    rc = store->ops->state_reset(store, key, &err);
    if (rc == 0)
      printf("%s: watermark reset\n", key);
  } else {
    printf("%-32s %-22s %-22s %s\n", "TABLE", "WATERMARK", "UPDATED", "DETAILS");
    rc = store->ops->state_list(store, print_state, NULL, &err);
  }
  au_store_close(store);
  if (rc)
    return au_cli_fail(rc, err.msg);
  return 0;
}
