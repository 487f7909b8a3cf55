/* cmd_sync.c - `aurum sync` and `aurum extract`. */
#include "core/au.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "pipeline/sync.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sync_usage[] =
    "usage: aurum sync [TABLE...] [options]\n"
    "\n"
    "Incrementally sync tables into the store. Without TABLE, every table of the config\n"
    "(aurum.yaml or --pipeline-spec) is synced. TABLE is SOURCE.TABLE (e.g. aeso.pool_price)\n"
    "or a bare table name when only one source has it.\n"
    "\n"
    "First run: from start_date (default: 30 days before today, UTC) through now. Later runs:\n"
    "from (watermark - lookback_hours) through now, so late revisions are recaptured. Rows are\n"
    "upserted by primary key (SCD type 1: the newer ingestion wins, equal values are left\n"
    "alone); each batch commits its rows and the watermark in one transaction. A failed batch\n"
    "stops the run with a non-zero exit and never moves the watermark past it.\n"
    "\n"
    "Options:\n"
    "  --pipeline-spec FILE   Lakeflow pipeline spec JSON ({\"pipeline_spec\": {\"object\": [...]}})\n"
    "  --connection FILE      connection JSON ({\"api_key\": \"...\"})\n"
    "  --full-refresh         ignore the watermark and re-read from start_date\n"
    "  --sink NAME            also write to this sink for this run (kafka); repeatable\n"
    "  --lock-timeout SECS    wait this long for another aurum syncing the same table (default 0)\n"
    "  -h, --help             this help\n"
    "Global options (--config, --store, --log-format, --log-level) are accepted too.\n";

static void print_result(const char *name, const struct au_sync_result *r) {
  char wm[32] = "none", was[32] = "none";
  if (r->watermark != AU_TIME_NONE)
    au_time_fmt(r->watermark, wm);
  if (r->watermark_before != AU_TIME_NONE)
    au_time_fmt(r->watermark_before, was);
  printf("%s: %llu rows in %llu request(s), %llu batch(es): inserted %llu, updated %llu, unchanged %llu; "
         "watermark %s (was %s) [%.2fs]\n",
         name, (unsigned long long)r->rows, (unsigned long long)r->requests, (unsigned long long)r->batches,
         (unsigned long long)r->inserted, (unsigned long long)r->updated, (unsigned long long)r->unchanged, wm,
         was, r->seconds);
  fflush(stdout);
}

int au_cmd_sync(struct au_cli *cli, int argc, char **argv) {
  static const struct option lo[] = {
      {"pipeline-spec", required_argument, NULL, 'p'}, {"connection", required_argument, NULL, 'c'},
      {"full-refresh", no_argument, NULL, 'F'},        {"sink", required_argument, NULL, 's'},
      {"lock-timeout", required_argument, NULL, 'L'},  {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *spec = NULL, *conn = NULL;
  const char *sinks[8];
  size_t nsinks = 0;
  struct au_sync_opts so = {.start = AU_TIME_NONE, .end = AU_TIME_NONE};
  bool lock_set = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
    case 'p': spec = optarg; break;
    case 'c': conn = optarg; break;
    case 'F': so.full_refresh = true; break;
    case 's':
      if (nsinks < AU_ARRAY_LEN(sinks))
        sinks[nsinks++] = optarg;
      break;
    case 'L': so.lock_timeout = atof(optarg); lock_set = true; break;
    case 'h': fputs(sync_usage, stdout); return 0;
    default: fputs(sync_usage, stderr); return 2;
    }
  }
  int rc = au_cli_load_config(cli);
  if (rc)
    return rc;
  struct au_err err = AU_ERR_INIT;
  if ((spec || conn) && au_config_load_pipeline_spec(&cli->cfg, spec, conn, &err) != 0)
    return au_cli_fail(err.code, err.msg);
  if (!lock_set)
    so.lock_timeout = cli->cfg.lock_timeout;
  so.extra_sinks = sinks;
  so.nextra_sinks = nsinks;

  /* the tables to run */
  const struct au_table_cfg **run = NULL;
  size_t nrun = 0;
  if (optind < argc) {
    for (int i = optind; i < argc; i++) {
      struct au_table_cfg *t = au_config_table(&cli->cfg, argv[i], &err);
      if (!t) {
        free(run);
        return au_cli_fail(err.code, err.msg);
      }
      run = au_xrealloc(run, (nrun + 1) * sizeof(*run));
      run[nrun++] = t;
    }
  } else {
    for (size_t i = 0; i < cli->cfg.ntables; i++) {
      run = au_xrealloc(run, (nrun + 1) * sizeof(*run));
      run[nrun++] = &cli->cfg.tables[i];
    }
  }
  if (nrun == 0) {
    fprintf(stderr, "aurum: nothing to sync: name a table (e.g. aurum sync aeso.pool_price) or configure "
                    "tables in aurum.yaml / --pipeline-spec\n");
    return 2;
  }
  struct au_store *store = NULL;
  if ((rc = au_cli_open_store(cli, &store))) {
    free(run);
    return rc;
  }
  int worst = 0;
  for (size_t i = 0; i < nrun; i++) {
    struct au_sync_result res;
    au_err_clear(&err);
    rc = au_sync_table(&cli->cfg, run[i], store, &so, &res, &err);
    print_result(run[i]->qualified, &res);
    if (rc) {
      fprintf(stderr, "aurum: %s\n", err.msg);
      worst = au_exit_code(rc);
      if (rc == AU_E_CANCELLED)
        break;
    }
  }
  au_store_close(store);
  free(run);
  return worst;
}

