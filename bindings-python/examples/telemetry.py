"""Telemetry: a sensor publishes readings, a dashboard subscribes to them.

    python telemetry.py [mqtt://127.0.0.1:1883]     (or set MQTT_URL)

Both sides run here, each on its own connection, as they would in two
programs.
"""

import asyncio
import json
import os
import sys

from mqtt_engine import aio

URL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")
PREFIX = f"demo-{os.getpid()}"  # keeps concurrent runs apart on a shared broker
READINGS = [21.0, 21.5, 22.0, 21.5, 21.0]


async def main() -> None:
    async with aio.connect(URL, client_id=f"{PREFIX}-dashboard") as dashboard, aio.connect(
        URL, client_id=f"{PREFIX}-sensor"
    ) as sensor:
        # Subscribe first (entering waits for the broker's SUBACK): "+" matches
        # any one level, so every room's temperature arrives here.
        async with dashboard.subscribe(f"{PREFIX}/sensors/+/temperature", qos=1) as readings:
            # QoS 1: publish() returns once the broker acknowledged the message.
            for value in READINGS:
                payload = json.dumps({"celsius": value})
                await sensor.publish(f"{PREFIX}/sensors/room1/temperature", payload, qos=1)

            received = []
            async for msg in readings:
                room = msg.topic.split("/")[2]
                received.append(json.loads(msg.payload)["celsius"])
                print(f"{room}: {received[-1]} C")
                if len(received) == len(READINGS):
                    break  # leaving the block unsubscribes
    print(f"received {len(received)} readings, average {sum(received) / len(received):.1f} C")


asyncio.run(asyncio.wait_for(main(), 30))
