#include "core/au.h"
#include "parse/xml.h"
#include "core/buf.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_COMPACT | XML_PARSE_BIG_LINES)
#define XML_RECORD_MAX ((size_t)64 << 20) /* bytes of names+values in one record */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static void xml_init(void) { xmlInitParser(); }

/* First error reported by libxml2 for one reader. */
struct xml_errctx {
  int line;
  char msg[256];
  bool set;
};

static void on_xml_error(void *arg, xmlErrorPtr e) {
  struct xml_errctx *ec = arg;
  if (ec->set || !e || e->level < XML_ERR_ERROR)
    return;
  ec->set = true;
  ec->line = e->line;
  snprintf(ec->msg, sizeof(ec->msg), "%s", e->message ? e->message : "malformed XML");
  size_t n = strlen(ec->msg);
  while (n > 0 && (ec->msg[n - 1] == '\n' || ec->msg[n - 1] == '\r' || ec->msg[n - 1] == ' '))
    ec->msg[--n] = 0;
}

/* libxml2 reports some errors (encoding conversion, I/O) through the per-thread generic
 * handler, which prints to stderr; silence it while our reader runs. */
struct quiet {
  xmlGenericErrorFunc fn;
  void *ctx;
};

static void no_print(void *ctx, const char *msg, ...) {
  AU_UNUSED(ctx);
  AU_UNUSED(msg);
}

static void quiet_begin(struct quiet *q) {
  pthread_once(&xml_once, xml_init);
  q->fn = xmlGenericError;
  q->ctx = xmlGenericErrorContext;
  xmlSetGenericErrorFunc(NULL, no_print);
}

static void quiet_end(const struct quiet *q) { xmlSetGenericErrorFunc(q->ctx, q->fn); }

static xmlTextReaderPtr open_reader(const char *buf, size_t len, struct xml_errctx *ec) {
  pthread_once(&xml_once, xml_init);
  memset(ec, 0, sizeof(*ec));
  xmlTextReaderPtr rd = xmlReaderForMemory(buf, (int)len, NULL, NULL, XML_OPTS);
  if (rd)
    xmlTextReaderSetStructuredErrorHandler(rd, on_xml_error, ec);
  return rd;
}

static int reader_fail(xmlTextReaderPtr rd, struct xml_errctx *ec, struct au_err *err) {
  int line = ec->set && ec->line > 0 ? ec->line : xmlTextReaderGetParserLineNumber(rd);
  return au_err_set(err, AU_E_PARSE, "xml line %d: %s", line,
                    ec->set ? ec->msg : "malformed XML");
}

