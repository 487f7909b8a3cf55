#include "core/au.h"
#include "sim/model.h"

#include <math.h>
#include <string.h>
#include <strings.h>

/* Per-operator level and standard-time UTC offset (the daily shape follows local hours;
 * DST is ignored on purpose: the shape only has to look plausible). */
struct profile {
  const char *iso;
  double price;   /* typical energy price, $/MWh */
  int utc_hours;  /* standard-time offset */
  double load_mw; /* typical total load */
};

static const struct profile profiles[] = {
    {"aeso", 65.0, -7, 10500.0},  {"caiso", 48.0, -8, 26000.0}, {"ercot", 38.0, -6, 48000.0},
    {"pjm", 42.0, -5, 90000.0},   {"miso", 36.0, -5, 76000.0},  {"spp", 30.0, -6, 32000.0},
    {"isone", 50.0, -5, 14500.0}, {"nyiso", 45.0, -5, 18500.0}, {"ieso", 35.0, -5, 16500.0},
};
static const struct profile default_profile = {"", 40.0, 0, 20000.0};

static const struct profile *profile_of(const char *iso) {
  if (iso)
    for (size_t i = 0; i < AU_ARRAY_LEN(profiles); i++)
      if (strcasecmp(iso, profiles[i].iso) == 0)
        return &profiles[i];
  return &default_profile;
}

/* --- hashing ------------------------------------------------------------------ */

static uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t str_hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
  if (s)
    for (; *s; s++) {
      h ^= (unsigned char)*s;
      h *= 0x100000001b3ULL;
    }
  return h;
}

static uint64_t hash3(uint64_t a, uint64_t b, uint64_t c) {
  return mix64(mix64(mix64(a) ^ b) ^ c);
}

static double unit_of(uint64_t h) { return (double)(h >> 11) * (1.0 / 9007199254740992.0); }

