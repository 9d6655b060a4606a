#!/usr/bin/env bash
# Turns criterion's results of `make bench` (benches/codec.rs) into the ratio
# tables of docs/BENCHMARKS.md: per case, the median time of mqtt-engine and of
# each peer, and peer time / our time (above 1 means we are faster).
#
#   bash scripts/bench-report.sh [CRITERION_DIR]
#
# CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion, else target/criterion.
set -euo pipefail

dir="${1:-${CARGO_TARGET_DIR:-target}/criterion}"
if [[ ! -d "$dir" ]]; then
    echo "no criterion results in $dir: run 'make bench' first" >&2
    exit 1
fi

python3 - "$dir" <<'EOF'
import json, pathlib, sys
from collections import defaultdict

OURS, PEERS = "mqtt-engine", ["rumqttc", "mqtt-protocol-core"]
root = pathlib.Path(sys.argv[1])
# group -> case -> implementation -> median ns
results = defaultdict(lambda: defaultdict(dict))
for bench in root.glob("**/new/benchmark.json"):
    meta = json.loads(bench.read_text())
    est = json.loads((bench.parent / "estimates.json").read_text())
    case = meta.get("value_str") or ""
    results[meta["group_id"]][case][meta["function_id"]] = est["median"]["point_estimate"]

def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"

def order(case):
    sizes = {"16B": 0, "1KiB": 1, "64KiB": 2, "v311": 0, "v5": 1}
    return (sizes.get(case, 9), case)

head = f"| case | {OURS} | " + " | ".join(f"{p} | {p} / ours" for p in PEERS)
head += " | fastest peer / ours | 2x |"
rule = "|" + "---|" * (4 + 2 * len(PEERS))
for group in sorted(results):
    if group.startswith("client/"):
        continue  # scripts/bench-client-report.sh
    print(f"### {group}\n")
    print(head)
    print(rule)
    for case in sorted(results[group], key=order):
        row = results[group][case]
        ours = row.get(OURS)
        if ours is None:
            continue
        cells = [case, fmt(ours)]
        peers = []
        for p in PEERS:
            t = row.get(p)
            cells += [fmt(t), f"{t / ours:.2f}"] if t else ["–", "–"]
            if t:
                peers.append(t)
        best = min(peers) / ours if peers else float("nan")
        cells += [f"**{best:.2f}**", "yes" if best >= 2.0 else "no"]
        print("| " + " | ".join(cells) + " |")
    print()
EOF
