/* test_csv.c - the push CSV parser: every input is fed in all chunk sizes 1..N and must give
 * the same records; quoting, line ends, BOM, blank lines, errors with positions, limits,
 * header lookup and the number helpers. */
#include "core/au.h"
#include "core/buf.h"
#include "parse/csv.h"

#include "au_test.h"

#include <time.h>

/* Render rows as "line:row[f1][f2]\n" with newlines inside fields shown as "\n". */
struct collect {
  struct au_buf out;
  int stop_after; /* return 1 from the callback after this many rows (0 = never) */
  int nrows;
  int bad_nul;    /* fields not NUL-terminated at lens[i] */
};

static int collect_cb(void *arg, const struct au_csv_row *row, struct au_err *err) {
  struct collect *c = arg;
  int rc = au_buf_printf(&c->out, "%llu:%llu", (unsigned long long)row->line,
                         (unsigned long long)row->row);
  for (size_t i = 0; i < row->nfields && !rc; i++) {
    if (row->fields[i][row->lens[i]] != 0)
      c->bad_nul++;
    rc = au_buf_addc(&c->out, '[');
    for (size_t k = 0; k < row->lens[i] && !rc; k++) {
      char ch = row->fields[i][k];
      rc = ch == '\n' ? au_buf_adds(&c->out, "\\n") : ch == '\r' ? au_buf_adds(&c->out, "\\r")
                                                                 : au_buf_addc(&c->out, ch);
    }
    if (!rc)
      rc = au_buf_addc(&c->out, ']');
  }
  if (!rc)
    rc = au_buf_addc(&c->out, '\n');
  if (rc)
    return rc;
  c->nrows++;
  if (c->stop_after && c->nrows >= c->stop_after)
    return au_err_set(err, AU_E_CANCELLED, "stop requested"), 1;
  return 0;
}

/* Parse in chunks of `chunk` bytes (0 = all at once). Returns rc; out holds rows + error. */
static int run(const struct au_csv_limits *lim, char delim, const char *in, size_t len,
               size_t chunk, struct collect *c, struct au_err *err) {
  au_buf_init(&c->out, 0);
  c->nrows = 0;
  c->bad_nul = 0;
  struct au_csv *p = au_csv_new(lim, delim, collect_cb, c);
  int rc = 0;
  if (chunk == 0)
    chunk = len ? len : 1;
  for (size_t off = 0; off < len && rc == 0; off += chunk) {
    size_t n = len - off < chunk ? len - off : chunk;
    rc = au_csv_feed(p, in + off, n, err);
  }
  if (rc == 0)
    rc = au_csv_finish(p, err);
  au_csv_free(p);
  return rc;
}

/* Run every chunk size and check they agree with the one-shot parse; return one-shot result. */
static int run_all(const struct au_csv_limits *lim, const char *in, size_t len, char **rows,
                   char *errmsg, size_t errsz) {
  struct collect c0 = {0};
  struct au_err e0 = AU_ERR_INIT;
  int rc0 = run(lim, ',', in, len, 0, &c0, &e0);
  CHECK_EQ_INT(c0.bad_nul, 0);
  for (size_t ch = 1; ch <= len + 1; ch++) {
    struct collect c = {0};
    struct au_err e = AU_ERR_INIT;
    int rc = run(lim, ',', in, len, ch, &c, &e);
    if (rc != rc0 || strcmp(c.out.ptr ? c.out.ptr : "", c0.out.ptr ? c0.out.ptr : "") != 0 ||
        strcmp(e.msg, e0.msg) != 0) {
      fprintf(stderr, "  chunk %zu differs: rc %d vs %d\n  got:\n%s  want:\n%s  err '%s' vs '%s'\n",
              ch, rc, rc0, c.out.ptr ? c.out.ptr : "", c0.out.ptr ? c0.out.ptr : "", e.msg,
              e0.msg);
      CHECK(0);
      au_buf_release(&c.out);
      break;
    }
    au_buf_release(&c.out);
  }
  *rows = au_xstrdup(c0.out.ptr ? c0.out.ptr : "");
  if (errmsg)
    snprintf(errmsg, errsz, "%s", e0.msg);
  au_buf_release(&c0.out);
  return rc0;
}

static void expect(const char *in, const char *want) {
  char *rows;
  char msg[AU_ERR_MSG_MAX];
  int rc = run_all(NULL, in, strlen(in), &rows, msg, sizeof msg);
  CHECK_EQ_INT(rc, 0);
  if (rc)
    fprintf(stderr, "  error: %s\n", msg);
  CHECK_EQ_STR(rows, want);
  free(rows);
}

