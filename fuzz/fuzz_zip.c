/* fuzz_zip.c - libFuzzer target for the in-memory ZIP reader (with small limits), plus a
 * writer round trip of the input bytes when they are small. */
#include "core/au.h"
#include "core/buf.h"
#include "parse/zip.h"
#include "parse/zipwrite.h"

#include <stdlib.h>
#include <string.h>

struct acc {
  uint64_t bytes, hash;
  int members;
  struct au_buf copy;
};

static int on_member(void *arg, const char *name, uint64_t size, struct au_err *err) {
  struct acc *a = arg;
  a->members++;
  return (a->members % 3 == 2) ? 1 : 0; /* exercise skipping */
}

static int on_data(void *arg, const char *data, size_t len, struct au_err *err) {
  struct acc *a = arg;
  if (len == 0 || len > AU_ZIP_CHUNK)
    __builtin_trap();
  a->bytes += len;
  for (size_t i = 0; i < len; i++)
    a->hash = (a->hash ^ (unsigned char)data[i]) * 1099511628211ull;
  if (a->copy.max)
    return au_buf_add(&a->copy, data, len);
  return 0;
}

static int on_end(void *arg, struct au_err *err) { return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct au_zip_limits lim = {1u << 20, 4u << 20, 64, 200.0};
  struct acc a = {0};
  struct au_err err = AU_ERR_INIT;
  int rc = au_zip_each(data, size, &lim, on_member, on_data, on_end, &a, &err);
  if (rc && !err.msg[0])
    __builtin_trap();
  (void)au_zip_looks_like(data, size);

  if (size <= 4096) {
    /* writer round trip: the input becomes one member and must come back unchanged */
    const char *names[] = {"m.csv"};
    const char *datas[] = {(const char *)data};
    struct au_buf zip = AU_BUF_INIT(0);
    au_err_clear(&err);
    if (au_zipw_build(&zip, names, datas, &size, 1, &err) != 0)
      __builtin_trap();
    struct acc b = {0};
    au_buf_init(&b.copy, 1u << 20);
    if (au_zip_each(zip.ptr, zip.len, NULL, NULL, on_data, NULL, &b, &err) != 0)
      __builtin_trap();
    if (b.copy.len != size || (size && memcmp(b.copy.ptr, data, size) != 0))
      __builtin_trap();
    au_buf_release(&b.copy);
    au_buf_release(&zip);
  }
  return 0;
}
