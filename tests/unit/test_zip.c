/* test_zip.c - streaming ZIP reader on real CAISO OASIS responses, the in-memory writer
 * (round trip), corrupt / truncated input and the zip-bomb limits. */
#include "core/au.h"
#include "core/buf.h"
#include "parse/csv.h"
#include "parse/xml.h"
#include "parse/zip.h"
#include "parse/zipwrite.h"

#include "au_test.h"

/* ---- a consumer that pipes each member through the CSV parser ------------------------ */

struct csvsum {
  struct au_csv *csv;
  char name[256];
  uint64_t declared, bytes, chunks, max_chunk, members, ends;
  uint64_t rows;
  int mw_col, tac_col;
  double mw_sum;
  uint64_t tac_rows;
  int skip_all;
};

static int sum_row(void *arg, const struct au_csv_row *row, struct au_err *err) {
  struct csvsum *s = arg;
  s->rows++;
  if (row->row == 1) {
    s->mw_col = au_csv_header_index(row, "MW", 0);
    s->tac_col = au_csv_header_index(row, "tac_area_name", AU_CSV_LOOSE);
    return s->mw_col < 0 ? au_err_set(err, AU_E_PARSE, "no MW column") : 0;
  }
  if ((size_t)s->mw_col >= row->nfields)
    return au_err_set(err, AU_E_PARSE, "short row %llu", (unsigned long long)row->row);
  double v;
  int rc = au_parse_double(row->fields[s->mw_col], row->lens[s->mw_col], &v);
  if (rc)
    return au_err_set(err, rc, "row %llu: bad MW '%s'", (unsigned long long)row->row,
                      row->fields[s->mw_col]);
  s->mw_sum += v;
  if (s->tac_col >= 0 && strcmp(row->fields[s->tac_col], "CA ISO-TAC") == 0)
    s->tac_rows++;
  return 0;
}

static int on_member(void *arg, const char *name, uint64_t size, struct au_err *err) {
  struct csvsum *s = arg;
  s->members++;
  snprintf(s->name, sizeof(s->name), "%s", name);
  s->declared = size;
  if (s->skip_all)
    return 1;
  s->csv = au_csv_new(NULL, ',', sum_row, s);
  return 0;
}

static int on_data(void *arg, const char *data, size_t len, struct au_err *err) {
  struct csvsum *s = arg;
  s->bytes += len;
  s->chunks++;
  if (len > s->max_chunk)
    s->max_chunk = len;
  return au_csv_feed(s->csv, data, len, err);
}

static int on_end(void *arg, struct au_err *err) {
  struct csvsum *s = arg;
  s->ends++;
  int rc = au_csv_finish(s->csv, err);
  au_csv_free(s->csv);
  s->csv = NULL;
  return rc;
}

static void check_caiso_csv(const char *file, const char *member_suffix, uint64_t size,
                            uint64_t rows, double mw_sum, uint64_t tac_rows) {
  size_t len;
  char *zip = au_test_read_file(au_test_data(file), &len);
  CHECK(au_zip_looks_like(zip, len));
  struct csvsum s = {0};
  struct au_err e = AU_ERR_INIT;
  int rc = au_zip_each(zip, len, NULL, on_member, on_data, on_end, &s, &e);
  if (rc)
    fprintf(stderr, "  %s: %s\n", file, e.msg);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(s.members, 1);
  CHECK_EQ_INT(s.ends, 1);
  size_t nl = strlen(s.name), sl = strlen(member_suffix);
  CHECK(nl >= sl && strcmp(s.name + nl - sl, member_suffix) == 0);
  CHECK_EQ_INT(s.declared, size);
  CHECK_EQ_INT(s.bytes, size);
  CHECK(s.chunks > 1); /* streamed, not inflated whole */
  CHECK(s.max_chunk <= AU_ZIP_CHUNK);
  CHECK_EQ_INT(s.rows, rows);
  CHECK_NEAR(s.mw_sum, mw_sum, 1e-3);
  CHECK_EQ_INT(s.tac_rows, tac_rows);
  au_csv_free(s.csv);
  free(zip);
}

TEST(caiso_7da_csv) {
  check_caiso_csv("caiso/caiso_oasis_SLD_FCST_7DA_csv.zip",
                  "20250219_20250227_SLD_FCST_7DA_20250221_01_09_58_v1.csv", 918292, 6433,
                  16701193.39999994, 192);
}

TEST(caiso_20230812_csv) {
  check_caiso_csv("caiso/caiso_oasis_SLD_FCST_20230812_csv.zip", "_SLD_FCST_N_20231115_21_27_45_v1.csv",
                  2360019, 16729, 55377299.92000008, 480);
}

