/* test_time.c - civil arithmetic, ISO-8601 parsing/formatting, clocks and IANA zones
 * (TZif transitions, the POSIX footer rule, DST gaps and folds). */
#include "core/au.h"
#include "core/err.h"
#include "core/time.h"

#include "au_test.h"

#include <pthread.h>
#include <sys/stat.h>
#include <stdint.h>
#include <unistd.h>

/* ---- civil ---------------------------------------------------------------------------- */

TEST(civil_known_values) {
  CHECK_EQ_INT(au_days_from_civil(1970, 1, 1), 0);
  CHECK_EQ_INT(au_days_from_civil(1969, 12, 31), -1);
  CHECK_EQ_INT(au_days_from_civil(2000, 3, 1), 11017);
  CHECK_EQ_INT(au_days_from_civil(2024, 2, 29), 19782);
  CHECK_EQ_INT(au_days_from_civil(1600, 1, 1), -135140);
  CHECK_EQ_INT(au_weekday(0), 4);                                /* Thursday */
  CHECK_EQ_INT(au_weekday(au_days_from_civil(2024, 3, 10)), 7);  /* Sunday */
  CHECK_EQ_INT(au_weekday(au_days_from_civil(1969, 12, 29)), 1); /* Monday */
  /* out-of-range fields normalise */
  CHECK_EQ_INT(au_days_from_civil(2024, 13, 1), au_days_from_civil(2025, 1, 1));
  CHECK_EQ_INT(au_days_from_civil(2024, 0, 1), au_days_from_civil(2023, 12, 1));
  CHECK_EQ_INT(au_days_from_civil(2024, 3, 0), au_days_from_civil(2024, 2, 29));
  CHECK_EQ_INT(au_time_utc(2024, 1, 1, 24, 0, 0), au_time_utc(2024, 1, 2, 0, 0, 0));
  CHECK_EQ_INT(au_time_utc(1970, 1, 1, 0, 0, -1), -AU_USEC);
  CHECK_EQ_INT(au_time_utc(2024, 3, 10, 9, 0, 0), 1710061200LL * AU_USEC);
}

TEST(civil_round_trip_wide_range) {
  int py, pm, pd;
  au_civil_from_days(au_days_from_civil(-1000, 1, 1) - 1, &py, &pm, &pd);
  int64_t first = au_days_from_civil(-1000, 1, 1), last = au_days_from_civil(3000, 12, 31);
  int leap_days = 0;
  for (int64_t z = first; z <= last; z++) {
    int y, m, d;
    au_civil_from_days(z, &y, &m, &d);
    if (au_days_from_civil(y, m, d) != z) {
      CHECK_EQ_INT(au_days_from_civil(y, m, d), z);
      break;
    }
    /* consecutive days advance the calendar by exactly one day */
    bool next_ok = (y == py && m == pm && d == pd + 1) || (y == py && m == pm + 1 && d == 1) ||
                   (y == py + 1 && m == 1 && d == 1 && pm == 12 && pd == 31);
    if (!next_ok) {
      fprintf(stderr, "  bad successor %d-%d-%d -> %d-%d-%d\n", py, pm, pd, y, m, d);
      CHECK(next_ok);
      break;
    }
    if (m == 2 && d == 29) {
      leap_days++;
      bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
      CHECK(leap);
    }
    py = y, pm = m, pd = d;
  }
  /* leap years in [-1000, 3000]: 4001 years, 1001 multiples of 4, minus centuries not /400 */
  CHECK_EQ_INT(leap_days, 970);
  CHECK_EQ_INT(au_days_from_civil(1900, 3, 1) - au_days_from_civil(1900, 2, 28), 1);
  CHECK_EQ_INT(au_days_from_civil(2000, 3, 1) - au_days_from_civil(2000, 2, 28), 2);
}

TEST(time_to_civil_negative) {
  struct au_civil c;
  au_time_to_civil(-1, &c); /* 1969-12-31T23:59:59.999999 */
  CHECK_EQ_INT(c.year, 1969);
  CHECK_EQ_INT(c.month, 12);
  CHECK_EQ_INT(c.day, 31);
  CHECK_EQ_INT(c.hour, 23);
  CHECK_EQ_INT(c.minute, 59);
  CHECK_EQ_INT(c.second, 59);
  CHECK_EQ_INT(c.usec, 999999);
  au_time_to_civil(au_time_utc(2024, 2, 29, 13, 14, 15) + 7, &c);
  CHECK_EQ_INT(c.year, 2024);
  CHECK_EQ_INT(c.month, 2);
  CHECK_EQ_INT(c.day, 29);
  CHECK_EQ_INT(c.hour, 13);
  CHECK_EQ_INT(c.minute, 14);
  CHECK_EQ_INT(c.second, 15);
  CHECK_EQ_INT(c.usec, 7);
}

/* ---- ISO parsing ------------------------------------------------------------------------ */

static au_time P(const char *s, int *rc, bool *had) {
  au_time t = 12345;
  *rc = au_time_parse_iso(s, (size_t)-1, &t, had);
  return t;
}

