/* zip.h - stream the members of a ZIP archive held in memory (libzip, read-only).
 *
 * au_zip_each() walks the archive in central-directory order and, for each regular
 * member (directories are skipped), calls on_member(name, declared size); unless that
 * returns 1 (skip), the decompressed bytes are passed to on_data in chunks of at most
 * AU_ZIP_CHUNK bytes, then on_end is called. Nothing is written to disk and no member is
 * inflated whole into memory.
 *
 * Limits guard against zip bombs: the declared and the actually inflated sizes are both
 * checked against max_member_bytes / max_total_bytes, and members of 1 MiB or more whose
 * uncompressed/compressed ratio exceeds max_ratio are refused (AU_E_TOOBIG). Data longer
 * than declared, CRC mismatches and undecodable archives are AU_E_PARSE. Messages name
 * the member and the byte offset inside its decompressed data where known:
 *   "zip member 'a.csv' at byte 65536: Zlib error"
 * An error set by a callback keeps its code and gets the member as context:
 *   "zip member 'a.csv': csv line 12, field 3: quote inside unquoted field" */
#ifndef AU_PARSE_ZIP_H
#define AU_PARSE_ZIP_H
#include "core/au.h"
#include "core/err.h"

#define AU_ZIP_CHUNK ((size_t)64 * 1024)

struct au_zip_limits {
  uint64_t max_member_bytes; /* default 2 GiB */
  uint64_t max_total_bytes;  /* default 8 GiB */
  uint32_t max_members;      /* default 10000 */
  double max_ratio;          /* default 1000.0 */
};

/* Start of a member. Return 0 to read it, 1 to skip it, negative AU_E_* to abort. */
typedef int (*au_zip_member_cb)(void *arg, const char *name, uint64_t size, struct au_err *err);
/* A chunk of decompressed data. Non-zero aborts (negative returned as is). */
typedef int (*au_zip_data_cb)(void *arg, const char *data, size_t len, struct au_err *err);
/* End of a member that was read (not called for skipped members). Non-zero aborts. */
typedef int (*au_zip_end_cb)(void *arg, struct au_err *err);

/* lim NULL = defaults (a zero member of lim also means its default). Any callback may be
 * NULL. 0 or a negative AU_E_*; buf must stay valid during the call. */
int au_zip_each(const void *buf, size_t len, const struct au_zip_limits *lim,
                au_zip_member_cb on_member, au_zip_data_cb on_data, au_zip_end_cb on_end,
                void *arg, struct au_err *err);

/* True if buf starts with a local file header "PK\3\4" or is an empty archive "PK\5\6". */
bool au_zip_looks_like(const void *buf, size_t len);

#endif
