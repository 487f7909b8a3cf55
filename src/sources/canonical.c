/* canonical.c - the canonical LMP and load schemas (see canonical.h). */
#include "core/au.h"
#include "sources/canonical.h"

#include <string.h>

static const struct au_column lmp_cols[AU_LMP_NCOLS] = {
    [AU_LMP_START] = {"interval_start_utc", AU_T_TIME, AU_COL_KEY | AU_COL_CURSOR, "interval start, UTC"},
    [AU_LMP_END] = {"interval_end_utc", AU_T_TIME, 0, "interval end, UTC"},
    [AU_LMP_ISO] = {"iso_code", AU_T_TEXT, 0, "operator code (CAISO, PJM, ...)"},
    [AU_LMP_MARKET] = {"iso_market", AU_T_TEXT, AU_COL_KEY, "market run (DAM, RTM, RTPD, HASP, DA, RT, ...)"},
    [AU_LMP_LOC_ID] = {"location_id", AU_T_TEXT, AU_COL_KEY, "node / hub / zone id as the operator writes it"},
    [AU_LMP_LOC_NAME] = {"location_name", AU_T_TEXT, AU_COL_NULLABLE, "location name"},
    [AU_LMP_LOC_TYPE] = {"location_type", AU_T_TEXT, AU_COL_NULLABLE,
                         "NODE, APNODE, HUB, ZONE, DLAP, INTERFACE, ..."},
    [AU_LMP_LMP] = {"lmp", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE, "locational marginal price"},
    [AU_LMP_ENERGY] = {"energy", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE, "energy component"},
    [AU_LMP_CONG] = {"congestion", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE,
                     "congestion component (lmp = energy + congestion + loss)"},
    [AU_LMP_LOSS] = {"loss", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE, "loss component"},
    [AU_LMP_GHG] = {"ghg", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE, "greenhouse-gas component (CAISO)"},
    [AU_LMP_UNIT] = {"iso_unit", AU_T_TEXT, 0, "price unit (USD/MWh, CAD/MWh)"},
    [AU_LMP_TZ] = {"iso_timezone", AU_T_TEXT, 0, "the operator's IANA time zone"},
    [AU_LMP_MINUTES] = {"iso_interval_minutes", AU_T_INT, 0, "interval length, minutes"},
    [AU_LMP_INGEST] = {"ingestion_time", AU_T_TIMESTAMP, AU_COL_SEQUENCE, "when aurum fetched the row"},
};
static const int lmp_key[] = {AU_LMP_MARKET, AU_LMP_LOC_ID, AU_LMP_START};
const struct au_schema au_lmp_schema = {lmp_cols, AU_LMP_NCOLS, lmp_key, 3};

static const struct au_column load_cols[AU_LOAD_NCOLS] = {
    [AU_LOAD_START] = {"interval_start_utc", AU_T_TIME, AU_COL_KEY | AU_COL_CURSOR, "interval start, UTC"},
    [AU_LOAD_END] = {"interval_end_utc", AU_T_TIME, 0, "interval end, UTC"},
    [AU_LOAD_ISO] = {"iso_code", AU_T_TEXT, 0, "operator code"},
    [AU_LOAD_MARKET] = {"iso_market", AU_T_TEXT, AU_COL_KEY, "ACTUAL or the forecast horizon (DAM, 2DA, 7DA, RTM, ...)"},
    [AU_LOAD_LOC_ID] = {"location_id", AU_T_TEXT, AU_COL_KEY, "zone / area / TAC; TOTAL for the system"},
    [AU_LOAD_LOC_TYPE] = {"location_type", AU_T_TEXT, AU_COL_NULLABLE, "SYSTEM, ZONE, AREA, TAC, WEATHER_ZONE, ..."},
    [AU_LOAD_MW] = {"load_mw", AU_T_DOUBLE, AU_COL_NULLABLE | AU_COL_VALUE, "load, MW"},
    [AU_LOAD_PUBLISHED] = {"publish_time_utc", AU_T_TIME, AU_COL_KEY,
                           "when the forecast was issued (interval end for actuals)"},
    [AU_LOAD_UNIT] = {"iso_unit", AU_T_TEXT, 0, "MW"},
    [AU_LOAD_TZ] = {"iso_timezone", AU_T_TEXT, 0, "the operator's IANA time zone"},
    [AU_LOAD_MINUTES] = {"iso_interval_minutes", AU_T_INT, 0, "interval length, minutes"},
    [AU_LOAD_INGEST] = {"ingestion_time", AU_T_TIMESTAMP, AU_COL_SEQUENCE, "when aurum fetched the row"},
};
static const int load_key[] = {AU_LOAD_MARKET, AU_LOAD_LOC_ID, AU_LOAD_START, AU_LOAD_PUBLISHED};
const struct au_schema au_load_schema = {load_cols, AU_LOAD_NCOLS, load_key, 4};

void au_lmp_set_meta(struct au_batch *b, const char *iso, const char *market, const char *unit, const char *tz,
                     int minutes, au_time ingestion) {
  au_batch_set_text(b, AU_LMP_ISO, iso, strlen(iso));
  au_batch_set_text(b, AU_LMP_MARKET, market, strlen(market));
  au_batch_set_text(b, AU_LMP_UNIT, unit, strlen(unit));
  au_batch_set_text(b, AU_LMP_TZ, tz, strlen(tz));
  au_batch_set_int(b, AU_LMP_MINUTES, minutes);
  au_batch_set_time(b, AU_LMP_INGEST, ingestion);
}

void au_load_set_meta(struct au_batch *b, const char *iso, const char *market, const char *tz, int minutes,
                      au_time ingestion) {
  au_batch_set_text(b, AU_LOAD_ISO, iso, strlen(iso));
  au_batch_set_text(b, AU_LOAD_MARKET, market, strlen(market));
  au_batch_set_text(b, AU_LOAD_UNIT, "MW", 2);
  au_batch_set_text(b, AU_LOAD_TZ, tz, strlen(tz));
  au_batch_set_int(b, AU_LOAD_MINUTES, minutes);
  au_batch_set_time(b, AU_LOAD_INGEST, ingestion);
}

void au_lmp_complete(struct au_batch *b, size_t from) {
  for (size_t r = from; r < b->nrows; r++) {
    bool has_lmp = !au_batch_is_null(b, r, AU_LMP_LMP), has_e = !au_batch_is_null(b, r, AU_LMP_ENERGY);
    bool has_c = !au_batch_is_null(b, r, AU_LMP_CONG), has_l = !au_batch_is_null(b, r, AU_LMP_LOSS);
    bool has_g = !au_batch_is_null(b, r, AU_LMP_GHG);
    double g = has_g ? au_batch_double(b, r, AU_LMP_GHG) : 0.0;
    if (has_lmp && !has_e && has_c && has_l)
      au_batch_set_double_at(b, r, AU_LMP_ENERGY,
                             au_batch_double(b, r, AU_LMP_LMP) - au_batch_double(b, r, AU_LMP_CONG) -
                                 au_batch_double(b, r, AU_LMP_LOSS) - g);
    else if (!has_lmp && has_e && has_c && has_l)
      au_batch_set_double_at(b, r, AU_LMP_LMP,
                             au_batch_double(b, r, AU_LMP_ENERGY) + au_batch_double(b, r, AU_LMP_CONG) +
                                 au_batch_double(b, r, AU_LMP_LOSS) + g);
  }
}
