/* log.h - logs to stderr: human-readable by default, one JSON object per line with
 * --log-format json. Thread-safe (one fprintf per line). */
#ifndef AU_LOG_H
#define AU_LOG_H
#include "core/au.h"

enum au_log_level { AU_LOG_DEBUG = 0, AU_LOG_INFO, AU_LOG_WARN, AU_LOG_ERROR };
enum au_log_format { AU_LOG_TEXT = 0, AU_LOG_JSON };

void au_log_setup(enum au_log_level min, enum au_log_format fmt);
enum au_log_level au_log_level_from_str(const char *s, bool *ok);
/* component: "aeso", "http", "sqlite", ...; message printf-style. */
void au_log(enum au_log_level lvl, const char *component, const char *fmt, ...) AU_PRINTF(3, 4);

#define au_debug(comp, ...) au_log(AU_LOG_DEBUG, comp, __VA_ARGS__)
#define au_info(comp, ...) au_log(AU_LOG_INFO, comp, __VA_ARGS__)
#define au_warn(comp, ...) au_log(AU_LOG_WARN, comp, __VA_ARGS__)
#define au_error(comp, ...) au_log(AU_LOG_ERROR, comp, __VA_ARGS__)

#endif
