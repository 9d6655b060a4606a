"""Runs the three Python benchmarks one after another and prints one Markdown
report (also written to target/py-bench/report.md): the machine, the versions,
the load, then the codec, throughput and request/response tables.

Called by run.sh, which first installs the peers and builds mqtt_engine.
`--quick` shrinks everything to a smoke test (figures not meaningful).
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

OUT = H.ROOT / "target" / "py-bench"


FAILED: list[str] = []


def run(script: str, args: list[str]) -> tuple[str, float]:
    t0 = time.monotonic()
    p = subprocess.run([H.PY, str(H.HERE / script), *args], stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        FAILED.append(script)
        return f"**{script} failed (exit {p.returncode})**\n\n```\n{p.stdout[-3000:]}\n```", time.monotonic() - t0
    return p.stdout.strip(), time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="codec,throughput,rpc")
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    only = a.only.split(",")
    t_all = time.monotonic()

    import mqtt_engine

    commit = subprocess.run(["git", "-C", str(H.ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    m = H.machine()
    vers = H.versions(["paho-mqtt", "aiomqtt", "gmqtt"])
    sys.path.append(str(OUT / "deps"))
    try:
        from importlib import metadata

        amqtt_v = metadata.distribution("amqtt").version
    except Exception:
        amqtt_v = "not installed"
    native = Path(mqtt_engine._native.__file__)
    head = [
        f"Run {datetime.datetime.now().isoformat(timespec='minutes')} at commit {commit}"
        + (" (--quick: smoke test, figures not meaningful)" if a.quick else ""),
        "",
        H.table(["", ""], [
            ["CPU", m["cpu"]], ["cores", m["cores"]], ["Python", m["python"]], ["mosquitto", m["mosquitto"]],
            ["mqtt_engine", f"{getattr(mqtt_engine, '__version__', '?')} from `{native.parent}` "
                            f"({native.stat().st_size / 1e6:.1f} MB native module)"],
            ["peers", f"paho-mqtt {vers['paho-mqtt']}, aiomqtt {vers['aiomqtt']}, gmqtt {vers['gmqtt']}, "
                      f"amqtt {amqtt_v}"],
            ["load average at start (1, 5, 15 min)", m["load"]],
        ]),
    ]
    parts = ["\n".join(head)]
    print(parts[0] + "\n", flush=True)
    times = []
    if "codec" in only:
        out, t = run("bench_codec.py", ["--json", str(OUT / "codec.json")] + (["--quick"] if a.quick else []))
        parts.append("### Packet handling (codec and sans-IO client)\n\n`bench_codec.py`\n\n" + out)
        print(parts[-1] + "\n", flush=True)
        times.append(f"codec {t:.0f} s")
    if "throughput" in only:
        args = ["--json", str(OUT / "throughput.json")] + (["--n", "5000", "--rounds", "1"] if a.quick else [])
        out, t = run("bench_throughput.py", args)
        parts.append("### Throughput through mosquitto\n\n`bench_throughput.py`\n\n" + out)
        print(parts[-1] + "\n", flush=True)
        times.append(f"throughput {t:.0f} s")
    if "rpc" in only:
        args = ["--json", str(OUT / "rpc.json")] + (["--scale", "0.1", "--rounds", "1"] if a.quick else [])
        out, t = run("bench_rpc.py", args)
        parts.append("### Request/response through mosquitto\n\n`bench_rpc.py`\n\n" + out)
        print(parts[-1] + "\n", flush=True)
        times.append(f"request/response {t:.0f} s")
    parts.append(f"Load average at the end: {H.load()}. Time taken: {', '.join(times)}; "
                 f"all {time.monotonic() - t_all:.0f} s.")
    report = "\n\n".join(parts) + "\n"
    (OUT / "report.md").write_text(report)
    print(parts[-1])
    if FAILED:
        sys.exit(f"failed: {', '.join(FAILED)}")


if __name__ == "__main__":
    main()
