"""MCP over MQTT with the asyncio helpers of mqtt_engine.mcp, through a real
mosquitto: a tool server and a client discovering, initializing and calling
it; what goes on the wire (topics, retained presence, User Properties); a
server going offline under a pending call; and interop with the native Rust
roles (a Rust McpClient calling a Python server, a Python client calling a
Rust McpServer).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import mqtt_engine as m
from conftest import Proxy
from mcp_peers import NativePeer, answer_natively, calculator, mcp_broker, run
from mqtt_engine import mcp

__all__ = ["mcp_broker"]

NAME = "demo/calculator"


def calculator_server(server_id: str = "calc-1", name: str = NAME) -> mcp.Server:
    server = mcp.Server(server_id, name, description="Adds numbers", meta={"zone": "lab"}, version="2.0")

    @server.tool(description="Adds two numbers")
    def add(a: float, b: float) -> float:
        return a + b

    @server.tool()
    async def shout(text: str, times: int = 1) -> str:
        """Upper-cases text."""
        return " ".join([text.upper()] * times)

    @server.tool()
    def stats(values: list) -> dict:  # type: ignore[type-arg]
        """Count and sum."""
        return {"count": len(values), "sum": sum(values)}

    @server.tool()
    def fail() -> None:
        """Always fails."""
        raise ValueError("broken on purpose")

    @server.method("custom/echo")
    def echo(params: Any) -> Any:
        return {"echo": params}

    return server


def test_discover_initialize_list_and_call(mcp_broker: str) -> None:
    async def body() -> None:
        server = calculator_server()
        async with mcp.serve(server, mcp_broker) as conn, mcp.connect(mcp_broker) as client:
            found = await client.wait_for_server(NAME, timeout=10)
            assert found == mcp.ServerInstance("calc-1", NAME, "Adds numbers", {"zone": "lab"})
            assert client.servers() == [found]
            async with client.session(NAME, timeout=10) as s:
                assert s.server_id == "calc-1"
                assert s.server_info == {"name": NAME, "version": "2.0"}
                assert s.initialize_result["protocolVersion"] == mcp.PROTOCOL_VERSION
                assert conn.clients == [client.client_id]

                tools = {t["name"]: t for t in await s.list_tools(timeout=10)}
                assert sorted(tools) == ["add", "fail", "shout", "stats"]
                assert tools["add"]["description"] == "Adds two numbers"
                assert tools["add"]["inputSchema"] == {
                    "type": "object",
                    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                    "required": ["a", "b"],
                }
                assert tools["shout"]["description"] == "Upper-cases text."
                assert tools["shout"]["inputSchema"]["required"] == ["text"]

                r = await s.call_tool("add", {"a": 40, "b": 2}, timeout=10)
                assert r == {"content": [{"type": "text", "text": "42"}], "isError": False}
                r = await s.call_tool("shout", {"text": "hi", "times": 2}, timeout=10)
                assert r["content"][0]["text"] == "HI HI"
                r = await s.call_tool("stats", {"values": [1, 2, 3]}, timeout=10)
                assert r["structuredContent"] == {"count": 3, "sum": 6}
                r = await s.call_tool("fail", timeout=10)
                assert r["isError"] is True and "broken on purpose" in r["content"][0]["text"]
                assert await s.call("custom/echo", {"x": 1}, timeout=10) == {"echo": {"x": 1}}
                await s.ping(timeout=10)

                with pytest.raises(mcp.RpcError) as e:
                    await s.call("no/such", {}, timeout=10)
                assert e.value.code == mcp.METHOD_NOT_FOUND
                with pytest.raises(mcp.RpcError) as e:
                    await s.call_tool("missing", timeout=10)
                assert e.value.code == mcp.INVALID_PARAMS

    run(body())


def test_what_goes_on_the_wire(mcp_broker: str) -> None:
    """Topics, retained presence and User Properties, seen by a plain subscriber."""

    async def body() -> None:
        spy = NativePeer(mcp_broker, client_id="spy")
        await spy.start()
        spy.act(lambda c, t: c.subscribe(t, ["$mcp-server/#", "$mcp-client/#", "$mcp-rpc/#"], 1))
        await spy.wait_for(lambda e: isinstance(e, m.Subscribed), source="client")

        def messages() -> list[m.Message]:
            return [e for e in spy.events if isinstance(e, m.Message)]

        server = calculator_server("calc-w")
        async with mcp.serve(server, mcp_broker), mcp.connect(mcp_broker, client_id="agent-w") as client:
            async with client.session(NAME, timeout=10) as s:
                await s.call_tool("add", {"a": 1, "b": 2}, timeout=10)
            await spy.wait_for(
                lambda e: isinstance(e, m.Message) and e.topic == "$mcp-rpc/agent-w/calc-w/demo/calculator"
                and b"notifications/disconnected" in e.payload,
                source="client",
            )
        await spy.wait_for(
            lambda e: isinstance(e, m.Message) and e.topic == "$mcp-server/presence/calc-w/demo/calculator"
            and e.payload == b"",
            source="client",
        )
        seen = messages()
        presence = [x for x in seen if x.topic == "$mcp-server/presence/calc-w/demo/calculator"]
        online = json.loads(presence[0].payload)
        assert online["method"] == "notifications/server/online"
        assert online["params"] == {"server_name": NAME, "description": "Adds numbers", "meta": {"zone": "lab"}}
        assert presence[-1].payload == b""  # cleared on shutdown

        [init] = [x for x in seen if x.topic == "$mcp-server/calc-w/demo/calculator"]
        assert json.loads(init.payload)["method"] == "initialize"
        assert init.properties.user_properties == [("MCP-COMPONENT-TYPE", "mcp-client"), ("MCP-MQTT-CLIENT-ID", "agent-w")]

        rpc = [x for x in seen if x.topic == "$mcp-rpc/agent-w/calc-w/demo/calculator"]
        methods = [json.loads(x.payload).get("method") for x in rpc]
        assert methods[:2] == [None, "notifications/initialized"]  # the initialize result, then initialized
        assert "tools/call" in methods
        for x in rpc:
            assert x.qos == 1
            sender = dict(x.properties.user_properties)
            body_ = json.loads(x.payload)
            expected = "mcp-client" if "method" in body_ else "mcp-server"
            assert sender["MCP-COMPONENT-TYPE"] == expected
            assert sender["MCP-MQTT-CLIENT-ID"] == ("agent-w" if expected == "mcp-client" else "calc-w")
        await spy.close()

    run(body())


def test_a_server_going_offline_fails_pending_calls_at_once(mcp_broker: str) -> None:
    async def body() -> None:
        server = mcp.Server("slow-1", "demo/slow")
        started = asyncio.Event()

        @server.tool()
        async def hang() -> str:
            started.set()
            await asyncio.Event().wait()
            return "never"

        async with mcp.connect(mcp_broker) as client:
            async with mcp.serve(server, mcp_broker) as conn:
                s = await client.initialize("demo/slow", timeout=10)
                call = asyncio.ensure_future(s.call_tool("hang", timeout=60))
                await asyncio.wait_for(started.wait(), 10)
                await conn.shutdown()
                with pytest.raises(mcp.SessionClosed) as e:
                    await asyncio.wait_for(call, 10)
                assert e.value.reason == "server_offline"
                assert s.channel.closed
                with pytest.raises(mcp.SessionClosed):
                    await s.call_tool("hang", timeout=10)
            assert client.servers("demo/slow") == []

    run(body())


def test_timeouts(mcp_broker: str) -> None:
    async def body() -> None:
        server = mcp.Server("slow-2", "demo/slow2")

        @server.tool()
        async def hang() -> str:
            await asyncio.Event().wait()
            return "never"

        async with mcp.connect(mcp_broker) as client:
            with pytest.raises(TimeoutError):
                await client.wait_for_server("demo/nobody", timeout=0.2)
            async with mcp.serve(server, mcp_broker):
                async with client.session("demo/slow2", timeout=10) as s:
                    with pytest.raises(TimeoutError):
                        await s.call_tool("hang", timeout=0.2)
                    # the session is still usable
                    assert [t["name"] for t in await s.list_tools(timeout=10)] == ["hang"]

    run(body())


def test_instances_are_chosen_round_robin(mcp_broker: str) -> None:
    async def body() -> None:
        a, b = calculator_server("rr-a", "demo/rr"), calculator_server("rr-b", "demo/rr")
        async with mcp.serve(a, mcp_broker), mcp.serve(b, mcp_broker):
            async with mcp.connect(mcp_broker, choice="round_robin", server_name_filters=["demo/#"]) as client:
                await client.wait_for_server("demo/rr", timeout=10, server_id="rr-a")
                await client.wait_for_server("demo/rr", timeout=10, server_id="rr-b")
                s1 = await client.initialize("demo/rr", timeout=10)
                s2 = await client.initialize("demo/rr", timeout=10)
                assert {s1.server_id, s2.server_id} == {"rr-a", "rr-b"}
                with pytest.raises(mcp.McpError):
                    await client.initialize("demo/rr", timeout=10)  # both have a session with us
                for s in (s1, s2):
                    r = await s.call_tool("add", {"a": 1, "b": 1}, timeout=10)
                    assert r["content"][0]["text"] == "2"
                    await s.close()

    run(body())


def test_invalid_names_are_refused() -> None:
    with pytest.raises(ValueError):
        mcp.Server("a/b", NAME)
    with pytest.raises(ValueError):
        mcp.Server("ok", "demo/+")
    with pytest.raises(ValueError):
        mcp.Server("ok", "demo//x")


def test_a_rust_client_calls_a_python_server(mcp_broker: str) -> None:
    async def body() -> None:
        server = calculator_server("py-calc")
        async with mcp.serve(server, mcp_broker):
            agent = m.McpClient("rust-agent", server_name_filters=[NAME])
            peer = NativePeer(mcp_broker, agent)
            await peer.start()
            online = await peer.wait_for(lambda e: isinstance(e, m.McpServerOnline) and e.server_id == "py-calc")
            assert online.description == "Adds numbers" and online.meta == {"zone": "lab"}
            session = peer.act(lambda c, t: agent.initialize(c, t, NAME))
            ready = await peer.wait_for(lambda e: isinstance(e, (m.McpInitialized, m.McpSessionClosed)))
            assert isinstance(ready, m.McpInitialized), ready
            assert ready.result["serverInfo"] == {"name": NAME, "version": "2.0"}

            async def call(method: str, params: Any) -> Any:
                n = peer.act(lambda c, t: agent.call(c, t, session, method, params))
                return await peer.wait_for(lambda e: isinstance(e, m.McpCallDone) and e.call == n)

            listed = await call("tools/list", {})
            assert listed.outcome == "result"
            assert "add" in [t["name"] for t in listed.result["tools"]]
            done = await call("tools/call", {"name": "add", "arguments": {"a": 40, "b": 2}})
            assert done.result["content"] == [{"type": "text", "text": "42"}]
            missing = await call("no/such", {})
            assert missing.outcome == "error" and missing.error is not None
            assert missing.error.code == mcp.METHOD_NOT_FOUND
            peer.act(lambda c, t: agent.close(c, t, session))
            await peer.close()

    run(body())


def test_a_python_client_calls_a_rust_server(mcp_broker: str) -> None:
    async def body() -> None:
        role = m.McpServer("rust-calc", "demo/rust", "Rust calculator", meta={"lang": "rust"})
        peer = NativePeer(mcp_broker, role)
        await peer.start()
        await peer.wait_for(lambda e: isinstance(e, m.McpOnline))
        answering = answer_natively(peer, calculator)
        async with mcp.connect(mcp_broker) as client:
            found = await client.wait_for_server("demo/rust", timeout=10)
            assert found == mcp.ServerInstance("rust-calc", "demo/rust", "Rust calculator", {"lang": "rust"})
            async with client.session("demo/rust", timeout=10) as s:
                assert s.server_info["name"] == "rust-calculator"
                assert [t["name"] for t in await s.list_tools(timeout=10)] == ["add"]
                r = await s.call_tool("add", {"a": 2, "b": 3}, timeout=10)
                assert r["content"][0]["text"] == "5"
                with pytest.raises(mcp.RpcError) as e:
                    await s.call("no/such", timeout=10)
                assert e.value.code == mcp.METHOD_NOT_FOUND
            # The Rust server saw our notifications/initialized, then our goodbye.
            await peer.wait_for(lambda e: isinstance(e, m.McpClientOffline) and e.client == client.client_id)
            assert any(
                isinstance(e, m.McpClientNotification) and e.method == "notifications/initialized"
                for e in peer.role_events
            )
        # A Rust server shutting down is seen offline.
        async with mcp.connect(mcp_broker) as client:
            await client.wait_for_server("demo/rust", timeout=10)
            s = await client.initialize("demo/rust", timeout=10)
            peer.act(lambda c, t: role.shutdown(c, t))
            with pytest.raises(mcp.SessionClosed):
                await asyncio.wait_for(s.channel.receive(), 10)
            assert s.channel.close_reason == "server_offline"
        answering.cancel()
        await peer.close()

    run(body())


def test_a_session_can_be_opened_again_after_closing(mcp_broker: str) -> None:
    async def body() -> None:
        server = calculator_server("again-1", "demo/again")
        async with mcp.serve(server, mcp_broker) as conn, mcp.connect(mcp_broker) as client:
            for n in range(3):
                async with client.session("demo/again", timeout=10) as s:
                    r = await s.call_tool("add", {"a": n, "b": 1}, timeout=10)
                    assert r["content"][0]["text"] == str(n + 1)
                    assert conn.clients == [client.client_id]

    run(body())


def test_a_lost_connection_ends_sessions_and_the_will_clears_presence(mcp_broker: str, proxy: Proxy) -> None:
    """The server's connection is cut (no DISCONNECT): its will clears the
    retained presence, so the client's session ends as "server_offline", and
    the server's own sessions end as "connection_lost"."""

    async def body() -> None:
        server = calculator_server("cut-1", "demo/cut")
        async with mcp.connect(mcp_broker) as client:
            async with mcp.server_connection(proxy.url(), "cut-1", "demo/cut") as conn:
                accepted: list[mcp.Channel] = []

                async def accept() -> None:
                    async for ch in conn:
                        accepted.append(ch)
                        await server.run_session(ch)

                serving = asyncio.ensure_future(accept())
                s = await client.initialize("demo/cut", timeout=10)
                assert (await s.call_tool("add", {"a": 1, "b": 1}, timeout=10))["content"][0]["text"] == "2"
                proxy.cut()
                with pytest.raises(mcp.SessionClosed):
                    await asyncio.wait_for(s.channel.receive(), 10)
                assert s.channel.close_reason == "server_offline"
                assert client.servers("demo/cut") == []
                await asyncio.wait_for(serving, 10)  # accept() ends with the connection
                assert [ch.close_reason for ch in accepted] == ["connection_lost"]
                assert not conn.online

    run(body())
