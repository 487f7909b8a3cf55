#!/usr/bin/env bash
# Run aurum's whole test suite: install dependencies, build with AddressSanitizer and
# UndefinedBehaviorSanitizer (warnings are errors), and run every test with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD=${AURUM_TEST_BUILD:-build-test}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DAU_SANITIZE=ON -DAU_WERROR=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd "$BUILD" && ctest --output-on-failure -j"$(nproc)" "$@")

# Fuzz smoke: every parser's libFuzzer target for a fixed number of runs (clang).
if [ -z "${AURUM_SKIP_FUZZ:-}" ] && command -v clang >/dev/null; then
  FUZZ=${AURUM_FUZZ_BUILD:-build-fuzz}
  CC=clang cmake -S . -B "$FUZZ" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAU_FUZZ=ON -DAU_WERROR=OFF -DAU_BUILD_TESTS=OFF \
    -DAU_BUILD_BENCH=OFF >/dev/null
  cmake --build "$FUZZ" -j"$(nproc)"
  (cd "$FUZZ" && ctest --output-on-failure -j"$(nproc)" -L fuzz)
fi
