/* fuzz_nyiso.c - libFuzzer target for the NYISO source's parse() (see fuzz_source.h). NYISO
 * publishes LBMP, losses and congestion and aurum derives energy, so lmp = energy +
 * congestion + loss must hold up to rounding. */
#define FUZZ_SOURCE "nyiso"
#define FUZZ_EXACT_IDENTITY 1
#include "fuzz_source.h"
