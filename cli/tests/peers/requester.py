"""A request/response requester written with paho-mqtt (MQTT 5), for the
interoperability tests of `mqtt-engine serve`.

    requester.py PORT TOPIC PAYLOAD TIMEOUT_SECONDS

Subscribes to its own response topic on 127.0.0.1:PORT, then publishes one
request to TOPIC with Response Topic, Correlation Data "paho-corr-1", a
Message Expiry Interval of TIMEOUT_SECONDS and a User Property
client=paho. Prints the answer as one JSON object on stdout (payload,
correlation_data_hex, user_properties as [name, value] pairs) and exits 0;
exits 1 with a message on stderr when no answer comes in time.
"""

import json
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

RESPONSE_TOPIC = "paho/replies/requester"
CORRELATION = b"paho-corr-1"


def main() -> int:
    port, topic, payload, timeout = (
        int(sys.argv[1]),
        sys.argv[2],
        sys.argv[3],
        int(sys.argv[4]),
    )
    answered = threading.Event()
    result = {}

    def on_connect(client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            print(f"connect refused: {reason_code}", file=sys.stderr, flush=True)
            return
        client.subscribe(RESPONSE_TOPIC, qos=1)

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = RESPONSE_TOPIC
        props.CorrelationData = CORRELATION
        props.MessageExpiryInterval = timeout
        props.UserProperty = ("client", "paho")
        client.publish(topic, payload.encode(), qos=1, properties=props)

    def on_message(client, userdata, msg):
        props = msg.properties
        result["payload"] = msg.payload.decode("utf-8", "replace")
        correlation = getattr(props, "CorrelationData", None) or b""
        result["correlation_data_hex"] = correlation.hex()
        result["user_properties"] = [list(p) for p in getattr(props, "UserProperty", [])]
        answered.set()

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id="paho-requester", protocol=mqtt.MQTTv5
    )
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    got = answered.wait(timeout)
    client.disconnect()
    client.loop_stop()
    if not got:
        print(f"no answer within {timeout} s", file=sys.stderr, flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
