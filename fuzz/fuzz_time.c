/* fuzz_time.c - libFuzzer target for au_time_parse_iso: no crash or UB on any input, the
 * explicit-length and NUL-terminated entry points agree, and accepted stamps survive a
 * format -> parse round trip. Build with -DAU_FUZZ=ON (clang). */
#include "core/au.h"
#include "core/err.h"
#include "core/time.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* explicit length, on an exact-size heap copy so ASan catches any over-read */
  char *exact = malloc(size ? size : 1);
  if (!exact)
    return 0;
  if (size)
    memcpy(exact, data, size);
  au_time t1 = 0;
  bool had1 = false;
  int rc1 = au_time_parse_iso(exact, size, &t1, &had1);

  /* NUL-terminated form: identical result when the input holds no NUL */
  char *z = malloc(size + 1);
  if (!z) {
    free(exact);
    return 0;
  }
  if (size)
    memcpy(z, data, size);
  z[size] = 0;
  au_time t2 = 0;
  bool had2 = false;
  int rc2 = au_time_parse_iso(z, (size_t)-1, &t2, &had2);
  if (!memchr(data, 0, size) && (rc1 != rc2 || (rc1 == 0 && (t1 != t2 || had1 != had2))))
    abort();
  if (rc1 != 0 && rc1 != AU_E_PARSE)
    abort();

  if (rc1 == 0) {
    struct au_civil c;
    au_time_to_civil(t1, &c);
    if (c.year >= 0 && c.year <= 9999) {
      char buf[32];
      au_time back = 0;
      bool had = false;
      size_t n = au_time_fmt_us(t1, buf);
      if (n != 27 || au_time_parse_iso(buf, n, &back, &had) != 0 || back != t1 || !had)
        abort();
      n = au_time_fmt(t1, buf);
      if (n != 20 || au_time_parse_iso(buf, (size_t)-1, &back, NULL) != 0 ||
          back != t1 - (((t1 % AU_USEC) + AU_USEC) % AU_USEC))
        abort();
    }
    /* zone conversions of any parsed instant must not misbehave */
    const struct au_tz *tz = au_tz_get("UTC-05:00", NULL);
    if (tz) {
      struct au_civil lc;
      au_tz_to_local(tz, t1, &lc);
      au_time back = 0;
      if (au_tz_from_local(tz, lc.year, lc.month, lc.day, lc.hour, lc.minute, lc.second,
                           AU_FOLD_EARLIER, false, &back) != 0 ||
          back != t1 - lc.usec)
        abort();
    }
  }
  free(z);
  free(exact);
  return 0;
}
