/* json.h - a whole response body through yajl's streaming parser, with positioned errors.
 * Sources keep their own callbacks (only the fields they map are kept); this owns the
 * parse loop and the syntax-error message. Bytes in, no I/O. */
#ifndef AU_PARSE_JSON_H
#define AU_PARSE_JSON_H
#include "core/au.h"
#include "core/err.h"

#include <string.h>
#include <yajl/yajl_parse.h>

/* Parse body[0..len) with callbacks cb (ctx passed to them). A callback stops the parse by
 * returning 0 after setting its error: then *cb_rc (read after the parse) is returned as is.
 * A syntax error returns AU_E_PARSE with "invalid JSON at line L, column C (byte B): ...". */
int au_json_stream(const yajl_callbacks *cb, void *ctx, const char *body, size_t len, const int *cb_rc,
                   struct au_err *err);

/* In a yajl key callback (k, n): is the key the string literal lit? */
#define AU_JSON_KEY_IS(k, n, lit) ((n) == sizeof(lit) - 1 && memcmp((k), (lit), (n)) == 0)

/* 1-based line and column of byte offset off in text. */
void au_text_position(const char *text, size_t off, int *line, int *col);

#endif