/* Line of the current node's start tag (the parser itself may already be further on). */
static int node_line(xmlTextReaderPtr rd) {
  xmlNodePtr node = xmlTextReaderCurrentNode(rd);
  long line = node ? xmlGetLineNo(node) : -1;
  if (line <= 0 || line > INT_MAX)
    return xmlTextReaderGetParserLineNumber(rd);
  return (int)line;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* ---- records ------------------------------------------------------------------------ */

struct recstate {
  struct au_buf store; /* names and values, NUL-terminated back to back */
  struct au_buf text;  /* text of the innermost open element */
  size_t *noff, *voff;
  const char **names, **values;
  size_t n, cap;
  bool *has_child; /* per level below the record element */
  size_t hcap;
};

static int add_pair(struct recstate *rs, const char *name, struct au_err *err, int line) {
  const char *v = rs->text.ptr ? rs->text.ptr : "";
  size_t vlen = rs->text.len;
  while (vlen > 0 && is_space(*v))
    v++, vlen--;
  while (vlen > 0 && is_space(v[vlen - 1]))
    vlen--;
  if (rs->n == rs->cap) {
    size_t ncap = rs->cap ? rs->cap * 2 : 32;
    rs->noff = au_xrealloc(rs->noff, ncap * sizeof(*rs->noff));
    rs->voff = au_xrealloc(rs->voff, ncap * sizeof(*rs->voff));
    rs->names = au_xrealloc(rs->names, ncap * sizeof(*rs->names));
    rs->values = au_xrealloc(rs->values, ncap * sizeof(*rs->values));
    rs->cap = ncap;
  }
  rs->noff[rs->n] = rs->store.len;
  int rc = au_buf_add(&rs->store, name, strlen(name) + 1);
  if (!rc) {
    rs->voff[rs->n] = rs->store.len;
    rc = au_buf_add(&rs->store, v, vlen);
    if (!rc)
      rc = au_buf_addc(&rs->store, 0);
  }
  if (rc)
    return au_err_set(err, rc, "xml line %d: record exceeds %zu bytes", line, XML_RECORD_MAX);
  rs->n++;
  au_buf_reset(&rs->text);
  return 0;
}

static int emit(struct recstate *rs, int line, au_xml_record_cb cb, void *arg,
                struct au_err *err) {
  for (size_t i = 0; i < rs->n; i++) {
    rs->names[i] = rs->store.ptr + rs->noff[i];
    rs->values[i] = rs->store.ptr + rs->voff[i];
  }
  struct au_xml_record rec = {rs->names, rs->values, rs->n, line};
  int rc = cb ? cb(arg, &rec, err) : 0;
  au_buf_reset(&rs->store);
  au_buf_reset(&rs->text);
  rs->n = 0;
  if (rc) {
    if (rc > 0)
      rc = AU_E_CANCELLED;
    return au_err_set(err, rc, "xml line %d: record callback stopped the parse", line);
  }
  return 0;
}

static void set_has_child(struct recstate *rs, size_t level, bool v) {
  if (level >= rs->hcap) {
    size_t ncap = rs->hcap ? rs->hcap : 16;
    while (ncap <= level)
      ncap *= 2;
    rs->has_child = au_xrealloc(rs->has_child, ncap * sizeof(*rs->has_child));
    memset(rs->has_child + rs->hcap, 0, (ncap - rs->hcap) * sizeof(*rs->has_child));
    rs->hcap = ncap;
  }
  rs->has_child[level] = v;
}

int au_xml_records(const char *buf, size_t len, const char *record_elem, au_xml_record_cb cb,
                   void *arg, struct au_err *err) {
  if (!buf || !record_elem || !*record_elem)
    return au_err_set(err, AU_E_INVAL, "xml: bad arguments");
  if (len > INT_MAX)
    return au_err_set(err, AU_E_TOOBIG, "xml: %zu bytes exceed the parser limit", len);
  if (len == 0)
    return au_err_set(err, AU_E_PARSE, "xml line 1: empty document");
  struct quiet q;
  quiet_begin(&q);
  struct xml_errctx ec;
  xmlTextReaderPtr rd = open_reader(buf, len, &ec);
  if (!rd) {
    quiet_end(&q);
    return au_err_set(err, AU_E_PARSE, "xml line 1: cannot create a reader");
  }

  struct recstate rs;
  memset(&rs, 0, sizeof(rs));
  au_buf_init(&rs.store, XML_RECORD_MAX);
  au_buf_init(&rs.text, XML_RECORD_MAX);
  bool in_rec = false;
  int rec_depth = 0, rec_line = 0, r = 0, rc = 0;

  while (rc == 0 && (r = xmlTextReaderRead(rd)) == 1) {
    int type = xmlTextReaderNodeType(rd);
    if (type == XML_READER_TYPE_ELEMENT) {
      const char *lname = (const char *)xmlTextReaderConstLocalName(rd);
      int depth = xmlTextReaderDepth(rd);
      bool empty = xmlTextReaderIsEmptyElement(rd) == 1;
      if (!lname)
        lname = "";
      if (!in_rec) {
        if (strcmp(lname, record_elem) == 0) {
          rec_line = node_line(rd);
          if (empty) {
            rc = emit(&rs, rec_line, cb, arg, err);
          } else {
            in_rec = true;
            rec_depth = depth;
            set_has_child(&rs, 0, false);
            au_buf_reset(&rs.text);
          }
        }
      } else if (depth > rec_depth) {
        size_t level = (size_t)(depth - rec_depth);
        set_has_child(&rs, level - 1, true);
        au_buf_reset(&rs.text);
        if (empty)
          rc = add_pair(&rs, lname, err, node_line(rd));
        else
          set_has_child(&rs, level, false);
      }
    } else if (type == XML_READER_TYPE_END_ELEMENT) {
      if (!in_rec)
        continue;
      int depth = xmlTextReaderDepth(rd);
      if (depth == rec_depth) {
        in_rec = false;
        rc = emit(&rs, rec_line, cb, arg, err);
      } else if (depth > rec_depth) {
        size_t level = (size_t)(depth - rec_depth);
        const char *lname = (const char *)xmlTextReaderConstLocalName(rd);
        if (level < rs.hcap && !rs.has_child[level])
          rc = add_pair(&rs, lname ? lname : "", err, xmlTextReaderGetParserLineNumber(rd));
        au_buf_reset(&rs.text);
      }
    } else if (in_rec &&
               (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE)) {
      const char *v = (const char *)xmlTextReaderConstValue(rd);
      if (v && (rc = au_buf_adds(&rs.text, v)) != 0)
        rc = au_err_set(err, rc, "xml line %d: text exceeds %zu bytes",
                        xmlTextReaderGetParserLineNumber(rd), XML_RECORD_MAX);
    }
  }
  if (rc == 0 && r < 0)
    rc = reader_fail(rd, &ec, err);

  xmlFreeTextReader(rd);
  quiet_end(&q);
  au_buf_release(&rs.store);
  au_buf_release(&rs.text);
  free(rs.noff);
  free(rs.voff);
  free(rs.names);
  free(rs.values);
  free(rs.has_child);
  return rc;
}

/* ---- first element text ---------------------------------------------------------- */

int au_xml_find_text(const char *buf, size_t len, const char *elem, char *out, size_t outsz) {
  if (!buf || !elem || !out || outsz == 0)
    return AU_E_INVAL;
  out[0] = 0;
  if (len > INT_MAX)
    return AU_E_TOOBIG;
  if (len == 0)
    return AU_E_PARSE;
  struct quiet q;
  quiet_begin(&q);
  struct xml_errctx ec;
  xmlTextReaderPtr rd = open_reader(buf, len, &ec);
  if (!rd) {
    quiet_end(&q);
    return AU_E_PARSE;
  }
  int r, rc = AU_E_NOTFOUND;
  while ((r = xmlTextReaderRead(rd)) == 1) {
    if (xmlTextReaderNodeType(rd) != XML_READER_TYPE_ELEMENT)
      continue;
    const char *lname = (const char *)xmlTextReaderConstLocalName(rd);
    if (!lname || strcmp(lname, elem) != 0)
      continue;
    if (xmlTextReaderIsEmptyElement(rd) == 1) {
      rc = 0;
      break;
    }
    xmlChar *txt = xmlTextReaderReadString(rd);
    if (!txt) {
      rc = AU_E_PARSE;
      break;
    }
    const char *s = (const char *)txt;
    size_t n = strlen(s);
    while (n > 0 && is_space(*s))
      s++, n--;
    while (n > 0 && is_space(s[n - 1]))
      n--;
    if (n > outsz - 1)
      n = outsz - 1;
    memcpy(out, s, n);
    out[n] = 0;
    xmlFree(txt);
    rc = 0;
    break;
  }
  if (r < 0)
    rc = AU_E_PARSE;
  xmlFreeTextReader(rd);
  quiet_end(&q);
  return rc;
}
