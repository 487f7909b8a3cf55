#!/usr/bin/env bash
# Install dependencies, build aurum (release), and run the demo against the built-in
# simulator into ./aurum.db (SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DAU_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target aurum >/dev/null
./build/aurum demo "$@"
