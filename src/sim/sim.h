/* sim.h - `aurum sim`: an offline stand-in for the grid operators' public APIs.
 *
 * The simulator serves each operator's real URL paths and wire formats on loopback from
 * the deterministic market model (sim/model.h), with revisions of past values, per-operator
 * throttling and injected faults, so pipelines can be tested without the network.
 * See docs/simulator.md for the user-facing description.
 *
 * Adding an operator: write src/sim/sim_<iso>.c defining one `struct au_sim_handler`
 * and add one line to the table in src/sim/sim_registry.c.
 *
 * Thread-safety: the server answers every connection on its own thread; counters, the
 * request log, revisions and faults sit behind one mutex. Handlers receive a per-request
 * context with a private snapshot of the clock and revisions and need no locking. */
#ifndef AU_SIM_H
#define AU_SIM_H
#include "core/au.h"
#include "core/buf.h"
#include "core/time.h"
#include "sim/model.h"

struct au_err;

struct au_sim_config {
  const char *listen;        /* "127.0.0.1:0" style; port 0 = any free port (NULL = that) */
  uint64_t seed;             /* model seed (0 is taken as the default 1) */
  au_time now;               /* simulator clock; AU_TIME_NONE = au_now() at each request */
  double revise_every;       /* if >= 1: every N-th request adds a revision over the last
                                revise_hours hours (counted, deterministic) */
  int revise_hours;          /* default 6 */
  double min_spacing;        /* seconds; requests closer than this (per operator) get the
                                operator's throttling answer (429); 0 = off */
  const char *aeso_api_key;  /* required API-KEY value; NULL = any non-empty key */
  const char *const *faults; /* fault specs, see au_sim_fault_parse() */
  size_t nfaults;
  double latency;            /* added delay per response, seconds */
  int zip_level;             /* deflate level of ZIP answers: 0 = zlib's default (as the
                                operators' servers), 1 fastest .. 9 */
  double answer_time;        /* every answer takes at least this long from the request's
                                arrival, generation included (an operator's response time,
                                independent of the simulator's CPU); 0 = off */
  bool quiet;                /* no per-request log lines */
};

struct au_sim;

/* Start serving in background threads. Returns 0 or AU_E_INVAL (bad listen address or
 * fault spec) / AU_E_IO (cannot bind), with err filled. */
int au_sim_start(const struct au_sim_config *cfg, struct au_sim **out, struct au_err *err);
/* The bound TCP port (the real one when port 0 was asked for). */
int au_sim_port(const struct au_sim *s);
/* Stop serving (wakes handlers sleeping in slow/timeout faults), join threads, free. */
void au_sim_stop(struct au_sim *s);
/* The `aurum sim` subcommand (argv[0] == "sim"). Serves until SIGINT/SIGTERM.
 * Returns the process exit code: 0, 1 if the server cannot start, 2 on usage errors. */
int au_sim_cmd(int argc, char **argv);

/* --- handler interface ---------------------------------------------------------- */

struct au_sim_ctx; /* per-request view of the simulator (clock, seed, revisions) */

struct au_sim_request {
  const char *method; /* "GET", "POST", ... */
  const char *path;   /* decoded path without the query */
  const char *target; /* path + "?" + raw query as received */
  /* Query argument / header lookup (headers case-insensitive); NULL when absent. */
  const char *(*arg)(const struct au_sim_request *req, const char *name);
  const char *(*header)(const struct au_sim_request *req, const char *name);
  void *impl; /* server private */
};

#define AU_SIM_MAX_HEADERS 8
#define AU_SIM_MAX_BODY (1024u * 1024u * 1024u)

struct au_sim_reply {
  int status;               /* HTTP status; 200 preset */
  const char *content_type; /* static string; "application/json" preset */
  size_t nheaders;
  char *header_name[AU_SIM_MAX_HEADERS]; /* owned copies, see au_sim_reply_header() */
  char *header_value[AU_SIM_MAX_HEADERS];
  struct au_buf body; /* capped at AU_SIM_MAX_BODY */
  size_t rows;        /* data rows served (for /_sim/stats) */
};

struct au_sim_handler {
  const char *name;        /* operator, lower case ("aeso"): stats, throttling, model iso */
  const char *path_prefix; /* requests whose path starts with this go to handle() */
  /* Fill rep; return 0, or a negative AU_E_* for an internal failure (answered 500). */
  int (*handle)(struct au_sim_ctx *ctx, const struct au_sim_request *req,
                struct au_sim_reply *rep);
  /* Optional: the operator's error answer for status (401, 403, 429, 500, 502, 503 from
   * faults and throttling) with a human message. NULL = a generic JSON body. */
  void (*error)(struct au_sim_ctx *ctx, const struct au_sim_request *req, int status,
                const char *message, struct au_sim_reply *rep);
};