TEST(skip_member) {
  size_t len;
  char *zip = au_test_read_file(au_test_data("caiso/caiso_oasis_SLD_FCST_7DA_csv.zip"), &len);
  struct csvsum s = {0};
  s.skip_all = 1;
  struct au_err e = AU_ERR_INIT;
  CHECK_EQ_INT(au_zip_each(zip, len, NULL, on_member, on_data, on_end, &s, &e), 0);
  CHECK_EQ_INT(s.members, 1);
  CHECK_EQ_INT(s.bytes, 0);
  CHECK_EQ_INT(s.ends, 0);
  free(zip);
}

/* ---- collect members into memory ---------------------------------------------------- */

struct grab {
  char names[8][128];
  struct au_buf data[8];
  int n;
  int abort_data;
};

static int grab_member(void *arg, const char *name, uint64_t size, struct au_err *err) {
  struct grab *g = arg;
  if (g->n >= 8)
    return au_err_set(err, AU_E_TOOBIG, "too many");
  snprintf(g->names[g->n], sizeof(g->names[0]), "%s", name);
  au_buf_init(&g->data[g->n], 64u << 20);
  g->n++;
  return 0;
}

static int grab_data(void *arg, const char *data, size_t len, struct au_err *err) {
  struct grab *g = arg;
  if (g->abort_data)
    return au_err_set(err, AU_E_CANCELLED, "consumer gave up");
  return au_buf_add(&g->data[g->n - 1], data, len);
}

static void grab_free(struct grab *g) {
  for (int i = 0; i < g->n; i++)
    au_buf_release(&g->data[i]);
}

TEST(caiso_error_zip) {
  size_t len;
  char *zip = au_test_read_file(au_test_data("caiso/caiso_oasis_error_1000_no_data_xml.zip"), &len);
  struct grab g = {0};
  struct au_err e = AU_ERR_INIT;
  CHECK_EQ_INT(au_zip_each(zip, len, NULL, grab_member, grab_data, NULL, &g, &e), 0);
  CHECK_EQ_INT(g.n, 1);
  CHECK_EQ_STR(g.names[0], "20231212_20231213_SLD_FCST_N_20231116_10_39_53_v1.xml");
  CHECK_EQ_INT(g.data[0].len, 729);
  char code[32], desc[128];
  CHECK_EQ_INT(au_xml_find_text(g.data[0].ptr, g.data[0].len, "ERR_CODE", code, sizeof code), 0);
  CHECK_EQ_STR(code, "1000");
  CHECK_EQ_INT(au_xml_find_text(g.data[0].ptr, g.data[0].len, "ERR_DESC", desc, sizeof desc), 0);
  CHECK_EQ_STR(desc, "No data returned for the specified selection");
  CHECK_EQ_INT(au_xml_find_text(g.data[0].ptr, g.data[0].len, "REPORT_DATA", desc, sizeof desc),
               AU_E_NOTFOUND);
  grab_free(&g);
  free(zip);
}

TEST(roundtrip) {
  size_t big_len = 300000;
  char *big = malloc(big_len);
  for (size_t i = 0; i < big_len; i++)
    big[i] = "0123456789,\n"[(i * 7 + i / 13) % 12];
  char bin[256];
  for (int i = 0; i < 256; i++)
    bin[i] = (char)i;
  const char *names[] = {"a.csv", "dir/empty.txt", "big.csv", "bin.dat"};
  const char *datas[] = {"h1,h2\n1,2\n", "", big, bin};
  size_t lens[] = {10, 0, big_len, 256};
  struct au_buf out = AU_BUF_INIT(0);
  struct au_err e = AU_ERR_INIT;
  int rc = au_zipw_build(&out, names, datas, lens, 4, &e);
  if (rc)
    fprintf(stderr, "  %s\n", e.msg);
  CHECK_EQ_INT(rc, 0);
  CHECK(au_zip_looks_like(out.ptr, out.len));
  CHECK(out.len < big_len / 2); /* deflated */

  struct grab g = {0};
  rc = au_zip_each(out.ptr, out.len, NULL, grab_member, grab_data, NULL, &g, &e);
  if (rc)
    fprintf(stderr, "  %s\n", e.msg);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(g.n, 4);
  for (int i = 0; i < g.n && i < 4; i++) {
    CHECK_EQ_STR(g.names[i], names[i]);
    CHECK_EQ_INT(g.data[i].len, lens[i]);
    CHECK(g.data[i].len == lens[i] && (lens[i] == 0 || memcmp(g.data[i].ptr, datas[i], lens[i]) == 0));
  }
  grab_free(&g);

  /* appends to an existing buffer: the second archive follows the first */
  size_t first = out.len;
  CHECK_EQ_INT(au_zipw_build(&out, names, datas, lens, 1, &e), 0);
  CHECK(out.len > first);
  CHECK(au_zip_looks_like(out.ptr + first, out.len - first));

  /* abort from the data callback */
  struct grab g2 = {0};
  g2.abort_data = 1;
  au_err_clear(&e);
  CHECK_EQ_INT(au_zip_each(out.ptr, first, NULL, grab_member, grab_data, NULL, &g2, &e),
               AU_E_CANCELLED);
  CHECK_EQ_STR(e.msg, "zip member 'a.csv': consumer gave up");
  grab_free(&g2);

  /* duplicate names are refused */
  const char *dup[] = {"x", "x"};
  au_err_clear(&e);
  CHECK(au_zipw_build(&out, dup, datas, lens, 2, &e) < 0);
  au_buf_release(&out);
  free(big);
}

