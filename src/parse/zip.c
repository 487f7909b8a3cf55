#include "core/au.h"
#include "parse/zip.h"

#include <stdlib.h>
#include <string.h>
#include <zip.h>

#define RATIO_MIN_BYTES ((uint64_t)1 << 20) /* the ratio check starts at 1 MiB */

bool au_zip_looks_like(const void *buf, size_t len) {
  const unsigned char *p = buf;
  if (!p || len < 4 || p[0] != 'P' || p[1] != 'K')
    return false;
  return (p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6 && len >= 22);
}

static int zerr_code(int ze) {
  switch (ze) {
  case ZIP_ER_MEMORY:
    return AU_E_NOMEM;
  case ZIP_ER_COMPNOTSUPP:
  case ZIP_ER_ENCRNOTSUPP:
  case ZIP_ER_NOPASSWD:
  case ZIP_ER_MULTIDISK:
    return AU_E_UNSUPPORTED;
  default:
    return AU_E_PARSE;
  }
}

/* A callback failed: keep its message (adding the member name) or supply one. */
static int cb_fail(struct au_err *err, int rc, const char *name, const char *what) {
  if (rc > 0)
    rc = AU_E_CANCELLED;
  if (err && err->code)
    au_err_prefix(err, "zip member '%s'", name);
  else
    au_err_set(err, rc, "zip member '%s': %s callback stopped the read", name, what);
  return rc;
}

