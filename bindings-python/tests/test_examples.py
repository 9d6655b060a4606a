"""Every script in bindings-python/examples/ runs against the suite's
mosquitto (URL as its argument), exits 0 and prints what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_peers import mcp_broker

__all__ = ["mcp_broker"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# The lines each example must print (among others).
EXPECTED = {
    "telemetry.py": ["room1: 22.0 C", "received 5 readings, average 21.4 C"],
    "command_ack.py": ["lamp-1 acknowledged command 1: on"],
    "rpc.py": ["add(40, 2) = 42", "bad request answered with status 500"],
    "broadcast_query.py": ["3 devices answered: dev-1, dev-2, dev-3"],
    "mcp_tool_call.py": ["tools: add", "add(40, 2) = 42"],
    "mcp_sdk_tool_call.py": ["initialized: calculator", "tools: add", "add(40, 2) = 42.0"],
}


def test_every_example_is_checked() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example(script: str, mcp_broker: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MQTT_URL"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), mcp_broker],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=EXAMPLES,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for want in EXPECTED[script]:
        assert want in lines, f"{script} did not print {want!r}:\n{done.stdout}{done.stderr}"
