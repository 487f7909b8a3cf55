#include "core/au.h"
#include "core/err.h"
#include "sim/sim.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse a non-negative decimal from [s, e); false unless the whole range is a number. */
static bool parse_num(const char *s, const char *e, double *out) {
  if (s == e || (size_t)(e - s) > 63)
    return false;
  char tmp[64];
  memcpy(tmp, s, (size_t)(e - s));
  tmp[e - s] = 0;
  char *end;
  errno = 0;
  double v = strtod(tmp, &end);
  if (*end || errno || !isfinite(v) || v < 0)
    return false;
  *out = v;
  return true;
}

static bool parse_count(const char *s, const char *e, uint64_t *out) {
  if (s == e || (size_t)(e - s) > 19)
    return false;
  uint64_t v = 0;
  for (const char *p = s; p < e; p++) {
    if (*p < '0' || *p > '9')
      return false;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  *out = v;
  return true;
}

static bool span_is(const char *s, const char *e, const char *word) {
  size_t n = strlen(word);
  return (size_t)(e - s) == n && memcmp(s, word, n) == 0;
}

int au_sim_fault_parse(const char *spec, struct au_sim_fault *f, struct au_err *err) {
  memset(f, 0, sizeof(*f));
  if (!spec || !*spec)
    return au_err_set(err, AU_E_INVAL, "fault spec: empty");
  snprintf(f->spec, sizeof(f->spec), "%s", spec);

  const char *end = spec + strlen(spec);
  const char *at = strchr(spec, '@');
  const char *body_end = at ? at : end;
  const char *colon = memchr(spec, ':', (size_t)(body_end - spec));
  const char *kind_end = colon ? colon : body_end;

  static const int statuses[] = {429, 500, 502, 503, 401, 403};
  bool known = false;
  for (size_t i = 0; i < AU_ARRAY_LEN(statuses); i++) {
    char num[8];
    snprintf(num, sizeof(num), "%d", statuses[i]);
    if (span_is(spec, kind_end, num)) {
      f->kind = AU_SIM_FAULT_STATUS;
      f->status = statuses[i];
      known = true;
    }
  }
  if (!known) {
    static const struct {
      const char *name;
      enum au_sim_fault_kind kind;
      double delay;
    } kinds[] = {{"timeout", AU_SIM_FAULT_TIMEOUT, 30.0},
                 {"slow", AU_SIM_FAULT_SLOW, 3.0},
                 {"malformed", AU_SIM_FAULT_MALFORMED, 0},
                 {"truncate", AU_SIM_FAULT_TRUNCATE, 0},
                 {"empty", AU_SIM_FAULT_EMPTY, 0}};
    for (size_t i = 0; i < AU_ARRAY_LEN(kinds); i++)
      if (span_is(spec, kind_end, kinds[i].name)) {
        f->kind = kinds[i].kind;
        f->delay = kinds[i].delay;
        known = true;
      }
  }
  if (!known)
    return au_err_set(err, AU_E_INVAL,
                      "fault spec '%s' at byte 0: unknown kind '%.*s' (want 429, 500, 502, "
                      "503, 401, 403, timeout, slow, malformed, truncate or empty)",
                      spec, (int)(kind_end - spec), spec);

  /* Parameters. */
  if (colon) {
    const char *p = colon + 1;
    while (p < body_end) {
      const char *comma = memchr(p, ',', (size_t)(body_end - p));
      const char *pe = comma ? comma : body_end;
      const char *eq = memchr(p, '=', (size_t)(pe - p));
      if (!eq)
        return au_err_set(err, AU_E_INVAL, "fault spec '%s' at byte %zu: expected PARAM=VALUE",
                          spec, (size_t)(p - spec));
      double v = 0;
      if (span_is(p, eq, "retry-after")) {
        if (!parse_num(eq + 1, pe, &v))
          goto bad_value;
        if (f->kind != AU_SIM_FAULT_STATUS || (f->status != 429 && f->status != 503))
          return au_err_set(err, AU_E_INVAL,
                            "fault spec '%s' at byte %zu: retry-after applies to 429/503 only",
                            spec, (size_t)(p - spec));
        f->retry_after = v;
      } else if (span_is(p, eq, "delay")) {
        if (!parse_num(eq + 1, pe, &v))
          goto bad_value;
        if (f->kind != AU_SIM_FAULT_SLOW && f->kind != AU_SIM_FAULT_TIMEOUT)
          return au_err_set(err, AU_E_INVAL,
                            "fault spec '%s' at byte %zu: delay applies to slow/timeout only",
                            spec, (size_t)(p - spec));
        f->delay = v;
      } else if (span_is(p, eq, "path")) {
        size_t n = (size_t)(pe - eq - 1);
        if (n == 0 || eq[1] != '/' || n >= sizeof(f->path))
          return au_err_set(err, AU_E_INVAL,
                            "fault spec '%s' at byte %zu: path must start with '/' (max %zu)",
                            spec, (size_t)(eq + 1 - spec), sizeof(f->path) - 1);
        memcpy(f->path, eq + 1, n);
        f->path[n] = 0;
      } else {
        return au_err_set(err, AU_E_INVAL,
                          "fault spec '%s' at byte %zu: unknown parameter '%.*s' (want "
                          "retry-after, delay or path)",
                          spec, (size_t)(p - spec), (int)(eq - p), p);
      }
      p = comma ? comma + 1 : pe;
      continue;
    bad_value:
      return au_err_set(err, AU_E_INVAL, "fault spec '%s' at byte %zu: bad number '%.*s'", spec,
                        (size_t)(eq + 1 - spec), (int)(pe - eq - 1), eq + 1);
    }
  }

  /* When. */
  f->when = AU_SIM_WHEN_ALWAYS;
  if (at) {
    const char *w = at + 1;
    const char *eq = strchr(w, '=');
    size_t off = (size_t)(w - spec);
    if (span_is(w, end, "always")) {
      f->when = AU_SIM_WHEN_ALWAYS;
    } else if (eq && span_is(w, eq, "n")) {
      const char *dash = strchr(eq + 1, '-');
      f->when = AU_SIM_WHEN_N;
      if (!parse_count(eq + 1, dash ? dash : end, &f->lo) ||
          (dash ? !parse_count(dash + 1, end, &f->hi) : (f->hi = f->lo, false)) || f->lo == 0 ||
          f->hi < f->lo)
        return au_err_set(err, AU_E_INVAL,
                          "fault spec '%s' at byte %zu: want n=N or n=N-M with 1 <= N <= M",
                          spec, off);
    } else if (eq && span_is(w, eq, "every")) {
      f->when = AU_SIM_WHEN_EVERY;
      if (!parse_count(eq + 1, end, &f->lo) || f->lo == 0)
        return au_err_set(err, AU_E_INVAL, "fault spec '%s' at byte %zu: want every=N, N >= 1",
                          spec, off);
    } else if (eq && span_is(w, eq, "p")) {
      f->when = AU_SIM_WHEN_P;
      if (!parse_num(eq + 1, end, &f->p) || f->p > 1.0)
        return au_err_set(err, AU_E_INVAL, "fault spec '%s' at byte %zu: want p=0..1", spec,
                          off);
    } else {
      return au_err_set(err, AU_E_INVAL,
                        "fault spec '%s' at byte %zu: unknown WHEN (want n=3, n=3-5, every=4, "
                        "p=0.2 or always)",
                        spec, off);
    }
  }
  return 0;
}

bool au_sim_fault_matches(const struct au_sim_fault *f, uint64_t seed, uint64_t n,
                          const char *path) {
  if (f->path[0] && strncmp(path, f->path, strlen(f->path)) != 0)
    return false;
  switch (f->when) {
  case AU_SIM_WHEN_ALWAYS: return true;
  case AU_SIM_WHEN_N: return n >= f->lo && n <= f->hi;
  case AU_SIM_WHEN_EVERY: return n % f->lo == 0;
  case AU_SIM_WHEN_P: return au_sim_unit(seed, f->spec, (int64_t)n) < f->p;
  }
  return false;
}
