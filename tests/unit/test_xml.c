/* test_xml.c - record-oriented XML reading: CAISO OASISReport REPORT_DATA (plain and
 * m:-prefixed), nested IESO-style records, first-element text, malformed input with a
 * line, and no external entity loading. */
#include "core/au.h"
#include "core/buf.h"
#include "parse/csv.h"
#include "parse/xml.h"

#include "au_test.h"

struct recs {
  int n;
  int lines[16];
  char dump[16][512]; /* "NAME=value|NAME=value|" */
  size_t nfields[16];
  double value_sum;
  int stop_after;
};

static int rec_cb(void *arg, const struct au_xml_record *r, struct au_err *err) {
  struct recs *s = arg;
  if (s->n < 16) {
    s->lines[s->n] = r->line;
    s->nfields[s->n] = r->n;
    size_t off = 0;
    s->dump[s->n][0] = 0;
    for (size_t i = 0; i < r->n && off < sizeof(s->dump[0]); i++)
      off += (size_t)snprintf(s->dump[s->n] + off, sizeof(s->dump[0]) - off, "%s=%s|",
                              r->names[i], r->values[i]);
  }
  for (size_t i = 0; i < r->n; i++) {
    double v;
    if (strcmp(r->names[i], "VALUE") == 0 && au_parse_double(r->values[i], strlen(r->values[i]), &v) == 0)
      s->value_sum += v;
  }
  s->n++;
  if (s->stop_after && s->n >= s->stop_after)
    return au_err_set(err, AU_E_CANCELLED, "enough records");
  return 0;
}

TEST(caiso_sld_fcst_rtm) {
  size_t len;
  char *x = au_test_read_file(au_test_data("caiso/caiso_oasis_SLD_FCST_RTM_xml_trimmed.xml"), &len);
  struct recs s = {0};
  struct au_err e = AU_ERR_INIT;
  int rc = au_xml_records(x, len, "REPORT_DATA", rec_cb, &s, &e);
  if (rc)
    fprintf(stderr, "  %s\n", e.msg);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(s.n, 3);
  CHECK_EQ_INT(s.nfields[0], 7);
  CHECK_EQ_STR(s.dump[0], "DATA_ITEM=SYS_FCST_15MIN_MW|RESOURCE_NAME=CA ISO-TAC|OPR_DATE=2014-05-08|"
                          "INTERVAL_NUM=50|INTERVAL_START_GMT=2014-05-08T19:15:00-00:00|"
                          "INTERVAL_END_GMT=2014-05-08T19:30:00-00:00|VALUE=26723|");
  CHECK(strstr(s.dump[2], "RESOURCE_NAME=PGE-TAC|") != NULL);
  CHECK(strstr(s.dump[2], "VALUE=11530|") != NULL);
  CHECK_EQ_INT(s.lines[0], 22);
  CHECK_EQ_INT(s.lines[1], 31);
  CHECK_EQ_INT(s.lines[2], 40);
  CHECK_NEAR(s.value_sum, 26723 + 26755 + 11530, 1e-9);

  /* the header is a record too */
  struct recs h = {0};
  CHECK_EQ_INT(au_xml_records(x, len, "REPORT_HEADER", rec_cb, &h, &e), 0);
  CHECK_EQ_INT(h.n, 1);
  CHECK(strstr(h.dump[0], "SEC_PER_INTERVAL=900|") != NULL);

  char out[16];
  CHECK_EQ_INT(au_xml_find_text(x, len, "SEC_PER_INTERVAL", out, sizeof out), 0);
  CHECK_EQ_STR(out, "900");
  CHECK_EQ_INT(au_xml_find_text(x, len, "SEC_PER_INTERVAL", out, 3), 0);
  CHECK_EQ_STR(out, "90"); /* truncated */
  CHECK_EQ_INT(au_xml_find_text(x, len, "ERR_CODE", out, sizeof out), AU_E_NOTFOUND);
  CHECK_EQ_INT(au_xml_find_text(x, len, "VALUE", out, sizeof out), 0);
  CHECK_EQ_STR(out, "26723");
  free(x);
}