static double gauss_of(uint64_t h) {
  double u1 = unit_of(h), u2 = unit_of(mix64(h ^ 0x5851f42d4c957f2dULL));
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t au_sim_hash(uint64_t seed, const char *tag, int64_t t) {
  return hash3(seed, str_hash(tag), (uint64_t)t);
}

double au_sim_unit(uint64_t seed, const char *tag, int64_t t) {
  return unit_of(au_sim_hash(seed, tag, t));
}

double au_sim_gauss(uint64_t seed, const char *tag, int64_t t) {
  return gauss_of(au_sim_hash(seed, tag, t));
}

double au_sim_round5(double v) { return round(v * 1e5) / 1e5; }

/* --- shapes ------------------------------------------------------------------- */

struct when {
  double hour;  /* local hour of day, fractional */
  double doy;   /* day of year phase, 0..365.2425 */
  bool weekend;
};

static void local_when(au_time t, int utc_hours, struct when *w) {
  int64_t secs = (t >= 0 ? t / AU_USEC : -((-t + AU_USEC - 1) / AU_USEC)) + utc_hours * 3600LL;
  int64_t day = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t sod = secs - day * 86400;
  w->hour = (double)sod / 3600.0;
  w->doy = fmod((double)day, 365.2425);
  if (w->doy < 0)
    w->doy += 365.2425;
  int wd = (int)(((day % 7) + 7 + 3) % 7) + 1; /* 1970-01-01 was a Thursday (4) */
  w->weekend = wd >= 6;
}

static double bump(double h, double at, double width) {
  double d = h - at;
  return exp(-(d * d) / width);
}

static double price_shape(const struct when *w) {
  double daily = 1.0 + 0.22 * bump(w->hour, 8.0, 6.0) + 0.38 * bump(w->hour, 18.5, 8.0) -
                 0.20 * bump(w->hour, 3.5, 8.0);
  double y = 365.2425;
  double season = 1.0 + 0.06 * cos(6.283185307179586 * (w->doy - 15.0) / y) +
                  0.14 * cos(12.566370614359172 * (w->doy - 20.0) / y);
  return daily * season * (w->weekend ? 0.9 : 1.0);
}

static double load_shape(const struct when *w) {
  double daily = 1.0 + 0.08 * bump(w->hour, 8.0, 6.0) + 0.14 * bump(w->hour, 18.0, 10.0) -
                 0.12 * bump(w->hour, 3.5, 8.0);
  double y = 365.2425;
  double season = 1.0 + 0.04 * cos(6.283185307179586 * (w->doy - 15.0) / y) +
                  0.08 * cos(12.566370614359172 * (w->doy - 20.0) / y);
  return daily * season * (w->weekend ? 0.95 : 1.0);
}

/* --- model -------------------------------------------------------------------- */

void au_sim_price_parts(uint64_t seed, const char *iso, const char *node, au_time t,
                        double parts[AU_SIM_NCOMPONENTS]) {
  const struct profile *p = profile_of(iso);
  bool is_aeso = p == &profiles[0];
  bool is_caiso = p == &profiles[1];
  bool has_node = node && *node;
  uint64_t hi = str_hash(iso), hn = str_hash(has_node ? node : "");
  int64_t hour = t >= 0 ? t / AU_HOUR : -((-t + AU_HOUR - 1) / AU_HOUR);
  struct when w;
  local_when(t, p->utc_hours, &w);

  /* Energy: shape x noise; system-wide events (negative hours, spikes) keyed on the hour. */
  double g1 = gauss_of(hash3(seed, hi ^ 0x1111, (uint64_t)t));
  double energy = p->price * price_shape(&w) * (1.0 + 0.12 * g1);
  uint64_t hev = hash3(seed, hi ^ 0x2222, (uint64_t)hour);
  double uev = unit_of(hev);
  if (uev < 0.02) {
    energy = -(0.5 + 20.0 * unit_of(mix64(hev)));
  } else if (uev > 0.995) {
    energy *= 3.0 + 7.0 * unit_of(mix64(hev));
  }

  double congestion = 0, loss = 0, ghg = 0;
  if (has_node && !is_aeso) {
    double scale = 0.02 + 0.15 * unit_of(hash3(seed, hi, hn));
    congestion = p->price * scale * gauss_of(hash3(seed, hn ^ 0x3333, (uint64_t)t));
    double lf = 0.01 + 0.03 * unit_of(hash3(seed, hn, hi ^ 0x4444));
    loss = energy * lf * (1.0 + 0.2 * gauss_of(hash3(seed, hn ^ 0x5555, (uint64_t)t)));
    if (is_caiso) {
      double ug = unit_of(hash3(seed, hn ^ 0x6666, (uint64_t)hour));
      if (ug < 0.25)
        ghg = 0.5 + 10.0 * ug;
    }
  }
  parts[AU_SIM_ENERGY] = au_sim_round5(energy);
  parts[AU_SIM_CONGESTION] = au_sim_round5(congestion);
  parts[AU_SIM_LOSS] = au_sim_round5(loss);
  parts[AU_SIM_GHG] = au_sim_round5(ghg);
  parts[AU_SIM_LMP] = parts[AU_SIM_ENERGY] + parts[AU_SIM_CONGESTION] + parts[AU_SIM_LOSS] +
                      parts[AU_SIM_GHG];
}

double au_sim_price(uint64_t seed, const char *iso, const char *node, au_time t, int component) {
  double parts[AU_SIM_NCOMPONENTS];
  if (component < 0 || component >= AU_SIM_NCOMPONENTS)
    return 0.0;
  au_sim_price_parts(seed, iso, node, t, parts);
  return parts[component];
}

double au_sim_load(uint64_t seed, const char *iso, const char *zone, au_time t) {
  const struct profile *p = profile_of(iso);
  bool has_zone = zone && *zone;
  uint64_t hi = str_hash(iso), hz = str_hash(has_zone ? zone : "");
  double scale = has_zone ? 0.05 + 0.3 * unit_of(hash3(seed, hi ^ 0x7777, hz)) : 1.0;
  struct when w;
  local_when(t, p->utc_hours, &w);
  double g = gauss_of(hash3(seed, hz ^ hi ^ 0x8888, (uint64_t)t));
  double mw = p->load_mw * scale * load_shape(&w) * (1.0 + 0.015 * g);
  return round(mw * 100.0) / 100.0;
}