TEST(iso_parse_variants) {
  int rc;
  bool had;
  au_time base = au_time_utc(2024, 3, 10, 8, 0, 0);
  CHECK_EQ_INT(P("2024-03-10T08:00:00Z", &rc, &had), base);
  CHECK_EQ_INT(rc, 0);
  CHECK(had);
  CHECK_EQ_INT(P("2024-03-10T08:00:00-00:00", &rc, &had), base); /* CAISO */
  CHECK_EQ_INT(rc, 0);
  CHECK(had);
  CHECK_EQ_INT(P("2024-03-10T08:00:00-0000", &rc, &had), base);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(P("2024-03-10T08:00:00+00:00", &rc, &had), base);
  CHECK_EQ_INT(P("2024-03-10 08:00", &rc, &had), base);
  CHECK_EQ_INT(rc, 0);
  CHECK(!had);
  CHECK_EQ_INT(P("2024-03-10t08:00z", &rc, &had), base);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(P("2024-03-10T01:00:00-07:00", &rc, &had), base);
  CHECK_EQ_INT(P("2024-03-10T01:00:00-0700", &rc, &had), base);
  CHECK_EQ_INT(P("2024-03-10T01:00:00-07", &rc, &had), base);
  CHECK_EQ_INT(rc, 0);
  CHECK(had);
  CHECK_EQ_INT(P("2024-03-10T13:30+05:30", &rc, &had), base);
  CHECK_EQ_INT(P("2024-03-10", &rc, &had), au_time_utc(2024, 3, 10, 0, 0, 0));
  CHECK_EQ_INT(rc, 0);
  CHECK(!had);
  CHECK_EQ_INT(P("2024-03-10T08:00:00.5Z", &rc, &had), base + 500000);
  CHECK_EQ_INT(P("2024-03-10T08:00:00,25", &rc, &had), base + 250000);
  CHECK_EQ_INT(P("2024-03-10T08:00:00.123456789Z", &rc, &had), base + 123456);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(P("2024-04-19 03:29:58.480+0000", &rc, &had),
               au_time_utc(2024, 4, 19, 3, 29, 58) + 480000);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(P("2024-12-31T24:00:00Z", &rc, &had), au_time_utc(2025, 1, 1, 0, 0, 0));
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(P("1969-12-31T23:59:59.999999Z", &rc, &had), -1);
  CHECK_EQ_INT(P("2024-02-29T00:00:00Z", &rc, &had), au_time_utc(2024, 2, 29, 0, 0, 0));
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(P("0000-01-01T00:00:00Z", &rc, &had), au_time_utc(0, 1, 1, 0, 0, 0));
  CHECK_EQ_INT(rc, 0);
  /* explicit length: the rest of the buffer is ignored */
  au_time t = 0;
  CHECK_EQ_INT(au_time_parse_iso("2024-03-10T08:00:00Zgarbage", 20, &t, NULL), 0);
  CHECK_EQ_INT(t, base);
  CHECK_EQ_INT(au_time_parse_iso("2024-03-10,next", 10, &t, NULL), 0);
  CHECK_EQ_INT(t, au_time_utc(2024, 3, 10, 0, 0, 0));
}

TEST(iso_parse_rejects) {
  static const char *bad[] = {
      "",
      "2024",
      "2024-3-10",
      "2024-03-1",
      "24-03-10",
      "2024/03/10",
      "2024-13-01",
      "2024-00-01",
      "2024-02-30",
      "2023-02-29",
      "2024-04-31",
      "2024-03-10T",
      "2024-03-10T8:00",
      "2024-03-10T08",
      "2024-03-10T08:0",
      "2024-03-10T25:00",
      "2024-03-10T24:01",
      "2024-03-10T24:00:00.1",
      "2024-03-10T23:60",
      "2024-03-10T23:59:60",
      "2024-03-10T08:00:00.",
      "2024-03-10T08:00:00.1234567890Z",
      "2024-03-10T08:00.5",
      "2024-03-10T08:00:00+",
      "2024-03-10T08:00:00+5",
      "2024-03-10T08:00:00+05:",
      "2024-03-10T08:00:00+05:3",
      "2024-03-10T08:00:00+24:00",
      "2024-03-10T08:00:00+05:60",
      "2024-03-10T08:00:00+05:00:00",
      "2024-03-10T08:00:00ZZ",
      "2024-03-10T08:00:00 Z",
      "2024-03-10T08:00:00Zx",
      " 2024-03-10",
      "2024-03-10 ",
      "2024-03-10x",
      "2024-03-10Z",
      "2024-03-10T08:00:00EST",
      "2024-03-10T08:00:00-0a:00",
      "-024-03-10",
      "2024-03-10T08:00:00.000000000000000000000000000000000000000000000000Z",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    au_time t = 777;
    int rc = au_time_parse_iso(bad[i], (size_t)-1, &t, NULL);
    if (rc != AU_E_PARSE)
      fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
    CHECK_EQ_INT(rc, AU_E_PARSE);
    CHECK_EQ_INT(t, 777); /* output untouched on failure */
  }
  /* embedded NUL with explicit length */
  CHECK_EQ_INT(au_time_parse_iso("2024-03-10\0T08:00", 16, NULL, NULL), AU_E_PARSE);
  CHECK_EQ_INT(au_time_parse_iso(NULL, 0, NULL, NULL), AU_E_PARSE);
  /* a long unterminated-looking buffer is bounded */
  char big[200];
  memset(big, '9', sizeof(big) - 1);
  big[sizeof(big) - 1] = 0;
  CHECK_EQ_INT(au_time_parse_iso(big, (size_t)-1, NULL, NULL), AU_E_PARSE);
}

