/* sim_ieso.c - work in progress. */
#include "core/au.h"
#include "sim/sim.h"
static int h(struct au_sim_ctx *ctx, const struct au_sim_request *req, struct au_sim_reply *rep) {
  (void)ctx; (void)req;
  au_sim_reply_error(rep, 404, "not found");
  return 0;
}
const struct au_sim_handler au_sim_ieso = {"ieso", "/ieso-wip/", h, NULL};
