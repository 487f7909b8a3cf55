/* canonical.h - the canonical rows every ISO's tables share.
 *
 * LMP row: one row per (market, location, interval), all price components side by
 * side, keyed on the absolute UTC interval start. Where an operator publishes the
 * components, lmp = energy + congestion + loss (+ ghg for CAISO). Congestion uses the
 * "LMP = energy + congestion + loss" sign convention for every ISO (NYISO's published
 * sign is flipped on parse).
 *
 * Load row: actual load and every forecast vintage. publish_time_utc is part of the key
 * so each forecast issue is kept; for actuals it equals interval_end_utc (when the
 * value became known). */
#ifndef AU_CANONICAL_H
#define AU_CANONICAL_H
#include "core/au.h"
#include "core/batch.h"

enum au_lmp_col {
  AU_LMP_START = 0, /* interval_start_utc   time   key, cursor */
  AU_LMP_END,       /* interval_end_utc     time */
  AU_LMP_ISO,       /* iso_code             text   "CAISO" */
  AU_LMP_MARKET,    /* iso_market           text   key: "DAM", "RTM", "RTPD", "HASP", "DA", "RT" ... */
  AU_LMP_LOC_ID,    /* location_id          text   key */
  AU_LMP_LOC_NAME,  /* location_name        text   null */
  AU_LMP_LOC_TYPE,  /* location_type        text   null: NODE, APNODE, HUB, ZONE, DLAP, INTERFACE, ... */
  AU_LMP_LMP,       /* lmp                  double null */
  AU_LMP_ENERGY,    /* energy               double null */
  AU_LMP_CONG,      /* congestion           double null */
  AU_LMP_LOSS,      /* loss                 double null */
  AU_LMP_GHG,       /* ghg                  double null (CAISO only) */
  AU_LMP_UNIT,      /* iso_unit             text   "USD/MWh" (CAD/MWh for AESO/IESO) */
  AU_LMP_TZ,        /* iso_timezone         text   the operator's IANA zone */
  AU_LMP_MINUTES,   /* iso_interval_minutes int */
  AU_LMP_INGEST,    /* ingestion_time       timestamp sequence */
  AU_LMP_NCOLS
};
extern const struct au_schema au_lmp_schema; /* key (iso_market, location_id, interval_start_utc) */

enum au_load_col {
  AU_LOAD_START = 0, /* interval_start_utc  time   key, cursor */
  AU_LOAD_END,       /* interval_end_utc    time */
  AU_LOAD_ISO,       /* iso_code            text */
  AU_LOAD_MARKET,    /* iso_market          text   key: "ACTUAL" or the forecast horizon ("DAM", "2DA", "7DA", "RTM", ...) */
  AU_LOAD_LOC_ID,    /* location_id         text   key: zone / area / TAC ("TOTAL" for the system) */
  AU_LOAD_LOC_TYPE,  /* location_type       text   null: SYSTEM, ZONE, AREA, TAC, WEATHER_ZONE, ... */
  AU_LOAD_MW,        /* load_mw             double null */
  AU_LOAD_PUBLISHED, /* publish_time_utc    time   key (= interval_end_utc for actuals) */
  AU_LOAD_UNIT,      /* iso_unit            text   "MW" */
  AU_LOAD_TZ,        /* iso_timezone        text */
  AU_LOAD_MINUTES,   /* iso_interval_minutes int */
  AU_LOAD_INGEST,    /* ingestion_time      timestamp sequence */
  AU_LOAD_NCOLS
};
extern const struct au_schema au_load_schema; /* key (iso_market, location_id, interval_start_utc, publish_time_utc) */

/* Fill the constant columns of the last row of an LMP batch. */
void au_lmp_set_meta(struct au_batch *b, const char *iso, const char *market, const char *unit,
                     const char *tz, int minutes, au_time ingestion);
void au_load_set_meta(struct au_batch *b, const char *iso, const char *market, const char *tz,
                      int minutes, au_time ingestion);
/* Where lmp, congestion and loss are present and energy is not, set energy = lmp -
 * congestion - loss (- ghg when present); where the three parts are present and lmp is
 * not, set lmp to their sum. Applied to rows [from, b->nrows). */
void au_lmp_complete(struct au_batch *b, size_t from);

#endif