/* ---- formatting ------------------------------------------------------------------------- */

TEST(formatting) {
  char buf[32];
  au_time t = au_time_utc(2024, 3, 10, 8, 5, 9) + 123456;
  CHECK_EQ_INT(au_time_fmt(t, buf), 20);
  CHECK_EQ_STR(buf, "2024-03-10T08:05:09Z");
  CHECK_EQ_INT(au_time_fmt_us(t, buf), 27);
  CHECK_EQ_STR(buf, "2024-03-10T08:05:09.123456Z");
  CHECK_EQ_INT(au_time_fmt_date(t, buf), 10);
  CHECK_EQ_STR(buf, "2024-03-10");
  au_time_fmt(0, buf);
  CHECK_EQ_STR(buf, "1970-01-01T00:00:00Z");
  /* before 1970: floor division */
  au_time_fmt(-1, buf);
  CHECK_EQ_STR(buf, "1969-12-31T23:59:59Z");
  au_time_fmt_us(-1, buf);
  CHECK_EQ_STR(buf, "1969-12-31T23:59:59.999999Z");
  au_time_fmt_date(-1, buf);
  CHECK_EQ_STR(buf, "1969-12-31");
  au_time_fmt_us(au_time_utc(1900, 2, 28, 12, 0, 0) - 1500000, buf);
  CHECK_EQ_STR(buf, "1900-02-28T11:59:58.500000Z");
  au_time_fmt(au_time_utc(1600, 2, 29, 0, 0, 0), buf);
  CHECK_EQ_STR(buf, "1600-02-29T00:00:00Z");
  /* out of the 4-digit range: clamped, never overflowing the buffer */
  CHECK_EQ_INT(au_time_fmt(AU_TIME_NONE, buf), 20);
  CHECK_EQ_STR(buf, "0000-01-01T00:00:00Z");
  CHECK_EQ_INT(au_time_fmt_us(INT64_MAX, buf), 27);
  CHECK_EQ_STR(buf, "9999-12-31T23:59:59.999999Z");
  /* round trip through the parser */
  for (au_time x = au_time_utc(1960, 1, 1, 0, 0, 0); x < au_time_utc(2060, 1, 1, 0, 0, 0);
       x += 86400LL * 37 * AU_USEC + 3723456789LL) {
    au_time back = 0;
    au_time_fmt_us(x, buf);
    CHECK_EQ_INT(au_time_parse_iso(buf, (size_t)-1, &back, NULL), 0);
    CHECK_EQ_INT(back, x);
  }
}

/* ---- clocks ----------------------------------------------------------------------------- */

TEST(now_env_override) {
  setenv("AURUM_NOW", "2024-03-10T08:00:00Z", 1);
  CHECK_EQ_INT(au_now(), au_time_utc(2024, 3, 10, 8, 0, 0));
  setenv("AURUM_NOW", "2030-01-02T03:04:05.5-01:00", 1); /* changes are honoured */
  CHECK_EQ_INT(au_now(), au_time_utc(2030, 1, 2, 4, 4, 5) + 500000);
  au_time real = au_now_real();
  CHECK(real > au_time_utc(2020, 1, 1, 0, 0, 0));
  unsetenv("AURUM_NOW");
  au_time n = au_now();
  CHECK(n >= real && n - real < 60 * AU_USEC);
  double m0 = au_mono();
  au_sleep(0.02);
  double m1 = au_mono();
  CHECK(m1 - m0 >= 0.019);
  CHECK(m1 - m0 < 5.0);
  au_sleep(-1);
  au_sleep(0);
}

/* ---- zones ------------------------------------------------------------------------------- */

static const struct au_tz *Z(const char *name) {
  struct au_err err = AU_ERR_INIT;
  const struct au_tz *tz = au_tz_get(name, &err);
  if (!tz)
    fprintf(stderr, "  au_tz_get(%s): %s\n", name, err.msg);
  return tz;
}

/* Checks the 2024 spring-forward / fall-back days of a US-rule zone with standard offset
 * std_h (hours east of UTC, e.g. -7 for Edmonton). */
