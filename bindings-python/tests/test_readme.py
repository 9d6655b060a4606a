"""The Python example of the README runs as printed against the suite's
mosquitto (its broker URL swapped in) and prints what it promises, so the
five-minute start never drifts from the package."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import Broker

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Python in five minutes", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_has_one_python_example() -> None:
    assert len(python_blocks()) == 1


def test_readme_python_example_runs(broker: Broker, topic: str) -> None:
    code = python_blocks()[0]
    assert '"mqtt://localhost:1883"' in code
    # Own topics and client id so parallel or earlier tests cannot interfere.
    code = code.replace('"mqtt://localhost:1883"', repr(broker.url()))
    code = code.replace('client_id="demo"', f'client_id="{topic.replace("/", "-")}"')
    for name in ("sensors/", "svc/echo"):
        code = code.replace(f'"{name}', f'"{topic}/{name}')
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines == [f"{topic}/sensors/2/temp b'19.0'", "b'hi'"], done.stdout
