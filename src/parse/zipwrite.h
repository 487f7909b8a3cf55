/* zipwrite.h - build a small ZIP archive in memory (libzip, deflate), e.g. for the ISO
 * simulator that serves CAISO / ERCOT style CSV-in-ZIP responses. */
#ifndef AU_PARSE_ZIPWRITE_H
#define AU_PARSE_ZIPWRITE_H
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"

/* Append to out a ZIP archive holding n members names[i] with contents datas[i][0..lens[i])
 * (deflate-compressed, in order). n == 0 gives the 22-byte empty archive. Member names must
 * be non-empty and unique. 0 or a negative AU_E_* (AU_E_TOOBIG if out's cap is hit). */
int au_zipw_build(struct au_buf *out, const char *const *names, const char *const *datas,
                  const size_t *lens, size_t n, struct au_err *err);

/* Same, with every member's modification time pinned to mtime (so the same contents give a
 * byte-identical archive on every run, e.g. simulator answers) and a deflate level: 1
 * (fastest) .. 9, 0 = zlib's default (6). The simulator answers at the default level (as
 * the operators do); `aurum sim --zip-level 1` cuts its CPU (deflate at the default level is
 * ~75% of it for 31-day CAISO ZIPs). */
int au_zipw_build_at(struct au_buf *out, const char *const *names, const char *const *datas,
                     const size_t *lens, size_t n, au_time mtime, int level, struct au_err *err);

#endif
