"""The initial provisioning cycle of the `large` scenario (10,000 users, 200 groups, 50,000
memberships) into the built-in Galaxy receiver on a durable store, then an incremental cycle
after 100 directory changes: wall time, requests/s, what was sent, and the server's peak RSS.

    .venv/bin/python bench/provisioning_cycle.py [--changes 100]

The server is the real `scim-emulator serve --scenario large --cycle-interval manual` process;
engine and receiver share it, as they do for a user.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.serving import control, peak_rss_mb, start_emulator

APP = "Starburst%20Galaxy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="provisioning-bench-"))
    started = time.perf_counter()
    proc, base = start_emulator(folder, "--scenario", "large", "--cycle-interval", "manual")
    try:
        print(f"server up with the large scenario loaded in {time.perf_counter() - started:.1f} s")
        token = control(base, "POST", "/tokens", {"name": "bench"})["token"]
        control(
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
        initial = control(base, "POST", f"/entra/apps/{APP}/provisioning/run")
        wall = time.perf_counter() - t0
        health = control(base, "GET", "/health")
        print("\ninitial cycle")
        print(f"  wall time        {wall:8.1f} s   (Entra's estimate for 10,000 objects: 100 to 800 minutes)")
        print(f"  requests         {initial['requests']:8d}     {initial['requests'] / wall:8.0f} requests/s")
        objects = initial["objectsProcessed"]
        print(f"  objects          {objects:8d}     {objects / wall:8.0f} objects/s")
        print(f"  by action        {initial['byAction']}")
        print(f"  receiver holds   {health['users']} users, {health['groups']} groups")
        print(f"  peak RSS         {peak_rss_mb(proc.pid):8.0f} MB")

        users = control(base, "GET", "/entra/users")["users"]
        groups = control(base, "GET", "/entra/groups")["groups"]
        rng = random.Random(11)
        changes = 0
        for user in rng.sample(users, args.changes // 2):
            control(base, "PATCH", f"/entra/users/{user['id']}", {"jobTitle": f"Changed {changes}"})
            changes += 1
        for group in rng.sample(groups, args.changes - changes):
            outsider = rng.choice(users)
            if outsider["id"] not in group["members"]:
                control(base, "POST", f"/entra/groups/{group['id']}/members", {"id": outsider["id"]})
            else:
                control(base, "DELETE", f"/entra/groups/{group['id']}/members/{outsider['id']}")
            changes += 1
        control(base, "DELETE", "/exchanges")
        t0 = time.perf_counter()
        incremental = control(base, "POST", f"/entra/apps/{APP}/provisioning/run")
        wall = time.perf_counter() - t0
        sent = control(base, "GET", "/exchanges?limit=100000")["exchanges"]
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
