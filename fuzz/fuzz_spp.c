/* fuzz_spp.c - libFuzzer target for the SPP source's parse() (see fuzz_source.h). SPP's
 * files carry all four price components as published, so their sum is not checked. */
#define FUZZ_SOURCE "spp"
#define FUZZ_EXACT_IDENTITY 0
#include "fuzz_source.h"
