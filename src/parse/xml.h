/* xml.h - thin helpers over libxml2's xmlTextReader for record-oriented XML
 * (CAISO OASISReport REPORT_DATA, IESO report rows).
 *
 * Safe defaults: no network (XML_PARSE_NONET), no DTD loading, no entity substitution
 * (XML_PARSE_NOENT is never set), libxml2's default size/depth limits (no XML_PARSE_HUGE).
 * Element names are compared by local name, so a namespace prefix is ignored
 * ("m:REPORT_DATA" matches "REPORT_DATA"). Errors give the line:
 *   "xml line 14: Opening and ending tag mismatch: VALUE line 14 and REPORT_DATA". */
#ifndef AU_PARSE_XML_H
#define AU_PARSE_XML_H
#include "core/au.h"
#include "core/err.h"

/* One record element. names[i]/values[i] are the leaf descendants (elements without child
 * elements) of the record in document order: local name and text with surrounding
 * whitespace trimmed ("" for <X/>). For CAISO REPORT_DATA these are simply its children
 * (DATA_ITEM, RESOURCE_NAME, OPR_DATE, INTERVAL_NUM, ..., VALUE); for nested records
 * (IESO <Generator>) the leaves of the whole subtree appear, in order, so names may repeat.
 * Pointers are valid only during the callback. A record nested inside another record of
 * the same name is part of the outer one. */
struct au_xml_record {
  const char *const *names;
  const char *const *values;
  size_t n;
  int line; /* line of the record's start tag */
};

/* Non-zero aborts au_xml_records() (negative AU_E_* returned as is, positive as
 * AU_E_CANCELLED). */
typedef int (*au_xml_record_cb)(void *arg, const struct au_xml_record *rec, struct au_err *err);

/* Call cb once per element whose local name equals record_elem, in document order. The
 * whole document is checked for well-formedness: an error after the last record is still
 * an error (AU_E_PARSE with the line). 0 or a negative AU_E_*. */
int au_xml_records(const char *buf, size_t len, const char *record_elem, au_xml_record_cb cb,
                   void *arg, struct au_err *err);

/* Copy the text content (trimmed, descendants' text included) of the first element with
 * local name elem into out (NUL-terminated, truncated to outsz-1 bytes). Returns 0 when
 * found, AU_E_NOTFOUND when the document has no such element, AU_E_PARSE when the document
 * is malformed before one is found, AU_E_INVAL on bad arguments. */
int au_xml_find_text(const char *buf, size_t len, const char *elem, char *out, size_t outsz);

#endif
