#!/usr/bin/env bash
# make demo: decode a real MQTT 5.0 exchange (mosquitto_pub and mosquitto,
# captured on loopback) with the mqtt-engine command-line tool.
set -euo pipefail
cd "$(dirname "$0")/.."
capture=tests/captures/mosquitto-pub-v5.txt
cargo build -q -p mqtt-engine-cli
bin=target/debug/mqtt-engine

echo "A real MQTT 5.0 exchange decoded by mqtt-engine ($capture):"
grep '^#' "$capture" | sed 's/^# /    /'
echo
while read -r dir hex; do
    case "$dir" in
        C) arrow="client -> broker" ;;
        S) arrow="broker -> client" ;;
        *) continue ;;
    esac
    printf '%s  %s\n' "$arrow" "$("$bin" decode --protocol 5 --summary "$hex")"
    printf '                  %s\n' "$("$bin" decode --protocol 5 "$hex")"
done < <(grep -v '^#' "$capture")
echo
echo "The JSON form goes back to the same bytes:"
json='{"type":"publish","qos":1,"packet_identifier":7,"topic_name":"demo/t","properties":{"user_properties":[["k","v"]]},"payload_hex":"6869"}'
echo "    \$ mqtt-engine encode '$json'"
echo "    $("$bin" encode --protocol 5 "$json")"
echo
echo "Bad input is refused with its reason code and where the fault is:"
echo "    \$ mqtt-engine decode 30 06 00 03 61 2f 23 00"
"$bin" decode 30 06 00 03 61 2f 23 00 2>&1 | sed 's/^/    /' || true