static void check_us_zone_2024(const char *name, int std_h) {
  const struct au_tz *tz = Z(name);
  CHECK(tz != NULL);
  if (!tz)
    return;
  fprintf(stderr, "  zone %s\n", name);
  CHECK_EQ_STR(au_tz_name(tz), name);
  CHECK(au_tz_get(name, NULL) == tz); /* cached */
  int32_t std = std_h * 3600, dst = (std_h + 1) * 3600;
  au_time spring = au_time_utc(2024, 3, 10, 2 - std_h, 0, 0); /* 02:00 standard */
  au_time fall = au_time_utc(2024, 11, 3, 1 - std_h, 0, 0);   /* 02:00 daylight */

  /* offsets around the switches */
  CHECK_EQ_INT(au_tz_offset(tz, spring - 1), std);
  CHECK(!au_tz_is_dst(tz, spring - 1));
  CHECK_EQ_INT(au_tz_offset(tz, spring), dst);
  CHECK(au_tz_is_dst(tz, spring));
  CHECK_EQ_INT(au_tz_offset(tz, fall - 1), dst);
  CHECK(au_tz_is_dst(tz, fall - 1));
  CHECK_EQ_INT(au_tz_offset(tz, fall), std);
  CHECK(!au_tz_is_dst(tz, fall));
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2024, 1, 15, 12, 0, 0)), std);
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2024, 7, 15, 12, 0, 0)), dst);

  /* local day lengths */
  au_time d0 = au_tz_day_start(tz, 2024, 3, 10);
  CHECK_EQ_INT(d0, au_time_utc(2024, 3, 10, -std_h, 0, 0));
  CHECK_EQ_INT(au_tz_day_start(tz, 2024, 3, 11) - d0, 23 * AU_HOUR);
  au_time f0 = au_tz_day_start(tz, 2024, 11, 3);
  CHECK_EQ_INT(f0, au_time_utc(2024, 11, 3, -std_h - 1, 0, 0));
  CHECK_EQ_INT(au_tz_day_start(tz, 2024, 11, 4) - f0, 25 * AU_HOUR);
  CHECK_EQ_INT(au_tz_day_start(tz, 2024, 11, 5) - au_tz_day_start(tz, 2024, 11, 4), 24 * AU_HOUR);

  /* local wall clock */
  struct au_civil c;
  au_tz_to_local(tz, spring - 1, &c);
  CHECK(c.hour == 1 && c.minute == 59 && c.second == 59 && c.usec == 999999 && c.day == 10);
  au_tz_to_local(tz, spring, &c);
  CHECK(c.hour == 3 && c.minute == 0 && c.day == 10);
  au_tz_to_local(tz, fall - 1, &c);
  CHECK(c.hour == 1 && c.minute == 59 && c.day == 3);
  au_tz_to_local(tz, fall, &c);
  CHECK(c.hour == 1 && c.minute == 0 && c.day == 3);

  /* from_local: unambiguous edges */
  au_time t = 0;
  CHECK_EQ_INT(au_tz_from_local(tz, 2024, 3, 10, 1, 59, 59, AU_FOLD_EARLIER, false, &t), 0);
  CHECK_EQ_INT(t, spring - AU_USEC);
  CHECK_EQ_INT(au_tz_from_local(tz, 2024, 3, 10, 3, 0, 0, AU_FOLD_EARLIER, false, &t), 0);
  CHECK_EQ_INT(t, spring);
  /* the gap */
  t = 42;
  CHECK_EQ_INT(au_tz_from_local(tz, 2024, 3, 10, 2, 30, 0, AU_FOLD_EARLIER, false, &t),
               AU_E_INVAL);
  CHECK_EQ_INT(t, 42);
  CHECK_EQ_INT(au_tz_from_local(tz, 2024, 3, 10, 2, 0, 0, AU_FOLD_LATER, false, &t), AU_E_INVAL);
  CHECK_EQ_INT(au_tz_from_local(tz, 2024, 3, 10, 2, 30, 0, AU_FOLD_EARLIER, true, &t), 0);
  CHECK_EQ_INT(t, spring + 30 * AU_MINUTE); /* 03:30 daylight */
  /* the repeated hour */
  CHECK_EQ_INT(au_tz_from_local(tz, 2024, 11, 3, 1, 30, 0, AU_FOLD_EARLIER, false, &t), 0);
  CHECK_EQ_INT(t, fall - 30 * AU_MINUTE);
  CHECK(au_tz_is_dst(tz, t));
  CHECK_EQ_INT(au_tz_from_local(tz, 2024, 11, 3, 1, 30, 0, AU_FOLD_LATER, false, &t), 0);
  CHECK_EQ_INT(t, fall + 30 * AU_MINUTE);
  CHECK(!au_tz_is_dst(tz, t));
  CHECK_EQ_INT(au_tz_from_local(tz, 2024, 11, 3, 2, 0, 0, AU_FOLD_EARLIER, false, &t), 0);
  CHECK_EQ_INT(t, fall + AU_HOUR);
  CHECK_EQ_INT(au_tz_from_local(tz, 2024, 11, 3, 0, 59, 59, AU_FOLD_LATER, false, &t), 0);
  CHECK_EQ_INT(t, fall - AU_HOUR - AU_USEC);

  /* 2040 is past any slim file's table: the POSIX footer rule decides.
   * 2040: DST from Sun 2040-03-11 02:00 to Sun 2040-11-04 02:00. */
  au_time s40 = au_time_utc(2040, 3, 11, 2 - std_h, 0, 0);
  au_time f40 = au_time_utc(2040, 11, 4, 1 - std_h, 0, 0);
  CHECK_EQ_INT(au_tz_offset(tz, s40 - 1), std);
  CHECK_EQ_INT(au_tz_offset(tz, s40), dst);
  CHECK_EQ_INT(au_tz_offset(tz, f40 - 1), dst);
  CHECK_EQ_INT(au_tz_offset(tz, f40), std);
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2040, 1, 1, 0, 0, 0)), std);
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2040, 7, 1, 0, 0, 0)), dst);
  CHECK_EQ_INT(au_tz_day_start(tz, 2040, 3, 12) - au_tz_day_start(tz, 2040, 3, 11), 23 * AU_HOUR);
  CHECK_EQ_INT(au_tz_day_start(tz, 2040, 11, 5) - au_tz_day_start(tz, 2040, 11, 4), 25 * AU_HOUR);
  CHECK_EQ_INT(au_tz_from_local(tz, 2040, 3, 11, 2, 15, 0, AU_FOLD_EARLIER, false, &t),
               AU_E_INVAL);
  CHECK_EQ_INT(au_tz_from_local(tz, 2040, 11, 4, 1, 15, 0, AU_FOLD_LATER, false, &t), 0);
  CHECK_EQ_INT(t, f40 + 15 * AU_MINUTE);
  /* and far beyond any 2037 table end */
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2100, 7, 1, 0, 0, 0)), dst);
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2100, 12, 1, 0, 0, 0)), std);
}

