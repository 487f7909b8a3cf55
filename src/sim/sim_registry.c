/* sim_registry.c - the operators the simulator serves: one line per operator.
 * To add one, write sim_<iso>.c defining `const struct au_sim_handler au_sim_<iso>` and add
 * it below (the longest matching path_prefix wins when prefixes overlap). */
#include "core/au.h"
#include "sim/sim.h"

extern const struct au_sim_handler au_sim_aeso;

const struct au_sim_handler *const au_sim_handlers[] = {
    &au_sim_aeso, /* AESO APIM gateway: /public/poolprice-api/..., /public/actualforecast-api/... */
    NULL,
};
