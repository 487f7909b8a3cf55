/* time.h - UTC microsecond instants, civil-date arithmetic, ISO-8601 parsing and
 * IANA time zones read from the system zoneinfo (TZif v1/v2/v3 including the POSIX
 * TZ footer rule for instants past the last transition).
 *
 * Everything here is thread-safe and never consults TZ, localtime() or mktime().
 * Zones are loaded once, cached for the process, and immutable afterwards. */
#ifndef AU_TIME_H
#define AU_TIME_H
#include "core/au.h"

struct au_err;

typedef int64_t au_time; /* microseconds since 1970-01-01T00:00:00Z */

#define AU_USEC 1000000LL
#define AU_MINUTE (60LL * AU_USEC)
#define AU_HOUR (3600LL * AU_USEC)
#define AU_DAY (86400LL * AU_USEC)
#define AU_TIME_NONE INT64_MIN

/* Civil date <-> days since 1970-01-01 (proleptic Gregorian, Howard Hinnant's algorithm). */
int64_t au_days_from_civil(int y, int m, int d);
void au_civil_from_days(int64_t days, int *y, int *m, int *d);
/* 1=Monday .. 7=Sunday */
int au_weekday(int64_t days);

/* UTC instant from UTC civil fields (fields may be out of range and are normalised). */
au_time au_time_utc(int y, int mo, int d, int h, int mi, int s);

struct au_civil {
  int year, month, day, hour, minute, second, usec;
};
void au_time_to_civil(au_time t, struct au_civil *out); /* as UTC */

/* Parse ISO-8601 / common ISO stamps. Accepts:
 *   YYYY-MM-DD
 *   YYYY-MM-DD[T| ]HH:MM[:SS[.f{1,9}]]
 *   followed optionally by Z, +HH:MM, -HH:MM, +HHMM, -HHMM, +HH
 * Without an offset the civil time is taken as UTC and *had_offset (if not NULL) is false.
 * Returns 0 or AU_E_PARSE. len may be (size_t)-1 for NUL-terminated s. */
int au_time_parse_iso(const char *s, size_t len, au_time *out, bool *had_offset);

/* "YYYY-MM-DDTHH:MM:SSZ" (seconds precision, truncates µs). buf >= 21 bytes. Returns length. */
size_t au_time_fmt(au_time t, char *buf);
/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" (always 6 fraction digits). buf >= 28 bytes. */
size_t au_time_fmt_us(au_time t, char *buf);
/* "YYYY-MM-DD" of the UTC date. buf >= 11 bytes. */
size_t au_time_fmt_date(au_time t, char *buf);

/* Current time: AURUM_NOW (ISO-8601, see au_time_parse_iso) if set, else the real clock.
 * au_now_real() ignores AURUM_NOW. */
au_time au_now(void);
au_time au_now_real(void);
/* Monotonic seconds, for durations and rate limiting. */
double au_mono(void);
/* Sleep for seconds (fractional), restarting on EINTR. */
void au_sleep(double seconds);

/* --- IANA zones ---------------------------------------------------------------- */
struct au_tz;

/* Load (or fetch from the cache) a zone such as "America/Edmonton", "EST", "UTC",
 * or a fixed offset written "UTC-05:00" / "Etc/GMT+5". Looks in $AURUM_ZONEINFO, then
 * /usr/share/zoneinfo. The pointer stays valid for the life of the process.
 * NULL + err on failure. */
const struct au_tz *au_tz_get(const char *name, struct au_err *err);
const char *au_tz_name(const struct au_tz *tz);

/* UTC offset in seconds in force at the UTC instant t (e.g. -25200 for MST). */
int32_t au_tz_offset(const struct au_tz *tz, au_time t);
/* Whether daylight time is in force at t. */
bool au_tz_is_dst(const struct au_tz *tz, au_time t);

/* Local civil time (as seen on a wall clock in tz) of UTC instant t. */
void au_tz_to_local(const struct au_tz *tz, au_time t, struct au_civil *out);

enum au_tz_fold {
  AU_FOLD_EARLIER = 0, /* ambiguous (repeated) local time: the first occurrence (DST) */
  AU_FOLD_LATER = 1    /* ambiguous local time: the second occurrence (standard) */
};

/* Convert a local wall-clock time in tz to UTC.
 * Ambiguous times (fall back) resolve by fold. Non-existent times (spring gap) return
 * AU_E_INVAL unless lenient is true, in which case they are shifted forward by the
 * gap (as a wall clock would read). Returns 0 or AU_E_INVAL. */
int au_tz_from_local(const struct au_tz *tz, int y, int mo, int d, int h, int mi, int s,
                     enum au_tz_fold fold, bool lenient, au_time *out);

/* UTC instant of local midnight starting civil day (y, mo, d) in tz. */
au_time au_tz_day_start(const struct au_tz *tz, int y, int mo, int d);
/* The local civil date (y, mo, d) in tz of UTC instant t. */
void au_tz_local_date(const struct au_tz *tz, au_time t, int *y, int *mo, int *d);

#endif
