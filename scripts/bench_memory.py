#!/usr/bin/env python3
"""Memory of `lrs serve` around very large batches: peak and what stays afterwards.

    .venv/bin/python scripts/bench_memory.py [--count 20000] [--rounds 3]

Starts `lrs serve` on a fresh SQLite database (as scripts/bench.py does), then POSTs
--rounds batches of --count new xAPI-SG statements each (20,000 are about 17 MB, within the
default 20 MB body limit), one at a time, and last the final batch once more (a client's
retry: every statement is then compared with the stored one). It prints the RSS of the
server process and of the SQLite writer process: before, the peak during each POST
(sampled every 20 ms) and one second after it.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import HOST, Server, TrafficModel, free_port, post_request  # noqa: E402


def rss_mb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) // 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def post(port: int, body: bytes) -> tuple[int, float]:
    """One POST on a fresh connection: (status, seconds)."""
    started = time.monotonic()
    with socket.create_connection((HOST, port), timeout=600) as conn:
        conn.sendall(post_request(port, body))
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]), time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="statements per POST (default 20,000)")
    parser.add_argument("--rounds", type=int, default=3, help="POSTs, one after the other (default 3)")
    args = parser.parse_args()

    model = TrafficModel()
    bodies = [model.body(args.count) for _ in range(args.rounds)]
    bodies.append(bodies[-1])
    with tempfile.TemporaryDirectory(prefix="lrs-bench-memory-") as tmp:
        server = Server(free_port(), Path(tmp) / "bench.sqlite3", None, Path(tmp) / "server.log")
        server.start()
        try:
            server.wait_ready()
            time.sleep(0.5)  # the writer process has started
            pids = server.pids()
            names = {pids[0]: "server"} | {pid: "writer" for pid in pids[1:]}
            print(f"{args.rounds} POSTs of {args.count:,} statements ({len(bodies[0]) / 1e6:.1f} MB each), then the last again")
            print("RSS in MB       " + "".join(f"{names[p]:>10s}" for p in pids) + "     total")

            def line(label: str, values: dict[int, int]) -> None:
                print(f"{label:16s}" + "".join(f"{values[p]:10d}" for p in pids) + f"{sum(values.values()):10d}")

            line("before", {p: rss_mb(p) for p in pids})
            for round_, body in enumerate(bodies, 1):
                label = f"POST {round_}" if round_ <= args.rounds else f"retry of {round_ - 1}"
                peaks = {p: 0 for p in pids}
                done = threading.Event()

                def sample() -> None:
                    while not done.is_set():
                        for p in pids:
                            peaks[p] = max(peaks[p], rss_mb(p))
                        done.wait(0.02)

                sampler = threading.Thread(target=sample)
                sampler.start()
                status, seconds = post(server.port, body)
                done.set()
                sampler.join()
                if status != 200:
                    print(f"{label}: status {status}; the server log:\n{server.log_tail()}")
                    return 2
                line(f"{label} peak", peaks)
                time.sleep(1.0)
                line("  1 s after", {p: rss_mb(p) for p in pids})
                print(f"  ({seconds:.1f} s, {args.count / seconds:,.0f} statements/s)")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
