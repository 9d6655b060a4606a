"""Shared pieces of the Python benchmarks: timing, a private mosquitto, child
processes, machine facts and Markdown tables.

Every figure printed by these benchmarks is measured in the same run as the
figures it is compared with: the implementations are timed in turns (round
robin, the order rotated each round) and the median of the rounds is kept.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent  # the repository
PY = sys.executable


# ---------------------------------------------------------------- mqtt_engine


def engine_status(aio: bool = True) -> str | None:
    """None when mqtt_engine (and mqtt_engine.aio if asked) imports, else why not."""
    try:
        import mqtt_engine  # noqa: F401

        if aio:
            import mqtt_engine.aio  # noqa: F401
    except Exception as exc:  # pragma: no cover - reported in the tables
        return f"{type(exc).__name__}: {exc}"
    return None


def versions(names: Iterable[str]) -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# ---------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mosq = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    try:
        mv = subprocess.run([mosq, "-h"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        mv = "?"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "mosquitto": mv.replace("mosquitto version ", ""),
        "load": load(),
    }


def load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


# ---------------------------------------------------------------- timing


def _loop(fn: Callable[[], object], n: int) -> float:
    rep = itertools.repeat(None, n)
    t0 = time.perf_counter()
    for _ in rep:
        fn()
    return time.perf_counter() - t0


def calibrate(fn: Callable[[], object], sample_s: float) -> int:
    """Loop count such that one sample of `fn` takes about `sample_s`."""
    n = 1
    while True:
        t = _loop(fn, n)
        if t >= sample_s / 10 or n >= 1 << 24:
            return max(1, int(n * sample_s / max(t, 1e-9)))
        n *= 4


@dataclass
class Timing:
    per_op: float  # median seconds per call
    spread: float  # (max - min) / median over the rounds
    rounds: list[float] = field(default_factory=list)


def interleaved(fns: dict[str, Callable[[], object]], rounds: int = 7, sample_s: float = 0.04) -> dict[str, Timing]:
    """Time every callable in turns: `rounds` rounds, each timing every
    callable once for about `sample_s`, the order rotated every round.
    The garbage collector is off during a sample (as timeit does) and
    collected between samples, for every implementation alike."""
    names = list(fns)
    counts = {k: calibrate(fns[k], sample_s) for k in names}
    samples: dict[str, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for k in order:
            gc.collect()
            gc.disable()
            try:
                t = _loop(fns[k], counts[k])
            finally:
                gc.enable()
            samples[k].append(t / counts[k])
    out = {}
    for k, v in samples.items():
        med = statistics.median(v)
        out[k] = Timing(med, (max(v) - min(v)) / med if med else 0.0, v)
    return out


def fmt_time(s: float) -> str:
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    return f"{s * 1e3:.2f} ms"


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def ratio(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs:
        return "n/a"
    return f"{ours / theirs:.1f}x"


# ---------------------------------------------------------------- tables


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    rows = [[str(c) for c in r] for r in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- mosquitto


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    """A private mosquitto on a free loopback port with a generated config.

    Settings that the benchmarks depend on, the same for every client:
    no limit on queued messages (so that no QoS 0 message is dropped by the
    broker when a subscriber lags), 100 QoS 1 messages in flight towards each
    client, TCP_NODELAY, no persistence, logging off."""

    CONFIG = (
        "per_listener_settings false\n"
        "listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence false\n"
        "max_queued_messages 0\n"
        "max_inflight_messages 100\n"
        "set_tcp_nodelay true\n"
        "log_dest stderr\n"
        "log_type error\n"
        "log_type warning\n"
    )

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mqe-bench-mosq-"))
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        last = ""
        for _ in range(3):
            self.port = free_port()
            conf = self.dir / "mosquitto.conf"
            conf.write_text(self.CONFIG.format(port=self.port))
            self.log_path = self.dir / "mosquitto.log"
            self.proc = subprocess.Popen(
                [binary, "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=open(self.log_path, "wb"),
            )
            if self._wait_ready():
                return
            last = self.log_path.read_text(errors="replace")
            self.stop()
        raise RuntimeError(f"mosquitto did not start:\n{last}")

    def _wait_ready(self) -> bool:
        until = time.monotonic() + 10
        while time.monotonic() < until:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cpu_seconds(self) -> float:
        """CPU time the broker has used so far (user + system)."""
        try:
            f = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def __enter__(self) -> "Mosquitto":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- child processes


class Child:
    """A role of a benchmark run in its own interpreter. It speaks JSON lines:
    it prints {"ready": true} when set up, waits for a line on stdin to start,
    and prints its result as the last JSON line."""

    def __init__(self, script: Path, args: Sequence[str]):
        # stderr goes to a file: a pipe nobody reads would block a chatty child.
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [PY, str(script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
            bufsize=1,
        )

    def stderr(self) -> str:
        self.err.seek(0)
        return self.err.read()

    def read(self, timeout: float) -> dict:
        import select

        assert self.proc.stdout is not None
        until = time.monotonic() + timeout
        while True:
            left = until - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer from {self.proc.args[2:]} in {timeout} s; "
                                   f"its stderr ends: {self.stderr()[-1500:]}")
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if not r:
                continue
            line = self.proc.stdout.readline()
            if not line:
                err = self.stderr()
                raise RuntimeError(f"{self.proc.args[2:]} exited (rc={self.proc.wait()}):\n{err[-3000:]}")
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)

    def send(self, msg: str = "go") -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(msg + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            if f:
                f.close()
        self.err.close()


def child_ready() -> None:
    print(json.dumps({"ready": True}), flush=True)


def child_wait_go() -> None:
    sys.stdin.readline()


def child_result(d: dict) -> None:
    print(json.dumps(d), flush=True)
