/* fuzz_xml.c - libFuzzer target for the record-oriented XML helpers. */
#include "core/au.h"
#include "parse/xml.h"

#include <string.h>

static int on_rec(void *arg, const struct au_xml_record *r, struct au_err *err) {
  size_t *total = arg;
  for (size_t i = 0; i < r->n; i++) {
    if (!r->names[i] || !r->values[i])
      __builtin_trap();
    *total += strlen(r->names[i]) + strlen(r->values[i]);
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t total = 0;
  struct au_err err = AU_ERR_INIT;
  int rc = au_xml_records((const char *)data, size, "REPORT_DATA", on_rec, &total, &err);
  if (rc && !err.msg[0])
    __builtin_trap();
  au_err_clear(&err);
  (void)au_xml_records((const char *)data, size, "R", on_rec, &total, &err);
  char out[64];
  rc = au_xml_find_text((const char *)data, size, "ERR_CODE", out, sizeof out);
  if (rc == 0 && strlen(out) >= sizeof out)
    __builtin_trap();
  return 0;
}
