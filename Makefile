# mqtt-engine — the two commands of the README, and the rest.
#   make test   everything CI runs; installs what it needs
#   make demo   the project's main job
#   make bench  benchmarks against peers: codec, client engine, idle client heap, Python package
#   make fuzz   every fuzz target for FUZZ_SECONDS each (default 300)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
FUZZ_SECONDS ?= 300
FUZZ_SECONDS_CI ?= 30
THUMB := thumbv7em-none-eabihf

.PHONY: test demo bench fuzz setup lint unit python nostd vectors-peer conformance fuzz-ci cli-test broker-deps pydeps

test: setup lint broker-deps pydeps unit python nostd vectors-peer conformance fuzz-ci
	@echo "make test: all checks passed"
	@awk '/^test result:/ {p += $$4; f += $$6} END {print "cargo test: " p " passed, " f " failed"}' target/unit-tests.log

setup:
	@rustup target list --installed | grep -qx $(THUMB) || rustup target add $(THUMB)
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy

# The integration tests start a real mosquitto and run mosquitto_pub / _sub / _rr
# against it; they fail (never skip) without them. apt-get update only if the
# plain install fails (a fresh machine with stale or empty package lists).
APT := $(shell [ "$$(id -u)" = 0 ] || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get
# The CLI's TLS tests make their certificates with the openssl command.
BROKER_PKGS := mosquitto mosquitto-clients openssl
broker-deps:
	@if { command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; } \
		&& command -v mosquitto_rr >/dev/null && command -v openssl >/dev/null; then \
		echo "broker-deps: mosquitto, mosquitto-clients and openssl present"; \
	else \
		$(APT) install -y -q $(BROKER_PKGS) \
		|| { $(APT) update -q && $(APT) install -y -q $(BROKER_PKGS); }; \
	fi

# The CLI's interop tests run peers written with paho-mqtt (cli/tests/peers/)
# with .venv/bin/python; they fail (never skip) without it. python3-venv is
# installed only if `python3 -m venv` cannot make the environment.
PAHO := paho-mqtt==2.1.0
pydeps:
	@if .venv/bin/python -c 'import sys, paho.mqtt as m; sys.exit(m.__version__ != "2.1.0")' 2>/dev/null; then \
		echo "pydeps: .venv has $(PAHO)"; \
	else \
		python3 -m venv --clear .venv \
		|| { $(APT) install -y -q python3-venv && python3 -m venv --clear .venv; }; \
		.venv/bin/python -m pip install -q --disable-pip-version-check '$(PAHO)'; \
	fi

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p mqtt-engine --no-deps --all-features -q

unit:
	@mkdir -p target
	$(CARGO) test --workspace --all-features 2>&1 | tee target/unit-tests.log

# The Python package: built into .venv with maturin, then its pytest suites
# (codec vectors, sans-IO client, asyncio / blocking clients and paho-mqtt
# interop against mosquitto, MCP SDK round trip), mypy --strict and stubtest.
python: pydeps
	bash scripts/python-test.sh

nostd:
	$(CARGO) build -p mqtt-engine --no-default-features --target $(THUMB)
	$(CARGO) build -p mqtt-engine --no-default-features --features serde --target $(THUMB)
	$(CARGO) build -p mqtt-engine --no-default-features --features json --target $(THUMB)

vectors-peer:
	python3 tests/vectors/generate.py --check
	bash scripts/check-vectors-peer.sh

# tests/CONFORMANCE.md maps each MQTT 5.0 statement to the tests naming it.
conformance:
	python3 scripts/conformance.py --check

fuzz-ci:
	bash scripts/fuzz.sh $(FUZZ_SECONDS_CI)

fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

bench:
	$(CARGO) bench -p mqtt-engine --bench codec
	$(CARGO) bench -p mqtt-engine --bench client
	$(CARGO) bench -p mqtt-engine --bench client_heap
	bash bindings-python/benches/run.sh

demo:
	bash scripts/demo.sh
