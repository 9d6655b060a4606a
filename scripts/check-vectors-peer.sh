#!/usr/bin/env bash
# Checks the golden vectors (tests/vectors/*.json) against an independent MQTT
# codec, mqtt-packet, pinned in tests/peer/package-lock.json. Installs it with
# `npm ci` when tests/peer/node_modules is missing or older than the lock file,
# then runs tests/peer/check_vectors.js (pass -v for every finding). Exits
# non-zero on any difference not listed in tests/peer/known-differences.json.
set -euo pipefail

cd "$(dirname "$0")/../tests/peer"

command -v node >/dev/null 2>&1 || { echo "check-vectors-peer: node is required" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "check-vectors-peer: npm is required" >&2; exit 1; }

# A digest of package.json and package-lock.json, kept in node_modules after a
# successful install: when it no longer matches, node_modules is stale.
digest=$(node -e '
  const c = require("crypto").createHash("sha256");
  for (const f of ["package.json", "package-lock.json"]) c.update(require("fs").readFileSync(f));
  process.stdout.write(c.digest("hex"));
')
stamp=node_modules/.mqtt-engine-peer.sha256
if [[ ! -d node_modules/mqtt-packet || ! -f $stamp || "$(cat "$stamp")" != "$digest" ]]; then
  npm ci --no-audit --no-fund
  printf '%s\n' "$digest" > "$stamp"
fi

exec node check_vectors.js "$@"
