"""MCP over MQTT: the native McpServer and McpClient roles on sans-IO clients.

Both roles are attached to Clients that talk through the in-test broker on
simulated time: discovery from retained presence, initialize, tool calls with
results, JSON-RPC errors and timeouts, notifications, server shutdown and a
lost server, and the refusals of every command.
"""

from __future__ import annotations

from typing import Any

import pytest

import mqtt_engine as m
from broker import Hub

SERVER_NAME = "demo/calculator"


def mcp_events(role: m.McpServer | m.McpClient) -> list[Any]:
    return list(role.events())


def online_server(hub: Hub, server_id: str = "calc-1") -> tuple[m.McpServer, m.Client]:
    role = m.McpServer(server_id, SERVER_NAME, "Adds numbers", meta={"version": 2})
    client = m.Client(hub.now, seed=11)
    client.attach_mcp(role)
    hub.add(server_id, client=client)
    assert [type(e) for e in role.events()] == [m.McpOnline]
    assert role.is_online
    return role, client


def discovering_client(hub: Hub, **options: Any) -> tuple[m.McpClient, m.Client]:
    role = m.McpClient("agent-1", seed=5, **options)
    client = m.Client(hub.now, seed=12)
    client.attach_mcp(role)
    hub.add("agent-1", client=client)
    return role, client


def initialized(hub: Hub) -> tuple[m.McpServer, m.Client, m.McpClient, m.Client, int]:
    server, sc = online_server(hub)
    agent, ac = discovering_client(hub)
    [seen] = agent.events()
    assert isinstance(seen, m.McpServerOnline)
    session = agent.initialize(ac, hub.now, SERVER_NAME)
    hub.pump()
    [init] = server.events()
    assert isinstance(init, m.McpInitialize)
    assert init.client == "agent-1"
    assert init.params["protocolVersion"]
    server.respond(
        sc,
        hub.now,
        init.client,
        init.id,
        {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "calc"}},
    )
    hub.pump()
    [ready] = agent.events()
    match ready:
        case m.McpInitialized(s, "calc-1", "demo/calculator", result):
            assert s == session and result["serverInfo"] == {"name": "calc"}
        case _:
            pytest.fail(repr(ready))
    assert agent.is_ready(session)
    [note] = server.events()
    assert isinstance(note, m.McpClientNotification) and note.method == "notifications/initialized"
    return server, sc, agent, ac, session


def test_attach_sets_the_client_up_for_the_role() -> None:
    hub = Hub()
    role = m.McpServer("calc-1", SERVER_NAME)
    client = m.Client(hub.now, client_id="ignored", version=4, seed=1)
    client.attach_mcp(role)
    assert client.mcp is role
    assert client.client_id == "calc-1" and client.version == 5
    hub.add("calc-1", client=client)
    [connect] = [p for p in hub.broker.conns[0].received if isinstance(p, m.Connect)]
    assert ("MCP-COMPONENT-TYPE", "mcp-server") in connect.properties.user_properties
    will = connect.will
    assert will is not None and will.topic == "$mcp-server/presence/calc-1/demo/calculator"
    assert will.retain and will.payload == b""


def test_attach_refuses_a_connected_client_and_other_objects() -> None:
    hub = Hub()
    c = hub.add("plain")
    with pytest.raises(m.LocalProtocolError) as e:
        c.attach_mcp(m.McpClient("x"))
    assert e.value.kind == "already_connected"
    with pytest.raises(TypeError):
        m.Client(0, seed=1).attach_mcp(object())  # type: ignore[arg-type]


def test_invalid_ids_are_refused() -> None:
    with pytest.raises(m.LocalProtocolError) as e:
        m.McpServer("a/b", SERVER_NAME)
    assert e.value.kind == "invalid"
    with pytest.raises(m.LocalProtocolError):
        m.McpServer("calc", "bad/+/name")
    with pytest.raises(m.LocalProtocolError):
        m.McpClient("#")
    with pytest.raises(ValueError):
        m.McpClient("ok", choice="first")  # type: ignore[arg-type]


def test_discovery_from_retained_presence() -> None:
    hub = Hub()
    online_server(hub)
    agent, _ = discovering_client(hub)
    [ev] = agent.events()
    match ev:
        case m.McpServerOnline("demo/calculator", "calc-1", "Adds numbers", meta):
            assert meta == {"version": 2}
        case _:
            pytest.fail(repr(ev))
    assert agent.server_names == [SERVER_NAME]
    assert [i.server_id for i in agent.instances(SERVER_NAME)] == ["calc-1"]
    chosen = agent.choose(SERVER_NAME)
    assert chosen is not None and chosen.server_id == "calc-1"


