/* cmd_kafka.c - `aurum kafka-mock`: librdkafka's in-process mock Kafka cluster as a
 * stand-alone fixture, so the Kafka sink can be tried (and tested) without a broker.
 * Other processes (aurum sync, kcat) connect to the printed bootstrap address. */
#include "core/au.h"
#include "cli/cli.h"
#include "core/log.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char kafka_mock_usage[] =
    "usage: aurum kafka-mock [--brokers N] [--topic NAME[:PARTITIONS]]... [--fail-produce N[:ERROR]]\n"
    "\n"
    "Start librdkafka's mock Kafka cluster on loopback, print its bootstrap address (one\n"
    "line, e.g. 127.0.0.1:40001,127.0.0.1:40002,127.0.0.1:40003) on stdout and serve until\n"
    "SIGINT/SIGTERM or a `quit` command. Topics are created on first use (4 partitions)\n"
    "unless created with --topic. Data lives in memory only.\n"
    "\n"
    "  --brokers N              number of brokers (default 3)\n"
    "  --topic NAME[:P]         create a topic with P partitions (default 4); repeatable\n"
    "  --fail-produce N[:ERR]   fail the next N Produce requests with ERR (a Kafka error name\n"
    "                           such as NOT_LEADER_FOR_PARTITION, or a code; default\n"
    "                           NOT_LEADER_FOR_PARTITION)\n"
    "\n"
    "Control commands, one per line on stdin (each answered with `ok` or `error: ...`):\n"
    "  down ID | up ID          take broker ID (1..N) down / bring it back\n"
    "  fail-produce N [ERR]     as the option above\n"
    "  clear                    drop queued request errors\n"
    "  rtt ID MS                add MS milliseconds of latency to broker ID\n"
    "  topic NAME P             create a topic\n"
    "  quit                     stop\n"
    "\n"
    "Example:  aurum kafka-mock --brokers 3 &   then\n"
    "          KAFKA_BOOTSTRAP_SERVERS=<printed address> aurum sync --sink kafka aeso.pool_price\n";

#ifdef AU_HAVE_RDKAFKA
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <unistd.h>

extern volatile sig_atomic_t au_cancel_requested;

static void mock_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  AU_UNUSED(rk);
  if (level <= 3)
    au_warn("kafka-mock", "%s: %s", fac, buf);
  else
    au_debug("kafka-mock", "%s: %s", fac, buf);
}

/* Kafka error by name ("NOT_LEADER_FOR_PARTITION", with or without RD_KAFKA_RESP_ERR_)
 * or number; -1 when unknown. */
static int err_code(const char *s) {
  if (!s || !*s)
    return RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
  char *end;
  long v = strtol(s, &end, 10);
  if (*end == 0)
    return (int)v;
  if (!strncmp(s, "RD_KAFKA_RESP_ERR_", 18))
    s += 18;
  const struct rd_kafka_err_desc *d;
  size_t n;
  rd_kafka_get_err_descs(&d, &n);
  for (size_t i = 0; i < n; i++)
    if (d[i].name && !strcasecmp(d[i].name, s))
      return d[i].code;
  return -1;
}

static int fail_produce(rd_kafka_mock_cluster_t *mc, const char *spec, char *msg, size_t msz) {
  char buf[128];
  snprintf(buf, sizeof(buf), "%s", spec);
  char *colon = strpbrk(buf, ": ");
  const char *ename = NULL;
  if (colon) {
    *colon = 0;
    ename = colon + 1;
    while (*ename == ' ')
      ename++;
  }
  int n = atoi(buf);
  int code = err_code(ename);
  if (n <= 0 || n > 100000 || code < 0) {
    snprintf(msg, msz, "error: fail-produce wants N[:ERROR] with a known error, got '%s'", spec);
    return -1;
  }
  rd_kafka_resp_err_t *errs = au_xcalloc((size_t)n, sizeof(*errs));
  for (int i = 0; i < n; i++)
    errs[i] = (rd_kafka_resp_err_t)code;
  rd_kafka_mock_push_request_errors_array(mc, 0 /* Produce */, (size_t)n, errs);
  free(errs);
  snprintf(msg, msz, "ok");
  return 0;
}

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *name, int parts, int brokers, char *msg,
                        size_t msz) {
  if (parts <= 0)
    parts = 4;
  rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, brokers < 3 ? brokers : 3);
  if (e) {
    snprintf(msg, msz, "error: topic %.160s: %.80s", name, rd_kafka_err2str(e));
    return -1;
  }
  snprintf(msg, msz, "ok");
  return 0;
}