/* NULL-terminated table, one line per operator (sim_registry.c). */
extern const struct au_sim_handler *const au_sim_handlers[];

/* --- helpers for handlers -------------------------------------------------------- */

/* The simulator clock for this request (fixed config time, /_sim/clock, or au_now()). */
au_time au_sim_now(const struct au_sim_ctx *ctx);
uint64_t au_sim_seed(const struct au_sim_ctx *ctx);
/* 1-based number of this request among non-admin requests (the count faults' n= uses). */
uint64_t au_sim_request_number(const struct au_sim_ctx *ctx);
const struct au_sim_config *au_sim_ctx_config(const struct au_sim_ctx *ctx);
/* Sum of the deltas of revisions (for this iso or for all operators) covering t. */
double au_sim_revision_delta(const struct au_sim_ctx *ctx, const char *iso, au_time t);
/* Served price = model + revisions, the delta going to the energy part so the identity
 * LMP == energy + congestion + loss + ghg still holds (parts rounded to 5 decimals). */
void au_sim_served_parts(const struct au_sim_ctx *ctx, const char *iso, const char *node,
                         au_time t, double parts[AU_SIM_NCOMPONENTS]);
double au_sim_served_price(const struct au_sim_ctx *ctx, const char *iso, const char *node,
                           au_time t, int component);
/* Served load = model load + revisions (same ranges, delta in MW). */
double au_sim_served_load(const struct au_sim_ctx *ctx, const char *iso, const char *zone,
                          au_time t);
/* Sleep that returns early when the simulator stops. */
void au_sim_sleep(struct au_sim_ctx *ctx, double seconds);

/* Add a header to the reply (copied). 0 or AU_E_TOOBIG when full. */
int au_sim_reply_header(struct au_sim_reply *rep, const char *name, const char *value);
/* Set status and a generic JSON error body {"error": status, "message": message}. */
void au_sim_reply_error(struct au_sim_reply *rep, int status, const char *message);

/* Append a number with exactly 2 decimals ("-3.10") / "YYYY-MM-DD HH:MM" of the civil
 * time to a buffer without printf (hot paths). */
int au_sim_buf_fixed2(struct au_buf *b, double v) AU_WUR;
int au_sim_buf_civil_min(struct au_buf *b, const struct au_civil *c) AU_WUR;

/* --- faults (faults.c) ------------------------------------------------------------ */

enum au_sim_fault_kind {
  AU_SIM_FAULT_STATUS = 0, /* 429, 500, 502, 503, 401, 403 */
  AU_SIM_FAULT_TIMEOUT,    /* sleep delay (default 30 s) before answering */
  AU_SIM_FAULT_SLOW,       /* trickle the body over delay (default 3 s) */
  AU_SIM_FAULT_MALFORMED,  /* 200 with the body cut mid-record (invalid JSON/CSV) */
  AU_SIM_FAULT_TRUNCATE,   /* full Content-Length, half the body, then the connection closes */
  AU_SIM_FAULT_EMPTY       /* 200 with an empty body */
};

enum au_sim_fault_when {
  AU_SIM_WHEN_ALWAYS = 0,
  AU_SIM_WHEN_N,     /* requests lo..hi (1-based count of non-admin requests) */
  AU_SIM_WHEN_EVERY, /* every lo-th request */
  AU_SIM_WHEN_P      /* probability p, deterministic in (seed, spec, request number) */
};

struct au_sim_fault {
  enum au_sim_fault_kind kind;
  int status;         /* for AU_SIM_FAULT_STATUS */
  double retry_after; /* Retry-After seconds (429/503); 0 = no header */
  double delay;       /* slow / timeout seconds */
  char path[256];     /* only requests whose path starts with this ("" = all) */
  enum au_sim_fault_when when;
  uint64_t lo, hi;
  double p;
  char spec[256]; /* the spec as given (truncated) */
};

/* Parse `KIND[:PARAM=V,...][@WHEN]`:
 *   KIND  429 | 500 | 502 | 503 | 401 | 403 | timeout | slow | malformed | truncate | empty
 *   PARAM retry-after=SECONDS (429/503), delay=SECONDS (slow/timeout), path=/prefix
 *   WHEN  n=3 | n=3-5 | every=4 | p=0.2 | always (default)
 * Returns 0 or AU_E_INVAL with the byte offset of the problem in err. */
int au_sim_fault_parse(const char *spec, struct au_sim_fault *out, struct au_err *err);
/* Whether fault f fires for non-admin request number n (1-based) on path. */
bool au_sim_fault_matches(const struct au_sim_fault *f, uint64_t seed, uint64_t n,
                          const char *path);

#endif
