/* json.c - see json.h. */
#include "parse/json.h"

#include <string.h>

void au_text_position(const char *text, size_t off, int *line, int *col) {
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < off; i++) {
    if (text[i] == '\n') {
      (*line)++;
      *col = 1;
    } else {
      (*col)++;
    }
  }
}

int au_json_stream(const yajl_callbacks *cb, void *ctx, const char *body, size_t len, const int *cb_rc,
                   struct au_err *err) {
  if (!body)
    body = "";
  yajl_handle h = yajl_alloc(cb, NULL, ctx);
  if (!h)
    return au_err_set(err, AU_E_NOMEM, "out of memory");
  yajl_status ys = yajl_parse(h, (const unsigned char *)body, len);
  size_t off = yajl_get_bytes_consumed(h);
  if (ys == yajl_status_ok) {
    ys = yajl_complete_parse(h); /* fails only on a premature end */
    off = len;
  }
  int rc = *cb_rc;
  if (ys != yajl_status_ok && rc == 0) {
    if (off > len)
      off = len;
    unsigned char *m = yajl_get_error(h, 0, NULL, 0);
    for (size_t k = strlen((char *)m); k > 0 && (m[k - 1] == '\n' || m[k - 1] == ' '); k--)
      m[k - 1] = 0;
    int line, col;
    au_text_position(body, off, &line, &col);
    rc = au_err_set(err, AU_E_PARSE, "invalid JSON at line %d, column %d (byte %zu): %s", line, col, off,
                    (const char *)m);
    yajl_free_error(h, m);
  }
  yajl_free(h);
  return rc;
}
