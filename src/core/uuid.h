/* uuid.h - deterministic name-based UUIDs (RFC 4122 version 5, SHA-1), so a record's
 * event id is the same on every re-run. */
#ifndef AU_UUID_H
#define AU_UUID_H
#include "core/au.h"

/* aurum's namespace UUID (a fixed v4 value). */
extern const uint8_t au_uuid_ns_aurum[16];

/* v5 UUID of name (len bytes) in namespace ns, written as 36 chars + NUL into out[37]. */
void au_uuid_v5(const uint8_t ns[16], const void *name, size_t len, char out[37]);

#endif