static void expect_err(const struct au_csv_limits *lim, const char *in, int code,
                       const char *msg_part, const char *rows_want) {
  char *rows;
  char msg[AU_ERR_MSG_MAX];
  int rc = run_all(lim, in, strlen(in), &rows, msg, sizeof msg);
  CHECK_EQ_INT(rc, code);
  if (!strstr(msg, msg_part)) {
    fprintf(stderr, "  message '%s' lacks '%s'\n", msg, msg_part);
    CHECK(0);
  }
  if (rows_want)
    CHECK_EQ_STR(rows, rows_want);
  free(rows);
}

TEST(simple_rows) {
  expect("a,b,c\n1,2,3\n", "1:1[a][b][c]\n2:2[1][2][3]\n");
  expect("a,b,c\n1,2,3", "1:1[a][b][c]\n2:2[1][2][3]\n"); /* no final newline */
  expect("x", "1:1[x]\n");
  expect("", "");
  expect("a,,b\n", "1:1[a][][b]\n");
  expect("a,\n,\n", "1:1[a][]\n2:2[][]\n");
  expect(",", "1:1[][]\n");
}

TEST(quoted_fields) {
  expect("\"a,b\",\"he said \"\"hi\"\"\",x\n", "1:1[a,b][he said \"hi\"][x]\n");
  expect("\"\"\n", "1:1[]\n");
  expect("\"\",\"\"\n", "1:1[][]\n");
  expect("\"\"\"\"\n", "1:1[\"]\n");
  /* NYISO style: everything quoted except numbers */
  expect("\"Time Stamp\",\"Name\",\"PTID\",\"Load\"\n\"11/22/2017 00:00:00\",\"CAPITL\",61757,1140.5\n",
         "1:1[Time Stamp][Name][PTID][Load]\n2:2[11/22/2017 00:00:00][CAPITL][61757][1140.5]\n");
  /* spaces after the closing quote are ignored */
  expect("\"a\" ,\"b\"\t\n", "1:1[a][b]\n");
  /* quoted field at end of input without newline */
  expect("a,\"b\"", "1:1[a][b]\n");
}

TEST(line_ends) {
  expect("a,b\r\n1,2\r\n", "1:1[a][b]\n2:2[1][2]\n");
  expect("a,b\r1,2\r", "1:1[a][b]\n2:2[1][2]\n");
  expect("a\r\n\r\nb\n", "1:1[a]\n3:2[b]\n");
  expect("\"q\"\r\n\"r\"\r\n", "1:1[q]\n2:2[r]\n");
  expect("a\n\rb\n", "1:1[a]\n3:2[b]\n"); /* LF then lone CR: two line ends */
}

TEST(bom) {
  expect("\xEF\xBB\xBFh1,h2\n1,2", "1:1[h1][h2]\n2:2[1][2]\n");
  expect("\xEF\xBB\xBF\"h1\",h2\n", "1:1[h1][h2]\n");
  /* an incomplete BOM prefix is data */
  expect("\xEF\xBBx\n", "1:1[\xEF\xBBx]\n");
  expect("\xEF\xBB", "1:1[\xEF\xBB]\n");
  /* a BOM later in the input is data */
  expect("a\n\xEF\xBB\xBF" "b\n", "1:1[a]\n2:2[\xEF\xBB\xBF" "b]\n");
}

TEST(embedded_newlines_and_blank_lines) {
  expect("id,text\n1,\"line1\nline2\"\n2,x\n", "1:1[id][text]\n2:2[1][line1\\nline2]\n4:3[2][x]\n");
  expect("1,\"a\r\nb\"\r\n2,c\r\n", "1:1[1][a\\r\\nb]\n3:2[2][c]\n");
  expect("\n\na,b\n\n\nc,d\n\n", "3:1[a][b]\n6:2[c][d]\n");
  /* MISO-like preamble with a blank line and a leading-comma line */
  expect("Day Ahead Market ExPost LMPs\n07/14/2026\n\n,,,All Hours-Ending are EST\nNode,Type\n",
         "1:1[Day Ahead Market ExPost LMPs]\n2:2[07/14/2026]\n4:3[][][][All Hours-Ending are "
         "EST]\n5:4[Node][Type]\n");
  /* trailing spaces are kept (ERCOT headers) */
  expect("DeliveryDate,DSTFlag    \n", "1:1[DeliveryDate][DSTFlag    ]\n");
  expect("  a , b \n", "1:1[  a ][ b ]\n");
}

