/* sim_registry.c - the operators the simulator serves: one line per operator.
 * To add one, write sim_<iso>.c defining `const struct au_sim_handler au_sim_<iso>` and add
 * an X(<iso>) line below (the longest matching path_prefix wins when prefixes overlap). */
#include "core/au.h"
#include "sim/sim.h"

#define AU_SIM_OPERATORS(X)                                                               \
  X(aeso) /* AESO APIM gateway: /public/poolprice-api/..., /public/actualforecast-api/... */ \
  X(caiso) /* CAISO OASIS: /oasisapi/SingleZip (CSV or XML in ZIP) */                       \
  X(spp) /* SPP file browser: /file-browser-api/download/<fs>?path=... */                  \
  X(nyiso) /* NYISO MIS: /public/csv/<ds>/<YYYYMMDD><ds>[_zone|_gen].csv, monthly _csv.zip */ \
  X(isone) /* ISO-NE web services: /api/v1.1/... (HTTP Basic) */                           \
  X(ieso) /* IESO report server: /ieso/public/<Report>/PUB_... */                         \
  X(pjm)  /* PJM Data Miner 2: /api/v1/<feed> */                                        \
  X(miso) /* MISO: /marketreports/..., /pricing/v1/..., /lgi/v1/... (prefix "/") */        \
  X(ercot) /* ERCOT: /ercot/{api,b2c,mis}/<real path> (API, B2C token, MIS) */               \
  X(ercot_api)    /* ERCOT's real paths: /api/public-reports/... */                          \
  X(ercot_b2c)    /* /ercotb2c.onmicrosoft.com/.../token */                                  \
  X(ercot_misapp) /* /misapp/servlets/IceDocListJsonWS */                                    \
  X(ercot_misdl)  /* /misdownload/servlets/mirDownload */                                    \
  X(aeso_ail)     /* AESO /public/actualforecast-api/... */                                  \
  X(ieso_real)    /* IESO's real paths: /public/<Report>/PUB_... */                          \
  /* end of list */

#define AU_SIM_DECLARE(iso) extern const struct au_sim_handler au_sim_##iso;
#define AU_SIM_ENTRY(iso) &au_sim_##iso,
AU_SIM_OPERATORS(AU_SIM_DECLARE)

const struct au_sim_handler *const au_sim_handlers[] = {AU_SIM_OPERATORS(AU_SIM_ENTRY) NULL};
