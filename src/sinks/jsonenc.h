/* jsonenc.h - Kafka record keys, event ids and JSON values of batch rows, fast.
 *
 * One encoder per thread and table. The field names and the constant envelope are
 * rendered once; while rows of one batch are encoded, every distinct time and string of
 * the batch is formatted (and JSON-escaped) once, and doubles are printed without a
 * strtod round trip when they have at most 15 significant digits (au_fmt_double). The text
 * is identical to what au_batch_cell_str gives for each cell (doubles: the shortest of
 * %.15g/%.16g/%.17g that reads back; times: ISO 8601 UTC).
 *
 *   key   = JSON array of the primary-key cells:   ["DAM","NODE_A","2024-01-01T00:00:00Z"]
 *   value = {"event_id":..,"occurred_at":..,"tenant_id":..,"schema_version":..,
 *            "producer":"aurum/<version>", <every column>}
 *   event_id = UUID v5 (namespace aurum) of "<source>.<table>\n<key>" */
#ifndef AU_JSONENC_H
#define AU_JSONENC_H
#include "core/batch.h"
#include "core/buf.h"
#include "sinks/avro.h"

struct au_jenc;

/* keycols: the primary-key columns in key order (copied). env strings are copied. */
struct au_jenc *au_jenc_new(const struct au_schema *s, const struct au_envelope *env, const int *keycols, int nkey);
void au_jenc_free(struct au_jenc *e);

/* Rows of b follow: drop the caches of the previous batch. Call again whenever b was
 * cleared or refilled. */
void au_jenc_begin(struct au_jenc *e, const struct au_batch *b);

/* Append the key / the JSON value of row r of the batch given to au_jenc_begin. */
int au_jenc_key(struct au_jenc *e, const struct au_batch *b, size_t r, struct au_buf *out) AU_WUR;
int au_jenc_value(struct au_jenc *e, const struct au_batch *b, size_t r, const char *event_id,
                  struct au_buf *out) AU_WUR;
/* event_id of a key (36 chars + NUL). */
void au_jenc_event_id(struct au_jenc *e, const char *key, size_t keylen, char out[37]);

#endif