def test_tools_list_and_call_round_trip() -> None:
    hub = Hub()
    server, sc, agent, ac, session = initialized(hub)
    call = agent.call(ac, hub.now, session, "tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}})
    hub.pump()
    [req] = server.events()
    match req:
        case m.McpClientRequest("agent-1", "tools/call", rid, params):
            assert params["arguments"] == {"a": 1, "b": 2}
            assert rid == call
        case _:
            pytest.fail(repr(req))
    server.respond(sc, hub.now, "agent-1", req.id, {"content": [{"type": "text", "text": "3"}]})
    hub.pump()
    [done] = agent.events()
    match done:
        case m.McpCallDone(c, "result", result, None, "tools/call"):
            assert c == call and result["content"][0]["text"] == "3"
            assert done.session == session and done.reason_code is None
        case _:
            pytest.fail(repr(done))
    assert agent.pending == 0


def test_json_rpc_error_answer() -> None:
    hub = Hub()
    server, sc, agent, ac, session = initialized(hub)
    call = agent.call(ac, hub.now, session, "nope/method")
    hub.pump()
    [req] = server.events()
    assert isinstance(req, m.McpClientRequest)
    server.respond(
        sc, hub.now, "agent-1", req.id, error=m.JsonRpcError(m.JsonRpcError.METHOD_NOT_FOUND, "no such method", {"m": 1})
    )
    hub.pump()
    [done] = agent.events()
    assert isinstance(done, m.McpCallDone) and done.call == call
    assert done.outcome == "error" and done.result is None
    err = done.error
    assert err is not None and (err.code, err.message, err.data) == (-32601, "no such method", {"m": 1})
    assert err.to_dict() == {"code": -32601, "message": "no such method", "data": {"m": 1}}


def test_error_given_as_a_dict_or_tuple() -> None:
    hub = Hub()
    server, sc, agent, ac, session = initialized(hub)
    for error in ({"code": -32602, "message": "bad params"}, (-32602, "bad params")):
        agent.call(ac, hub.now, session, "tools/call", {})
        hub.pump()
        [req] = server.events()
        assert isinstance(req, m.McpClientRequest)
        server.respond(sc, hub.now, "agent-1", req.id, error=error)
        hub.pump()
        [done] = agent.events()
        assert isinstance(done, m.McpCallDone) and done.error == m.JsonRpcError(-32602, "bad params")
    with pytest.raises(ValueError):
        server.respond(sc, hub.now, "agent-1", 1, {"x": 1}, error=(-1, "both"))
    with pytest.raises(TypeError):
        server.respond(sc, hub.now, "agent-1", 1, error="wrong")  # type: ignore[arg-type]


def test_call_timeout_through_client_handle_timeout() -> None:
    hub = Hub()
    server, _, agent, ac, session = initialized(hub)
    call = agent.call(ac, hub.now, session, "tools/call", {}, timeout_ms=500)
    hub.pump()
    server.events()
    assert ac.poll_timeout() is not None
    assert agent.poll_timeout() == hub.now + 500
    hub.advance(500)
    [done] = agent.events()
    assert isinstance(done, m.McpCallDone) and (done.call, done.outcome) == (call, "timeout")


def test_notifications_both_ways() -> None:
    hub = Hub()
    server, sc, agent, ac, session = initialized(hub)
    server.notify(sc, hub.now, "agent-1", "notifications/progress", {"progress": 1})
    server.notify_capability(sc, hub.now, "notifications/tools/list_changed")
    hub.pump()
    got = [(e.method, e.params) for e in agent.events() if isinstance(e, m.McpServerNotification)]
    assert got == [("notifications/progress", {"progress": 1}), ("notifications/tools/list_changed", None)]
    agent.notify(ac, hub.now, session, "notifications/cancelled", {"requestId": 9})
    hub.pump()
    [n] = server.events()
    assert isinstance(n, m.McpClientNotification) and n.params == {"requestId": 9}


def test_server_request_answered_by_the_client() -> None:
    hub = Hub()
    server, sc, agent, ac, session = initialized(hub)
    # The server layer sends no requests of its own: script one on the RPC topic.
    sc.publish(
        hub.now,
        "$mcp-rpc/agent-1/calc-1/demo/calculator",
        b'{"jsonrpc":"2.0","id":"p1","method":"ping"}',
        qos=1,
        properties=m.Properties(
            user_properties=[("MCP-COMPONENT-TYPE", "mcp-server"), ("MCP-MQTT-CLIENT-ID", "calc-1")]
        ),
    )
    hub.pump()
    [req] = agent.events()
    assert isinstance(req, m.McpServerRequest) and (req.method, req.id) == ("ping", "p1")
    agent.respond(ac, hub.now, session, req.id, {})
    hub.pump()
    [resp] = server.events()
    match resp:
        case m.McpClientResponse("agent-1", "p1", {}, None):
            pass
        case _:
            pytest.fail(repr(resp))


def test_server_shutdown_ends_sessions() -> None:
    hub = Hub()
    server, sc, agent, ac, session = initialized(hub)
    call = agent.call(ac, hub.now, session, "tools/call", {})
    hub.pump()
    server.events()
    server.shutdown(sc, hub.now)
    hub.pump()
    assert not server.is_online and sc.state == "closed"
    evs = agent.events()
    kinds = [type(e) for e in evs]
    assert m.McpServerOffline in kinds and m.McpSessionClosed in kinds
    [done] = [e for e in evs if isinstance(e, m.McpCallDone)]
    assert (done.call, done.outcome) == (call, "server_offline")
    [closed] = [e for e in evs if isinstance(e, m.McpSessionClosed)]
    assert closed.session == session and closed.reason in ("server_offline", "server_disconnected")
    assert agent.instances(SERVER_NAME) == []


def test_a_lost_server_is_seen_offline_through_its_will() -> None:
    hub = Hub()
    online_server(hub)
    agent, _ = discovering_client(hub)
    agent.events()
    hub.drop("calc-1")
    [off] = agent.events()
    assert off == off and isinstance(off, m.McpServerOffline)
    assert (off.server_name, off.server_id) == (SERVER_NAME, "calc-1")


def test_client_close_and_shutdown() -> None:
    hub = Hub()
    server, _, agent, ac, session = initialized(hub)
    agent.close(ac, hub.now, session)
    hub.pump()
    [closed] = [e for e in agent.events() if isinstance(e, m.McpSessionClosed)]
    assert closed.reason == "closed" and closed.outcome is None and closed.error is None
    assert any(isinstance(e, m.McpClientOffline) or isinstance(e, m.McpClientNotification) for e in server.events())
    agent.shutdown(ac, hub.now)
    hub.pump()
    assert ac.state == "closed"


def test_refusals_carry_a_kind() -> None:
    hub = Hub()
    server, sc, agent, ac, session = initialized(hub)
    with pytest.raises(m.LocalProtocolError) as e:
        agent.initialize(ac, hub.now, "no/such/server")
    assert e.value.kind == "no_server"
    with pytest.raises(m.LocalProtocolError) as e:
        agent.call(ac, hub.now, 999, "tools/list")
    assert e.value.kind == "unknown_session"
    with pytest.raises(m.LocalProtocolError) as e:
        server.respond(sc, hub.now, "stranger", 1, {})
    assert e.value.kind == "unknown_client"
    with pytest.raises(TypeError):
        agent.call(ac, hub.now, session, "tools/call", {"bad": {1, 2}})
    offline = m.Client(0, seed=1)
    offline.attach_mcp(m.McpClient("lonely"))
    lonely = offline.mcp
    assert isinstance(lonely, m.McpClient)
    with pytest.raises(m.LocalProtocolError) as e:
        lonely.start(offline, 0)
    assert e.value.kind == "not_connected"


def test_initialize_refused_by_the_broker() -> None:
    from broker import Broker

    hub = Hub(Broker(refuse=("$mcp-server/capability/calc-1/demo/calculator",)))
    online_server(hub)
    agent, ac = discovering_client(hub)
    agent.events()
    session = agent.initialize(ac, hub.now, SERVER_NAME)
    hub.pump()
    [closed] = [e for e in agent.events() if isinstance(e, m.McpSessionClosed)]
    assert closed.session == session and closed.reason == "initialize_failed"
    assert closed.outcome == "subscription_refused" and closed.reason_code == 0x87


def test_stats_and_reprs() -> None:
    hub = Hub()
    server, _, agent, _, _ = initialized(hub)
    assert set(server.stats) >= {"malformed", "unexpected", "dropped_full"}
    assert agent.stats["malformed"] == 0
    assert server.clients == ["agent-1"] and server.sessions == [("agent-1", True)]
    assert "calc-1" in repr(server) and "agent-1" in repr(agent)
    assert repr(m.JsonRpcError(1, "x")) == "JsonRpcError(code=1, message='x', data=None)"
