"""Interop with paho-mqtt 2.1 peers through mosquitto: publish/subscribe both
ways, and request/response both ways (MQTT 5 Response Topic and Correlation
Data), for the asyncio and the blocking client."""

from __future__ import annotations

import asyncio
import queue
import threading
import uuid
from typing import Any, Callable, Optional

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties

import mqtt_engine as m
from conftest import Broker, run
from mqtt_engine import aio, sync


class Paho:
    """A paho-mqtt MQTT 5 client on its own network thread; received
    messages go to `messages`."""

    def __init__(self, broker: Broker, on_message: Optional[Callable[["Paho", paho.MQTTMessage], None]] = None) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"paho-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5)
        self.messages: "queue.Queue[paho.MQTTMessage]" = queue.Queue()
        self._handler = on_message
        self._connected = threading.Event()
        self._subacks: dict[int, threading.Event] = {}
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self._connected.wait(5), "paho did not connect"

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        self._connected.set()

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, codes: Any, properties: Any) -> None:
        self._subacks.setdefault(mid, threading.Event()).set()

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        if self._handler is not None:
            self._handler(self, msg)
        else:
            self.messages.put(msg)

    def subscribe(self, topic: str, qos: int = 1) -> None:
        rc, mid = self.client.subscribe(topic, qos=qos)
        assert rc == paho.MQTT_ERR_SUCCESS and mid is not None
        assert self._subacks.setdefault(mid, threading.Event()).wait(5), "no SUBACK for paho"

    def publish(self, topic: str, payload: bytes, qos: int = 1, properties: Optional[PahoProperties] = None) -> None:
        info = self.client.publish(topic, payload, qos=qos, properties=properties)
        info.wait_for_publish(5)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_properties(**kw: Any) -> PahoProperties:
    props = PahoProperties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    for name, value in kw.items():
        setattr(props, name, value)
    return props


def responder(peer: Paho, msg: paho.MQTTMessage) -> None:
    """A paho service: answers to the Response Topic with the Correlation Data."""
    answer = publish_properties(CorrelationData=prop(msg, "CorrelationData"))
    peer.client.publish(prop(msg, "ResponseTopic"), b"paho says " + msg.payload, qos=1, properties=answer)


def request_from_paho(peer: Paho, topic: str, payload: bytes) -> paho.MQTTMessage:
    """Sends a request the MQTT 5 way and waits for its answer."""
    reply_to = f"replies/{peer.client._client_id.decode()}"
    peer.subscribe(reply_to)
    correlation = uuid.uuid4().bytes
    peer.publish(topic, payload, properties=publish_properties(ResponseTopic=reply_to, CorrelationData=correlation))
    answer = peer.messages.get(timeout=5)
    assert answer.topic == reply_to
    assert prop(answer, "CorrelationData") == correlation
    return answer


def prop(msg: paho.MQTTMessage, name: str) -> Any:
    """A property of a received message (paho sets them as attributes)."""
    return getattr(msg.properties, name, None)


def user_props(msg: paho.MQTTMessage) -> dict[str, str]:
    props = msg.properties
    pairs = getattr(props, "UserProperty", []) if props is not None else []
    return dict(pairs)


@pytest.fixture
def peer(broker: Broker) -> Any:
    p = Paho(broker)
    yield p
    p.close()


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_paho_publishes_we_receive(broker: Broker, peer: Paho, topic: str, qos: int) -> None:
    async def main() -> None:
        async with aio.connect(broker.url()) as c, c.subscribe(f"{topic}/#", qos=2) as sub:
            props = publish_properties(UserProperty=[("from", "paho")], ContentType="text/plain")
            await asyncio.to_thread(peer.publish, f"{topic}/p", b"from paho", qos, props)
            msg = await asyncio.wait_for(sub.__anext__(), 5)
            assert (msg.topic, msg.payload, msg.qos) == (f"{topic}/p", b"from paho", qos)
            assert msg.properties.user_properties == [("from", "paho")]
            assert msg.properties.content_type == "text/plain"

    run(main())


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_we_publish_paho_receives(broker: Broker, peer: Paho, topic: str, qos: int) -> None:
    peer.subscribe(f"{topic}/#", qos=2)

    async def main() -> None:
        async with aio.connect(broker.url()) as c:
            props = m.Properties(user_properties=[("a", "1"), ("a", "2")], content_type="x/y")
            await c.publish(f"{topic}/e", b"from engine", qos=qos, properties=props)
            msg = await asyncio.to_thread(peer.messages.get, True, 5)
            assert (msg.topic, msg.payload, msg.qos) == (f"{topic}/e", b"from engine", qos)
            assert prop(msg, "UserProperty") == [("a", "1"), ("a", "2")]
            assert prop(msg, "ContentType") == "x/y"

    run(main())


def test_paho_requester_our_responder(broker: Broker, peer: Paho, topic: str) -> None:
    async def main() -> None:
        def fails(req: m.Request) -> bytes:
            raise ValueError("no")

        async with aio.connect(broker.url()) as c:
            await c.serve(f"{topic}/echo", lambda req: b"engine says " + req.payload)
            await c.serve(f"{topic}/fail", fails)
            answer = await asyncio.to_thread(request_from_paho, peer, f"{topic}/echo", b"hi")
            assert answer.payload == b"engine says hi"
            assert user_props(answer)["rpc-status"] == "200"
            error = await asyncio.to_thread(request_from_paho, peer, f"{topic}/fail", b"hi")
            assert user_props(error)["rpc-status"] == "500"
            assert user_props(error)["rpc-message"] == "ValueError: no"

    run(main())


def test_our_requester_paho_responder(broker: Broker, topic: str) -> None:
    service = Paho(broker, on_message=responder)
    try:
        service.subscribe(f"{topic}/svc")

        async def main() -> None:
            async with aio.connect(broker.url()) as c:
                resp = await c.call(f"{topic}/svc", b"ping", timeout=5)
                assert resp.payload == b"paho says ping" and resp.status is None
                answers = await asyncio.gather(*(c.call(f"{topic}/svc", str(i), timeout=5) for i in range(5)))
                assert [a.payload for a in answers] == [f"paho says {i}".encode() for i in range(5)]

        run(main())
    finally:
        service.close()


def test_sync_client_both_ways(broker: Broker, peer: Paho, topic: str) -> None:
    service = Paho(broker, on_message=responder)
    try:
        service.subscribe(f"{topic}/svc")
        with sync.connect(broker.url(), timeout=10) as c:
            assert c.call(f"{topic}/svc", b"sync", timeout=5).payload == b"paho says sync"
            c.serve(f"{topic}/ours", lambda req: req.payload.upper())
            assert request_from_paho(peer, f"{topic}/ours", b"up").payload == b"UP"
            with c.subscribe(f"{topic}/p") as sub:
                peer.publish(f"{topic}/p", b"to sync")
                assert sub.next(timeout=5).payload == b"to sync"
    finally:
        service.close()
