/* bench_caiso.c - CAISO OASIS parse + pivot throughput and memory.
 *
 *   bench_caiso [DIR]      fetch two simulated OASIS answers into DIR (default /tmp):
 *                            caiso_dam_all.zip   PRC_LMP DAM, grp_type=ALL_APNODES, one trade day
 *                                                (2,400 APNodes x 24 h x 5 components)
 *                            caiso_dam_10x31.zip PRC_LMP DAM, 10 nodes, 31 trade days
 *                          then measure each in a fresh child process (so peak RSS is the
 *                          parser's, not the simulator's):
 *   bench_caiso parse FILE  raw inflate (au_zip_each, no parsing) vs parse + pivot into the
 *                          canonical batch; rows/s, MB/s of CSV, ratio, peak RSS. */
#include "core/au.h"
#include "core/batch.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "net/http.h"
#include "parse/zip.h"
#include "sim/sim.h"
#include "sources/canonical.h"
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  struct au_buf b = AU_BUF_INIT(0);
  char tmp[65536];
  size_t n;
  while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
    if (au_buf_add(&b, tmp, n))
      abort();
  fclose(f);
  return au_buf_detach(&b, len);
}

struct cnt {
  uint64_t bytes, lines;
};
static int count_data(void *arg, const char *d, size_t n, struct au_err *err) {
  AU_UNUSED(err);
  struct cnt *c = arg;
  c->bytes += n;
  for (const char *p = d; (p = memchr(p, '\n', (size_t)(d + n - p))); p++)
    c->lines++;
  return 0;
}
static int inflate_only(void *arg, const char *d, size_t n, struct au_err *err) {
  AU_UNUSED(d);
  AU_UNUSED(err);
  *(uint64_t *)arg += n;
  return 0;
}

