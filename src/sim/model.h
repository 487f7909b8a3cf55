/* model.h - the simulator's deterministic market model.
 *
 * Every value is a pure function of (seed, operator, node/zone, interval start): the same
 * arguments give the same number on every machine and in every process, so a simulated
 * history can be re-fetched and compared byte for byte. The model has a daily shape
 * (morning and evening peaks in the operator's standard local time), a seasonal shape
 * (winter and summer highs), weekends ~10% lower, Gaussian noise, rare price spikes and
 * negative prices in about 2% of hours.
 *
 * Prices are split into components; each part is rounded to 5 decimals and the LMP is
 * their sum, so LMP == energy + congestion + loss + ghg holds exactly for the doubles
 * returned (and for the served values, where revisions are added to the energy part). */
#ifndef AU_SIM_MODEL_H
#define AU_SIM_MODEL_H
#include "core/au.h"
#include "core/time.h"

enum au_sim_component {
  AU_SIM_LMP = 0,        /* total price (for AESO: the pool price) */
  AU_SIM_ENERGY = 1,     /* system energy / marginal energy component */
  AU_SIM_CONGESTION = 2, /* node-dependent congestion component (0 for AESO) */
  AU_SIM_LOSS = 3,       /* marginal loss component (0 for AESO) */
  AU_SIM_GHG = 4,        /* greenhouse-gas component (CAISO only, else 0) */
  AU_SIM_NCOMPONENTS = 5
};

/* One price component (enum au_sim_component) in $/MWh for the interval starting at
 * interval_start. iso is the lower-case operator name ("aeso", "caiso", ...), node the
 * price node / zone / hub name (NULL or "" = the operator's system price). */
double au_sim_price(uint64_t seed, const char *iso, const char *node, au_time interval_start,
                    int component);
/* All five components at once (cheaper than five calls): parts[AU_SIM_LMP] is the sum. */
void au_sim_price_parts(uint64_t seed, const char *iso, const char *node, au_time interval_start,
                        double parts[AU_SIM_NCOMPONENTS]);
/* Load in MW (2 decimals) for a zone (NULL or "" = the operator's total). */
double au_sim_load(uint64_t seed, const char *iso, const char *zone, au_time interval_start);

/* Deterministic noise for handlers that need extra series (forecast errors, volumes, ...):
 * au_sim_unit() is uniform in [0, 1), au_sim_gauss() standard normal; both are functions
 * of (seed, tag, t) only. au_sim_hash() is the underlying 64-bit hash. */
uint64_t au_sim_hash(uint64_t seed, const char *tag, int64_t t);
double au_sim_unit(uint64_t seed, const char *tag, int64_t t);
double au_sim_gauss(uint64_t seed, const char *tag, int64_t t);

/* Round to 5 decimals (the model's precision). */
double au_sim_round5(double v);

#endif