TEST(caiso_ene_slrs_dam) {
  /* This recorded (trimmed) sample is not well-formed: </REPORT_ITEM> is missing, so the
   * six records arrive and then the parse fails at line 78, where </RTO> appears. */
  size_t len;
  char *x = au_test_read_file(au_test_data("caiso/caiso_oasis_ENE_SLRS_DAM_xml_trimmed.xml"), &len);
  struct recs s = {0};
  struct au_err e = AU_ERR_INIT;
  CHECK_EQ_INT(au_xml_records(x, len, "REPORT_DATA", rec_cb, &s, &e), AU_E_PARSE);
  CHECK_EQ_STR(e.msg, "xml line 78: Opening and ending tag mismatch: REPORT_ITEM line 11 and RTO");
  CHECK_EQ_INT(s.n, 6);
  CHECK_NEAR(s.value_sum, 65272.75, 1e-6);
  CHECK(strstr(s.dump[2], "DATA_ITEM=ISO_TOT_GEN_MW|") != NULL);
  CHECK(strstr(s.dump[2], "INTERVAL_NUM=18|") != NULL);
  CHECK(strstr(s.dump[2], "VALUE=27521.96|") != NULL);
  CHECK_EQ_INT(s.lines[0], 21);
  CHECK_EQ_INT(s.lines[5], 66);

  /* stop early from the callback: the callback's code and message win */
  struct recs s2 = {0};
  s2.stop_after = 2;
  au_err_clear(&e);
  CHECK_EQ_INT(au_xml_records(x, len, "REPORT_DATA", rec_cb, &s2, &e), AU_E_CANCELLED);
  CHECK_EQ_STR(e.msg, "enough records");
  CHECK_EQ_INT(s2.n, 2);

  /* the first element is found before the damage */
  char out[32];
  CHECK_EQ_INT(au_xml_find_text(x, len, "MKT_TYPE", out, sizeof out), 0);
  CHECK_EQ_STR(out, "DAM");
  CHECK_EQ_INT(au_xml_find_text(x, len, "ERR_CODE", out, sizeof out), AU_E_PARSE);
  free(x);
}

TEST(prefixed_and_odd_content) {
  const char *x =
      "<?xml version=\"1.0\"?>\n"
      "<m:OASISReport xmlns:m=\"http://www.caiso.com/soa/OASISReport_v1.xsd\">\n"
      "<m:REPORT_DATA>\n"
      "  <m:DATA_ITEM> LMP_PRC </m:DATA_ITEM>\n"
      "  <m:NOTE><![CDATA[a<b & c]]></m:NOTE>\n"
      "  <m:EMPTY/>\n"
      "  <m:AMP>R&amp;D &lt;1&gt;</m:AMP>\n"
      "  <m:VALUE>-.67</m:VALUE>\n"
      "</m:REPORT_DATA>\n"
      "<m:REPORT_DATA/>\n"
      "</m:OASISReport>\n";
  struct recs s = {0};
  struct au_err e = AU_ERR_INIT;
  CHECK_EQ_INT(au_xml_records(x, strlen(x), "REPORT_DATA", rec_cb, &s, &e), 0);
  CHECK_EQ_INT(s.n, 2);
  CHECK_EQ_STR(s.dump[0], "DATA_ITEM=LMP_PRC|NOTE=a<b & c|EMPTY=|AMP=R&D <1>|VALUE=-.67|");
  CHECK_EQ_INT(s.lines[0], 3);
  CHECK_EQ_INT(s.nfields[1], 0);
  CHECK_EQ_INT(s.lines[1], 10);
  CHECK_NEAR(s.value_sum, -0.67, 1e-12);
  char out[32];
  CHECK_EQ_INT(au_xml_find_text(x, strlen(x), "AMP", out, sizeof out), 0);
  CHECK_EQ_STR(out, "R&D <1>");
  CHECK_EQ_INT(au_xml_find_text(x, strlen(x), "EMPTY", out, sizeof out), 0);
  CHECK_EQ_STR(out, "");
}

TEST(nested_records) {
  /* IESO GenOutputCapability shape: leaves of the subtree, in order */
  const char *x = "<IMODocument xmlns=\"http://www.theIMO.com/schema\"><IMODocBody><Generators>\n"
                  "<Generator><GeneratorName>BRUCEA-G1</GeneratorName><FuelType>NUCLEAR</FuelType>\n"
                  "<Outputs><Output><Hour>1</Hour><EnergyMW>826</EnergyMW></Output>\n"
                  "<Output><Hour>2</Hour><EnergyMW>827</EnergyMW></Output></Outputs></Generator>\n"
                  "<Generator><GeneratorName>LENNOX-G1</GeneratorName><FuelType>GAS</FuelType>"
                  "<Outputs/></Generator>\n"
                  "</Generators></IMODocBody></IMODocument>\n";
  struct recs s = {0};
  struct au_err e = AU_ERR_INIT;
  CHECK_EQ_INT(au_xml_records(x, strlen(x), "Generator", rec_cb, &s, &e), 0);
  CHECK_EQ_INT(s.n, 2);
  CHECK_EQ_STR(s.dump[0], "GeneratorName=BRUCEA-G1|FuelType=NUCLEAR|Hour=1|EnergyMW=826|Hour=2|"
                          "EnergyMW=827|");
  CHECK_EQ_STR(s.dump[1], "GeneratorName=LENNOX-G1|FuelType=GAS|Outputs=|");
  CHECK_EQ_INT(s.lines[1], 5);
  struct recs o = {0};
  CHECK_EQ_INT(au_xml_records(x, strlen(x), "Output", rec_cb, &o, &e), 0);
  CHECK_EQ_INT(o.n, 2);
  CHECK_EQ_STR(o.dump[1], "Hour=2|EnergyMW=827|");
}