TEST(zone_edmonton) {
  check_us_zone_2024("America/Edmonton", -7);
}
TEST(zone_los_angeles) {
  check_us_zone_2024("America/Los_Angeles", -8);
}
TEST(zone_chicago) {
  check_us_zone_2024("America/Chicago", -6);
}
TEST(zone_new_york) {
  check_us_zone_2024("America/New_York", -5);
}

TEST(zone_history) {
  /* Before 2007 the US rule was first Sunday of April .. last Sunday of October. */
  const struct au_tz *tz = Z("America/New_York");
  CHECK(tz != NULL);
  if (!tz)
    return;
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2005, 3, 20, 12, 0, 0)), -5 * 3600);
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2005, 4, 3, 7, 0, 0)), -4 * 3600);
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2005, 4, 3, 6, 59, 59)), -5 * 3600);
  /* 1970-01-01 was standard time; negative instants work */
  CHECK_EQ_INT(au_tz_offset(tz, -AU_USEC), -5 * 3600);
}

TEST(zone_fixed) {
  const struct au_tz *est = Z("EST");
  CHECK(est != NULL);
  if (est) {
    for (int mo = 1; mo <= 12; mo++) {
      CHECK_EQ_INT(au_tz_offset(est, au_time_utc(2024, mo, 15, 12, 0, 0)), -5 * 3600);
      CHECK(!au_tz_is_dst(est, au_time_utc(2024, mo, 15, 12, 0, 0)));
    }
    CHECK_EQ_INT(au_tz_offset(est, au_time_utc(2040, 7, 1, 0, 0, 0)), -5 * 3600);
    CHECK_EQ_INT(au_tz_day_start(est, 2024, 3, 11) - au_tz_day_start(est, 2024, 3, 10), AU_DAY);
    au_time t = 0;
    CHECK_EQ_INT(au_tz_from_local(est, 2024, 3, 10, 2, 30, 0, AU_FOLD_EARLIER, false, &t), 0);
    CHECK_EQ_INT(t, au_time_utc(2024, 3, 10, 7, 30, 0));
  }
  const struct au_tz *m5 = Z("UTC-05:00");
  CHECK(m5 != NULL);
  if (m5) {
    CHECK_EQ_STR(au_tz_name(m5), "UTC-05:00");
    CHECK_EQ_INT(au_tz_offset(m5, au_time_utc(2024, 7, 1, 0, 0, 0)), -5 * 3600);
    CHECK_EQ_INT(au_tz_day_start(m5, 2024, 7, 1), au_time_utc(2024, 7, 1, 5, 0, 0));
  }
  const struct au_tz *p530 = Z("UTC+05:30");
  CHECK(p530 != NULL);
  if (p530)
    CHECK_EQ_INT(au_tz_offset(p530, 0), 5 * 3600 + 1800);
  const struct au_tz *utc = Z("UTC"), *etc = Z("Etc/UTC");
  CHECK(utc != NULL && etc != NULL);
  if (utc && etc) {
    CHECK_EQ_INT(au_tz_offset(utc, au_time_utc(2024, 7, 1, 0, 0, 0)), 0);
    CHECK_EQ_INT(au_tz_offset(etc, au_time_utc(2024, 7, 1, 0, 0, 0)), 0);
    CHECK_EQ_INT(au_tz_day_start(utc, 2024, 3, 10), au_time_utc(2024, 3, 10, 0, 0, 0));
  }
  const struct au_tz *g5 = Z("Etc/GMT+5"); /* POSIX sign: 5 h behind UTC */
  CHECK(g5 != NULL);
  if (g5)
    CHECK_EQ_INT(au_tz_offset(g5, au_time_utc(2024, 7, 1, 0, 0, 0)), -5 * 3600);
}

TEST(zone_errors) {
  struct au_err err = AU_ERR_INIT;
  CHECK(au_tz_get("Nowhere/Atlantis", &err) == NULL);
  CHECK_EQ_INT(err.code, AU_E_NOTFOUND);
  CHECK(strstr(err.msg, "Nowhere/Atlantis") != NULL);
  au_err_clear(&err);
  CHECK(au_tz_get("../../etc/passwd", &err) == NULL);
  CHECK_EQ_INT(err.code, AU_E_INVAL);
  au_err_clear(&err);
  CHECK(au_tz_get("/etc/passwd", &err) == NULL);
  CHECK(err.code != 0);
  au_err_clear(&err);
  CHECK(au_tz_get("UTC-25:00", &err) == NULL);
  au_err_clear(&err);
  CHECK(au_tz_get("", &err) == NULL);
  CHECK_EQ_INT(err.code, AU_E_INVAL);
  au_err_clear(&err);
  /* a directory is not a zone */
  CHECK(au_tz_get("America", &err) == NULL);
  CHECK(err.code != 0);
}

