#!/usr/bin/env bash
# Installs the Debian 12 packages citadel needs to build and test. Idempotent and quiet when
# everything is present. Runs as root or through sudo.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build ccache clang-14 libclang-rt-14-dev
  libboost1.81-dev libboost-json1.81-dev libssl-dev libsqlite3-dev zlib1g-dev libpugixml-dev
  libgtest-dev googletest openssl curl
  libjemalloc-dev liblz4-dev
  softhsm2 libp11-kit-dev
  postgresql libpq-dev
  nodejs npm
)

missing=()
for p in "${PKGS[@]}"; do
  # NodeSource's nodejs bundles npm (and conflicts with Debian's npm package).
  [ "$p" = npm ] && command -v npm >/dev/null && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/citadel-apt.log 2>&1; then
  $SUDO apt-get update >>/tmp/citadel-apt.log 2>&1
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/citadel-apt.log 2>&1 \
    || { tail -20 /tmp/citadel-apt.log >&2; exit 1; }
fi
