#include "core/au.h"
#include "core/log.h"
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum au_log_level g_min = AU_LOG_INFO;
static enum au_log_format g_fmt = AU_LOG_TEXT;

void au_log_setup(enum au_log_level min, enum au_log_format fmt) {
  g_min = min;
  g_fmt = fmt;
}

enum au_log_level au_log_level_from_str(const char *s, bool *ok) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  for (size_t i = 0; i < AU_ARRAY_LEN(names); i++)
    if (strcmp(s, names[i]) == 0) {
      if (ok)
        *ok = true;
      return (enum au_log_level)i;
    }
  if (ok)
    *ok = false;
  return AU_LOG_INFO;
}

static const char *lvl_name(enum au_log_level l) {
  switch (l) {
  case AU_LOG_DEBUG: return "debug";
  case AU_LOG_INFO: return "info";
  case AU_LOG_WARN: return "warn";
  default: return "error";
  }
}

void au_log(enum au_log_level lvl, const char *component, const char *fmt, ...) {
  if (lvl < g_min)
    return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);

  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[96];
  snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

  if (g_fmt == AU_LOG_JSON) {
    struct au_buf b = AU_BUF_INIT(0);
    int rc = au_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":", stamp, lvl_name(lvl));
    if (!rc)
      rc = au_buf_add_json_str(&b, component, strlen(component));
    if (!rc)
      rc = au_buf_adds(&b, ",\"msg\":");
    if (!rc)
      rc = au_buf_add_json_str(&b, msg, strlen(msg));
    if (!rc)
      rc = au_buf_adds(&b, "}\n");
    if (!rc)
      fputs(b.ptr, stderr);
    au_buf_release(&b);
  } else {
    fprintf(stderr, "%s %-5s %s: %s\n", stamp, lvl_name(lvl), component, msg);
  }
}