/* --- extract --- */
static const char extract_usage[] =
    "usage: aurum extract TABLE --start D --end D [options]\n"
    "\n"
    "Fetch a window from the operator and print it to stdout without storing anything and\n"
    "without touching the watermark. --start is inclusive and --end exclusive; both are the\n"
    "operator's trade days (YYYY-MM-DD, in the table's trade time zone) unless a time is\n"
    "given (YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]; without an offset, local to the operator).\n"
    "\n"
    "Options:\n"
    "  --start D              first trade day (or instant), inclusive (required)\n"
    "  --end D                end trade day (or instant), exclusive (required)\n"
    "  --format FMT           csv (default), jsonl, or events (seed event shape, where supported)\n"
    "  --opt KEY=VALUE        a source/table option for this run (e.g. --opt nodes=A,B); repeatable\n"
    "  --node NODE            shorthand for adding NODE to the nodes option; repeatable\n"
    "  -h, --help             this help\n";

struct extract_out {
  const char *format;
  bool header_done;
  uint64_t rows;
  const struct au_table_cfg *t;
};

static void csv_field(FILE *f, const char *s, size_t n) {
  bool quote = false;
  for (size_t i = 0; i < n; i++)
    if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
      quote = true;
  if (!quote) {
    fwrite(s, 1, n, f);
    return;
  }
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"')
      fputc('"', f);
    fputc(s[i], f);
  }
  fputc('"', f);
}

/* --format events (src/pipeline/events.c): the seed connectors' normalized record. */
int au_extract_events_write(const struct au_table_cfg *t, const struct au_batch *b, FILE *f,
                            struct au_err *err);

static int extract_batch(void *arg, const struct au_batch *b, struct au_err *err) {
  struct extract_out *o = arg;
  const struct au_schema *s = b->schema;
  if (!strcmp(o->format, "events")) {
    o->rows += b->nrows;
    return au_extract_events_write(o->t, b, stdout, err);
  }
  bool csv = !strcmp(o->format, "csv");
  if (csv && !o->header_done) {
    for (int c = 0; c < s->ncols; c++)
      printf("%s%s", c ? "," : "", s->cols[c].name);
    putchar('\n');
    o->header_done = true;
  }
  struct au_buf line = AU_BUF_INIT(0);
  for (size_t r = 0; r < b->nrows; r++) {
    if (!csv && au_buf_addc(&line, '{'))
      goto oom;
    for (int c = 0; c < s->ncols; c++) {
      char tmp[64];
      const char *v;
      size_t n;
      bool has = au_batch_cell_str(b, r, c, tmp, sizeof(tmp), &v, &n);
      if (csv) {
        if (c)
          putchar(',');
        if (has)
          csv_field(stdout, v, n);
      } else {
        if ((c && au_buf_addc(&line, ',')) || au_buf_add_json_str(&line, s->cols[c].name, strlen(s->cols[c].name)) ||
            au_buf_addc(&line, ':'))
          goto oom;
        enum au_type ty = s->cols[c].type;
        int e;
        if (!has)
          e = au_buf_adds(&line, "null");
        else if (ty == AU_T_DOUBLE || ty == AU_T_INT || ty == AU_T_BOOL)
          e = au_buf_add(&line, v, n);
        else
          e = au_buf_add_json_str(&line, v, n);
        if (e)
          goto oom;
      }
    }
    if (csv) {
      putchar('\n');
    } else {
      if (au_buf_adds(&line, "}\n"))
        goto oom;
      fwrite(line.ptr, 1, line.len, stdout);
      au_buf_reset(&line);
    }
  }
  o->rows += b->nrows;
  au_buf_release(&line);
  return 0;
oom:
  au_buf_release(&line);
  return au_err_set(err, AU_E_NOMEM, "out of memory formatting output");
}

