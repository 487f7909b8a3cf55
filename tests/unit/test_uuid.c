#include "core/au.h"
#include "au_test.h"
#include "core/uuid.h"

TEST(rfc4122_v5_vector) {
  /* uuid5(NAMESPACE_DNS, "python.org") = 886313e1-3b8a-5372-9b90-0c9aee199e5d (Python docs) */
  static const uint8_t dns[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                  0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  char out[37];
  au_uuid_v5(dns, "python.org", 10, out);
  CHECK_EQ_STR(out, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
}

TEST(deterministic_and_distinct) {
  char a[37], b[37], c[37];
  au_uuid_v5(au_uuid_ns_aurum, "DAM|TH_SP15|2024-01-01T08:00:00Z", 32, a);
  au_uuid_v5(au_uuid_ns_aurum, "DAM|TH_SP15|2024-01-01T08:00:00Z", 32, b);
  au_uuid_v5(au_uuid_ns_aurum, "DAM|TH_NP15|2024-01-01T08:00:00Z", 32, c);
  CHECK_EQ_STR(a, b);
  CHECK(strcmp(a, c) != 0);
  CHECK(a[14] == '5');
}

TEST_LIST{T(rfc4122_v5_vector), T(deterministic_and_distinct)};
AU_TEST_MAIN()
