/* sink.h - the sink plug-in interface: places rows go besides the store (Kafka, ...).
 *
 * For every committed batch the pipeline writes the rows the store inserted or updated
 * (never the unchanged ones) to each sink, then calls flush, which must not return 0
 * until every row has been durably accepted (e.g. a Kafka delivery report). Only then
 * does the store commit the batch and its watermark; a sink failure rolls the batch
 * back so it is retried with the watermark unchanged. */
#ifndef AU_SINK_H
#define AU_SINK_H
#include "core/au.h"
#include "core/batch.h"
#include "sources/source.h"
#include "store/store.h"

struct au_err;
struct au_sink;

struct au_sink_info {
  const char *source;           /* "caiso" */
  const char *table;            /* "lmp_dam" */
  const struct au_table_ref *ref;
  const struct au_opts *global; /* top-level kafka: settings (bootstrap_servers, ...) */
  const struct au_opts *table_opts; /* per-table overrides (topic, format) */
};

struct au_sink_ops {
  const char *name; /* "kafka" */
  int (*open)(const struct au_sink_info *info, struct au_sink **out, struct au_err *err);
  /* Queue rows r of b for which mask == NULL or mask[r] != AU_ROW_UNCHANGED. */
  int (*write)(struct au_sink *s, const struct au_batch *b, const uint8_t *mask, struct au_err *err);
  /* Wait until everything written is acknowledged; error if any row was not. */
  int (*flush)(struct au_sink *s, struct au_err *err);
  void (*close)(struct au_sink *s);
};

struct au_sink {
  const struct au_sink_ops *ops;
};

/* registry (sinks/registry.c) */
const struct au_sink_ops *au_sink_find(const char *name);

#endif
