#!/usr/bin/env python3
"""Writes the fuzz seed corpus from the golden vectors.

Reads every tests/vectors/*.json ({"vectors": [{"protocol": 4|5, "hex": "..."},
...]}) and writes one file per vector into fuzz/corpus/<target>/ for each fuzz
target, prefixed with the selector byte the targets read first (see
fuzz/src/lib.rs): bit 0 is the protocol (0 for 4, 1 for 5), bits 1..7 a
parameter n, 0 here except for the `decode` target, where a vector's
`max_packet_size` is encoded when n can express it. For `stream_split` it also
writes streams of several consecutive vectors of one protocol.

Files are named after the vector and a hash of their content, so running the
script again rewrites nothing and leaves what the fuzzers added in place.
A missing or empty vector set is fine: the targets also start from fuzz/seeds/.

Usage: scripts/fuzz-seed.py [--vectors DIR] [--out DIR] [--max-bytes N]
"""

import argparse
import glob
import hashlib
import json
import os
import re
import sys

TARGETS = ("decode", "roundtrip", "stream_split")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def max_packet_size(n):
    """The maximum packet size the selector parameter n picks (as in lib.rs)."""
    if n == 0:
        return 0xFFFFFFFF
    if n < 64:
        return n
    k = n - 64
    p = 1 << min(6 + k // 2, 32)
    return min(p - (k & 1), 0xFFFFFFFF)


N_FOR_MAX = {}
for _n in range(127, -1, -1):
    N_FOR_MAX[max_packet_size(_n)] = _n


def selector(protocol, n=0):
    return bytes([(n << 1) | (1 if protocol == 5 else 0)])


def load_vectors(vector_dir):
    out = []
    for path in sorted(glob.glob(os.path.join(vector_dir, "*.json"))):
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print(f"fuzz-seed: skipping {path}: {e}", file=sys.stderr)
            continue
        vectors = doc.get("vectors", []) if isinstance(doc, dict) else []
        for i, v in enumerate(vectors):
            if not isinstance(v, dict) or v.get("protocol") not in (4, 5):
                continue
            try:
                data = bytes.fromhex(v.get("hex", ""))
            except (TypeError, ValueError):
                continue
            name = v.get("name") or f"{os.path.basename(path)}-{i}"
            out.append((name, v["protocol"], data, v.get("max_packet_size"), "error" in v))
    return out


def safe(name):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80]


def write(dir_, stem, content, written):
    digest = hashlib.sha1(content).hexdigest()[:12]
    path = os.path.join(dir_, f"{safe(stem)}-{digest}")
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(content)
    written.add(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", default=os.path.join(ROOT, "tests", "vectors"))
    ap.add_argument("--out", default=os.path.join(ROOT, "fuzz", "corpus"))
    ap.add_argument(
        "--max-bytes",
        type=int,
        default=65536,
        help="skip vectors longer than this (a multi-megabyte packet only slows the fuzzers)",
    )
    args = ap.parse_args()

    vectors = load_vectors(args.vectors)
    skipped = [v for v in vectors if len(v[2]) > args.max_bytes]
    vectors = [v for v in vectors if len(v[2]) <= args.max_bytes]

    counts = {}
    for target in TARGETS:
        dir_ = os.path.join(args.out, target)
        os.makedirs(dir_, exist_ok=True)
        written = set()
        for name, protocol, data, max_size, _invalid in vectors:
            n = 0
            if target == "decode" and max_size is not None:
                n = N_FOR_MAX.get(max_size, 0)
            write(dir_, name, selector(protocol, n) + data, written)
        if target == "stream_split":
            # Streams of up to 8 valid packets of one protocol, the last
            # stream of each protocol followed by an invalid one.
            for protocol in (4, 5):
                valid = [v for v in vectors if v[1] == protocol and not v[4]]
                invalid = [v for v in vectors if v[1] == protocol and v[4]]
                for i in range(0, len(valid), 8):
                    group = valid[i : i + 8]
                    stream = b"".join(v[2] for v in group)
                    # n varies the chunk pattern (bits 0..4) across streams.
                    n = (i // 8) % 32
                    write(dir_, f"stream-v{protocol}-{i // 8}", selector(protocol, n) + stream, written)
                    if invalid:
                        bad = invalid[(i // 8) % len(invalid)][2]
                        write(dir_, f"stream-v{protocol}-{i // 8}-bad", selector(protocol, n) + stream + bad, written)
        counts[target] = len(written)

    summary = ", ".join(f"{t} {c}" for t, c in counts.items())
    extra = f"; skipped {len(skipped)} larger than {args.max_bytes} bytes" if skipped else ""
    print(f"fuzz-seed: {len(vectors)} vectors -> {summary} files in {args.out}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