TEST(local_date_near_midnight) {
  const struct au_tz *tz = Z("America/Edmonton");
  CHECK(tz != NULL);
  if (!tz)
    return;
  int y, m, d;
  /* 2024-07-01T05:59:59Z is 2024-06-30 23:59:59 MDT */
  au_tz_local_date(tz, au_time_utc(2024, 7, 1, 5, 59, 59), &y, &m, &d);
  CHECK(y == 2024 && m == 6 && d == 30);
  au_tz_local_date(tz, au_time_utc(2024, 7, 1, 6, 0, 0), &y, &m, &d);
  CHECK(y == 2024 && m == 7 && d == 1);
  /* winter: 07:00Z is local midnight; new year boundary */
  au_tz_local_date(tz, au_time_utc(2025, 1, 1, 6, 59, 59), &y, &m, &d);
  CHECK(y == 2024 && m == 12 && d == 31);
  au_tz_local_date(tz, au_time_utc(2025, 1, 1, 7, 0, 0), &y, &m, &d);
  CHECK(y == 2025 && m == 1 && d == 1);
  /* microsecond before midnight */
  au_tz_local_date(tz, au_time_utc(2025, 1, 1, 7, 0, 0) - 1, &y, &m, &d);
  CHECK(y == 2024 && m == 12 && d == 31);
  const struct au_tz *ny = Z("America/New_York");
  if (ny) {
    au_tz_local_date(ny, au_time_utc(2024, 11, 4, 4, 59, 0), &y, &m, &d);
    CHECK(y == 2024 && m == 11 && d == 3);
    au_tz_local_date(ny, au_time_utc(2024, 11, 4, 5, 0, 0), &y, &m, &d);
    CHECK(y == 2024 && m == 11 && d == 4);
  }
}

/* ---- synthetic TZif files: slim tables, footer syntax, v1 ----------------------------- */

static char g_zdir[256];

static void put32(unsigned char **p, uint32_t v) {
  (*p)[0] = (unsigned char)(v >> 24);
  (*p)[1] = (unsigned char)(v >> 16);
  (*p)[2] = (unsigned char)(v >> 8);
  (*p)[3] = (unsigned char)v;
  *p += 4;
}

struct syn_type {
  int32_t off;
  int dst;
};

/* Writes a TZif file (version '\0', '2' or '3') with the given transitions and footer into
 * g_zdir/name. The v1 block carries the same data with 32-bit times. */
static void write_tzif(const char *name, char version, const int64_t *trans, const uint8_t *idx,
                       int ntrans, const struct syn_type *types, int ntypes, const char *footer) {
  unsigned char buf[4096], *p = buf;
  int blocks = version ? 2 : 1;
  for (int b = 0; b < blocks; b++) {
    int tsize = b == 0 ? 4 : 8;
    memcpy(p, "TZif", 4);
    p[4] = (unsigned char)version;
    memset(p + 5, 0, 15);
    p += 20;
    put32(&p, 0);                   /* isutcnt */
    put32(&p, 0);                   /* isstdcnt */
    put32(&p, 0);                   /* leapcnt */
    put32(&p, (uint32_t)ntrans);    /* timecnt */
    put32(&p, (uint32_t)ntypes);    /* typecnt */
    put32(&p, 4);                   /* charcnt */
    for (int i = 0; i < ntrans; i++) {
      if (tsize == 8) {
        put32(&p, (uint32_t)((uint64_t)trans[i] >> 32));
      }
      put32(&p, (uint32_t)trans[i]);
    }
    for (int i = 0; i < ntrans; i++)
      *p++ = idx[i];
    for (int i = 0; i < ntypes; i++) {
      put32(&p, (uint32_t)types[i].off);
      *p++ = (unsigned char)types[i].dst;
      *p++ = 0;
    }
    memcpy(p, "XYZ", 4);
    p += 4;
  }
  if (version) {
    size_t fl = strlen(footer);
    *p++ = '\n';
    memcpy(p, footer, fl);
    p += fl;
    *p++ = '\n';
  }
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", g_zdir, name);
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f)
    return;
  fwrite(buf, 1, (size_t)(p - buf), f);
  fclose(f);
}

static void setup_zdir(void) {
  if (g_zdir[0])
    return;
  snprintf(g_zdir, sizeof(g_zdir), "/tmp/au_test_time_XXXXXX");
  if (!mkdtemp(g_zdir))
    abort();
  char sub[300];
  snprintf(sub, sizeof(sub), "%s/Test", g_zdir);
  mkdir(sub, 0700);
  setenv("AURUM_ZONEINFO", g_zdir, 1);
}