static int parse_mode(const char *path) {
  size_t len;
  char *zip = read_all(path, &len);
  if (!zip) {
    fprintf(stderr, "cannot read %s\n", path);
    return 1;
  }
  struct au_err err = AU_ERR_INIT;
  struct cnt c = {0, 0};
  if (au_zip_each(zip, len, NULL, NULL, count_data, NULL, &c, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  const int reps = 5;
  double best_inflate = 1e9, best_parse = 1e9;
  for (int i = 0; i < reps; i++) {
    uint64_t n = 0;
    double t0 = au_mono();
    au_zip_each(zip, len, NULL, NULL, inflate_only, NULL, &n, &err);
    double t = au_mono() - t0;
    if (t < best_inflate)
      best_inflate = t;
  }
  const struct au_source_ops *src;
  const struct au_table_def *tbl;
  if (au_table_find("caiso.lmp_dam", &src, &tbl, &err))
    return 1;
  struct au_opts opts = {0};
  bool all = strstr(path, "_all") != NULL;
  if (all)
    au_opts_set(&opts, "grp_type", "ALL_APNODES");
  struct au_source_ctx ctx = {src, tbl, "http://x/oasisapi", &opts, 0, 0, NULL, NULL};
  if (src->init(&ctx, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  struct au_batch *b = au_batch_new(&au_lmp_schema, 4096);
  struct au_request req;
  memset(&req, 0, sizeof(req));
  struct au_reqlist more = {0};
  struct au_response resp = {200, zip, len, "application/x-zip-compressed"};
  size_t rows = 0;
  for (int i = 0; i < reps; i++) {
    au_batch_clear(b);
    double t0 = au_mono();
    int rc = src->parse(&ctx, &req, &resp, b, &more, &err);
    double t = au_mono() - t0;
    if (rc) {
      fprintf(stderr, "parse: %s\n", err.msg);
      return 1;
    }
    rows = b->nrows;
    if (t < best_parse)
      best_parse = t;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double mb = (double)c.bytes / 1e6;
  printf("%s\n", path);
  printf("  zip %.2f MB, CSV %.2f MB, %llu CSV rows -> %zu pivoted rows\n", (double)len / 1e6, mb,
         (unsigned long long)(c.lines - 1), rows);
  printf("  raw inflate     %8.1f ms  (%.0f MB/s of CSV)\n", best_inflate * 1e3, mb / best_inflate);
  printf("  parse + pivot   %8.1f ms  (%.0f MB/s of CSV, %.2f M CSV rows/s, %.2f M pivoted rows/s)\n",
         best_parse * 1e3, mb / best_parse, (double)(c.lines - 1) / best_parse / 1e6, (double)rows / best_parse / 1e6);
  printf("  ratio parse+pivot / raw inflate: %.2f\n", best_parse / best_inflate);
  printf("  peak RSS %.1f MB\n", (double)ru.ru_maxrss / 1024.0);
  au_batch_free(b);
  src->fini(&ctx);
  au_opts_release(&opts);
  free(zip);
  return 0;
}

static int fetch(struct au_http_client *h, const char *url, const char *path) {
  struct au_http_request rq = {.url = url, .label = "bench"};
  struct au_http_response resp;
  au_http_response_init(&resp);
  struct au_err err = AU_ERR_INIT;
  int rc = au_http_do(h, &rq, &resp, &err);
  if (rc || resp.status != 200) {
    fprintf(stderr, "fetch %s: %s (status %ld)\n", url, err.msg, resp.status);
    au_http_response_release(&resp);
    return 1;
  }
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(resp.body.ptr, 1, resp.body.len, f) != resp.body.len) {
    fprintf(stderr, "cannot write %s\n", path);
    return 1;
  }
  fclose(f);
  au_http_response_release(&resp);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "parse"))
    return parse_mode(argv[2]);
  const char *dir = argc > 1 ? argv[1] : "/tmp";
  au_http_global_init();
  struct au_sim_config sc = {0};
  sc.listen = "127.0.0.1:0";
  sc.seed = 1;
  sc.quiet = true;
  au_time_parse_iso("2024-11-05T12:00:00Z", (size_t)-1, &sc.now, NULL);
  struct au_sim *sim;
  struct au_err err = AU_ERR_INIT;
  if (au_sim_start(&sc, &sim, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  struct au_http_policy pol = {0};
  pol.timeout = 300;
  struct au_http_client *h = au_http_client_new("bench", &pol);
  char url[1024], p1[512], p2[512];
  snprintf(p1, sizeof(p1), "%s/caiso_dam_all.zip", dir);
  snprintf(p2, sizeof(p2), "%s/caiso_dam_10x31.zip", dir);
  snprintf(url, sizeof(url),
           "http://127.0.0.1:%d/oasisapi/SingleZip?resultformat=6&queryname=PRC_LMP&version=1&startdatetime=20241001T07:00-0000"
           "&enddatetime=20241002T07:00-0000&market_run_id=DAM&grp_type=ALL_APNODES",
           au_sim_port(sim));
  int rc = fetch(h, url, p1);
  snprintf(url, sizeof(url),
           "http://127.0.0.1:%d/oasisapi/SingleZip?resultformat=6&queryname=PRC_LMP&version=1&startdatetime=20241001T07:00-0000"
           "&enddatetime=20241101T07:00-0000&market_run_id=DAM&node=TH_NP15_GEN-APND,TH_SP15_GEN-APND,TH_ZP26_GEN-APND,"
           "DLAP_PGAE-APND,DLAP_SCE-APND,DLAP_SDGE-APND,DLAP_VEA-APND,ELAP_PACE-APND,ELAP_PACW-APND,N10",
           au_sim_port(sim));
  if (!rc)
    rc = fetch(h, url, p2);
  au_http_client_free(h);
  au_sim_stop(sim);
  if (rc)
    return rc;
  const char *files[2] = {p1, p2};
  for (int i = 0; i < 2 && !rc; i++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      execl("/proc/self/exe", argv[0], "parse", files[i], (char *)NULL);
      _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
  }
  return rc;
}