TEST(errors_with_positions) {
  expect_err(NULL, "a,b\nc,d\"e\n", AU_E_PARSE, "csv line 2, field 2: quote inside unquoted field",
             "1:1[a][b]\n");
  expect_err(NULL, "x\ny\n\"abc\"x,1\n", AU_E_PARSE,
             "csv line 3, field 1: unexpected character after closing quote", NULL);
  expect_err(NULL, "a\n\"b\nc", AU_E_PARSE, "csv line 3, field 1: unterminated quoted field",
             "1:1[a]\n");
  expect_err(NULL, "a,\"b\" \"c\"\n", AU_E_PARSE, "line 1, field 2: unexpected character", NULL);
  /* the error is sticky */
  struct collect c = {0};
  au_buf_init(&c.out, 0);
  struct au_err e = AU_ERR_INIT;
  struct au_csv *p = au_csv_new(NULL, ',', collect_cb, &c);
  CHECK_EQ_INT(au_csv_feed(p, "a\"\n", 3, &e), AU_E_PARSE);
  CHECK_EQ_INT(au_csv_feed(p, "ok\n", 3, &e), AU_E_PARSE);
  CHECK_EQ_INT(au_csv_finish(p, &e), AU_E_PARSE);
  CHECK_EQ_INT(c.nrows, 0);
  au_csv_free(p);
  au_buf_release(&c.out);
}

TEST(limits) {
  struct au_csv_limits l1 = {4, 0, 0};
  expect_err(&l1, "abcd,ab\nabcd,abcde\n", AU_E_TOOBIG, "csv line 2, field 2: field exceeds 4 bytes",
             "1:1[abcd][ab]\n");
  expect_err(&l1, "\"ab\"\"cd\"\n", AU_E_TOOBIG, "field exceeds 4 bytes", "");
  /* a quoted field with line breaks: the error names the line of the byte that overflows,
   * whatever the chunk size (found by fuzz_csv) */
  expect_err(&l1, "\"a\nb\nc\nd\ne\nf\"\n", AU_E_TOOBIG, "csv line 3, field 1: field exceeds 4 bytes", "");
  struct au_csv_limits l2 = {0, 3, 0};
  expect_err(&l2, "a,b,c\na,b,c,d\n", AU_E_TOOBIG, "csv line 2, field 4: more than 3 fields",
             "1:1[a][b][c]\n");
  struct au_csv_limits l3 = {0, 0, 2};
  expect_err(&l3, "a\nb\nc\n", AU_E_TOOBIG, "csv line 3: more than 2 rows", "1:1[a]\n2:2[b]\n");
  /* default field limit is 1 MiB */
  size_t n = ((size_t)1 << 20) + 1;
  char *big = malloc(n + 1);
  memset(big, 'x', n);
  big[n] = 0;
  struct collect c = {0};
  struct au_err e = AU_ERR_INIT;
  CHECK_EQ_INT(run(NULL, ',', big, n, 65536, &c, &e), AU_E_TOOBIG);
  CHECK(strstr(e.msg, "field exceeds 1048576 bytes") != NULL);
  au_buf_release(&c.out);
  au_err_clear(&e);
  CHECK_EQ_INT(run(NULL, ',', big, n - 1, 65536, &c, &e), 0);
  CHECK_EQ_INT(c.nrows, 1);
  au_buf_release(&c.out);
  free(big);
}

TEST(callback_abort) {
  struct collect c = {0};
  c.stop_after = 2;
  struct au_err e = AU_ERR_INIT;
  const char *in = "a\nb\nc\nd\n";
  CHECK_EQ_INT(run(NULL, ',', in, strlen(in), 3, &c, &e), AU_E_CANCELLED);
  CHECK_EQ_INT(c.nrows, 2);
  CHECK_EQ_STR(e.msg, "stop requested");
  au_buf_release(&c.out);
}

TEST(other_delimiter) {
  struct collect c = {0};
  struct au_err e = AU_ERR_INIT;
  const char *in = "a;b,c;\"d;e\"\n";
  CHECK_EQ_INT(run(NULL, ';', in, strlen(in), 2, &c, &e), 0);
  CHECK_EQ_STR(c.out.ptr, "1:1[a][b,c][d;e]\n");
  au_buf_release(&c.out);
}

