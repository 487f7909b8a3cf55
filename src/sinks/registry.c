/* registry.c - sink plug-ins by name (one line per sink). */
#include "core/au.h"
#include "sinks/sink.h"

#include <string.h>

/* Weak so a build without librdkafka still links. */
extern const struct au_sink_ops au_sink_kafka __attribute__((weak));

const struct au_sink_ops *au_sink_find(const char *name) {
  if (strcmp(name, "kafka") == 0 && &au_sink_kafka != NULL)
    return &au_sink_kafka;
  return NULL;
}
