#!/usr/bin/env bash
# Turns criterion's results of `make bench` (benches/client.rs) into the table
# of docs/BENCHMARKS.md: per case, the median time per message of the engine,
# of the bare codec doing the same packet work, and of the peer's session
# state; engine / codec of the same protocol (DESIGN §9 target: under 2x), and
# peer / engine (above 1 means the engine is faster).
#
#   bash scripts/bench-client-report.sh [CRITERION_DIR]
#
# CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion, else target/criterion.
set -euo pipefail

dir="${1:-${CARGO_TARGET_DIR:-target}/criterion}"
if [[ ! -d "$dir" ]]; then
    echo "no criterion results in $dir: run 'make bench' first" >&2
    exit 1
fi

python3 - "$dir" <<'PY'
import json, pathlib, sys
from collections import defaultdict

root = pathlib.Path(sys.argv[1])
results = defaultdict(dict)  # group -> function -> median ns
for bench in root.glob("**/new/benchmark.json"):
    meta = json.loads(bench.read_text())
    if not meta["group_id"].startswith("client/"):
        continue
    est = json.loads((bench.parent / "estimates.json").read_text())
    results[meta["group_id"]][meta["function_id"]] = est["median"]["point_estimate"]

print("| case | protocol | engine | codec | engine / codec | under 2x | rumqttc state (3.1.1) | rumqttc / engine |")
print("|---|---|---|---|---|---|---|---|")
for group in sorted(results):
    row = results[group]
    peer = row.get("rumqttc-state-v311")
    for proto in ("v311", "v5"):
        engine, codec = row.get(f"engine-{proto}"), row.get(f"codec-{proto}")
        if engine is None or codec is None:
            continue
        ratio = engine / codec
        vs_peer = f"{peer / engine:.2f}" if peer and proto == "v311" else "–"
        peer_cell = f"{peer:.0f} ns" if peer and proto == "v311" else "–"
        print(f"| {group.removeprefix('client/')} | {proto} | {engine:.0f} ns | {codec:.0f} ns "
              f"| **{ratio:.2f}** | {'yes' if ratio < 2 else 'no'} | {peer_cell} | {vs_peer} |")
PY
