#!/usr/bin/env bash
# Installs the locked node modules when the lock file changed since the last install.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SERA_ROOT"

want=$(file_hash package-lock.json)
stamp=node_modules/.sera-lock-hash
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
say "npm ci"
npm ci --no-audit --no-fund --loglevel=error >&2 || die "npm ci failed"
echo "$want" >"$stamp"
