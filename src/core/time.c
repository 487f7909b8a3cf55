/* time.c - UTC microsecond instants, civil-date arithmetic (Howard Hinnant's algorithms),
 * strict ISO-8601 parsing/formatting and IANA zones read from TZif files (v1/v2/v3/v4)
 * including the POSIX TZ footer rule (RFC 8536) used after the last transition.
 *
 * Never consults TZ, localtime(), mktime() or timegm(): all conversions are pure
 * arithmetic, so everything here is thread-safe. Loaded zones live in a process-wide,
 * mutex-protected cache and are immutable once published. */
#include "core/au.h"
#include "core/err.h"
#include "core/time.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- integer helpers ------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

static int64_t floor_mod(int64_t a, int64_t b) {
  int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

/* Seconds -> microseconds, saturating instead of overflowing. */
static au_time secs_to_time(int64_t secs) {
  au_time out;
  if (__builtin_mul_overflow(secs, AU_USEC, &out))
    return secs < 0 ? INT64_MIN + 1 : INT64_MAX;
  return out;
}

static bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m) {
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* ---- civil dates ------------------------------------------------------------------- */

/* y/m/d with m in 1..12; d may be out of range (the result is linear in d). */
static int64_t days_from_civil64(int64_t y, int m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                       /* [0, 399] */
  int64_t mp = m > 2 ? m - 3 : m + 9;                /* [0, 11] */
  int64_t doy = (153 * mp + 2) / 5 + d - 1;          /* [0, 365] for valid d */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* Month out of 1..12 is folded into the year. */
static int64_t days_norm(int64_t y, int64_t m, int64_t d) {
  int64_t m0 = m - 1;
  y += floor_div(m0, 12);
  return days_from_civil64(y, (int)floor_mod(m0, 12) + 1, d);
}

int64_t au_days_from_civil(int y, int m, int d) {
  return days_norm(y, m, d);
}

void au_civil_from_days(int64_t z, int *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;                                     /* [0, 146096] */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
  int64_t yy = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* [0, 365] */
  int64_t mp = (5 * doy + 2) / 153;                      /* [0, 11] */
  int dd = (int)(doy - (153 * mp + 2) / 5 + 1);
  int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
  yy += mm <= 2;
  if (y)
    *y = (int)yy;
  if (m)
    *m = mm;
  if (d)
    *d = dd;
}

int au_weekday(int64_t days) {
  return (int)floor_mod(days + 3, 7) + 1; /* 1970-01-01 was a Thursday (4) */
}

static int64_t civil_secs(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s) {
  return days_norm(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

au_time au_time_utc(int y, int mo, int d, int h, int mi, int s) {
  return secs_to_time(civil_secs(y, mo, d, h, mi, s));
}

static void secs_to_civil(int64_t secs, int usec, struct au_civil *out) {
  int64_t days = floor_div(secs, 86400);
  int64_t sod = secs - days * 86400;
  au_civil_from_days(days, &out->year, &out->month, &out->day);
  out->hour = (int)(sod / 3600);
  out->minute = (int)(sod / 60 % 60);
  out->second = (int)(sod % 60);
  out->usec = usec;
}

void au_time_to_civil(au_time t, struct au_civil *out) {
  secs_to_civil(floor_div(t, AU_USEC), (int)floor_mod(t, AU_USEC), out);
}

/* ---- ISO-8601 parsing -------------------------------------------------------------- */

#define ISO_MAX_LEN 64

/* Exactly n ASCII digits at s[*i]; advances *i. */
static bool take_digits(const char *s, size_t len, size_t *i, int n, int *out) {
  if (*i + (size_t)n > len)
    return false;
  int v = 0;
  for (int k = 0; k < n; k++) {
    char c = s[*i + (size_t)k];
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + (c - '0');
  }
  *i += (size_t)n;
  *out = v;
  return true;
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int au_time_parse_iso(const char *s, size_t len, au_time *out, bool *had_offset) {
  if (had_offset)
    *had_offset = false;
  if (!s)
    return AU_E_PARSE;
  if (len == (size_t)-1)
    len = strnlen(s, ISO_MAX_LEN + 1);
  if (len < 10 || len > ISO_MAX_LEN)
    return AU_E_PARSE;

  size_t i = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, usec = 0;
  if (!take_digits(s, len, &i, 4, &y) || s[i++] != '-' || !take_digits(s, len, &i, 2, &mo) ||
      i >= len || s[i++] != '-' || !take_digits(s, len, &i, 2, &d))
    return AU_E_PARSE;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
    return AU_E_PARSE;

  int off = 0; /* seconds east of UTC */
  bool got_off = false;
  if (i < len) {
    char sep = s[i++];
    if (sep != 'T' && sep != 't' && sep != ' ')
      return AU_E_PARSE;
    if (!take_digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' ||
        !take_digits(s, len, &i, 2, &mi))
      return AU_E_PARSE;
    bool frac_nonzero = false;
    if (i < len && s[i] == ':') {
      i++;
      if (!take_digits(s, len, &i, 2, &sec))
        return AU_E_PARSE;
      if (i < len && (s[i] == '.' || s[i] == ',')) {
        i++;
        int nd = 0;
        while (i < len && is_digit(s[i])) {
          if (++nd > 9)
            return AU_E_PARSE;
          if (nd <= 6)
            usec = usec * 10 + (s[i] - '0');
          if (s[i] != '0')
            frac_nonzero = true;
          i++;
        }
        if (nd == 0)
          return AU_E_PARSE;
        for (int k = nd; k < 6; k++)
          usec *= 10;
      }
    }
    /* 24:00[:00[.0]] is the end of the day (ISO 8601); anything else past 23:59:59 is not. */
    if (h == 24) {
      if (mi != 0 || sec != 0 || frac_nonzero)
        return AU_E_PARSE;
    } else if (h > 23 || mi > 59 || sec > 59) {
      return AU_E_PARSE;
    }
    if (i < len) {
      char c = s[i++];
      if (c == 'Z' || c == 'z') {
        got_off = true;
      } else if (c == '+' || c == '-') {
        int oh, om = 0;
        if (!take_digits(s, len, &i, 2, &oh))
          return AU_E_PARSE;
        if (i < len) {
          if (s[i] == ':')
            i++;
          if (!take_digits(s, len, &i, 2, &om))
            return AU_E_PARSE;
        }
        if (oh > 23 || om > 59)
          return AU_E_PARSE;
        off = (oh * 3600 + om * 60) * (c == '-' ? -1 : 1); /* "-00:00" is plain UTC */
        got_off = true;
      } else {
        return AU_E_PARSE;
      }
      if (i != len)
        return AU_E_PARSE;
    }
  }
  int64_t secs = civil_secs(y, mo, d, h, mi, sec) - off;
  if (out)
    *out = secs * AU_USEC + usec;
  if (had_offset)
    *had_offset = got_off;
  return 0;
}

/* ---- formatting --------------------------------------------------------------------- */

/* Range the fixed-width formats can show: 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z. */
#define FMT_MIN_SECS (-62167219200LL)
#define FMT_MAX_SECS (253402300799LL)

static void fmt_civil(au_time t, struct au_civil *c) {
  int64_t secs = floor_div(t, AU_USEC);
  int usec = (int)floor_mod(t, AU_USEC);
  if (secs < FMT_MIN_SECS) {
    secs = FMT_MIN_SECS;
    usec = 0;
  } else if (secs > FMT_MAX_SECS) {
    secs = FMT_MAX_SECS;
    usec = 999999;
  }
  secs_to_civil(secs, usec, c);
}

static char *put_num(char *p, int v, int width) {
  for (int k = width - 1; k >= 0; k--) {
    p[k] = (char)('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

static char *put_date(char *p, const struct au_civil *c) {
  p = put_num(p, c->year, 4);
  *p++ = '-';
  p = put_num(p, c->month, 2);
  *p++ = '-';
  return put_num(p, c->day, 2);
}

static char *put_datetime(char *p, const struct au_civil *c) {
  p = put_date(p, c);
  *p++ = 'T';
  p = put_num(p, c->hour, 2);
  *p++ = ':';
  p = put_num(p, c->minute, 2);
  *p++ = ':';
  return put_num(p, c->second, 2);
}

size_t au_time_fmt(au_time t, char *buf) {
  struct au_civil c;
  fmt_civil(t, &c);
  char *p = put_datetime(buf, &c);
  *p++ = 'Z';
  *p = 0;
  return (size_t)(p - buf);
}

size_t au_time_fmt_us(au_time t, char *buf) {
  struct au_civil c;
  fmt_civil(t, &c);
  char *p = put_datetime(buf, &c);
  *p++ = '.';
  p = put_num(p, c.usec, 6);
  *p++ = 'Z';
  *p = 0;
  return (size_t)(p - buf);
}

size_t au_time_fmt_date(au_time t, char *buf) {
  struct au_civil c;
  fmt_civil(t, &c);
  char *p = put_date(buf, &c);
  *p = 0;
  return (size_t)(p - buf);
}

/* ---- clocks ------------------------------------------------------------------------- */

au_time au_now_real(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (au_time)ts.tv_sec * AU_USEC + ts.tv_nsec / 1000;
}

au_time au_now(void) {
  const char *fake = getenv("AURUM_NOW");
  if (fake && *fake) {
    au_time t;
    if (au_time_parse_iso(fake, (size_t)-1, &t, NULL) == 0)
      return t;
  }
  return au_now_real();
}

double au_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void au_sleep(double seconds) {
  if (!(seconds > 0))
    return; /* also rejects NaN */
  if (seconds > 1e9)
    seconds = 1e9;
  struct timespec req, rem;
  req.tv_sec = (time_t)seconds;
  req.tv_nsec = (long)((seconds - (double)req.tv_sec) * 1e9);
  if (req.tv_nsec >= 1000000000L)
    req.tv_nsec = 999999999L;
  while (nanosleep(&req, &rem) != 0 && errno == EINTR)
    req = rem;
}

/* ---- zones: data ---------------------------------------------------------------------- */

struct rule_date {
  char kind;    /* 'J' (1..365, no Feb 29), 'N' (0..365 zero-based), 'M' (month.week.day) */
  int n;        /* J / N day number */
  int m, w, wd; /* M: month 1..12, week 1..5 (5 = last), weekday 0 = Sunday */
  int32_t time; /* local seconds after midnight; RFC 8536 allows -167h .. 167h */
};

struct posix_rule {
  bool valid;
  bool has_dst;
  int32_t std_off; /* seconds east of UTC */
  int32_t dst_off;
  struct rule_date start, end; /* start: in standard time; end: in daylight time */
};

struct tz_type {
  int32_t off;
  bool dst;
};

struct au_tz {
  struct au_tz *next; /* cache chain */
  char *name;
  size_t ntrans;
  int64_t *trans; /* UTC seconds, ascending */
  uint8_t *tidx;  /* type index for each transition */
  size_t ntypes;
  struct tz_type *types;
  struct posix_rule rule; /* applies at and after the last transition */
};

static int64_t rule_date_days(int64_t y, const struct rule_date *r) {
  int64_t jan1 = days_from_civil64(y, 1, 1);
  if (r->kind == 'J')
    return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60 ? 1 : 0);
  if (r->kind == 'N')
    return jan1 + r->n;
  int64_t first = days_from_civil64(y, r->m, 1);
  int wd0 = au_weekday(first) % 7; /* 0 = Sunday */
  int day = 1 + (r->wd - wd0 + 7) % 7 + (r->w - 1) * 7;
  int dim = days_in_month(y, r->m);
  while (day > dim)
    day -= 7;
  return first + day - 1;
}

static void rule_lookup(const struct posix_rule *r, int64_t t, int32_t *off, bool *dst) {
  *off = r->std_off;
  *dst = false;
  if (!r->has_dst)
    return;
  int y;
  au_civil_from_days(floor_div(t + r->std_off, 86400), &y, NULL, NULL);
  /* The latest DST start/end event at or before t decides; on a tie the start wins, so
   * "start == end" rules (e.g. "EST5EDT,0/0,J365/25") mean daylight time all year. */
  int64_t best = INT64_MIN;
  bool best_start = false, found = false;
  for (int64_t yy = (int64_t)y - 1; yy <= (int64_t)y + 1; yy++) {
    int64_t s = rule_date_days(yy, &r->start) * 86400 + r->start.time - r->std_off;
    int64_t e = rule_date_days(yy, &r->end) * 86400 + r->end.time - r->dst_off;
    if (s <= t && (!found || s > best || (s == best && !best_start))) {
      best = s;
      best_start = true;
      found = true;
    }
    if (e <= t && (!found || e > best)) {
      best = e;
      best_start = false;
      found = true;
    }
  }
  if (found && best_start) {
    *off = r->dst_off;
    *dst = true;
  }
}

static void tz_lookup(const struct au_tz *tz, int64_t t, int32_t *off, bool *dst) {
  size_t n = tz->ntrans;
  if ((n == 0 || t >= tz->trans[n - 1]) && tz->rule.valid) {
    rule_lookup(&tz->rule, t, off, dst);
    return;
  }
  size_t ti = 0; /* RFC 8536: type 0 before the first transition */
  if (n > 0 && t >= tz->trans[0]) {
    size_t lo = 0, hi = n; /* largest i with trans[i] <= t */
    while (hi - lo > 1) {
      size_t mid = lo + (hi - lo) / 2;
      if (tz->trans[mid] <= t)
        lo = mid;
      else
        hi = mid;
    }
    ti = tz->tidx[lo];
  }
  *off = tz->types[ti].off;
  *dst = tz->types[ti].dst;
}

/* ---- zones: POSIX TZ string (RFC 8536 section 3.3) ------------------------------------- */

struct cursor {
  const char *p, *end;
};

static bool cur_eof(const struct cursor *c) {
  return c->p >= c->end;
}

static bool is_alpha(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static bool parse_tzname(struct cursor *c) {
  if (cur_eof(c))
    return false;
  if (*c->p == '<') {
    c->p++;
    const char *start = c->p;
    while (!cur_eof(c) && *c->p != '>') {
      char ch = *c->p;
      if (!is_alpha(ch) && !is_digit(ch) && ch != '+' && ch != '-')
        return false;
      c->p++;
    }
    if (cur_eof(c) || c->p == start)
      return false;
    c->p++; /* '>' */
    return true;
  }
  const char *start = c->p;
  while (!cur_eof(c) && is_alpha(*c->p))
    c->p++;
  return c->p - start >= 3;
}

static bool parse_num(struct cursor *c, int maxdigits, int *out) {
  int v = 0, nd = 0;
  while (!cur_eof(c) && is_digit(*c->p) && nd < maxdigits) {
    v = v * 10 + (*c->p - '0');
    c->p++;
    nd++;
  }
  if (nd == 0)
    return false;
  *out = v;
  return true;
}

/* [+-]hh[:mm[:ss]] with hh <= 167; returns seconds (sign as written). */
static bool parse_hms(struct cursor *c, int32_t *out) {
  int sign = 1, h, m = 0, s = 0;
  if (!cur_eof(c) && (*c->p == '+' || *c->p == '-')) {
    sign = *c->p == '-' ? -1 : 1;
    c->p++;
  }
  if (!parse_num(c, 3, &h) || h > 167)
    return false;
  if (!cur_eof(c) && *c->p == ':') {
    c->p++;
    if (!parse_num(c, 2, &m) || m > 59)
      return false;
    if (!cur_eof(c) && *c->p == ':') {
      c->p++;
      if (!parse_num(c, 2, &s) || s > 59)
        return false;
    }
  }
  *out = sign * (h * 3600 + m * 60 + s);
  return true;
}

static bool parse_rule_date(struct cursor *c, struct rule_date *r) {
  memset(r, 0, sizeof(*r));
  if (cur_eof(c))
    return false;
  if (*c->p == 'J') {
    c->p++;
    r->kind = 'J';
    if (!parse_num(c, 3, &r->n) || r->n < 1 || r->n > 365)
      return false;
  } else if (*c->p == 'M') {
    c->p++;
    r->kind = 'M';
    if (!parse_num(c, 2, &r->m) || r->m < 1 || r->m > 12 || cur_eof(c) || *c->p++ != '.' ||
        !parse_num(c, 1, &r->w) || r->w < 1 || r->w > 5 || cur_eof(c) || *c->p++ != '.' ||
        !parse_num(c, 1, &r->wd) || r->wd > 6)
      return false;
  } else {
    r->kind = 'N';
    if (!parse_num(c, 3, &r->n) || r->n > 365)
      return false;
  }
  r->time = 7200;
  if (!cur_eof(c) && *c->p == '/') {
    c->p++;
    if (!parse_hms(c, &r->time))
      return false;
  }
  return true;
}

/* Parse a POSIX TZ string such as "MST7MDT,M3.2.0,M11.1.0" or "<+0530>-5:30".
 * Returns the byte offset of the first error, or -1 on success. */
static long parse_posix_tz(const char *s, size_t len, struct posix_rule *r) {
  struct cursor c = {s, s + len};
  memset(r, 0, sizeof(*r));
  int32_t v;
  if (!parse_tzname(&c) || !parse_hms(&c, &v))
    return (long)(c.p - s);
  r->std_off = -v; /* POSIX offsets are west-positive */
  if (!cur_eof(&c)) {
    if (!parse_tzname(&c))
      return (long)(c.p - s);
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (!cur_eof(&c) && *c.p != ',') {
      if (!parse_hms(&c, &v))
        return (long)(c.p - s);
      r->dst_off = -v;
    }
    if (cur_eof(&c)) { /* no rule given: the customary US rule */
      r->start = (struct rule_date){'M', 0, 3, 2, 0, 7200};
      r->end = (struct rule_date){'M', 0, 11, 1, 0, 7200};
    } else {
      if (*c.p++ != ',' || !parse_rule_date(&c, &r->start) || cur_eof(&c) || *c.p++ != ',' ||
          !parse_rule_date(&c, &r->end))
        return (long)(c.p - s);
    }
  }
  if (!cur_eof(&c))
    return (long)(c.p - s);
  r->valid = true;
  return -1;
}

/* ---- zones: TZif files ------------------------------------------------------------------ */

#define TZIF_MAX_FILE (4u << 20)
#define TZIF_HDR 44

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
  uint32_t isut, isstd, leap, time, type, chars;
};

static bool tzif_header(const uint8_t *b, size_t len, size_t at, struct tzif_counts *k) {
  if (len < TZIF_HDR || at > len - TZIF_HDR || memcmp(b + at, "TZif", 4) != 0)
    return false;
  const uint8_t *p = b + at + 20;
  k->isut = be32(p);
  k->isstd = be32(p + 4);
  k->leap = be32(p + 8);
  k->time = be32(p + 12);
  k->type = be32(p + 16);
  k->chars = be32(p + 20);
  return k->type >= 1 && k->type <= 256 && k->time <= (1u << 20) && k->leap <= (1u << 20) &&
         k->chars <= (1u << 16) && (k->isut == 0 || k->isut == k->type) &&
         (k->isstd == 0 || k->isstd == k->type);
}

static size_t tzif_block_size(const struct tzif_counts *k, size_t tsize) {
  return (size_t)k->time * (tsize + 1) + (size_t)k->type * 6 + k->chars +
         (size_t)k->leap * (tsize + 4) + k->isstd + k->isut;
}

static int tzif_parse(const char *name, const uint8_t *b, size_t len, struct au_tz *tz,
                      struct au_err *err) {
  struct tzif_counts k;
  if (!tzif_header(b, len, 0, &k))
    return au_err_set(err, AU_E_PARSE, "zone %s: bad TZif header at byte 0", name);
  uint8_t version = b[4];
  size_t at = TZIF_HDR, tsize = 4;
  size_t block = tzif_block_size(&k, 4);
  if (block > len - at)
    return au_err_set(err, AU_E_PARSE, "zone %s: truncated TZif v1 data at byte %zu", name, at);
  if (version >= '2') {
    at += block;
    if (!tzif_header(b, len, at, &k))
      return au_err_set(err, AU_E_PARSE, "zone %s: bad TZif v2+ header at byte %zu", name, at);
    at += TZIF_HDR;
    tsize = 8;
    block = tzif_block_size(&k, 8);
    if (block > len - at)
      return au_err_set(err, AU_E_PARSE, "zone %s: truncated TZif data at byte %zu", name, at);
  }
  const uint8_t *p = b + at;
  tz->ntrans = k.time;
  tz->trans = au_xcalloc(k.time ? k.time : 1, sizeof(int64_t));
  tz->tidx = au_xcalloc(k.time ? k.time : 1, 1);
  for (uint32_t i = 0; i < k.time; i++) {
    tz->trans[i] = tsize == 8 ? be64(p + i * 8) : (int64_t)(int32_t)be32(p + i * 4);
    if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
      return au_err_set(err, AU_E_PARSE, "zone %s: transitions not ascending at byte %zu", name,
                        at + i * tsize);
  }
  p += (size_t)k.time * tsize;
  for (uint32_t i = 0; i < k.time; i++) {
    tz->tidx[i] = p[i];
    if (p[i] >= k.type)
      return au_err_set(err, AU_E_PARSE, "zone %s: bad type index at byte %zu", name,
                        (size_t)(p + i - b));
  }
  p += k.time;
  tz->ntypes = k.type;
  tz->types = au_xcalloc(k.type, sizeof(struct tz_type));
  for (uint32_t i = 0; i < k.type; i++) {
    int32_t off = (int32_t)be32(p + i * 6);
    if (off < -89999 || off > 93599 || p[i * 6 + 4] > 1)
      return au_err_set(err, AU_E_PARSE, "zone %s: bad local time type at byte %zu", name,
                        (size_t)(p + i * 6 - b));
    tz->types[i].off = off;
    tz->types[i].dst = p[i * 6 + 4] != 0;
  }
  p += (size_t)k.type * 6;
  p += k.chars + (size_t)k.leap * (tsize + 4) + k.isstd + k.isut; /* leap seconds ignored */

  if (version >= '2') {
    size_t pos = (size_t)(p - b);
    if (pos >= len || b[pos] != '\n')
      return au_err_set(err, AU_E_PARSE, "zone %s: missing TZ footer at byte %zu", name, pos);
    const uint8_t *nl = memchr(b + pos + 1, '\n', len - pos - 1);
    if (!nl)
      return au_err_set(err, AU_E_PARSE, "zone %s: unterminated TZ footer at byte %zu", name,
                        pos);
    size_t flen = (size_t)(nl - (b + pos + 1));
    if (flen > 0) {
      long bad = parse_posix_tz((const char *)b + pos + 1, flen, &tz->rule);
      if (bad >= 0)
        return au_err_set(err, AU_E_PARSE, "zone %s: bad TZ footer \"%.*s\" at byte %zu", name,
                          (int)(flen > 64 ? 64 : flen), (const char *)b + pos + 1,
                          pos + 1 + (size_t)bad);
    }
  }
  return 0;
}

static void tz_free(struct au_tz *tz) {
  if (!tz)
    return;
  free(tz->name);
  free(tz->trans);
  free(tz->tidx);
  free(tz->types);
  free(tz);
}

static struct au_tz *tz_new(const char *name) {
  struct au_tz *tz = au_xcalloc(1, sizeof(*tz));
  tz->name = au_xstrdup(name);
  return tz;
}

static struct au_tz *tz_fixed(const char *name, int32_t off) {
  struct au_tz *tz = tz_new(name);
  tz->ntypes = 1;
  tz->types = au_xcalloc(1, sizeof(struct tz_type));
  tz->types[0].off = off;
  return tz;
}

/* Reads dir/name. Returns 0, AU_E_NOTFOUND (no such file) or another error. */
static int tz_load_file(const char *dir, const char *name, struct au_tz **out, struct au_err *err) {
  size_t dl = strlen(dir), nl = strlen(name);
  char *path = au_xmalloc(dl + nl + 2);
  memcpy(path, dir, dl);
  path[dl] = '/';
  memcpy(path + dl + 1, name, nl + 1);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    int rc = (e == ENOENT || e == ENOTDIR)
                 ? AU_E_NOTFOUND
                 : au_err_set(err, AU_E_IO, "zone %s: cannot open %s: %s", name, path, strerror(e));
    free(path);
    return rc;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
      (uint64_t)st.st_size > TZIF_MAX_FILE) {
    close(fd);
    int rc = au_err_set(err, AU_E_PARSE, "zone %s: %s is not a TZif file", name, path);
    free(path);
    return rc;
  }
  size_t len = (size_t)st.st_size, got = 0;
  uint8_t *buf = au_xmalloc(len);
  while (got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  int rc;
  if (got != len) {
    rc = au_err_set(err, AU_E_IO, "zone %s: short read of %s", name, path);
  } else {
    struct au_tz *tz = tz_new(name);
    rc = tzif_parse(name, buf, len, tz, err);
    if (rc == 0)
      *out = tz;
    else
      tz_free(tz);
  }
  free(buf);
  free(path);
  return rc;
}

/* "UTC", "UTC+05:30", "UTC-0500", "UTC-5" (sign as written: UTC-05:00 is 5 h behind UTC).
 * Returns false if name is not of this form. */
static bool parse_fixed_name(const char *name, int32_t *off) {
  static const char *const utc_names[] = {"UTC",     "Etc/UTC",   "GMT",       "Etc/GMT",
                                          "Z",       "UCT",       "Etc/UCT",   "Zulu",
                                          "Etc/Zulu", "Universal", "Etc/Universal"};
  for (size_t i = 0; i < AU_ARRAY_LEN(utc_names); i++)
    if (strcmp(name, utc_names[i]) == 0) {
      *off = 0;
      return true;
    }
  if (strncmp(name, "UTC", 3) != 0 && strncmp(name, "GMT", 3) != 0)
    return false;
  const char *p = name + 3;
  if (*p != '+' && *p != '-')
    return false;
  int sign = *p++ == '-' ? -1 : 1;
  size_t n = strlen(p);
  int h, m = 0;
  size_t i = 0;
  if (n == 1 || (n == 2 && is_digit(p[1]))) { /* H or HH */
    if (!take_digits(p, n, &i, (int)n, &h))
      return false;
  } else if (n == 4) { /* HHMM */
    if (!take_digits(p, n, &i, 2, &h) || !take_digits(p, n, &i, 2, &m))
      return false;
  } else if (n == 5 && p[2] == ':') { /* HH:MM */
    if (!take_digits(p, n, &i, 2, &h) || ++i != 3 || !take_digits(p, n, &i, 2, &m))
      return false;
  } else {
    return false;
  }
  if (h > 18 || m > 59 || (h == 18 && m != 0))
    return false;
  *off = sign * (h * 3600 + m * 60);
  return true;
}

static bool valid_zone_name(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 255 || name[0] == '/')
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!is_alpha(c) && !is_digit(c) && c != '/' && c != '_' && c != '-' && c != '+' && c != '.')
      return false;
    if (c == '.' && (i == 0 || name[i - 1] == '/'))
      return false; /* no "..", no hidden files */
  }
  return true;
}

static pthread_mutex_t tz_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct au_tz *tz_cache;

const struct au_tz *au_tz_get(const char *name, struct au_err *err) {
  if (!name || !*name) {
    au_err_set(err, AU_E_INVAL, "empty time zone name");
    return NULL;
  }
  pthread_mutex_lock(&tz_cache_lock);
  for (struct au_tz *tz = tz_cache; tz; tz = tz->next)
    if (strcmp(tz->name, name) == 0) {
      pthread_mutex_unlock(&tz_cache_lock);
      return tz;
    }

  struct au_tz *tz = NULL;
  int32_t off;
  if (parse_fixed_name(name, &off)) {
    tz = tz_fixed(name, off);
  } else if (!valid_zone_name(name)) {
    au_err_set(err, AU_E_INVAL, "invalid time zone name \"%.64s\"", name);
  } else {
    const char *dirs[2] = {getenv("AURUM_ZONEINFO"), "/usr/share/zoneinfo"};
    int rc = AU_E_NOTFOUND;
    for (size_t i = 0; i < 2 && rc == AU_E_NOTFOUND; i++)
      if (dirs[i] && *dirs[i])
        rc = tz_load_file(dirs[i], name, &tz, err);
    if (rc == AU_E_NOTFOUND) {
      /* Fixed-offset legacy zones, for systems without tzdata. */
      static const struct {
        const char *name;
        int32_t off;
      } builtin[] = {{"EST", -5 * 3600}, {"MST", -7 * 3600}, {"HST", -10 * 3600}};
      for (size_t i = 0; i < AU_ARRAY_LEN(builtin); i++)
        if (strcmp(name, builtin[i].name) == 0)
          tz = tz_fixed(name, builtin[i].off);
      if (!tz)
        au_err_set(err, AU_E_NOTFOUND, "unknown time zone \"%s\" (looked in %s%s/usr/share/zoneinfo)",
                   name, dirs[0] && *dirs[0] ? dirs[0] : "", dirs[0] && *dirs[0] ? " and " : "");
    }
  }
  if (tz) {
    tz->next = tz_cache;
    tz_cache = tz;
  }
  pthread_mutex_unlock(&tz_cache_lock);
  return tz;
}

const char *au_tz_name(const struct au_tz *tz) {
  return tz ? tz->name : "UTC";
}

/* ---- zones: conversions ---------------------------------------------------------------- */

static void lookup_us(const struct au_tz *tz, au_time t, int32_t *off, bool *dst) {
  if (!tz) {
    *off = 0;
    *dst = false;
    return;
  }
  tz_lookup(tz, floor_div(t, AU_USEC), off, dst);
}

int32_t au_tz_offset(const struct au_tz *tz, au_time t) {
  int32_t off;
  bool dst;
  lookup_us(tz, t, &off, &dst);
  return off;
}

bool au_tz_is_dst(const struct au_tz *tz, au_time t) {
  int32_t off;
  bool dst;
  lookup_us(tz, t, &off, &dst);
  return dst;
}

void au_tz_to_local(const struct au_tz *tz, au_time t, struct au_civil *out) {
  int32_t off;
  bool dst;
  lookup_us(tz, t, &off, &dst);
  secs_to_civil(floor_div(t, AU_USEC) + off, (int)floor_mod(t, AU_USEC), out);
}

static int32_t off_at(const struct au_tz *tz, int64_t secs) {
  int32_t off = 0;
  bool dst;
  if (tz)
    tz_lookup(tz, secs, &off, &dst);
  return off;
}

int au_tz_from_local(const struct au_tz *tz, int y, int mo, int d, int h, int mi, int s,
                     enum au_tz_fold fold, bool lenient, au_time *out) {
  int64_t local = civil_secs(y, mo, d, h, mi, s);
  /* UTC offsets are within +-26 h, so local -/+ 2 days lies before/after any transition
   * affecting this wall-clock time (zones do not change offset twice within days). */
  int32_t o_pre = off_at(tz, local - 2 * 86400);
  int32_t o_post = off_at(tz, local + 2 * 86400);
  int64_t cand[2];
  int nc = 0;
  int32_t offs[2] = {o_pre, o_post};
  for (int i = 0; i < 2; i++) {
    if (i == 1 && o_post == o_pre)
      break;
    int64_t u = local - offs[i];
    if (off_at(tz, u) == offs[i])
      cand[nc++] = u;
  }
  int64_t res;
  if (nc == 2) {
    int64_t lo = cand[0] < cand[1] ? cand[0] : cand[1];
    int64_t hi = cand[0] < cand[1] ? cand[1] : cand[0];
    res = fold == AU_FOLD_LATER ? hi : lo;
  } else if (nc == 1) {
    res = cand[0];
  } else {
    if (!lenient)
      return AU_E_INVAL;
    res = local - o_pre; /* the wall clock skips ahead: read it with the old offset */
  }
  if (out)
    *out = secs_to_time(res);
  return 0;
}

au_time au_tz_day_start(const struct au_tz *tz, int y, int mo, int d) {
  au_time t = 0;
  au_tz_from_local(tz, y, mo, d, 0, 0, 0, AU_FOLD_EARLIER, true, &t);
  return t;
}

void au_tz_local_date(const struct au_tz *tz, au_time t, int *y, int *mo, int *d) {
  struct au_civil c;
  au_tz_to_local(tz, t, &c);
  if (y)
    *y = c.year;
  if (mo)
    *mo = c.month;
  if (d)
    *d = c.day;
}
