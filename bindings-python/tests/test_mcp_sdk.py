"""The official MCP SDK (PyPI ``mcp``) over MQTT through mqtt_engine.mcp_sdk
and a real mosquitto: an SDK ``ClientSession`` lists and calls the tools of a
``FastMCP`` and of a low-level ``Server``; the SDK against the native Rust
roles both ways; the SDK against the asyncio helpers both ways; a server
going offline under a pending call; several clients of one SDK server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import mcp.types as types
import pytest
from mcp import ClientSession
from mcp.server.fastmcp import FastMCP
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import McpError

import mqtt_engine as m
from mcp_peers import NativePeer, answer_natively, calculator, mcp_broker, run
from mqtt_engine import mcp as mqtt_mcp
from mqtt_engine import mcp_sdk

__all__ = ["mcp_broker"]

NAME = "sdk/calculator"


def fastmcp_calculator() -> FastMCP:
    app = FastMCP("fast-calculator", instructions="Adds numbers.")

    @app.tool()
    def add(a: float, b: float) -> float:
        """Adds two numbers."""
        return a + b

    @app.tool()
    def fail() -> str:
        """Always fails."""
        raise ValueError("broken on purpose")

    return app


def lowlevel_calculator() -> Server[Any, Any]:
    server: Server[Any, Any] = Server("lowlevel-calculator")

    @server.list_tools()  # type: ignore[no-untyped-call, untyped-decorator]
    async def list_tools() -> list[types.Tool]:
        schema = {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}
        return [types.Tool(name="multiply", description="Multiplies two numbers", inputSchema=schema)]

    @server.call_tool()  # type: ignore[untyped-decorator]
    async def call_tool(name: str, arguments: dict[str, Any]) -> list[types.TextContent]:
        if name != "multiply":
            raise ValueError(f"unknown tool {name}")
        return [types.TextContent(type="text", text=str(arguments["a"] * arguments["b"]))]

    return server


def text_of(result: types.CallToolResult) -> str:
    [block] = result.content
    assert isinstance(block, types.TextContent)
    return block.text


def test_sdk_client_and_fastmcp_server(mcp_broker: str) -> None:
    async def body() -> None:
        async with mcp_sdk.serving(
            fastmcp_calculator(), mcp_broker, server_id="fast-1", server_name=NAME, description="FastMCP over MQTT"
        ) as conn:
            assert conn.online
            async with mcp_sdk.client_transport(mcp_broker, NAME, discovery_timeout=10) as (read, write):
                async with ClientSession(read, write, read_timeout_seconds=_seconds(10)) as session:
                    init = await session.initialize()
                    assert init.serverInfo.name == "fast-calculator"
                    assert init.instructions == "Adds numbers."
                    tools = await session.list_tools()
                    assert sorted(t.name for t in tools.tools) == ["add", "fail"]
                    add = next(t for t in tools.tools if t.name == "add")
                    assert add.description == "Adds two numbers."
                    assert set(add.inputSchema["properties"]) == {"a", "b"}
                    result = await session.call_tool("add", {"a": 40, "b": 2})
                    assert not result.isError
                    assert result.structuredContent == {"result": 42.0}
                    assert text_of(result) == "42.0"
                    failed = await session.call_tool("fail", {})
                    assert failed.isError and "broken on purpose" in text_of(failed)
                    await session.send_ping()
                    assert len(conn.clients) == 1

    run(body())


def test_sdk_client_and_lowlevel_server(mcp_broker: str) -> None:
    async def body() -> None:
        async with mcp_sdk.serving(lowlevel_calculator(), mcp_broker, server_id="low-1", server_name="sdk/low"):
            async with mcp_sdk.client_transport(mcp_broker, "sdk/low", server_id="low-1", discovery_timeout=10) as (
                read,
                write,
            ):
                async with ClientSession(read, write, read_timeout_seconds=_seconds(10)) as session:
                    init = await session.initialize()
                    assert init.serverInfo.name == "lowlevel-calculator"
                    tools = await session.list_tools()
                    assert [t.name for t in tools.tools] == ["multiply"]
                    result = await session.call_tool("multiply", {"a": 6, "b": 7})
                    assert text_of(result) == "42"
                    wrong = await session.call_tool("divide", {"a": 1, "b": 0})
                    assert wrong.isError

    run(body())


def test_serve_runs_until_cancelled(mcp_broker: str) -> None:
    async def body() -> None:
        async with anyio.create_task_group() as tg:
            conn = await tg.start(
                lambda task_status: mcp_sdk.serve(
                    fastmcp_calculator(), mcp_broker, server_id="fast-s", server_name="sdk/served", task_status=task_status
                )
            )
            assert isinstance(conn, mqtt_mcp.ServerConnection) and conn.online
            async with mcp_sdk.client_transport(mcp_broker, "sdk/served", discovery_timeout=10) as (read, write):
                async with ClientSession(read, write, read_timeout_seconds=_seconds(10)) as session:
                    await session.initialize()
                    assert text_of(await session.call_tool("add", {"a": 1, "b": 2})) == "3.0"
            tg.cancel_scope.cancel()
        # Cancelled: its presence was cleared.
        async with mqtt_mcp.connect(mcp_broker) as client:
            with pytest.raises(TimeoutError):
                await client.wait_for_server("sdk/served", timeout=0.3)

    run(body())


def test_sdk_client_and_rust_server(mcp_broker: str) -> None:
    async def body() -> None:
        role = m.McpServer("rust-1", "sdk/rust", "Rust calculator")
        peer = NativePeer(mcp_broker, role)
        await peer.start()
        await peer.wait_for(lambda e: isinstance(e, m.McpOnline))
        answering = answer_natively(peer, calculator)
        async with mcp_sdk.client_transport(mcp_broker, "sdk/rust", discovery_timeout=10) as (read, write):
            async with ClientSession(read, write, read_timeout_seconds=_seconds(10)) as session:
                init = await session.initialize()
                assert init.serverInfo.name == "rust-calculator"
                tools = await session.list_tools()
                assert [t.name for t in tools.tools] == ["add"]
                result = await session.call_tool("add", {"a": 20, "b": 22})
                assert text_of(result) == "42"
                with pytest.raises(McpError) as e:
                    await session.list_prompts()
                assert e.value.error.code == types.METHOD_NOT_FOUND
        await peer.wait_for(lambda e: isinstance(e, m.McpClientOffline))
        notes = [e.method for e in peer.role_events if isinstance(e, m.McpClientNotification)]
        assert "notifications/initialized" in notes
        answering.cancel()
        await peer.close()

    run(body())


def test_rust_client_and_sdk_server(mcp_broker: str) -> None:
    async def body() -> None:
        async with mcp_sdk.serving(fastmcp_calculator(), mcp_broker, server_id="fast-r", server_name="sdk/for-rust"):
            agent = m.McpClient("rust-agent-sdk", server_name_filters=["sdk/for-rust"])
            peer = NativePeer(mcp_broker, agent)
            await peer.start()
            await peer.wait_for(lambda e: isinstance(e, m.McpServerOnline))
            session = peer.act(lambda c, t: agent.initialize(c, t, "sdk/for-rust"))
            ready = await peer.wait_for(lambda e: isinstance(e, (m.McpInitialized, m.McpSessionClosed)))
            assert isinstance(ready, m.McpInitialized), ready
            assert ready.result["serverInfo"]["name"] == "fast-calculator"

            async def call(method: str, params: Any) -> Any:
                n = peer.act(lambda c, t: agent.call(c, t, session, method, params))
                return await peer.wait_for(lambda e: isinstance(e, m.McpCallDone) and e.call == n)

            listed = await call("tools/list", {})
            assert sorted(t["name"] for t in listed.result["tools"]) == ["add", "fail"]
            done = await call("tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}})
            assert done.outcome == "result" and done.result["structuredContent"] == {"result": 5.0}
            peer.act(lambda c, t: agent.close(c, t, session))
            await peer.wait_for(lambda e: isinstance(e, m.McpSessionClosed))
            await peer.close()

    run(body())


def test_sdk_and_the_asyncio_helpers(mcp_broker: str) -> None:
    async def body() -> None:
        helper = mqtt_mcp.Server("helper-1", "sdk/helper", description="a helper server")

        @helper.tool()
        def echo(text: str) -> str:
            """Echoes."""
            return text

        async with mqtt_mcp.serve(helper, mcp_broker):
            async with mcp_sdk.client_transport(mcp_broker, "sdk/helper", discovery_timeout=10) as (read, write):
                async with ClientSession(read, write, read_timeout_seconds=_seconds(10)) as session:
                    await session.initialize()
                    tools = await session.list_tools()
                    assert [(t.name, t.description) for t in tools.tools] == [("echo", "Echoes.")]
                    assert text_of(await session.call_tool("echo", {"text": "hi"})) == "hi"

        async with mcp_sdk.serving(fastmcp_calculator(), mcp_broker, server_id="fast-h", server_name="sdk/fast-h"):
            async with mqtt_mcp.connect(mcp_broker) as client:
                async with client.session("sdk/fast-h", timeout=10) as s:
                    assert s.server_info["name"] == "fast-calculator"
                    r = await s.call_tool("add", {"a": 1, "b": 2}, timeout=10)
                    assert r["structuredContent"] == {"result": 3.0}

    run(body())


def test_a_server_going_offline_ends_the_sdk_session(mcp_broker: str) -> None:
    async def body() -> None:
        app = FastMCP("slow")
        started = asyncio.Event()

        @app.tool()
        async def hang() -> str:
            started.set()
            await asyncio.Event().wait()
            return "never"

        async with mcp_sdk.serving(app, mcp_broker, server_id="slow-1", server_name="sdk/slow") as conn:
            async with mcp_sdk.client_transport(mcp_broker, "sdk/slow", discovery_timeout=10) as (read, write):
                async with ClientSession(read, write, read_timeout_seconds=_seconds(60)) as session:
                    await session.initialize()
                    call = asyncio.ensure_future(session.call_tool("hang", {}))
                    await asyncio.wait_for(started.wait(), 10)
                    await conn.shutdown()  # the presence is cleared
                    with pytest.raises(McpError) as e:
                        await asyncio.wait_for(call, 10)
                    assert e.value.error.code == types.CONNECTION_CLOSED

    run(body())


def test_several_clients_of_one_sdk_server(mcp_broker: str) -> None:
    async def body() -> None:
        async with mcp_sdk.serving(fastmcp_calculator(), mcp_broker, server_id="fast-m", server_name="sdk/many") as conn:

            async def one(i: int) -> str:
                async with mcp_sdk.client_transport(mcp_broker, "sdk/many", discovery_timeout=10) as (read, write):
                    async with ClientSession(read, write, read_timeout_seconds=_seconds(10)) as session:
                        await session.initialize()
                        r = await session.call_tool("add", {"a": i, "b": i})
                        assert len(conn.clients) >= 1
                        return text_of(r)

            assert await asyncio.gather(*(one(i) for i in range(4))) == ["0.0", "2.0", "4.0", "6.0"]

    run(body())


def test_no_server_to_discover(mcp_broker: str) -> None:
    async def body() -> None:
        with pytest.raises(TimeoutError):
            async with mcp_sdk.client_transport(mcp_broker, "sdk/nobody", discovery_timeout=0.2):
                pass

    run(body())


def _seconds(n: float) -> Any:
    from datetime import timedelta

    return timedelta(seconds=n)