TEST(malformed_reports_line) {
  const char *x = "<a>\n<REPORT_DATA>\n<V>1</V>\n</REPORT_DATA>\n<REPORT_DATA><V>2</X>\n</a>\n";
  struct recs s = {0};
  struct au_err e = AU_ERR_INIT;
  int rc = au_xml_records(x, strlen(x), "REPORT_DATA", rec_cb, &s, &e);
  CHECK_EQ_INT(rc, AU_E_PARSE);
  fprintf(stderr, "  malformed: %s\n", e.msg);
  CHECK_EQ_STR(e.msg, "xml line 5: Opening and ending tag mismatch: V line 5 and X");
  char out[8];
  CHECK_EQ_INT(au_xml_find_text(x, strlen(x), "NOPE", out, sizeof out), AU_E_PARSE);

  /* a long document: records before the damage are delivered, the line is exact */
  struct au_buf b = AU_BUF_INIT(0);
  CHECK_EQ_INT(au_buf_adds(&b, "<a>\n"), 0);
  for (int i = 0; i < 2000; i++)
    CHECK_EQ_INT(au_buf_printf(&b, "<R>\n<V>%d</V>\n</R>\n", i), 0);
  CHECK_EQ_INT(au_buf_adds(&b, "<R><V>x</V>\n<W>y</R>\n</a>\n"), 0); /* line 6003 */
  memset(&s, 0, sizeof s);
  au_err_clear(&e);
  CHECK_EQ_INT(au_xml_records(b.ptr, b.len, "R", rec_cb, &s, &e), AU_E_PARSE);
  CHECK(strncmp(e.msg, "xml line 6003: ", 15) == 0);
  fprintf(stderr, "  long: %s (%d records first)\n", e.msg, s.n);
  CHECK(s.n > 1000 && s.n <= 2000);
  CHECK_NEAR(s.value_sum, 0, 0); /* no VALUE element */
  CHECK_EQ_INT(au_xml_find_text(b.ptr, b.len, "V", out, sizeof out), 0);
  CHECK_EQ_STR(out, "0");
  au_buf_release(&b);

  /* truncated real file */
  size_t len;
  char *f = au_test_read_file(au_test_data("caiso/caiso_oasis_SLD_FCST_RTM_xml_trimmed.xml"), &len);
  au_err_clear(&e);
  memset(&s, 0, sizeof s);
  rc = au_xml_records(f, len / 2, "REPORT_DATA", rec_cb, &s, &e);
  CHECK_EQ_INT(rc, AU_E_PARSE);
  CHECK(strncmp(e.msg, "xml line ", 9) == 0);
  fprintf(stderr, "  truncated: %s\n", e.msg);
  free(f);

  /* not XML at all, and empty */
  au_err_clear(&e);
  CHECK_EQ_INT(au_xml_records("hello, world", 12, "R", rec_cb, &s, &e), AU_E_PARSE);
  CHECK(strstr(e.msg, "xml line 1") != NULL);
  au_err_clear(&e);
  CHECK_EQ_INT(au_xml_records("", 0, "R", rec_cb, &s, &e), AU_E_PARSE);
  CHECK_EQ_INT(au_xml_find_text("", 0, "R", out, sizeof out), AU_E_PARSE);
}

TEST(no_external_entities) {
  const char *x = "<?xml version=\"1.0\"?>\n"
                  "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
                  "<r><REC><V>&xxe;</V></REC></r>\n";
  struct recs s = {0};
  struct au_err e = AU_ERR_INIT;
  int rc = au_xml_records(x, strlen(x), "REC", rec_cb, &s, &e);
  CHECK(rc == 0 || rc == AU_E_PARSE);
  CHECK(strstr(s.dump[0], "root:") == NULL);
  char out[256];
  rc = au_xml_find_text(x, strlen(x), "V", out, sizeof out);
  CHECK(rc != 0 || strstr(out, "root:") == NULL);

  /* billion laughs: must finish (limits or no substitution), never expand */
  const char *bl = "<?xml version=\"1.0\"?>\n<!DOCTYPE l [\n<!ENTITY a \"aaaaaaaaaa\">\n"
                   "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
                   "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
                   "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
                   "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
                   "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
                   "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n]>\n"
                   "<l><REC><V>&g;</V></REC></l>\n";
  memset(&s, 0, sizeof s);
  au_err_clear(&e);
  rc = au_xml_records(bl, strlen(bl), "REC", rec_cb, &s, &e);
  CHECK(rc == 0 || rc == AU_E_PARSE);
  CHECK(strlen(s.dump[0]) < 100);
}

TEST_LIST{T(caiso_sld_fcst_rtm), T(caiso_ene_slrs_dam), T(prefixed_and_odd_content),
          T(nested_records), T(malformed_reports_line), T(no_external_entities)};

AU_TEST_MAIN()
