/* common.c - configuration and store setup shared by the subcommands. */
#include "core/au.h"
#include "cli/cli.h"
#include "pipeline/sync.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int au_cli_fail(int code, const char *msg) {
  fprintf(stderr, "aurum: %s\n", msg);
  return au_exit_code_of(code);
}

int au_cli_load_config(struct au_cli *cli) {
  struct au_err err = AU_ERR_INIT;
  const char *path = cli->config_path;
  bool explicit = path != NULL;
  if (!path)
    path = getenv("AURUM_CONFIG");
  if (path)
    explicit = true;
  else
    path = "aurum.yaml";
  if (au_config_load_yaml(&cli->cfg, path, explicit, &err) != 0)
    return au_cli_fail(err.code, err.msg);
  const char *lf = cli->log_format ? cli->log_format : cli->cfg.log_format;
  const char *ll = cli->log_level ? cli->log_level : cli->cfg.log_level;
  if (!ll)
    ll = getenv("AURUM_LOG_LEVEL");
  if (!lf)
    lf = getenv("AURUM_LOG_FORMAT");
  enum au_log_format fmt = AU_LOG_TEXT;
  if (lf && !strcmp(lf, "json"))
    fmt = AU_LOG_JSON;
  else if (lf && strcmp(lf, "text")) {
    fprintf(stderr, "aurum: --log-format must be text or json\n");
    return 2;
  }
  bool ok = true;
  enum au_log_level lvl = ll ? au_log_level_from_str(ll, &ok) : AU_LOG_INFO;
  if (!ok) {
    fprintf(stderr, "aurum: --log-level must be debug, info, warn or error\n");
    return 2;
  }
  au_log_setup(lvl, fmt);
  return 0;
}

const char *au_cli_store_url(const struct au_cli *cli) {
  if (cli->store_url)
    return cli->store_url;
  const char *e = getenv("AURUM_STORE");
  if (e && *e)
    return e;
  e = getenv("TIMESCALE_CONNECTION");
  if (e && *e)
    return e;
  if (cli->cfg.store_url)
    return cli->cfg.store_url;
  return AU_DEFAULT_STORE;
}

int au_cli_open_store(struct au_cli *cli, struct au_store **out) {
  struct au_err err = AU_ERR_INIT;
  if (au_store_open(au_cli_store_url(cli), out, &err) != 0)
    return au_cli_fail(err.code ? err.code : AU_E_STORE, err.msg);
  return 0;
}

int au_cli_parse_when(const char *s, const char *tzname, au_time *out) {
  bool had_off = false;
  au_time t;
  if (au_time_parse_iso(s, (size_t)-1, &t, &had_off) != 0)
    return AU_E_PARSE;
  if (!had_off) {
    /* local wall-clock time (or a trade day) of the operator */
    const struct au_tz *tz = au_tz_get(tzname ? tzname : "UTC", NULL);
    if (!tz)
      return AU_E_INVAL;
    struct au_civil c;
    au_time_to_civil(t, &c);
    if (au_tz_from_local(tz, c.year, c.month, c.day, c.hour, c.minute, c.second, AU_FOLD_EARLIER, true, &t))
      return AU_E_INVAL;
  }
  *out = t;
  return 0;
}

int au_exit_code_of(int code) { return au_exit_code(code); }
