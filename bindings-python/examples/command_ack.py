"""Command and acknowledgement: a controller sends a command to a device,
which carries it out and acknowledges it on its own topic.

    python command_ack.py [mqtt://127.0.0.1:1883]     (or set MQTT_URL)

Commands go to devices/{id}/commands, acknowledgements come back on
devices/{id}/acks, matched by the command's id. (For a reply to one caller
with a deadline, see rpc.py.)
"""

import asyncio
import json
import os
import sys

from mqtt_engine import aio

URL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")
PREFIX = f"demo-{os.getpid()}"
DEVICE = "lamp-1"


async def device(ready: asyncio.Event) -> None:
    """The device: obeys one command, acknowledges it, and stops."""
    async with aio.connect(URL, client_id=f"{PREFIX}-{DEVICE}") as c:
        async with c.subscribe(f"{PREFIX}/devices/{DEVICE}/commands", qos=1) as commands:
            ready.set()
            async for msg in commands:
                cmd = json.loads(msg.payload)
                state = "on" if cmd["action"] == "switch_on" else "off"
                ack = {"id": cmd["id"], "ok": True, "state": state}
                await c.publish(f"{PREFIX}/devices/{DEVICE}/acks", json.dumps(ack), qos=1)
                return


async def controller(ready: asyncio.Event) -> None:
    async with aio.connect(URL, client_id=f"{PREFIX}-controller") as c:
        async with c.subscribe(f"{PREFIX}/devices/+/acks", qos=1) as acks:
            await ready.wait()
            command = {"id": 1, "action": "switch_on"}
            await c.publish(f"{PREFIX}/devices/{DEVICE}/commands", json.dumps(command), qos=1)
            async for msg in acks:
                ack = json.loads(msg.payload)
                if ack["id"] == command["id"]:
                    print(f"{DEVICE} acknowledged command {ack['id']}: {ack['state']}")
                    return


async def main() -> None:
    ready = asyncio.Event()
    await asyncio.gather(device(ready), controller(ready))


asyncio.run(asyncio.wait_for(main(), 30))
