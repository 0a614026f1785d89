"""The initial provisioning cycle of the `large` scenario (10,000 users, 200 groups, 50,000
memberships) into the built-in Galaxy receiver on a durable store, then an incremental cycle
after 100 directory changes: wall time, requests/s, what was sent, and the server's peak RSS.

    .venv/bin/python bench/provisioning_cycle.py [--changes 100]

The server is the real `scim-emulator serve --scenario large --cycle-interval manual` process;
engine and receiver share it, as they do for a user.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

APP = "Starburst%20Galaxy"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(base: str, method: str, path: str, body: object = None) -> dict:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="provisioning-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
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
            "--scenario",
            "large",
            "--cycle-interval",
            "manual",
            "--log-level",
            "warning",
        ],
        env={**os.environ, "SCIM_EMULATOR_TOKEN": "bench-token-0123456789"},
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(1200):
            try:
                urllib.request.urlopen(base + "/_emulator/health", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        print(f"server up with the large scenario loaded in {time.perf_counter() - started:.1f} s")
        token = call(base, "POST", "/tokens", {"name": "bench"})["token"]
        call(
            base,
            "PATCH",
            f"/entra/apps/{APP}/provisioning",
            {
                "mode": "Automatic",
                "tenantUrl": base + "/galaxy/scim/v2",
                "secretToken": token,
                "accidentalDeletionThreshold": 10_000,
            },
        )
        t0 = time.perf_counter()
        initial = call(base, "POST", f"/entra/apps/{APP}/provisioning/run")
        wall = time.perf_counter() - t0
        health = call(base, "GET", "/health")
        print("\ninitial cycle")
        print(f"  wall time        {wall:8.1f} s   (Entra's estimate for 10,000 objects: 100 to 800 minutes)")
        print(f"  requests         {initial['requests']:8d}     {initial['requests'] / wall:8.0f} requests/s")
        objects = initial["objectsProcessed"]
        print(f"  objects          {objects:8d}     {objects / wall:8.0f} objects/s")
        print(f"  by action        {initial['byAction']}")
        print(f"  receiver holds   {health['users']} users, {health['groups']} groups")
        print(f"  peak RSS         {peak_rss_mb(proc.pid):8.0f} MB")

        users = call(base, "GET", "/entra/users")["users"]
        groups = call(base, "GET", "/entra/groups")["groups"]
        rng = random.Random(11)
        changes = 0
        for user in rng.sample(users, args.changes // 2):
            call(base, "PATCH", f"/entra/users/{user['id']}", {"jobTitle": f"Changed {changes}"})
            changes += 1
        for group in rng.sample(groups, args.changes - changes):
            outsider = rng.choice(users)
            if outsider["id"] not in group["members"]:
                call(base, "POST", f"/entra/groups/{group['id']}/members", {"id": outsider["id"]})
            else:
                call(base, "DELETE", f"/entra/groups/{group['id']}/members/{outsider['id']}")
            changes += 1
        call(base, "DELETE", "/exchanges")
        t0 = time.perf_counter()
        incremental = call(base, "POST", f"/entra/apps/{APP}/provisioning/run")
        wall = time.perf_counter() - t0
        sent = call(base, "GET", "/exchanges?limit=100000")["exchanges"]
        writes = [e for e in sent if e["method"] != "GET"]
        print(
            f"\nincremental cycle after {changes} changes ({args.changes // 2} attribute changes, "
            f"{changes - args.changes // 2} membership changes)"
        )
        print(f"  wall time        {wall:8.2f} s")
        print(
            f"  requests         {incremental['requests']:8d}     ({len(writes)} writes, the rest "
            "queries and the start-of-cycle probe)"
        )
        print(f"  objects          {incremental['objectsProcessed']:8d}")
        print(f"  by action        {incremental['byAction']}")
        print(f"  peak RSS         {peak_rss_mb(proc.pid):8.0f} MB")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)


if __name__ == "__main__":
    main()
