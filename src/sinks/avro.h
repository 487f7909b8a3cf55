/* avro.h - how a row becomes a Kafka record: topic name, key, envelope, and the value
 * as JSON or as Avro binary in the Confluent wire format. No librdkafka here, so every
 * byte the Kafka sink sends can be unit-tested.
 *
 * Record layout (JSON object or Avro record, fields in this order):
 *   event_id        string  v5 UUID (aurum namespace) of "<source>.<table>" "\n" key
 *   occurred_at     time    the row's cursor column (interval start); JSON: ISO-8601 UTC
 *                           text, Avro: long timestamp-micros
 *   tenant_id       string  config tenant_id (default "default")
 *   schema_version  int     config schema_version (default 1)
 *   producer        string  "aurum/<version>"
 *   <every column of the table schema, in schema order>
 * Times in JSON are the store's text ("...Z", ingestion_time with µs); in Avro they are
 * long timestamp-micros. NULL cells are JSON null / the Avro union's "null" branch.
 * Key: JSON array of the primary-key cells in key order (au_schema_key_cols), as text,
 * e.g. ["DAM","TH_NP15_GEN-APND","2024-01-01T08:00:00Z"]. */
#ifndef AU_SINK_AVRO_H
#define AU_SINK_AVRO_H
#include "core/au.h"
#include "core/batch.h"
#include "core/buf.h"

struct au_err;

/* Constant envelope values of one table. */
struct au_envelope {
  const char *source;   /* "aeso" */
  const char *table;    /* "pool_price" */
  const char *tenant;   /* "default" */
  int schema_version;   /* 1 */
  int cursor_col;       /* column giving occurred_at, -1 = none (null / 0) */
};

/* Default topic ingestion.market.<iso>.<dataset>[.<market>].raw.v1: the table name is
 * split at its last '_' when the part after it is a market run (dam, rtm, rtpd, hasp, da,
 * rt, ruc, ifm, fmm, rtd, ...): caiso lmp_dam -> ingestion.market.caiso.lmp.dam.raw.v1,
 * aeso pool_price -> ingestion.market.aeso.pool_price.raw.v1. Lower case. */
void au_kafka_default_topic(const char *source, const char *table, char *out, size_t outsz);
/* A topic name Kafka accepts: 1..249 chars of [A-Za-z0-9._-], not "." or "..". */
bool au_kafka_topic_valid(const char *topic);

/* Keys, event ids and JSON values: sinks/jsonenc.h. */

/* --- Avro ----------------------------------------------------------------------- */

/* Generate the Avro schema of a table (envelope + columns; record `name` in `ns`) as JSON
 * text: times carry logicalType timestamp-micros, nullable columns are ["null", T] with
 * default null, docs from the column docs. Used when no .avsc file is shipped. */
int au_avro_schema_gen(const struct au_schema *s, const char *name, const char *ns, struct au_buf *out) AU_WUR;

/* An encoding plan: the Avro record schema's fields bound to envelope fields / columns.
 * Built from the schema text that is registered (a shipped .avsc), checked against the
 * table schema: every field must be an envelope field or a column of a compatible type
 * (long+timestamp-micros for times, double, long/int, string, boolean), nullable
 * columns need a union with "null"; a column missing from the .avsc is an error. */
struct au_avro_plan;
int au_avro_plan_new(const char *schema_json, size_t len, const struct au_schema *s,
                     struct au_avro_plan **out, struct au_err *err);
void au_avro_plan_free(struct au_avro_plan *p);
/* Append the Confluent-framed value of row r (0x00, schema id big-endian, Avro binary). */
int au_avro_value(const struct au_avro_plan *p, uint32_t schema_id, const struct au_envelope *env,
                  const struct au_batch *b, size_t r, const char *event_id, struct au_buf *out,
                  struct au_err *err);

#endif
