#include "core/au.h"
#include "core/uuid.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* 6f1b6c1e-5a4e-4d0b-9a55-8d3b2f1a0c7e */
const uint8_t au_uuid_ns_aurum[16] = {0x6f, 0x1b, 0x6c, 0x1e, 0x5a, 0x4e, 0x4d, 0x0b,
                                      0x9a, 0x55, 0x8d, 0x3b, 0x2f, 0x1a, 0x0c, 0x7e};

void au_uuid_v5(const uint8_t ns[16], const void *name, size_t len, char out[37]) {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  EVP_DigestInit_ex(c, EVP_sha1(), NULL);
  EVP_DigestUpdate(c, ns, 16);
  EVP_DigestUpdate(c, name, len);
  EVP_DigestFinal_ex(c, md, &mdlen);
  EVP_MD_CTX_free(c);
  md[6] = (uint8_t)((md[6] & 0x0f) | 0x50); /* version 5 */
  md[8] = (uint8_t)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0], md[1],
           md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12], md[13], md[14], md[15]);
}
