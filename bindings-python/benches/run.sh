#!/usr/bin/env bash
# The Python benchmarks of issue 5 (docs/BENCHMARKS.md, section "Python"):
#   bash bindings-python/benches/run.sh            # everything, about 15 minutes
#   bash bindings-python/benches/run.sh --quick    # smoke test, about 1 minute
#   bash bindings-python/benches/run.sh --only codec   (codec, throughput, rpc)
#
# 1. installs the pinned peers (requirements-bench.txt) into .venv, and amqtt
#    beside it in target/py-bench/deps (it pins websockets exactly);
# 2. builds mqtt_engine as `pip install ./bindings-python` would (a release
#    wheel by maturin) from the committed tree (HEAD) and unpacks it into
#    target/py-bench/engine, which goes first on PYTHONPATH: what is measured
#    is the release build of HEAD, whatever .venv has installed for
#    development (often a debug build). MQE_BENCH_ENGINE=worktree builds the
#    working tree instead; MQE_BENCH_ENGINE=installed uses .venv's as it is;
# 3. runs bench_codec.py, bench_throughput.py and bench_rpc.py (each starts
#    its own mosquitto on a free loopback port) and prints one Markdown
#    report, also written to target/py-bench/report.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$ROOT/target/py-bench
VENV=$ROOT/.venv
PY=$VENV/bin/python
PIP=("$PY" -m pip install -q --disable-pip-version-check)
MODE=${MQE_BENCH_ENGINE:-head}
mkdir -p "$OUT"

if [ ! -x "$PY" ]; then
    # Never recreated or cleared when it exists: it is shared.
    python3 -m venv "$VENV"
fi
if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
    echo "run.sh: mosquitto is missing (make broker-deps installs it)" >&2
    exit 1
fi

echo "== peers" >&2
"${PIP[@]}" -r "$ROOT/bindings-python/requirements-bench.txt"
AMQTT=$(sed -n 's/^# AMQTT: //p' "$ROOT/bindings-python/requirements-bench.txt")
if ! ls "$OUT/deps/${AMQTT/==/-}.dist-info" >/dev/null 2>&1; then
    rm -rf "$OUT/deps"
    "${PIP[@]}" --target "$OUT/deps" "$AMQTT"
fi

if [ "$MODE" != installed ]; then
    echo "== mqtt_engine: release wheel of the $MODE" >&2
    MATURIN=$(grep -m1 '^maturin==' "$ROOT/bindings-python/requirements-test.txt" || echo 'maturin>=1.9.4,<2')
    "$PY" -c 'import maturin' 2>/dev/null || "${PIP[@]}" "$MATURIN"
    SRC=$ROOT
    if [ "$MODE" = head ] && git -C "$ROOT" rev-parse HEAD >/dev/null 2>&1; then
        SRC=$OUT/src
        rm -rf "$SRC" && mkdir -p "$SRC"
        git -C "$ROOT" archive HEAD | tar -x -C "$SRC"
    fi
    rm -rf "$OUT/wheel"
    (cd "$SRC" && CARGO_TARGET_DIR=$OUT/build "$VENV/bin/maturin" build --release -q \
        -m bindings-python/Cargo.toml -o "$OUT/wheel" >&2)
    rm -rf "$OUT/engine"
    "${PIP[@]}" --no-deps --target "$OUT/engine" "$OUT"/wheel/*.whl
    export PYTHONPATH=$OUT/engine${PYTHONPATH:+:$PYTHONPATH}
fi

echo "== benchmarks (load average now: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
exec "$PY" "$ROOT/bindings-python/benches/run_all.py" "$@"
