/* main.c - the aurum command line: global options, then one subcommand. */
#include "core/au.h"
#include "cli/cli.h"
#include "core/log.h"
#include "net/http.h"
#include "sim/sim.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern volatile sig_atomic_t au_cancel_requested;

static const char usage[] =
    "usage: aurum [GLOBAL OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "aurum pulls electricity-market data from grid operators (ISOs), keys it on UTC\n"
    "intervals and keeps it fresh in a store (SQLite by default).\n"
    "\n"
    "Commands:\n"
    "  sync [TABLE...]        incremental sync of tables into the store (all configured if none)\n"
    "  extract TABLE          fetch a window and print it (csv, jsonl, events) without storing\n"
    "  sources [NAME]         list sources and tables: columns, types, keys, cursor\n"
    "  state [reset TABLE]    show watermarks and last runs; reset a table's watermark\n"
    "  backfill TABLE --start D --end D  load history in resumable, concurrent chunks\n"
    "  jobs [show|retry|cancel ID]  backfill jobs and their chunks\n"
    "  worker                 claim and run backfill chunks until none is left\n"
    "  quota                  backfill quotas and hourly usage per dataset\n"
    "  sim                    run the built-in ISO simulator on loopback\n"
    "  demo                   start the simulator, sync the demo tables into ./aurum.db, print them\n"
    "  kafka-mock             run librdkafka's mock Kafka cluster (prints its bootstrap address)\n"
    "  help [COMMAND]         show help for a command\n"
    "\n"
    "Global options (also accepted after the command):\n"
    "  --config FILE          YAML config (default ./aurum.yaml if present)\n"
    "  --store URL            sqlite:PATH (default sqlite:./aurum.db) or postgresql://...\n"
    "                         (env AURUM_STORE, TIMESCALE_CONNECTION)\n"
    "  --log-format text|json logs on stderr (default text)\n"
    "  --log-level LEVEL      debug, info, warn, error (default info)\n"
    "  -h, --help             this help;  --version  print the version\n"
    "\n"
    "Environment: AURUM_NOW=ISO-8601 overrides the clock (reproducible runs);\n"
    "AESO_API_KEY, AURUM_AESO_BASE and each source's settings (see `aurum sources`).\n"
    "\n"
    "Exit codes: 0 success; 1 a batch failed (network, parse, server error); 2 usage error;\n"
    "3 authentication failed (check the named credential); 4 configuration error;\n"
    "5 table locked by another aurum process; 6 store error; 130 interrupted.\n";

static void on_signal(int sig) {
  AU_UNUSED(sig);
  au_cancel_requested = 1;
}

/* Remove global options from argv (anywhere), filling cli. Returns -1 on a usage error. */
static int take_globals(struct au_cli *cli, int *argc, char **argv) {
  int out = 1;
  for (int i = 1; i < *argc; i++) {
    const char *a = argv[i];
    const char **dst = NULL;
    const char *val = NULL;
    static const struct { const char *flag; size_t off; } g[] = {
        {"--config", offsetof(struct au_cli, config_path)},
        {"--store", offsetof(struct au_cli, store_url)},
        {"--log-format", offsetof(struct au_cli, log_format)},
        {"--log-level", offsetof(struct au_cli, log_level)},
    };
    for (size_t k = 0; k < AU_ARRAY_LEN(g); k++) {
      size_t n = strlen(g[k].flag);
      if (strncmp(a, g[k].flag, n) == 0 && (a[n] == 0 || a[n] == '=')) {
        dst = (const char **)((char *)cli + g[k].off);
        if (a[n] == '=')
          val = a + n + 1;
        else if (i + 1 < *argc)
          val = argv[++i];
        else {
          fprintf(stderr, "aurum: %s needs a value\n", g[k].flag);
          return -1;
        }
      }
    }
    if (dst)
      *dst = val;
    else
      argv[out++] = argv[i];
  }
  *argc = out;
  argv[out] = NULL;
  return 0;
}

int main(int argc, char **argv) {
  struct au_cli cli;
  memset(&cli, 0, sizeof(cli));
  au_config_init(&cli.cfg);
  if (take_globals(&cli, &argc, argv) != 0)
    return 2;
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
    printf("aurum %s\n", AU_VERSION);
    return 0;
  }
  const char *cmd = argv[1];
  int sub_argc = argc - 1;
  char **sub_argv = argv + 1;
  if (!strcmp(cmd, "help")) {
    if (argc < 3) {
      fputs(usage, stdout);
      return 0;
    }
    /* "aurum help sync" == "aurum sync --help" */
    static char *hv[3];
    hv[0] = argv[2];
    hv[1] = (char *)"--help";
    hv[2] = NULL;
    cmd = argv[2];
    sub_argc = 2;
    sub_argv = hv;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  au_http_global_init();
  int rc;
  if (!strcmp(cmd, "sim")) {
    /* the simulator installs its own signal handling */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    rc = au_sim_cmd(sub_argc, sub_argv);
  } else {
    static const struct {
      const char *name;
      int (*fn)(struct au_cli *, int, char **);
    } cmds[] = {
        {"sync", au_cmd_sync},       {"extract", au_cmd_extract}, {"sources", au_cmd_sources},
        {"state", au_cmd_state},     {"demo", au_cmd_demo},
        {"kafka-mock", au_cmd_kafka_mock},
        {"backfill", au_cmd_backfill},   {"jobs", au_cmd_jobs},
        {"worker", au_cmd_worker},       {"quota", au_cmd_quota},
    };
    rc = -1;
    for (size_t i = 0; i < AU_ARRAY_LEN(cmds); i++)
      if (!strcmp(cmd, cmds[i].name))
        rc = cmds[i].fn(&cli, sub_argc, sub_argv);
    if (rc == -1) {
      fprintf(stderr, "aurum: unknown command '%s' (see aurum --help)\n", cmd);
      rc = 2;
    }
  }
  au_config_release(&cli.cfg);
  au_http_global_cleanup();
  return rc;
}
