#include "core/au.h"
#include "parse/zipwrite.h"

#include <time.h>
#include <zip.h>

static int zfail(struct au_err *err, zip_error_t *ze, const char *what) {
  int code = zip_error_code_zip(ze) == ZIP_ER_MEMORY ? AU_E_NOMEM : AU_E_INVAL;
  return au_err_set(err, code, "zip write: %s: %s", what, zip_error_strerror(ze));
}

static int build(struct au_buf *out, const char *const *names, const char *const *datas,
                 const size_t *lens, size_t n, bool pin, time_t mtime, int level, struct au_err *err) {
  if (n == 0) {
    /* libzip removes an archive without entries instead of writing one. */
    static const char empty[22] = {'P', 'K', 5, 6};
    int rc = au_buf_add(out, empty, sizeof(empty));
    return rc ? au_err_set(err, rc, "zip write: output buffer full") : 0;
  }
  if (!names || !datas || !lens)
    return au_err_set(err, AU_E_INVAL, "zip write: NULL argument");

  zip_error_t ze;
  zip_error_init(&ze);
  int rc = 0;
  zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
  if (!src) {
    rc = zfail(err, &ze, "create buffer");
    zip_error_fini(&ze);
    return rc;
  }
  zip_t *za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
  if (!za) {
    rc = zfail(err, &ze, "open");
    zip_error_fini(&ze);
    zip_source_free(src);
    return rc;
  }
  zip_source_keep(src); /* keep the memory source alive after zip_close() */

  for (size_t i = 0; i < n; i++) {
    if (!names[i] || !names[i][0] || (!datas[i] && lens[i])) {
      rc = au_err_set(err, AU_E_INVAL, "zip write: member %zu: bad name or data", i);
      break;
    }
    zip_source_t *s = zip_source_buffer(za, datas[i], lens[i], 0);
    if (!s) {
      rc = au_err_set(err, AU_E_NOMEM, "zip write: member '%s': %s", names[i], zip_strerror(za));
      break;
    }
    zip_int64_t idx = zip_file_add(za, names[i], s, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(s);
      rc = au_err_set(err, AU_E_INVAL, "zip write: member '%s': %s", names[i], zip_strerror(za));
      break;
    }
    if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, (zip_uint32_t)level) != 0) {
      rc = au_err_set(err, AU_E_UNSUPPORTED, "zip write: member '%s': %s", names[i],
                      zip_strerror(za));
      break;
    }
    if (pin && zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0) != 0) {
      rc = au_err_set(err, AU_E_INVAL, "zip write: member '%s': %s", names[i], zip_strerror(za));
      break;
    }
  }
  if (rc) {
    zip_discard(za);
    zip_source_free(src);
    zip_error_fini(&ze);
    return rc;
  }
  if (zip_close(za) != 0) {
    rc = au_err_set(err, AU_E_IO, "zip write: close: %s", zip_strerror(za));
    zip_discard(za);
    zip_source_free(src);
    zip_error_fini(&ze);
    return rc;
  }

  size_t orig_len = out->len;
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_source_stat(src, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
      zip_source_open(src) != 0) {
    rc = zfail(err, zip_source_error(src), "read back");
  } else {
    if (st.size > SIZE_MAX - 1 || (rc = au_buf_grow(out, (size_t)st.size)) != 0) {
      rc = au_err_set(err, rc ? rc : AU_E_TOOBIG, "zip write: %llu-byte archive exceeds the buffer",
                      (unsigned long long)st.size);
    } else {
      zip_uint64_t left = st.size;
      while (left > 0) {
        zip_int64_t r = zip_source_read(src, out->ptr + out->len, left);
        if (r <= 0) {
          rc = zfail(err, zip_source_error(src), "read back");
          break;
        }
        out->len += (size_t)r;
        left -= (zip_uint64_t)r;
      }
      out->ptr[out->len] = 0;
    }
    zip_source_close(src);
  }
  zip_source_free(src);
  zip_error_fini(&ze);
  if (rc && out->ptr) {
    out->len = orig_len;
    out->ptr[out->len] = 0;
  }
  return rc;
}

int au_zipw_build(struct au_buf *out, const char *const *names, const char *const *datas,
                  const size_t *lens, size_t n, struct au_err *err) {
  return build(out, names, datas, lens, n, false, 0, 0, err);
}

int au_zipw_build_at(struct au_buf *out, const char *const *names, const char *const *datas,
                     const size_t *lens, size_t n, au_time mtime, int level, struct au_err *err) {
  if (level < 0 || level > 9)
    return au_err_set(err, AU_E_INVAL, "zip write: deflate level %d (0..9)", level);
  return build(out, names, datas, lens, n, true, (time_t)(mtime / AU_USEC), level, err);
}
