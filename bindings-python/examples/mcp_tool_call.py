"""MCP over MQTT: a server offers a tool, a client discovers it and calls it.

    python mcp_tool_call.py [mqtt://127.0.0.1:1883]     (or set MQTT_URL)

The server announces itself with a retained presence message, so a client
finds it whenever it connects; then it initializes a session and calls tools
(JSON-RPC over the $mcp-rpc/... topic). See mcp_sdk_tool_call.py for the same
with the official MCP SDK.
"""

import asyncio
import os
import sys

from mqtt_engine import mcp

URL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")
SERVER_NAME = f"demo/calculator-{os.getpid()}"  # type/sub/name; every instance shares it

# The server: an id of its own (its MQTT client id) and a name shared by its instances.
server = mcp.Server(f"calc-{os.getpid()}", SERVER_NAME, description="Adds numbers")


@server.tool()
def add(a: float, b: float) -> float:
    """Adds two numbers."""  # the docstring is the tool's description
    return a + b


async def main() -> None:
    async with mcp.serve(server, URL):  # online while the block runs
        async with mcp.connect(URL) as client:
            found = await client.wait_for_server(SERVER_NAME, timeout=10)
            print(f"discovered {found.server_name} ({found.server_id}): {found.description}")
            async with client.session(SERVER_NAME, timeout=10) as session:
                tools = await session.list_tools()
                print("tools:", ", ".join(t["name"] for t in tools))
                result = await session.call_tool("add", {"a": 40, "b": 2})
                print("add(40, 2) =", result["content"][0]["text"])


asyncio.run(asyncio.wait_for(main(), 30))
