/* registry.c - sink plug-ins by name (one line per sink). */
#include "core/au.h"
#include "sinks/sink.h"

#include <string.h>

/* Strong, so the static library's kafka.o is linked in (kafka.c defines a stub that
 * reports "no librdkafka" in builds without it). */
extern const struct au_sink_ops au_sink_kafka;

const struct au_sink_ops *au_sink_find(const char *name) {
  if (strcmp(name, "kafka") == 0)
    return &au_sink_kafka;
  return NULL;
}
