/* cli.h - shared state of the command-line front end. */
#ifndef AU_CLI_H
#define AU_CLI_H
#include "core/au.h"
#include "pipeline/config.h"
#include "store/store.h"

struct au_cli {
  const char *config_path;  /* --config */
  const char *store_url;    /* --store */
  const char *log_format;
  const char *log_level;
  struct au_config cfg;
};

/* Load the config (YAML) and apply global flags / env. Prints errors; returns exit code. */
int au_cli_load_config(struct au_cli *cli);
/* The store URL in force: --store > AURUM_STORE > TIMESCALE_CONNECTION > config > default. */
const char *au_cli_store_url(const struct au_cli *cli);
int au_cli_open_store(struct au_cli *cli, struct au_store **out);
/* Print an error to stderr as "aurum: <msg>" and return the exit code for it. */
int au_cli_fail(int code, const char *msg);
int au_exit_code_of(int err_code);

int au_cmd_sync(struct au_cli *cli, int argc, char **argv);
int au_cmd_extract(struct au_cli *cli, int argc, char **argv);
int au_cmd_sources(struct au_cli *cli, int argc, char **argv);
int au_cmd_state(struct au_cli *cli, int argc, char **argv);
int au_cmd_demo(struct au_cli *cli, int argc, char **argv);
int au_cmd_kafka_mock(struct au_cli *cli, int argc, char **argv);
int au_cmd_backfill(struct au_cli *cli, int argc, char **argv);
int au_cmd_jobs(struct au_cli *cli, int argc, char **argv);
int au_cmd_worker(struct au_cli *cli, int argc, char **argv);
int au_cmd_quota(struct au_cli *cli, int argc, char **argv);

/* Parse "YYYY-MM-DD" (a trade day in tz) or an ISO-8601 time into UTC. */
int au_cli_parse_when(const char *s, const char *tzname, au_time *out);

#define AU_DEFAULT_STORE "sqlite:./aurum.db"

#endif