static int keep_header(void *arg, const struct au_csv_row *row, struct au_err *err) {
  int *idx = arg;
  idx[0] = au_csv_header_index(row, "DSTFlag", 0);
  idx[1] = au_csv_header_index(row, "dstflag", AU_CSV_ICASE);
  idx[2] = au_csv_header_index(row, "dstflag", AU_CSV_LOOSE);
  idx[3] = au_csv_header_index(row, "hour_ending", AU_CSV_LOOSE);
  idx[4] = au_csv_header_index(row, "DELIVERYDATE", AU_CSV_ICASE);
  idx[5] = au_csv_header_index(row, "DeliveryDate", 0);
  idx[6] = au_csv_header_index(row, "deliverydate", 0);
  idx[7] = au_csv_header_index(row, "Time Stamp", AU_CSV_LOOSE);
  idx[8] = au_csv_header_index(row, "  time_stamp ", AU_CSV_LOOSE);
  idx[9] = au_csv_header_index(row, "time", AU_CSV_LOOSE);
  return 1;
}

TEST(header_index) {
  int idx[10];
  struct au_err e = AU_ERR_INIT;
  struct au_csv *p = au_csv_new(NULL, ',', keep_header, idx);
  const char *h = "DeliveryDate,Hour Ending,North,DSTFlag    ,TIME_STAMP\n";
  CHECK_EQ_INT(au_csv_feed(p, h, strlen(h), &e), AU_E_CANCELLED);
  au_csv_free(p);
  CHECK_EQ_INT(idx[0], -1); /* trailing spaces: exact match fails */
  CHECK_EQ_INT(idx[1], -1);
  CHECK_EQ_INT(idx[2], 3);
  CHECK_EQ_INT(idx[3], 1);
  CHECK_EQ_INT(idx[4], 0);
  CHECK_EQ_INT(idx[5], 0);
  CHECK_EQ_INT(idx[6], -1);
  CHECK_EQ_INT(idx[7], 4);
  CHECK_EQ_INT(idx[8], 4);
  CHECK_EQ_INT(idx[9], -1);
}

static double pd(const char *s, int *rc) {
  double v = -12345.0;
  *rc = au_parse_double(s, strlen(s), &v);
  return v;
}

TEST(parse_double) {
  int rc;
  CHECK_NEAR(pd(".92", &rc), 0.92, 1e-12);
  CHECK_EQ_INT(rc, 0);
  CHECK_NEAR(pd("-.67", &rc), -0.67, 1e-12);
  CHECK_EQ_INT(rc, 0);
  CHECK_NEAR(pd("1e3", &rc), 1000.0, 0);
  CHECK_EQ_INT(rc, 0);
  CHECK_NEAR(pd("+5", &rc), 5.0, 0);
  CHECK_EQ_INT(rc, 0);
  CHECK_NEAR(pd("  12.5  ", &rc), 12.5, 0);
  CHECK_EQ_INT(rc, 0);
  CHECK_NEAR(pd("5.", &rc), 5.0, 0);
  CHECK_EQ_INT(rc, 0);
  CHECK_NEAR(pd("13005.493749755861875", &rc), 13005.493749755861875, 1e-9);
  CHECK_EQ_INT(rc, 0);
  CHECK_NEAR(pd("-1.5E-2", &rc), -0.015, 1e-15);
  CHECK_EQ_INT(rc, 0);
  CHECK_NEAR(pd("0", &rc), 0.0, 0);
  CHECK_EQ_INT(rc, 0);
  const char *bad[] = {"abc", "", "   ", "1.2.3", "inf", "-inf", "nan", "NaN", "0x10", "1e",
                       "-", ".", "+", "1e999", "1,5", "12a", "--1", "1 2", "e5", "1e+"};
  for (size_t i = 0; i < AU_ARRAY_LEN(bad); i++) {
    double v = 7.0;
    int r = au_parse_double(bad[i], strlen(bad[i]), &v);
    if (r != AU_E_PARSE)
      fprintf(stderr, "  '%s' accepted\n", bad[i]);
    CHECK_EQ_INT(r, AU_E_PARSE);
    CHECK_NEAR(v, 7.0, 0); /* untouched */
  }
  /* bounded: only len bytes are read */
  double v = 0;
  CHECK_EQ_INT(au_parse_double("12.5xyz", 4, &v), 0);
  CHECK_NEAR(v, 12.5, 0);
  CHECK_EQ_INT(au_parse_double("1234", 2, &v), 0);
  CHECK_NEAR(v, 12, 0);
}

