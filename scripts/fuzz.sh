#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS seconds each (default 30).
#
#   bash scripts/fuzz.sh [SECONDS]
#
# Installs cargo-fuzz at a pinned version if missing, regenerates the seed
# corpus from tests/vectors (scripts/fuzz-seed.py), builds all targets once,
# then runs each with the MQTT dictionary, starting from fuzz/corpus/<target>
# (which it grows) and fuzz/seeds. Fails on any crash, timeout or leak; the
# input is left in fuzz/artifacts/<target>/. Prints the executions of each run
# (libFuzzer's "Done N runs" line).
#
# Only a stable toolchain is available: cargo-fuzz passes nightly-only flags
# (-Zsanitizer, sancov passes), so RUSTC_BOOTSTRAP=1 is set for its commands.
#
# Environment:
#   FUZZ_SANITIZER  none (default) or address; both work on stable with
#                   RUSTC_BOOTSTRAP. The codec forbids unsafe code, and panics,
#                   overflows (debug assertions are on) and hangs are caught
#                   either way; none runs 4-5x more executions per second.
#                   Changing it rebuilds the targets.
#   FUZZ_MAX_LEN    libFuzzer -max_len (default 16384 bytes).
#   FUZZ_TARGETS    space-separated subset of targets (default: all five).
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
TARGETS_ALL="decode roundtrip stream_split client_ops rpc_ops"

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: $0 [SECONDS]  (a positive whole number of seconds per target)" >&2
    exit 2
fi
sanitizer="${FUZZ_SANITIZER:-none}"
max_len="${FUZZ_MAX_LEN:-16384}"
targets="${FUZZ_TARGETS:-$TARGETS_ALL}"
cargo="${CARGO:-cargo}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$(date +%s)

# 1. cargo-fuzz at the pinned version.
have="$("$cargo" fuzz --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$CARGO_FUZZ_VERSION" ]; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION (found: ${have:-none})"
    "$cargo" install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

# 2. Seed corpus from the golden vectors (a missing or empty set is fine).
python3 scripts/fuzz-seed.py --max-bytes "$((max_len - 1))"

# 3. Build all targets once, in fuzz/target (fuzz/ is its own workspace).
export RUSTC_BOOTSTRAP=1
"$cargo" fuzz build --fuzz-dir fuzz --sanitizer "$sanitizer"
built=$(date +%s)
echo "fuzz: built in $((built - start)) s (sanitizer $sanitizer)"

# 4. Run each target.
logdir="fuzz/target/logs"
mkdir -p "$logdir"
summary=()
failed=0
for t in $targets; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log="$logdir/$t.log"
    args=(-max_total_time="$seconds" -dict=fuzz/mqtt.dict -max_len="$max_len"
          -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    echo "fuzz: $t for $seconds s"
    t0=$(date +%s)
    set +e
    "$cargo" fuzz run --fuzz-dir fuzz --sanitizer "$sanitizer" "$t" \
        "fuzz/corpus/$t" fuzz/seeds -- "${args[@]}" >"$log" 2>&1
    rc=$?
    set -e
    t1=$(date +%s)
    runs="$(grep -Eo '^Done [0-9]+ runs' "$log" | tail -1 | awk '{print $2}' || true)"
    if [ -z "$runs" ]; then
        runs="$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+$' || true)"
    fi
    corpus="$(find "fuzz/corpus/$t" -type f | wc -l)"
    if [ "$rc" -ne 0 ] || [ -z "$runs" ]; then
        failed=1
        echo "fuzz: $t FAILED (exit $rc); log: $log" >&2
        grep -E -A6 "panicked at" "$log" | grep -Ev '^ +[0-9]+: |^ +at ' | head -12 >&2 || true
        grep -E "ERROR: libFuzzer|^SUMMARY|Test unit written" "$log" | head -5 >&2 || true
        artifact="$(grep -Eo 'Test unit written to [^ ]+' "$log" | tail -1 | awk '{print $5}' || true)"
        if [ -n "$artifact" ]; then
            echo "fuzz: reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz --sanitizer $sanitizer $t $artifact" >&2
        fi
        summary+=("$(printf '%-13s FAILED  exit %s after %s s' "$t" "$rc" "$((t1 - t0))")")
    else
        summary+=("$(printf '%-13s %12s runs in %4s s (%s/s), corpus %s' "$t" "$runs" "$((t1 - t0))" \
            "$((runs / (t1 - t0 > 0 ? t1 - t0 : 1)))" "$corpus")")
    fi
done

end=$(date +%s)
echo "fuzz: summary (cargo-fuzz $CARGO_FUZZ_VERSION, sanitizer $sanitizer, $seconds s per target)"
for line in "${summary[@]}"; do echo "  $line"; done
echo "fuzz: total wall time $((end - start)) s (build $((built - start)) s)"
exit "$failed"
