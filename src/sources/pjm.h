/* pjm.h - PJM Data Miner 2 helpers shared by the source (pjm.c), its tests and fuzzer.
 *
 * The source itself is reached through the registry (`au_source_pjm`); this header only
 * exposes the response-envelope scanner so recorded responses of feeds aurum does not
 * load as tables (gen_by_fuel, da_marginal_value, ...) can still be checked. */
#ifndef AU_SOURCES_PJM_H
#define AU_SOURCES_PJM_H
#include "core/au.h"
#include "core/time.h"

struct au_err;

struct au_pjm_scan {
  size_t nitems;      /* items in this page */
  int64_t total_rows; /* totalRows of the query (all pages) */
  au_time tmin, tmax; /* range of time_field over the items (UTC) */
  size_t ndistinct;   /* distinct time_field values */
};

/* Parse a Data Miner 2 JSON body ({links, items, searchSpecification, totalRows}) and
 * check that every item carries time_field as a "YYYY-MM-DDTHH:MM:SS" UTC stamp.
 * Returns 0, AU_E_PARSE with the line/column or item number, or AU_E_HTTP for an
 * {"errors": [...]} body. */
int au_pjm_scan_envelope(const char *body, size_t len, const char *time_field,
                         struct au_pjm_scan *out, struct au_err *err);

#endif