/* The simulator's variant: pinned mtime (same bytes twice), any deflate level reads back,
 * level 1 is what the simulator uses; out-of-range levels are refused. */
TEST(build_at_levels) {
  char text[20000];
  for (size_t i = 0; i < sizeof(text); i++)
    text[i] = "0123456789,ABCDEF\n"[i % 18];
  const char *names[] = {"PRC_LMP.csv"};
  const char *datas[] = {text};
  size_t lens[] = {sizeof(text)};
  au_time mt = au_time_utc(2024, 3, 10, 12, 0, 0);
  struct au_err e = AU_ERR_INIT;
  size_t sz[3] = {0};
  int levels[] = {0, 1, 9};
  for (int k = 0; k < 3; k++) {
    struct au_buf a = AU_BUF_INIT(0), b = AU_BUF_INIT(0);
    CHECK_EQ_INT(au_zipw_build_at(&a, names, datas, lens, 1, mt, levels[k], &e), 0);
    CHECK_EQ_INT(au_zipw_build_at(&b, names, datas, lens, 1, mt, levels[k], &e), 0);
    CHECK(a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0);
    struct grab g = {0};
    CHECK_EQ_INT(au_zip_each(a.ptr, a.len, NULL, grab_member, grab_data, NULL, &g, &e), 0);
    CHECK_EQ_INT(g.n, 1);
    CHECK(g.n == 1 && g.data[0].len == sizeof(text) && memcmp(g.data[0].ptr, text, sizeof(text)) == 0);
    grab_free(&g);
    sz[k] = a.len;
    au_buf_release(&a);
    au_buf_release(&b);
  }
  CHECK(sz[1] < sizeof(text)); /* level 1 still compresses */
  struct au_buf c = AU_BUF_INIT(0);
  CHECK(au_zipw_build_at(&c, names, datas, lens, 1, mt, 10, &e) < 0);
  CHECK(au_zipw_build_at(&c, names, datas, lens, 1, mt, -1, &e) < 0);
  au_buf_release(&c);
}

TEST(empty_archive) {
  struct au_buf out = AU_BUF_INIT(0);
  struct au_err e = AU_ERR_INIT;
  CHECK_EQ_INT(au_zipw_build(&out, NULL, NULL, NULL, 0, &e), 0);
  CHECK_EQ_INT(out.len, 22);
  CHECK(au_zip_looks_like(out.ptr, out.len));
  struct grab g = {0};
  CHECK_EQ_INT(au_zip_each(out.ptr, out.len, NULL, grab_member, grab_data, NULL, &g, &e), 0);
  CHECK_EQ_INT(g.n, 0);
  au_buf_release(&out);
}

TEST(corrupt_input) {
  struct au_err e = AU_ERR_INIT;
  struct csvsum s = {0};
  CHECK(!au_zip_looks_like("hello", 5));
  CHECK(!au_zip_looks_like(NULL, 0));
  CHECK_EQ_INT(au_zip_each("hello world", 11, NULL, on_member, on_data, on_end, &s, &e), AU_E_PARSE);
  CHECK(strstr(e.msg, "not a zip") != NULL);
  au_err_clear(&e);
  CHECK_EQ_INT(au_zip_each("", 0, NULL, on_member, on_data, on_end, &s, &e), AU_E_PARSE);

  size_t len;
  char *zip = au_test_read_file(au_test_data("caiso/caiso_oasis_SLD_FCST_7DA_csv.zip"), &len);
  /* truncated anywhere: an error, never a crash (central directory lost) */
  size_t cuts[] = {4, 30, 100, len / 2, len - 30, len - 1};
  for (size_t i = 0; i < AU_ARRAY_LEN(cuts); i++) {
    au_err_clear(&e);
    memset(&s, 0, sizeof s);
    int rc = au_zip_each(zip, cuts[i], NULL, on_member, on_data, on_end, &s, &e);
    CHECK(rc < 0);
    CHECK(e.msg[0] != 0);
    au_csv_free(s.csv);
  }
  /* damaged compressed data: the member name and byte offset are reported, either by
   * zlib / the CRC check, or (garbage that inflates) by the consumer, prefixed */
  char *bad = malloc(len);
  for (size_t at = 100; at < len - 200; at += 9973) {
    memcpy(bad, zip, len);
    for (size_t i = at; i < at + 16; i++)
      bad[i] ^= 0x5A;
    struct grab g = {0};
    au_err_clear(&e);
    int rc = au_zip_each(bad, len, NULL, grab_member, grab_data, NULL, &g, &e);
    CHECK_EQ_INT(rc, AU_E_PARSE);
    CHECK(strstr(e.msg, "zip member '20250219_20250227_SLD_FCST_7DA") != NULL);
    CHECK(strstr(e.msg, " at byte ") != NULL);
    if (at == 100)
      fprintf(stderr, "  damaged: %s\n", e.msg);
    grab_free(&g);

    au_err_clear(&e);
    memset(&s, 0, sizeof s);
    rc = au_zip_each(bad, len, NULL, on_member, on_data, on_end, &s, &e);
    CHECK(rc < 0);
    CHECK(strstr(e.msg, "zip member '20250219_20250227_SLD_FCST_7DA") != NULL);
    au_csv_free(s.csv);
  }
  free(bad);
  free(zip);
}

