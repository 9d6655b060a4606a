#!/usr/bin/env bash
# Back-to-back quick runs of the codec benchmarks at two commits: the A/B
# figures of docs/BENCHMARKS.md ("Codec changes"). Builds the codec bench
# binary of each commit in its own git worktree, then runs the benchmarks
# matching FILTER with each binary in turn, ROUNDS times, and prints one
# line per benchmark and run: commit, benchmark, median.
#
#   bash scripts/bench-ab.sh BEFORE AFTER FILTER [ROUNDS]
#
# BEFORE and AFTER are any git revisions; FILTER is criterion's regular
# expression over benchmark names (`group/implementation/case`); ROUNDS
# defaults to 2. Short runs (1 s warm-up, 2 s measurement), so a median moves
# by a few percent between rounds: compare within a round, and run on a
# quiet machine. The worktrees stay under target/bench-ab for the next run;
# `rm -rf target/bench-ab && git worktree prune` removes them.
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 BEFORE AFTER FILTER [ROUNDS]" >&2
    exit 2
fi
before="$1" after="$2" filter="$3" rounds="${4:-2}"
cargo="${CARGO:-cargo}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$root/target/bench-ab"
mkdir -p "$work"

# The bench binary of revision $1, built in a worktree with its own target
# directory; prints the binary's path.
build() {
    local rev sha tree
    rev="$1"
    sha="$(git -C "$root" rev-parse --short "$rev^{commit}")"
    tree="$work/$sha"
    if [ ! -d "$tree" ]; then
        git -C "$root" worktree add --detach "$tree" "$sha" >&2
    fi
    (cd "$tree" && CARGO_TARGET_DIR="$tree/target" "$cargo" bench -p mqtt-engine --bench codec \
        --no-run --message-format=json 2>/dev/null) |
        python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "codec" and m.get("executable"):
        print(m["executable"])'
}

declare -A bin
for rev in "$before" "$after"; do
    echo "building $rev" >&2
    bin[$rev]="$(build "$rev")"
    [ -n "${bin[$rev]}" ] || { echo "no bench binary for $rev" >&2; exit 1; }
done

for _ in $(seq "$rounds"); do
    for rev in "$before" "$after"; do
        "${bin[$rev]}" --bench "$filter" --warm-up-time 1 --measurement-time 2 --noplot 2>&1 |
            awk -v rev="$rev" '
                /^[a-z_0-9]+\/[^ ]+/ { name = $1 }
                /time:/ && !/p =/ && name != "" {
                    split(substr($0, index($0, "[") + 1), t, " ")
                    print rev, name, t[3], t[4]
                    name = ""
                }'
    done
done
