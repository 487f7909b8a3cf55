/* buf.h - a growable, always NUL-terminated byte buffer with a size cap (curl dynbuf). */
#ifndef AU_BUF_H
#define AU_BUF_H
#include "core/au.h"

#define AU_MAX_HTTP_BODY (512u * 1024u * 1024u)

struct au_buf {
  char *ptr;  /* NUL-terminated when non-NULL */
  size_t len;
  size_t cap;
  size_t max; /* appends that would exceed max fail with AU_E_TOOBIG */
};

#define AU_BUF_INIT(maxbytes) {NULL, 0, 0, (maxbytes)}

void au_buf_init(struct au_buf *b, size_t max);
/* Free the memory; the buffer is reusable (empty) afterwards. */
void au_buf_release(struct au_buf *b);
/* Keep the memory, set len to 0. */
void au_buf_reset(struct au_buf *b);
/* Ensure room for extra more bytes (+NUL). 0 or AU_E_TOOBIG. */
int au_buf_grow(struct au_buf *b, size_t extra) AU_WUR;
int au_buf_add(struct au_buf *b, const void *data, size_t n) AU_WUR;
int au_buf_adds(struct au_buf *b, const char *s) AU_WUR;
int au_buf_addc(struct au_buf *b, char c) AU_WUR;
int au_buf_printf(struct au_buf *b, const char *fmt, ...) AU_WUR AU_PRINTF(2, 3);
/* Append s as a JSON string literal (with quotes and escapes). */
int au_buf_add_json_str(struct au_buf *b, const char *s, size_t n) AU_WUR;
/* Take ownership of the memory (may be NULL if empty); the buffer becomes empty. */
char *au_buf_detach(struct au_buf *b, size_t *len);

#endif
