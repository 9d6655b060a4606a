#!/usr/bin/env bash
# Builds the Python package (bindings-python) into the project's virtual
# environment and runs its checks: the pytest suites, mypy --strict over the
# tests, and stubtest of the native module against its hand-written stubs.
#
#   bash scripts/python-test.sh            # debug build (fast to compile)
#   PYTHON_BUILD=release bash scripts/python-test.sh
#
# The virtual environment is .venv at the repository root: created with
# `python3 -m venv` when missing, never recreated (it is shared with other
# Python tooling, such as the paho-mqtt peers of the CLI tests). Test tools are
# pinned in bindings-python/requirements-test.txt. Any failure stops the script
# with a non-zero status; nothing is skipped.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="$ROOT/bindings-python"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

step() { printf '\n== %s\n' "$*"; }
fail() { printf '\npython-test: FAILED: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || fail "cargo is not on PATH (the native module is built with it)"

if [ ! -x "$PY" ]; then
    step "creating $VENV"
    python3 -m venv "$VENV" || fail "python3 -m venv $VENV"
fi
"$PY" -c 'import sys; assert sys.version_info >= (3, 9), sys.version' \
    || fail "the virtual environment needs Python 3.9 or newer"

step "installing the pinned test tools"
"$PY" -m pip install --quiet --disable-pip-version-check -r "$PKG/requirements-test.txt" \
    || fail "pip install -r bindings-python/requirements-test.txt"

step "building and installing mqtt_engine (maturin develop, ${PYTHON_BUILD:-debug})"
build_args=()
if [ "${PYTHON_BUILD:-debug}" = "release" ]; then
    build_args+=(--release)
fi
(cd "$PKG" && "$VENV/bin/maturin" develop --quiet "${build_args[@]}") \
    || fail "maturin develop"
# Import from outside the source tree, as a user would.
(cd / && "$PY" -c 'import mqtt_engine, mqtt_engine._native; print("mqtt_engine", mqtt_engine.__version__)') \
    || fail "import mqtt_engine"

step "pytest bindings-python/tests"
(cd "$PKG" && "$PY" -m pytest -q -rs tests) || fail "pytest"

step "mypy --strict bindings-python/tests"
(cd "$PKG" && "$PY" -m mypy --strict tests) || fail "mypy --strict"

step "stubtest mqtt_engine._native"
stubtest_args=()
if [ -f "$PKG/stubtest-allowlist.txt" ]; then
    stubtest_args+=(--allowlist "$PKG/stubtest-allowlist.txt")
fi
(cd "$PKG" && "$PY" -m mypy.stubtest mqtt_engine._native "${stubtest_args[@]}") || fail "stubtest"

printf '\npython-test: all Python checks passed\n'
