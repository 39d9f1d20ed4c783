#!/usr/bin/env bash
# Creates a throwaway SoftHSM2 token in a directory and prints the path of the softhsm2.conf
# that points at it (export it as SOFTHSM2_CONF before loading the module).
#
#   scripts/softhsm-token.sh DIR [LABEL] [USER_PIN] [SO_PIN]
#   export SOFTHSM2_CONF=$(scripts/softhsm-token.sh /tmp/hsm citadel-e2e 1234 5678)
#
# Defaults: LABEL citadel-test, USER_PIN 1234, SO_PIN 5678. The module is printed on stderr.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [LABEL] [USER_PIN] [SO_PIN]" >&2
  exit 2
fi
dir=$1
label=${2:-citadel-test}
user_pin=${3:-1234}
so_pin=${4:-5678}

if ! command -v softhsm2-util >/dev/null 2>&1; then
  echo "softhsm-token: softhsm2-util not found; run scripts/install-deps.sh" >&2
  exit 1
fi
module=""
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
         /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
  if [ -e "$m" ]; then module=$m; break; fi
done
if [ -z "$module" ]; then
  echo "softhsm-token: libsofthsm2.so not found; run scripts/install-deps.sh" >&2
  exit 1
fi

mkdir -p "$dir/tokens"
dir=$(cd "$dir" && pwd)
conf="$dir/softhsm2.conf"
cat >"$conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF

SOFTHSM2_CONF=$conf softhsm2-util --init-token --free --label "$label" \
  --pin "$user_pin" --so-pin "$so_pin" >"$dir/init-token.log" 2>&1 || {
  cat "$dir/init-token.log" >&2
  exit 1
}
echo "softhsm-token: token '$label' in $dir/tokens, module $module" >&2
echo "$conf"
