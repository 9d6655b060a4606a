"""MCP over MQTT with the official MCP SDK (pip install mcp): a FastMCP
server and an SDK ClientSession talking through the broker.

    python mcp_sdk_tool_call.py [mqtt://127.0.0.1:1883]     (or set MQTT_URL)

mqtt_engine.mcp_sdk gives the SDK the streams it runs on: serving() puts an
SDK server online (one SDK session per MCP client), client_transport()
discovers a server by name and connects a ClientSession to it.
"""

import asyncio
import logging
import os
import sys

from mcp import ClientSession
from mcp.server.fastmcp import FastMCP

from mqtt_engine import mcp_sdk

URL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")
SERVER_NAME = f"demo/sdk-calculator-{os.getpid()}"
logging.getLogger("mcp").setLevel(logging.WARNING)  # the SDK logs every request at INFO

app = FastMCP("calculator")


@app.tool()
def add(a: float, b: float) -> float:
    """Adds two numbers."""
    return a + b


async def main() -> None:
    async with mcp_sdk.serving(app, URL, server_id=f"sdk-calc-{os.getpid()}", server_name=SERVER_NAME):
        async with mcp_sdk.client_transport(URL, SERVER_NAME, discovery_timeout=10) as (read, write):
            async with ClientSession(read, write) as session:
                info = await session.initialize()
                print("initialized:", info.serverInfo.name)
                tools = await session.list_tools()
                print("tools:", ", ".join(t.name for t in tools.tools))
                result = await session.call_tool("add", {"a": 40, "b": 2})
                print("add(40, 2) =", result.structuredContent["result"] if result.structuredContent else "?")


asyncio.run(asyncio.wait_for(main(), 30))
