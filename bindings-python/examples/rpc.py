"""RPC (MQTT 5 request/response): a service answers, a caller calls it.

    python rpc.py [mqtt://127.0.0.1:1883]     (or set MQTT_URL)

The engine adds the Response Topic and Correlation Data, waits for the
answer with a deadline, and turns a handler's exception into an error answer.
"""

import asyncio
import json
import os
import sys

from mqtt_engine import Request, aio

URL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")
PREFIX = f"demo-{os.getpid()}"


def add(req: Request) -> str:
    """The handler: gets the request, returns the answer's payload."""
    args = json.loads(req.payload)
    return json.dumps({"sum": args["a"] + args["b"]})


async def main() -> None:
    async with aio.connect(URL, client_id=f"{PREFIX}-service") as service, aio.connect(
        URL, client_id=f"{PREFIX}-caller"
    ) as caller:
        # serve() subscribes; awaiting it waits until the broker confirmed.
        await service.serve(f"{PREFIX}/calc/add", add)

        resp = await caller.call(f"{PREFIX}/calc/add", json.dumps({"a": 40, "b": 2}), timeout=5)
        print("add(40, 2) =", json.loads(resp.payload)["sum"])

        # A handler error comes back as an error answer (status 500).
        try:
            await caller.call(f"{PREFIX}/calc/add", b"not json", timeout=5)
        except aio.ErrorResponse as e:
            print("bad request answered with status", e.response.status)


asyncio.run(asyncio.wait_for(main(), 30))