int au_cmd_extract(struct au_cli *cli, int argc, char **argv) {
  static const struct option lo[] = {{"start", required_argument, NULL, 's'}, {"end", required_argument, NULL, 'e'},
                                     {"format", required_argument, NULL, 'f'}, {"opt", required_argument, NULL, 'o'},
                                     {"node", required_argument, NULL, 'n'},   {"help", no_argument, NULL, 'h'},
                                     {NULL, 0, NULL, 0}};
  const char *start = NULL, *end = NULL, *format = "csv";
  struct au_opts extra = {0};
  struct au_buf nodes = AU_BUF_INIT(0);
  int c, rc = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
    case 's': start = optarg; break;
    case 'e': end = optarg; break;
    case 'f': format = optarg; break;
    case 'o': {
      const char *eq = strchr(optarg, '=');
      if (!eq) {
        fprintf(stderr, "aurum: --opt expects KEY=VALUE\n");
        rc = 2;
        goto out;
      }
      char *k = au_xstrndup(optarg, (size_t)(eq - optarg));
      au_opts_set(&extra, k, eq + 1);
      free(k);
      break;
    }
    case 'n':
      if ((nodes.len && au_buf_addc(&nodes, ',')) || au_buf_adds(&nodes, optarg)) {
        rc = 1;
        goto out;
      }
      break;
    case 'h': fputs(extract_usage, stdout); goto out;
    default: fputs(extract_usage, stderr); rc = 2; goto out;
    }
  }
  if (optind != argc - 1 || !start || !end) {
    fputs(extract_usage, stderr);
    rc = 2;
    goto out;
  }
  if (strcmp(format, "csv") && strcmp(format, "jsonl") && strcmp(format, "events")) {
    fprintf(stderr, "aurum: --format must be csv, jsonl or events\n");
    rc = 2;
    goto out;
  }
  if ((rc = au_cli_load_config(cli)))
    goto out;
  struct au_err err = AU_ERR_INIT;
  struct au_table_cfg *t = au_config_table(&cli->cfg, argv[optind], &err);
  if (!t) {
    rc = au_cli_fail(err.code, err.msg);
    goto out;
  }
  for (size_t i = 0; i < extra.n; i++) {
    if (!au_config_option_known(t->src, t->def, extra.v[i].key)) {
      fprintf(stderr, "aurum: unknown option '%s' for %s (see aurum sources %s)\n", extra.v[i].key, t->qualified,
              t->qualified);
      rc = 4;
      goto out;
    }
    au_opts_set(&t->opts, extra.v[i].key, extra.v[i].value);
  }
  if (nodes.len)
    au_opts_set(&t->opts, "nodes", nodes.ptr);
  struct au_sync_opts so = {.no_state = true};
  if (au_cli_parse_when(start, t->def->trade_tz, &so.start) || au_cli_parse_when(end, t->def->trade_tz, &so.end)) {
    fprintf(stderr, "aurum: --start/--end must be YYYY-MM-DD or an ISO-8601 time\n");
    rc = 2;
    goto out;
  }
  if (so.end <= so.start) {
    fprintf(stderr, "aurum: --end must be after --start (--end is exclusive)\n");
    rc = 2;
    goto out;
  }
  struct extract_out eo = {format, false, 0, t};
  so.on_batch = extract_batch;
  so.on_batch_arg = &eo;
  struct au_sync_result res;
  rc = au_sync_table(&cli->cfg, t, NULL, &so, &res, &err);
  fflush(stdout);
  if (rc) {
    fprintf(stderr, "aurum: %s\n", err.msg);
    rc = au_exit_code(rc);
  } else {
    au_info("extract", "%s: %llu rows in %llu request(s)", t->qualified, (unsigned long long)eo.rows,
            (unsigned long long)res.requests);
  }
out:
  au_opts_release(&extra);
  au_buf_release(&nodes);
  return rc;
}