TEST(parse_int64) {
  int64_t v = 0;
  CHECK_EQ_INT(au_parse_int64("42", 2, &v), 0);
  CHECK_EQ_INT(v, 42);
  CHECK_EQ_INT(au_parse_int64(" -7 ", 4, &v), 0);
  CHECK_EQ_INT(v, -7);
  CHECK_EQ_INT(au_parse_int64("+9223372036854775807", 20, &v), 0);
  CHECK(v == INT64_MAX);
  CHECK_EQ_INT(au_parse_int64("-9223372036854775808", 20, &v), 0);
  CHECK(v == INT64_MIN);
  v = 5;
  CHECK_EQ_INT(au_parse_int64("9223372036854775808", 19, &v), AU_E_PARSE);
  CHECK_EQ_INT(au_parse_int64("-9223372036854775809", 20, &v), AU_E_PARSE);
  CHECK_EQ_INT(au_parse_int64("99999999999999999999", 20, &v), AU_E_PARSE);
  CHECK_EQ_INT(au_parse_int64("1.0", 3, &v), AU_E_PARSE);
  CHECK_EQ_INT(au_parse_int64("", 0, &v), AU_E_PARSE);
  CHECK_EQ_INT(au_parse_int64("-", 1, &v), AU_E_PARSE);
  CHECK_EQ_INT(au_parse_int64("abc", 3, &v), AU_E_PARSE);
  CHECK_EQ_INT(v, 5);
  CHECK_EQ_INT(au_parse_int64("123456", 3, &v), 0);
  CHECK_EQ_INT(v, 123);
}

TEST(blank_or_dash) {
  const char *yes[] = {"", "   ", "-", " - ", "N/A", "n/a", "NA", " na "};
  const char *no[] = {"0", "x", "--", "NaN", "N/AB", "1-", "NAN"};
  for (size_t i = 0; i < AU_ARRAY_LEN(yes); i++)
    CHECK(au_str_is_blank_or_dash(yes[i], strlen(yes[i])));
  for (size_t i = 0; i < AU_ARRAY_LEN(no); i++)
    CHECK(!au_str_is_blank_or_dash(no[i], strlen(no[i])));
  CHECK(au_str_is_blank_or_dash("-5", 1));
}

static int count_cb(void *arg, const struct au_csv_row *row, struct au_err *err) {
  uint64_t *n = arg;
  n[0]++;
  n[1] += row->nfields;
  return 0;
}

TEST(throughput) {
  /* ~32 MB of CAISO-like rows; prints MB/s (sanitizer builds are much slower). */
  const char *line = "2025-02-19T08:00:00-00:00,2025-02-19T09:00:00-00:00,0,2025-02-19,1,0,7DA,"
                     "AVA,\"Demand Forecast 7-Day Ahead\",SYS_FCST_7DA_MW,0.8,1275.14,7DA,1\n";
  size_t ll = strlen(line), reps = (32u << 20) / ll;
  char *in = malloc(ll * reps);
  for (size_t i = 0; i < reps; i++)
    memcpy(in + i * ll, line, ll);
  uint64_t n[2] = {0, 0};
  struct au_err e = AU_ERR_INIT;
  struct au_csv *p = au_csv_new(NULL, ',', count_cb, n);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int rc = 0;
  for (size_t off = 0; off < ll * reps && !rc; off += 65536)
    rc = au_csv_feed(p, in + off, ll * reps - off < 65536 ? ll * reps - off : 65536, &e);
  if (!rc)
    rc = au_csv_finish(p, &e);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  au_csv_free(p);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(n[0], reps);
  CHECK_EQ_INT(n[1], reps * 14);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  fprintf(stderr, "  csv throughput: %.0f MB/s\n", (double)(ll * reps) / 1e6 / s);
  free(in);
}

TEST_LIST{T(simple_rows),
          T(quoted_fields),
          T(line_ends),
          T(bom),
          T(embedded_newlines_and_blank_lines),
          T(errors_with_positions),
          T(limits),
          T(callback_abort),
          T(other_delimiter),
          T(header_index),
          T(parse_double),
          T(parse_int64),
          T(blank_or_dash),
          T(throughput)};

AU_TEST_MAIN()