TEST(limits) {
  size_t len;
  char *zip = au_test_read_file(au_test_data("caiso/caiso_oasis_SLD_FCST_20230812_csv.zip"), &len);
  struct au_err e = AU_ERR_INIT;
  struct csvsum s = {0};
  struct au_zip_limits l1 = {1000, 0, 0, 0};
  CHECK_EQ_INT(au_zip_each(zip, len, &l1, on_member, on_data, on_end, &s, &e), AU_E_TOOBIG);
  CHECK(strstr(e.msg, "zip member '20230812_20230813_SLD_FCST_N") != NULL);
  CHECK_EQ_INT(s.members, 0); /* refused before the callback */

  struct au_zip_limits l2 = {0, 0, 0, 5.0}; /* real ratio is ~12 */
  au_err_clear(&e);
  CHECK_EQ_INT(au_zip_each(zip, len, &l2, on_member, on_data, on_end, &s, &e), AU_E_TOOBIG);
  CHECK(strstr(e.msg, "ratio") != NULL);

  struct au_zip_limits l3 = {0, 0, 0, 20.0};
  au_err_clear(&e);
  memset(&s, 0, sizeof s);
  CHECK_EQ_INT(au_zip_each(zip, len, &l3, on_member, on_data, on_end, &s, &e), 0);
  free(zip);

  /* member count */
  const char *names[] = {"a", "b", "c"};
  const char *datas[] = {"1", "2", "3"};
  size_t lens[] = {1, 1, 1};
  struct au_buf out = AU_BUF_INIT(0);
  CHECK_EQ_INT(au_zipw_build(&out, names, datas, lens, 3, &e), 0);
  struct au_zip_limits l4 = {0, 0, 2, 0};
  au_err_clear(&e);
  CHECK_EQ_INT(au_zip_each(out.ptr, out.len, &l4, NULL, NULL, NULL, NULL, &e), AU_E_TOOBIG);
  CHECK(strstr(e.msg, "3 members") != NULL);
  struct au_zip_limits l5 = {0, 2, 0, 0}; /* 3 bytes in total > 2 */
  au_err_clear(&e);
  CHECK_EQ_INT(au_zip_each(out.ptr, out.len, &l5, NULL, NULL, NULL, NULL, &e), AU_E_TOOBIG);
  CHECK(strstr(e.msg, "zip member 'c'") != NULL);
  au_buf_release(&out);
}

TEST(zip_bomb) {
  /* 24 MiB of zeros deflates ~1030:1, above the default ratio limit of 1000 */
  size_t n = (size_t)24 << 20;
  char *zeros = calloc(1, n);
  const char *names[] = {"bomb.csv"};
  const char *datas[] = {zeros};
  struct au_buf out = AU_BUF_INIT(0);
  struct au_err e = AU_ERR_INIT;
  CHECK_EQ_INT(au_zipw_build(&out, names, datas, &n, 1, &e), 0);
  free(zeros);
  fprintf(stderr, "  bomb: %zu -> %zu bytes\n", n, out.len);
  struct grab g = {0};
  int rc = au_zip_each(out.ptr, out.len, NULL, grab_member, grab_data, NULL, &g, &e);
  CHECK_EQ_INT(rc, AU_E_TOOBIG);
  CHECK(strstr(e.msg, "bomb.csv") != NULL);
  CHECK_EQ_INT(g.n, 0);
  grab_free(&g);
  au_buf_release(&out);
}

TEST_LIST{T(caiso_7da_csv), T(caiso_20230812_csv), T(skip_member), T(caiso_error_zip),
          T(roundtrip),     T(empty_archive),      T(corrupt_input), T(limits),
          T(zip_bomb), T(build_at_levels)};

AU_TEST_MAIN()
