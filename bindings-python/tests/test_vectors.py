"""Every golden vector of tests/vectors/*.json through decode, encode and Decoder.

The format is described in tests/vectors/README.md. Valid vectors decode to
their JSON form (whole and streamed), encode back to their bytes (canonical
ones exactly; the others to bytes that decode to the same packet) and round
trip through packet_from_dict. Invalid vectors fail with exactly their reason
code, whole and streamed; each cites the normative statement it checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import mqtt_engine as m

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors"
# The largest packet MQTT can express: Remaining Length 268,435,455 plus a
# 5-byte fixed header.
NO_LIMIT = 268_435_460


def load(kind: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(VECTORS.glob(f"{kind}-*.json")):
        out.extend(json.loads(path.read_text())["vectors"])
    return out


VALID = load("valid")
INVALID = load("invalid")


def test_the_vector_files_are_there() -> None:
    assert len(VALID) > 300
    assert len(INVALID) > 400
    names = [v["name"] for v in VALID + INVALID]
    assert len(names) == len(set(names))


def stream(data: bytes, version: int, chunk: int, max_packet_size: int = NO_LIMIT) -> list[m.Packet]:
    d = m.Decoder(version, max_packet_size=max_packet_size)
    out: list[m.Packet] = []
    for i in range(0, len(data), chunk):
        out.extend(d.feed(data[i : i + chunk]))
    assert d.buffered == 0
    return out


@pytest.mark.parametrize("v", VALID, ids=[v["name"] for v in VALID])
def test_valid(v: dict[str, Any]) -> None:
    version: int = v["protocol"]
    data = bytes.fromhex(v["hex"])
    want: dict[str, Any] = v["packet"]

    packet = m.decode(data, version)
    assert packet.to_dict() == want

    # Streamed: one byte at a time (4 KiB chunks for the 2 MiB vector).
    chunk = 1 if len(data) < 65_536 else 4096
    assert stream(data, version, chunk) == [packet]

    # From the JSON form.
    from_dict = m.packet_from_dict(want)
    assert from_dict == packet
    assert type(from_dict) is type(packet)

    if v.get("canonical", True):
        assert m.encode(want, version) == data
        assert m.encode(packet, version) == data
    else:
        again = m.encode(want, version)
        assert m.decode(again, version).to_dict() == want
        assert m.encode(packet, version) == again


@pytest.mark.parametrize("v", INVALID, ids=[v["name"] for v in INVALID])
def test_invalid(v: dict[str, Any]) -> None:
    # Each vector checks the statement it names, e.g. [MQTT-3.3.1-4].
    version: int = v["protocol"]
    data = bytes.fromhex(v["hex"])
    code: int = v["error"]["reason_code"]
    limit = v.get("max_packet_size")

    with pytest.raises(m.DecodeError) as whole:
        m.decode(data, version, max_packet_size=limit)
    assert whole.value.reason_code == code, (v["error"]["statement"], str(whole.value))
    assert f"0x{code:02X}" in str(whole.value)
    assert isinstance(whole.value, m.RemoteProtocolError)
    assert isinstance(whole.value, m.MqttError)

    d = m.Decoder(version, max_packet_size=limit if limit is not None else NO_LIMIT)
    with pytest.raises(m.DecodeError) as streamed:
        for b in data:
            assert d.feed(bytes([b])) == []
    assert streamed.value.reason_code == code, v["error"]["statement"]