int au_zip_each(const void *buf, size_t len, const struct au_zip_limits *lim,
                au_zip_member_cb on_member, au_zip_data_cb on_data, au_zip_end_cb on_end,
                void *arg, struct au_err *err) {
  struct au_zip_limits L = {(uint64_t)2 << 30, (uint64_t)8 << 30, 10000, 1000.0};
  if (lim) {
    if (lim->max_member_bytes)
      L.max_member_bytes = lim->max_member_bytes;
    if (lim->max_total_bytes)
      L.max_total_bytes = lim->max_total_bytes;
    if (lim->max_members)
      L.max_members = lim->max_members;
    if (lim->max_ratio > 0)
      L.max_ratio = lim->max_ratio;
  }
  if (!buf && len)
    return au_err_set(err, AU_E_INVAL, "zip: NULL buffer");
  if (!au_zip_looks_like(buf, len))
    return au_err_set(err, AU_E_PARSE, "zip: not a zip archive (%zu bytes, no PK signature)",
                      len);

  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
  if (!src) {
    int rc = au_err_set(err, zerr_code(zip_error_code_zip(&ze)), "zip: %s",
                        zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return rc;
  }
  zip_t *za = zip_open_from_source(src, ZIP_RDONLY, &ze);
  if (!za) {
    int rc = au_err_set(err, zerr_code(zip_error_code_zip(&ze)),
                        "zip: cannot open archive (%zu bytes): %s", len, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    zip_source_free(src);
    return rc;
  }
  zip_error_fini(&ze);

  int rc = 0;
  char *chunk = NULL;
  zip_int64_t n = zip_get_num_entries(za, 0);
  if (n < 0) {
    rc = au_err_set(err, AU_E_PARSE, "zip: cannot count members");
    goto done;
  }
  if ((uint64_t)n > L.max_members) {
    rc = au_err_set(err, AU_E_TOOBIG, "zip: %lld members exceed the limit of %u", (long long)n,
                    L.max_members);
    goto done;
  }
  chunk = malloc(AU_ZIP_CHUNK);
  if (!chunk) {
    rc = au_err_set(err, AU_E_NOMEM, "zip: out of memory");
    goto done;
  }

  uint64_t total = 0;
  for (zip_uint64_t i = 0; i < (zip_uint64_t)n; i++) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za, i, 0, &st) != 0) {
      rc = au_err_set(err, AU_E_PARSE, "zip: member #%llu: %s", (unsigned long long)i,
                      zip_strerror(za));
      goto done;
    }
    const char *name = (st.valid & ZIP_STAT_NAME) && st.name ? st.name : "?";
    size_t nlen = strlen(name);
    if (nlen > 0 && name[nlen - 1] == '/')
      continue; /* directory */
    uint64_t size = (st.valid & ZIP_STAT_SIZE) ? st.size : 0;
    uint64_t csize = (st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : 0;
    if (size > L.max_member_bytes) {
      rc = au_err_set(err, AU_E_TOOBIG, "zip member '%s': %llu bytes exceed the limit of %llu",
                      name, (unsigned long long)size, (unsigned long long)L.max_member_bytes);
      goto done;
    }
    if (size >= RATIO_MIN_BYTES && (double)size > L.max_ratio * (double)(csize ? csize : 1)) {
      rc = au_err_set(err, AU_E_TOOBIG,
                      "zip member '%s': compression ratio %llu/%llu exceeds %.0f (zip bomb?)",
                      name, (unsigned long long)size, (unsigned long long)csize, L.max_ratio);
      goto done;
    }
    if (on_member) {
      int r = on_member(arg, name, size, err);
      if (r == 1)
        continue;
      if (r) {
        rc = cb_fail(err, r, name, "member");
        goto done;
      }
    }
    zip_file_t *zf = zip_fopen_index(za, i, 0);
    if (!zf) {
      zip_error_t *e = zip_get_error(za);
      rc = au_err_set(err, zerr_code(zip_error_code_zip(e)), "zip member '%s': %s", name,
                      zip_strerror(za));
      goto done;
    }
    uint64_t got = 0;
    for (;;) {
      zip_int64_t r = zip_fread(zf, chunk, AU_ZIP_CHUNK);
      if (r < 0) {
        zip_error_t *e = zip_file_get_error(zf);
        rc = au_err_set(err, zerr_code(zip_error_code_zip(e)), "zip member '%s' at byte %llu: %s",
                        name, (unsigned long long)got, zip_file_strerror(zf));
        break;
      }
      if (r == 0)
        break;
      got += (uint64_t)r;
      total += (uint64_t)r;
      if ((st.valid & ZIP_STAT_SIZE) && got > size) {
        rc = au_err_set(err, AU_E_PARSE,
                        "zip member '%s' at byte %llu: more data than the declared %llu bytes",
                        name, (unsigned long long)got, (unsigned long long)size);
        break;
      }
      if (got > L.max_member_bytes) {
        rc = au_err_set(err, AU_E_TOOBIG, "zip member '%s' at byte %llu: exceeds %llu bytes",
                        name, (unsigned long long)got, (unsigned long long)L.max_member_bytes);
        break;
      }
      if (total > L.max_total_bytes) {
        rc = au_err_set(err, AU_E_TOOBIG,
                        "zip member '%s' at byte %llu: archive exceeds %llu bytes in total", name,
                        (unsigned long long)got, (unsigned long long)L.max_total_bytes);
        break;
      }
      if (got >= RATIO_MIN_BYTES && (double)got > L.max_ratio * (double)(csize ? csize : 1)) {
        rc = au_err_set(err, AU_E_TOOBIG,
                        "zip member '%s' at byte %llu: compression ratio exceeds %.0f", name,
                        (unsigned long long)got, L.max_ratio);
        break;
      }
      if (on_data) {
        int cr = on_data(arg, chunk, (size_t)r, err);
        if (cr) {
          rc = cb_fail(err, cr, name, "data");
          break;
        }
      }
    }
    if (rc == 0 && (st.valid & ZIP_STAT_SIZE) && got != size)
      rc = au_err_set(err, AU_E_PARSE, "zip member '%s' at byte %llu: truncated (declared %llu)",
                      name, (unsigned long long)got, (unsigned long long)size);
    zip_fclose(zf);
    if (rc)
      goto done;
    if (on_end) {
      int r = on_end(arg, err);
      if (r) {
        rc = cb_fail(err, r, name, "end");
        goto done;
      }
    }
  }

done:
  free(chunk);
  zip_discard(za);
  return rc;
}
