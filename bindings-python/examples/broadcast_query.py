"""Broadcast query: one request, answers from every device that hears it.

    python broadcast_query.py [mqtt://127.0.0.1:1883]     (or set MQTT_URL)

collect() gathers the answers until enough came, the answers stop for a
moment, or the timeout passes.
"""

import asyncio
import contextlib
import json
import os
import sys

from mqtt_engine import Request, aio

URL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")
PREFIX = f"demo-{os.getpid()}"
DEVICES = ["dev-1", "dev-2", "dev-3"]


async def main() -> None:
    async with contextlib.AsyncExitStack() as stack:
        # Three devices, each on its own connection, all serving the same topic.
        for name in DEVICES:
            c = await stack.enter_async_context(aio.connect(URL, client_id=f"{PREFIX}-{name}"))

            def status(req: Request, name: str = name) -> str:
                return json.dumps({"device": name, "battery": 90})

            await c.serve(f"{PREFIX}/fleet/status", status)

        query = await stack.enter_async_context(aio.connect(URL, client_id=f"{PREFIX}-query"))
        answers = await query.collect(f"{PREFIX}/fleet/status", b"", max_responses=len(DEVICES), timeout=5)
        names = sorted(json.loads(a.payload)["device"] for a in answers)
        print(f"{len(names)} devices answered: {', '.join(names)}")


asyncio.run(asyncio.wait_for(main(), 30))
