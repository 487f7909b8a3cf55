/* bench_kafka.c - throughput of the Kafka sink: N canonical LMP rows (default 1,000,000)
 * written through the sink exactly as the pipeline does (write a batch, flush = wait for
 * every delivery report), JSON or Avro, to a running cluster (bench_kafka.sh starts
 * `aurum kafka-mock --brokers 3` and a schema-registry stub).
 *
 *   bench_kafka --bootstrap HOST:PORT,... [--rows N] [--batch N] [--format json|avro]
 *               [--registry URL] [--topic T] [--dump FILE]
 *
 * --dump writes the same records as "key<TAB>json value" lines (for the kcat -P baseline)
 * and exits. Prints one line: format, rows, seconds, messages/s, MB/s (key + value bytes),
 * peak RSS. */
#include "core/au.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "sinks/avro.h"
#include "sinks/jsonenc.h"
#include "sinks/sink.h"
#include "sources/canonical.h"
#include "sources/source.h"
#include "store/store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Rows [first, first+n) of the synthetic market: 2,000 nodes x hours. */
static void fill(struct au_batch *b, size_t first, size_t n) {
  au_batch_clear(b);
  char node[32];
  au_time t0 = au_time_utc(2024, 1, 1, 0, 0, 0), ing = au_time_utc(2024, 6, 1, 0, 0, 0) + 123456;
  for (size_t i = first; i < first + n; i++) {
    au_batch_add_row(b);
    int nl = snprintf(node, sizeof(node), "NODE_%05zu_APND", i % 2000);
    au_time t = t0 + (au_time)(i / 2000) * AU_HOUR;
    au_batch_set_time(b, AU_LMP_START, t);
    au_batch_set_time(b, AU_LMP_END, t + AU_HOUR);
    au_batch_set_text(b, AU_LMP_LOC_ID, node, (size_t)nl);
    au_batch_set_text(b, AU_LMP_LOC_TYPE, "APNODE", 6);
    /* prices as the operators publish them: decimals parsed from text, lmp = the parts */
    long cents = 2000 + (long)((i * 7919) % 10000);
    au_batch_set_double(b, AU_LMP_LMP, (double)cents / 100.0);
    au_batch_set_double(b, AU_LMP_ENERGY, (double)(cents - 325) / 100.0);
    au_batch_set_double(b, AU_LMP_CONG, 2.5);
    au_batch_set_double(b, AU_LMP_LOSS, 0.75);
    au_lmp_set_meta(b, "CAISO", "DAM", "USD/MWh", "America/Los_Angeles", 60, ing);
  }
}