/* One control line; returns 1 on quit. */
static int control(rd_kafka_mock_cluster_t *mc, int brokers, char *line) {
  char msg[256] = "ok";
  char *save = NULL;
  char *cmd = strtok_r(line, " \t\r\n", &save);
  char *a1 = cmd ? strtok_r(NULL, " \t\r\n", &save) : NULL;
  char *a2 = a1 ? strtok_r(NULL, " \t\r\n", &save) : NULL;
  int quit = 0;
  if (!cmd) {
    return 0;
  } else if (!strcmp(cmd, "down") || !strcmp(cmd, "up")) {
    int id = a1 ? atoi(a1) : 0;
    if (id < 1 || id > brokers)
      snprintf(msg, sizeof(msg), "error: broker id must be 1..%d", brokers);
    else if (!strcmp(cmd, "down"))
      rd_kafka_mock_broker_set_down(mc, id);
    else
      rd_kafka_mock_broker_set_up(mc, id);
  } else if (!strcmp(cmd, "fail-produce")) {
    char spec[128];
    snprintf(spec, sizeof(spec), "%s%s%s", a1 ? a1 : "", a2 ? ":" : "", a2 ? a2 : "");
    fail_produce(mc, spec, msg, sizeof(msg));
  } else if (!strcmp(cmd, "clear")) {
    rd_kafka_mock_clear_request_errors(mc, 0);
  } else if (!strcmp(cmd, "rtt")) {
    int id = a1 ? atoi(a1) : 0;
    if (id < 1 || id > brokers || !a2)
      snprintf(msg, sizeof(msg), "error: rtt ID MS");
    else
      rd_kafka_mock_broker_set_rtt(mc, id, atoi(a2));
  } else if (!strcmp(cmd, "topic")) {
    if (!a1)
      snprintf(msg, sizeof(msg), "error: topic NAME PARTITIONS");
    else
      create_topic(mc, a1, a2 ? atoi(a2) : 4, brokers, msg, sizeof(msg));
  } else if (!strcmp(cmd, "quit")) {
    quit = 1;
  } else {
    snprintf(msg, sizeof(msg), "error: unknown command '%s'", cmd);
  }
  printf("%s\n", msg);
  fflush(stdout);
  return quit;
}

int au_cmd_kafka_mock(struct au_cli *cli, int argc, char **argv) {
  AU_UNUSED(cli);
  static const struct option lo[] = {{"brokers", required_argument, NULL, 'b'},
                                     {"topic", required_argument, NULL, 't'},
                                     {"fail-produce", required_argument, NULL, 'f'},
                                     {"help", no_argument, NULL, 'h'},
                                     {NULL, 0, NULL, 0}};
  int brokers = 3;
  const char *topics[32];
  size_t ntopics = 0;
  const char *fail = NULL;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "b:t:f:h", lo, NULL)) != -1) {
    switch (c) {
    case 'b':
      brokers = atoi(optarg);
      if (brokers < 1 || brokers > 32) {
        fprintf(stderr, "aurum kafka-mock: --brokers must be 1..32\n");
        return 2;
      }
      break;
    case 't':
      if (ntopics < AU_ARRAY_LEN(topics))
        topics[ntopics++] = optarg;
      break;
    case 'f': fail = optarg; break;
    case 'h': fputs(kafka_mock_usage, stdout); return 0;
    default: fputs(kafka_mock_usage, stderr); return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "aurum kafka-mock: unexpected argument '%s'\n", argv[optind]);
    return 2;
  }
  au_cli_load_config(cli); /* for --log-level; the config itself is not needed */

  char es[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, mock_log_cb);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof(es));
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    fprintf(stderr, "aurum kafka-mock: %s\n", es);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    rd_kafka_destroy(rk);
    fprintf(stderr, "aurum kafka-mock: cannot create the mock cluster\n");
    return 1;
  }
  int rc = 0;
  char msg[256];
  for (size_t i = 0; i < ntopics && rc == 0; i++) {
    char name[256];
    snprintf(name, sizeof(name), "%s", topics[i]);
    char *colon = strrchr(name, ':');
    int parts = 4;
    if (colon) {
      *colon = 0;
      parts = atoi(colon + 1);
    }
    if (create_topic(mc, name, parts, brokers, msg, sizeof(msg))) {
      fprintf(stderr, "aurum kafka-mock: %s\n", msg);
      rc = 1;
    }
  }
  if (rc == 0 && fail && fail_produce(mc, fail, msg, sizeof(msg))) {
    fprintf(stderr, "aurum kafka-mock: %s\n", msg);
    rc = 2;
  }
  if (rc == 0) {
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    au_info("kafka-mock", "mock cluster with %d brokers at %s", brokers, rd_kafka_mock_cluster_bootstraps(mc));
    bool in_open = true;
    char line[512];
    size_t ll = 0;
    while (!au_cancel_requested) {
      struct pollfd pf = {STDIN_FILENO, POLLIN, 0};
      int pr = in_open ? poll(&pf, 1, 200) : (usleep(200000), 0);
      if (pr <= 0)
        continue;
      char ch[256];
      ssize_t n = read(STDIN_FILENO, ch, sizeof(ch));
      if (n <= 0) {
        in_open = false; /* EOF: keep serving */
        continue;
      }
      int quit = 0;
      for (ssize_t i = 0; i < n && !quit; i++) {
        if (ch[i] == '\n' || ll + 1 >= sizeof(line)) {
          line[ll] = 0;
          ll = 0;
          quit = control(mc, brokers, line);
        } else {
          line[ll++] = ch[i];
        }
      }
      if (quit)
        break;
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  rd_kafka_wait_destroyed(5000);
  return rc;
}

#else

int au_cmd_kafka_mock(struct au_cli *cli, int argc, char **argv) {
  AU_UNUSED(cli);
  if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    fputs(kafka_mock_usage, stdout);
    return 0;
  }
  fprintf(stderr, "aurum kafka-mock: this build has no librdkafka\n");
  return 4;
}

#endif