TEST(slim_file_uses_footer) {
  setup_zdir();
  /* One transition in 2000 (to MST) and nothing after: a "slim" file. */
  int64_t tr[1] = {946684800};
  uint8_t ix[1] = {1};
  struct syn_type ty[2] = {{-25200 + 1, 0}, {-25200, 0}};
  write_tzif("Test/Slim", '2', tr, ix, 1, ty, 2, "MST7MDT,M3.2.0,M11.1.0");
  const struct au_tz *tz = Z("Test/Slim");
  CHECK(tz != NULL);
  if (!tz)
    return;
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(1999, 7, 1, 0, 0, 0)), -25199); /* type 0 */
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2024, 1, 1, 0, 0, 0)), -25200);
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2024, 3, 10, 8, 59, 59)), -25200);
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2024, 3, 10, 9, 0, 0)), -21600);
  CHECK(au_tz_is_dst(tz, au_time_utc(2024, 3, 10, 9, 0, 0)));
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2024, 11, 3, 7, 59, 59)), -21600);
  CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2024, 11, 3, 8, 0, 0)), -25200);
  CHECK_EQ_INT(au_tz_day_start(tz, 2024, 11, 4) - au_tz_day_start(tz, 2024, 11, 3), 25 * AU_HOUR);
  au_time t;
  CHECK_EQ_INT(au_tz_from_local(tz, 2024, 3, 10, 2, 30, 0, AU_FOLD_EARLIER, false, &t),
               AU_E_INVAL);
  CHECK_EQ_INT(au_tz_from_local(tz, 2024, 11, 3, 1, 30, 0, AU_FOLD_LATER, false, &t), 0);
  CHECK_EQ_INT(t, au_time_utc(2024, 11, 3, 8, 30, 0));
}

struct footer_case {
  const char *footer;
  int y, mo, d, h, mi, s; /* UTC instant */
  int32_t off;
  int dst;
};

TEST(footer_syntax) {
  setup_zdir();
  static const struct footer_case cases[] = {
      /* fixed, <+05> form, minutes */
      {"<+0530>-5:30", 2024, 7, 1, 0, 0, 0, 19800, 0},
      {"<-03>3", 2024, 1, 1, 0, 0, 0, -10800, 0},
      {"EST5", 2024, 7, 1, 0, 0, 0, -18000, 0},
      {"<+0545>-5:45:00", 2024, 7, 1, 0, 0, 0, 20700, 0},
      /* Israel: start Friday before last Sunday of March at 02:00 = "M3.4.4/26" */
      {"IST-2IDT,M3.4.4/26,M10.5.0", 2040, 3, 22, 23, 59, 59, 7200, 0},
      {"IST-2IDT,M3.4.4/26,M10.5.0", 2040, 3, 23, 0, 0, 0, 10800, 1},
      {"IST-2IDT,M3.4.4/26,M10.5.0", 2040, 10, 27, 22, 59, 59, 10800, 1},
      {"IST-2IDT,M3.4.4/26,M10.5.0", 2040, 10, 27, 23, 0, 0, 7200, 0},
      /* Nuuk: negative rule times */
      {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 2040, 3, 25, 0, 59, 59, -7200, 0},
      {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 2040, 3, 25, 1, 0, 0, -3600, 1},
      /* Southern hemisphere (DST across the new year): Sydney */
      {"AEST-10AEDT,M10.1.0,M4.1.0/3", 2040, 1, 15, 0, 0, 0, 39600, 1},
      {"AEST-10AEDT,M10.1.0,M4.1.0/3", 2040, 6, 15, 0, 0, 0, 36000, 0},
      /* Jn (1-based, no Feb 29) and n (0-based): J60 = Mar 1 every year; 59 = Feb 29 in 2024 */
      {"AAA3BBB,J60/0,J300/0", 2024, 3, 1, 2, 59, 59, -10800, 0},
      {"AAA3BBB,J60/0,J300/0", 2024, 3, 1, 3, 0, 0, -7200, 1},
      {"AAA3BBB,59/0,300/0", 2024, 2, 29, 3, 0, 0, -7200, 1},
      {"AAA3BBB,59/0,300/0", 2024, 2, 29, 2, 59, 59, -10800, 0},
      /* explicit DST offset, times with minutes */
      {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 2040, 1, 1, 0, 0, 0, 39600, 1},
      {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 2040, 7, 1, 0, 0, 0, 37800, 0},
      /* DST all year (RFC 8536 example) */
      {"EST5EDT,0/0,J365/25", 2040, 7, 1, 0, 0, 0, -14400, 1},
      {"EST5EDT,0/0,J365/25", 2040, 1, 1, 12, 0, 0, -14400, 1},
      {"EST5EDT,0/0,J365/25", 2040, 12, 31, 23, 0, 0, -14400, 1},
      /* DST name without a rule: US default */
      {"CST6CDT", 2040, 7, 1, 0, 0, 0, -18000, 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char name[64];
    snprintf(name, sizeof(name), "Test/F%zu", i);
    struct syn_type ty[1] = {{12345, 0}};
    write_tzif(name, i % 2 ? '3' : '2', NULL, NULL, 0, ty, 1, cases[i].footer);
    const struct au_tz *tz = Z(name);
    CHECK(tz != NULL);
    if (!tz)
      continue;
    au_time t = au_time_utc(cases[i].y, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi,
                            cases[i].s);
    if (au_tz_offset(tz, t) != cases[i].off || au_tz_is_dst(tz, t) != (bool)cases[i].dst)
      fprintf(stderr, "  footer \"%s\" case %zu\n", cases[i].footer, i);
    CHECK_EQ_INT(au_tz_offset(tz, t), cases[i].off);
    CHECK_EQ_INT(au_tz_is_dst(tz, t), cases[i].dst);
  }
  /* malformed footers are rejected with the position */
  static const char *bad[] = {"MST", "MST7MDT,M3.2.0", "MST7MDT,M13.2.0,M11.1.0",
                              "MST7MDT,M3.6.0,M11.1.0", "<+05-5", "MST7MDT,J0,J100",
                              "MST7MDT,M3.2.0/200,M11.1.0", "MST7 x"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char name[64];
    snprintf(name, sizeof(name), "Test/Bad%zu", i);
    struct syn_type ty[1] = {{0, 0}};
    write_tzif(name, '2', NULL, NULL, 0, ty, 1, bad[i]);
    struct au_err err = AU_ERR_INIT;
    CHECK(au_tz_get(name, &err) == NULL);
    CHECK_EQ_INT(err.code, AU_E_PARSE);
    CHECK(strstr(err.msg, "at byte") != NULL);
  }
}

TEST(tzif_v1_and_corrupt) {
  setup_zdir();
  /* v1 only: 32-bit transitions, no footer */
  int64_t tr[2] = {au_time_utc(2024, 3, 10, 9, 0, 0) / AU_USEC,
                   au_time_utc(2024, 11, 3, 8, 0, 0) / AU_USEC};
  uint8_t ix[2] = {1, 0};
  struct syn_type ty[2] = {{-25200, 0}, {-21600, 1}};
  write_tzif("Test/V1", 0, tr, ix, 2, ty, 2, NULL);
  const struct au_tz *tz = Z("Test/V1");
  CHECK(tz != NULL);
  if (tz) {
    CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2024, 1, 1, 0, 0, 0)), -25200);
    CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2024, 7, 1, 0, 0, 0)), -21600);
    CHECK_EQ_INT(au_tz_offset(tz, au_time_utc(2030, 7, 1, 0, 0, 0)), -25200);
  }
  /* corrupt: bad type index; truncated file */
  uint8_t badix[2] = {1, 7};
  write_tzif("Test/BadIdx", '2', tr, badix, 2, ty, 2, "MST7");
  struct au_err err = AU_ERR_INIT;
  CHECK(au_tz_get("Test/BadIdx", &err) == NULL);
  CHECK_EQ_INT(err.code, AU_E_PARSE);
  char path[512];
  snprintf(path, sizeof(path), "%s/Test/Trunc", g_zdir);
  FILE *f = fopen(path, "wb");
  if (f) {
    fwrite("TZif2", 1, 5, f);
    fclose(f);
  }
  au_err_clear(&err);
  CHECK(au_tz_get("Test/Trunc", &err) == NULL);
  CHECK_EQ_INT(err.code, AU_E_PARSE);
}

