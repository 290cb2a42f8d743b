"""How much faster the desk checks a return than `ictplan check` does as a fresh process.

    .venv/bin/python benchmarks/bench_serve.py [--files 4] [--repeat 5] [--json]

Starts `ictplan serve` as a user does (a real uvicorn server on a free loopback port), warms it with one
self-check, then, side by side and alternated, times checking one return: a self-check POSTed to the warm
server (the whole HTTP round trip: multipart upload, read, validation, the JSON answer), and `ictplan check
FILE` started as a new process (Python, imports, read, validation). Each is timed on --files sample returns,
clean ones and ones with a mistake in turn (the bench_read cache), so issues are found, placed and sent back
too, --repeat times; medians are compared. The desk writes a self-check's feedback workbook when it is
downloaded, as `ictplan check` writes one only when asked (--feedback): neither is timed here. Also shown, once: an upload recorded through the desk (saved into the inbox,
recorded, summary and feedback rewritten), and the server's start until it answers.

The target: the warm server at least 10× faster than the fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import ROOT, mixed_returns, reference_seconds

TARGET = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(folder: Path, port: int) -> tuple[subprocess.Popen, float]:
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--inbox", str(folder / "inbox"),
                               "--out", str(folder / "out"), "--port", str(port)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(400):
        try:
            httpx.get(f"http://127.0.0.1:{port}/self-check", timeout=1)
            return server, time.perf_counter() - started
        except httpx.TransportError:
            if server.poll() is not None:
                raise SystemExit(f"the server stopped: {server.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.05)
    server.kill()
    raise SystemExit("the server did not answer within 20 s")


def check_on_server(client: httpx.Client, csrf: str, path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    answer = client.post("/self-check", data={"csrf": csrf}, headers={"accept": "application/json"},
                         files=[("files", (path.name, path.read_bytes()))])
    seconds = time.perf_counter() - started
    answer.raise_for_status()
    return seconds, answer.json()[0]["status"]


def check_fresh(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline", "check", str(path)], cwd=ROOT,
                          capture_output=True, env={**os.environ, "COLUMNS": "200"})
    return time.perf_counter() - started, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=4, help="sample returns checked (default 4)")
    parser.add_argument("--repeat", type=int, default=5, help="passes over them (medians shown)")
    parser.add_argument("--seed", type=int, default=2007)
    parser.add_argument("--json", action="store_true", help="print only a JSON object")
    args = parser.parse_args()

    clean = mixed_returns(12, args.seed, 0.0, quiet=args.json)
    mistaken = mixed_returns(12, args.seed, 1.0, quiet=args.json)
    returns = [(clean, mistaken)[n % 2][n % 12] for n in range(args.files)]
    reference_before = reference_seconds()
    with tempfile.TemporaryDirectory(prefix="ictplan-bench-serve-") as scratch:
        folder = Path(scratch)
        (folder / "inbox").mkdir()
        port = free_port()
        server, start_s = start_server(folder, port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
                csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/self-check").text)[1]
                check_on_server(client, csrf, returns[0])  # warm: the first check after start
                warm, fresh, statuses = [], [], {}
                for _ in range(args.repeat):
                    for path in returns:  # alternated, so both meet the machine at the same speed
                        seconds, statuses[path.name] = check_on_server(client, csrf, path)
                        warm.append(seconds)
                        fresh.append(check_fresh(path)[0])
                started = time.perf_counter()
                upload = client.post("/upload", data={"csrf": csrf},
                                     files=[("files", (returns[0].name, returns[0].read_bytes()))])
                upload_s = time.perf_counter() - started
                upload.raise_for_status()
        finally:
            server.terminate()
            server.wait(10)
    reference_after = reference_seconds()
    warm_s, fresh_s = statistics.median(warm), statistics.median(fresh)
    result = {
        "files": len(returns), "repeat": args.repeat, "statuses": statuses,
        "warm_server_s": warm_s, "fresh_check_s": fresh_s, "ratio": fresh_s / warm_s,
        "warm_passes_s": warm, "fresh_passes_s": fresh, "upload_recorded_s": upload_s, "server_start_s": start_s,
        "target": TARGET, "target_met": fresh_s / warm_s >= TARGET,
        "machine": {"cpus": os.cpu_count(), "reference_s_before": reference_before,
                    "reference_s_after": reference_after},
    }
    if not args.json:
        print(f"checking one return: {len(returns)} sample returns × {args.repeat} passes, alternated "
              f"({', '.join(sorted(set(statuses.values())))})")
        print(f"machine speed: reference loop {reference_before:.2f} s before, {reference_after:.2f} s after "
              f"(lower is faster)")
        print(f"{'':44}{'median s':>10}{'min s':>10}{'max s':>10}")
        print(f"{'warm server: POST /self-check (HTTP)':44}{warm_s:10.3f}{min(warm):10.3f}{max(warm):10.3f}")
        print(f"{'fresh process: ictplan check FILE':44}{fresh_s:10.3f}{min(fresh):10.3f}{max(fresh):10.3f}")
        print(f"{'upload recorded (summary and feedback too)':44}{upload_s:10.3f}")
        print(f"{'server start until it answers':44}{start_s:10.3f}")
        print(f"fresh / warm: {fresh_s / warm_s:.1f}x (target {TARGET:.0f}x: "
              f"{'met' if result['target_met'] else 'not met'})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
