"""A request/response responder written with paho-mqtt (MQTT 5), for the
interoperability tests of `mqtt-engine call`.

    responder.py PORT TOPIC COUNT

Subscribes to TOPIC on 127.0.0.1:PORT, prints "ready" on stderr once the
broker has acknowledged the subscription, and answers COUNT requests, then
exits 0. Each request is answered on its Response Topic with its Correlation
Data and the User Properties rpc-status=200 and peer=paho:

- a payload "stream:N" gets N parts "part 1" .. "part N", all but the last
  carrying rpc-stream=more;
- a payload "fail" gets status 422 with rpc-message "refused by paho";
- any other payload gets its upper-case.
"""

import sys

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def main() -> int:
    port, topic, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    state = {"answered": 0}

    def on_connect(client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            print(f"connect refused: {reason_code}", file=sys.stderr, flush=True)
            client.disconnect()
            return
        client.subscribe(topic, qos=1)

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        print("ready", file=sys.stderr, flush=True)

    def answer(client, msg, payload, user, more=False):
        props = Properties(PacketTypes.PUBLISH)
        if getattr(msg.properties, "CorrelationData", None) is not None:
            props.CorrelationData = msg.properties.CorrelationData
        props.UserProperty = user + [("peer", "paho")]
        if more:
            props.UserProperty = ("rpc-stream", "more")
        client.publish(msg.properties.ResponseTopic, payload, qos=1, properties=props)

    def on_message(client, userdata, msg):
        if getattr(msg.properties, "ResponseTopic", None) is None:
            return
        text = msg.payload.decode("utf-8", "replace")
        ok = [("rpc-status", "200")]
        if text.startswith("stream:"):
            n = int(text.split(":", 1)[1])
            for i in range(1, n + 1):
                answer(client, msg, f"part {i}".encode(), ok, more=i < n)
        elif text == "fail":
            answer(client, msg, b"", [("rpc-status", "422"), ("rpc-message", "refused by paho")])
        else:
            answer(client, msg, text.upper().encode(), ok)
        state["answered"] += 1
        if state["answered"] >= count:
            client.disconnect()

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id="paho-responder", protocol=mqtt.MQTTv5
    )
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_forever()
    return 0 if state["answered"] >= count else 1


if __name__ == "__main__":
    sys.exit(main())
