#!/usr/bin/env bash
# Install aurum's build and test dependencies from Debian packages (run as root).
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config git ca-certificates libssl-dev
  libcurl4-openssl-dev libjansson-dev libyajl-dev libyaml-dev libxml2-dev zlib1g-dev libzip-dev
  libsqlite3-dev sqlite3 libmicrohttpd-dev
  libpq-dev postgresql postgresql-contrib
  librdkafka-dev kcat libavro-dev python3 python3-avro libjemalloc-dev
  unzip zip curl bc tzdata clang
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
