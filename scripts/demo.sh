#!/usr/bin/env bash
# make demo: the request/response pattern end to end. Starts mosquitto on a
# free loopback port with a generated configuration (installing it first if it
# is missing and we may), runs `mqtt-engine demo` against it, prints the
# summary, and cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."

mosquitto="$(command -v mosquitto || true)"
[ -n "$mosquitto" ] || { [ -x /usr/sbin/mosquitto ] && mosquitto=/usr/sbin/mosquitto; } || true
if [ -z "$mosquitto" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "demo: installing mosquitto (Debian package)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q mosquitto >/dev/null \
            || { apt-get update -q >/dev/null && apt-get install -y -q mosquitto >/dev/null; }
        mosquitto="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
    else
        echo "demo: mosquitto is missing; install it (apt-get install mosquitto) and run make demo again" >&2
        exit 1
    fi
fi

cargo build -q --release -p mqtt-engine-cli
bin=target/release/mqtt-engine

dir="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat > "$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
persistence false
max_inflight_messages 100
max_queued_messages 5000
CONF
"$mosquitto" -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.05
done
echo "mosquitto $("$mosquitto" -h 2>/dev/null | head -1 | awk '{print $3}') on 127.0.0.1:$port (config and log in a temporary directory, removed at the end)"
echo
"$bin" demo --host 127.0.0.1 --port "$port"