/* ---- thread safety ------------------------------------------------------------------------ */

static void *tz_thread(void *arg) {
  static const char *names[] = {"America/Denver", "America/Phoenix", "Europe/Berlin",
                                "Asia/Tokyo", "America/Regina"};
  long bad = 0;
  for (int i = 0; i < 200; i++) {
    const struct au_tz *tz = au_tz_get(names[i % 5], NULL);
    if (!tz) {
      bad++;
      continue;
    }
    struct au_civil c;
    au_tz_to_local(tz, au_time_utc(2024, 7, 1, 12, 0, 0), &c);
    if (c.year != 2024)
      bad++;
  }
  *(long *)arg = bad;
  return NULL;
}

TEST(threads_share_cache) {
  pthread_t th[4];
  long bad[4] = {0};
  for (int i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, tz_thread, &bad[i]);
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK_EQ_INT(bad[i], 0);
  }
  CHECK(au_tz_get("Europe/Berlin", NULL) == au_tz_get("Europe/Berlin", NULL));
  const struct au_tz *b = au_tz_get("Europe/Berlin", NULL);
  if (b) {
    CHECK_EQ_INT(au_tz_offset(b, au_time_utc(2040, 7, 1, 0, 0, 0)), 7200);
    CHECK_EQ_INT(au_tz_offset(b, au_time_utc(2040, 1, 1, 0, 0, 0)), 3600);
  }
}

static void cleanup_zdir(void) {
  if (!g_zdir[0])
    return;
  char cmd[400];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_zdir);
  if (system(cmd) != 0)
    fprintf(stderr, "  could not remove %s\n", g_zdir);
}

TEST(zz_cleanup) {
  cleanup_zdir();
  unsetenv("AURUM_ZONEINFO");
}

TEST_LIST {
    T(civil_known_values),
    T(civil_round_trip_wide_range),
    T(time_to_civil_negative),
    T(iso_parse_variants),
    T(iso_parse_rejects),
    T(formatting),
    T(now_env_override),
    T(zone_edmonton),
    T(zone_los_angeles),
    T(zone_chicago),
    T(zone_new_york),
    T(zone_history),
    T(zone_fixed),
    T(zone_errors),
    T(local_date_near_midnight),
    T(slim_file_uses_footer),
    T(footer_syntax),
    T(tzif_v1_and_corrupt),
    T(threads_share_cache),
    T(zz_cleanup),
};

AU_TEST_MAIN()
