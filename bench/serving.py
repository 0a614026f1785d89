"""What the benchmarks share: a free port, the real `scim-emulator serve` in its own process,
the control API, and the server's peak RSS."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BENCH_TOKEN = "bench-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, path: str = "/_emulator/health", seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + path, timeout=1)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not become healthy within {seconds} s")


def start_emulator(folder: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """`scim-emulator serve` on a free port over `folder`, accepting BENCH_TOKEN."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulator.cli",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(folder),
            "--log-level",
            "warning",
            *args,
        ],
        env={**os.environ, "SCIM_EMULATOR_TOKEN": BENCH_TOKEN},
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url)
    return proc, url


def control(base: str, method: str, path: str, body: object = None) -> dict:
    """Call the control API (`/_emulator` + path) and decode its JSON answer."""
    request = urllib.request.Request(
        f"{base}/_emulator{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=900) as resp:
        payload = resp.read()
    return json.loads(payload) if payload else {}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