int main(int argc, char **argv) {
  static const struct option lo[] = {{"bootstrap", required_argument, NULL, 'b'}, {"rows", required_argument, NULL, 'n'},
                                     {"batch", required_argument, NULL, 'B'},     {"format", required_argument, NULL, 'f'},
                                     {"registry", required_argument, NULL, 'r'},  {"topic", required_argument, NULL, 't'},
                                     {"dump", required_argument, NULL, 'd'},      {NULL, 0, NULL, 0}};
  const char *bs = getenv("KAFKA_BOOTSTRAP_SERVERS"), *format = "json", *reg = NULL, *topic = NULL, *dump = NULL;
  size_t rows = 1000000, batch = 50000;
  int c;
  while ((c = getopt_long(argc, argv, "b:n:B:f:r:t:d:", lo, NULL)) != -1) {
    switch (c) {
    case 'b': bs = optarg; break;
    case 'n': rows = strtoull(optarg, NULL, 10); break;
    case 'B': batch = strtoull(optarg, NULL, 10); break;
    case 'f': format = optarg; break;
    case 'r': reg = optarg; break;
    case 't': topic = optarg; break;
    case 'd': dump = optarg; break;
    default: fprintf(stderr, "see the comment at the top of bench_kafka.c\n"); return 2;
    }
  }
  if (batch == 0)
    batch = 50000;
  au_log_setup(AU_LOG_WARN, AU_LOG_TEXT);
  struct au_batch *b = au_batch_new(&au_lmp_schema, batch);
  if (dump) {
    FILE *f = fopen(dump, "w");
    if (!f)
      return 1;
    int kc[8];
    int nk = au_schema_key_cols(&au_lmp_schema, kc, 8);
    struct au_envelope env = {"caiso", "lmp_dam", "default", 1, AU_LMP_START};
    struct au_buf k = AU_BUF_INIT(0), v = AU_BUF_INIT(0);
    struct au_jenc *je = au_jenc_new(&au_lmp_schema, &env, kc, nk);
    for (size_t done = 0; done < rows; done += batch) {
      size_t n = rows - done < batch ? rows - done : batch;
      fill(b, done, n);
      au_jenc_begin(je, b);
      for (size_t r = 0; r < n; r++) {
        au_buf_reset(&k);
        au_buf_reset(&v);
        char id[37];
        if (au_jenc_key(je, b, r, &k))
          return 1;
        au_jenc_event_id(je, k.ptr, k.len, id);
        if (au_jenc_value(je, b, r, id, &v))
          return 1;
        fprintf(f, "%s\t%s\n", k.ptr, v.ptr);
      }
    }
    fclose(f);
    au_jenc_free(je);
    au_buf_release(&k);
    au_buf_release(&v);
    au_batch_free(b);
    return 0;
  }
  if (!bs) {
    fprintf(stderr, "bench_kafka: --bootstrap (or KAFKA_BOOTSTRAP_SERVERS) is required\n");
    return 2;
  }
  struct au_opts g = {0}, t = {0};
  au_opts_set(&g, "bootstrap_servers", bs);
  au_opts_set(&g, "format", format);
  if (reg)
    au_opts_set(&g, "schema_registry_url", reg);
  char deftopic[128];
  snprintf(deftopic, sizeof(deftopic), "bench.%s", format);
  au_opts_set(&t, "topic", topic ? topic : deftopic);
  for (int i = optind; i < argc; i++) { /* extra KEY=VALUE sink settings */
    char *eq = strchr(argv[i], '=');
    if (eq) {
      *eq = 0;
      au_opts_set(&g, argv[i], eq + 1);
    }
  }
  struct au_table_ref ref = {"caiso.lmp_dam", "caiso_lmp_dam", &au_lmp_schema, AU_LMP_INGEST};
  struct au_sink_info info = {"caiso", "lmp_dam", &ref, &g, &t};
  const struct au_sink_ops *ops = au_sink_find("kafka");
  struct au_sink *s = NULL;
  struct au_err err = AU_ERR_INIT;
  if (!ops || ops->open(&info, &s, &err)) {
    fprintf(stderr, "bench_kafka: %s\n", err.msg);
    return 1;
  }
  /* bytes of key + value (measured outside the timed loop) */
  uint64_t bytes = 0;
  {
    int kc[8];
    int nk = au_schema_key_cols(&au_lmp_schema, kc, 8);
    struct au_envelope env = {"caiso", "lmp_dam", "default", 1, AU_LMP_START};
    struct au_buf k = AU_BUF_INIT(0), v = AU_BUF_INIT(0), sch = AU_BUF_INIT(0);
    struct au_avro_plan *plan = NULL;
    bool avro = !strcmp(format, "avro");
    if (avro && (au_avro_schema_gen(&au_lmp_schema, "lmp", "aurum.market.canonical", &sch) ||
                 au_avro_plan_new(sch.ptr, sch.len, &au_lmp_schema, &plan, &err)))
      return 1;
    fill(b, 0, batch < rows ? batch : rows);
    struct au_jenc *je = au_jenc_new(&au_lmp_schema, &env, kc, nk);
    au_jenc_begin(je, b);
    for (size_t r = 0; r < b->nrows; r++) {
      au_buf_reset(&k);
      au_buf_reset(&v);
      char id[37];
      if (au_jenc_key(je, b, r, &k))
        return 1;
      au_jenc_event_id(je, k.ptr, k.len, id);
      if (avro ? au_avro_value(plan, 1, &env, b, r, id, &v, &err) : au_jenc_value(je, b, r, id, &v))
        return 1;
      bytes += k.len + v.len;
    }
    au_avro_plan_free(plan);
    au_jenc_free(je);
    au_buf_release(&sch);
    bytes = (uint64_t)((double)bytes * (double)rows / (double)b->nrows);
    au_buf_release(&k);
    au_buf_release(&v);
  }
  double fill_s = 0, write_s = 0, flush_s = 0;
  double t0 = au_mono();
  for (size_t done = 0; done < rows; done += batch) {
    size_t n = rows - done < batch ? rows - done : batch;
    double f0 = au_mono();
    fill(b, done, n);
    fill_s += au_mono() - f0;
    double w0 = au_mono();
    if (ops->write(s, b, NULL, &err)) {
      fprintf(stderr, "bench_kafka: %s\n", err.msg);
      return 1;
    }
    double w1 = au_mono();
    if (ops->flush(s, &err)) {
      fprintf(stderr, "bench_kafka: %s\n", err.msg);
      return 1;
    }
    write_s += w1 - w0;
    flush_s += au_mono() - w1;
  }
  double secs = au_mono() - t0 - fill_s;
  ops->close(s);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("aurum-kafka %-4s rows %zu batch %zu: %.2f s (encode+produce %.2f s, waiting for delivery reports %.2f s), "
         "%.0f msg/s, %.1f MB/s, peak RSS %ld MB\n",
         format, rows, batch, secs, write_s, flush_s, (double)rows / secs, (double)bytes / secs / 1e6,
         ru.ru_maxrss / 1024);
  au_opts_release(&g);
  au_opts_release(&t);
  au_batch_free(b);
  return 0;
}
