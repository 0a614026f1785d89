"""The consoles' pages on a big tenant: the real `scim-emulator serve` on the `large` scenario
(10,000 users, 200 groups, every group assigned) after one provisioning cycle, each page fetched
as a browser would (keep-alive, Galaxy signed in as accountadmin).

    .venv/bin/python bench/console_pages.py [--rounds 20]

Prints, per page, the median and p95 time to the whole answer and its size, then the server's
peak RSS. Why: a page that lists every user in a 10,000-user tenant weighs megabytes; the
pickers search and the lists page, and this shows it stays so.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.serving import BENCH_TOKEN, control, peak_rss_mb, start_emulator

APP = "Starburst%20Galaxy"
ADMIN = "bench.admin@galaxy.example"


def opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))


def sign_in_to_galaxy(browser: urllib.request.OpenerDirector, base: str, password: str) -> None:
    login = browser.open(f"{base}/galaxy/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    form = {"csrf_token": token, "email": ADMIN, "password": password}
    landing = browser.open(f"{base}/galaxy/login", data=urllib.parse.urlencode(form).encode())
    assert ADMIN in landing.read().decode(), "the bench admin did not sign in"


def timed(browser: urllib.request.OpenerDirector, url: str, rounds: int) -> tuple[float, float, int]:
    times, size = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        with browser.open(url) as resp:
            body = resp.read()
            assert resp.status == 200, url
        times.append((time.perf_counter() - started) * 1000)
        size = len(body)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        proc, base = start_emulator(
            Path(folder) / "data", "--scenario", "large", "--cycle-interval", "manual"
        )
        print(f"large scenario loaded and serving in {time.perf_counter() - started:.1f} s")
        try:
            scim = f"{base}/galaxy/scim/v2"
            settings = {"mode": "Automatic", "tenantUrl": scim, "secretToken": BENCH_TOKEN}
            control(base, "PATCH", f"/entra/apps/{APP}/provisioning", settings)
            summary = control(base, "POST", f"/entra/apps/{APP}/provisioning/run")
            seconds = summary["durationMs"] / 1000
            print(f"initial cycle: {summary['objectsProcessed']} objects in {seconds:.1f} s")
            app = control(base, "GET", f"/entra/apps/{APP}")["id"]
            group = control(base, "GET", "/entra/groups")["groups"][0]["id"]
            entry = control(base, "GET", f"/entra/apps/{APP}/provisioning/logs?limit=1")["entries"][0]["id"]
            admin = {"email": ADMIN, "password": "Bench-Admin-2026!", "roles": ["accountadmin"]}
            control(base, "POST", "/galaxy/users", admin)
            browser = opener()
            sign_in_to_galaxy(browser, base, admin["password"])
            portal = f"{base}/entra/portal"
            pages = {
                "Entra Users (page 1 of 100)": f"{portal}/users",
                "Entra Users search": f"{portal}/users?q=smith",
                "Entra Groups": f"{portal}/groups",
                "Entra group detail": f"{portal}/groups/{group}",
                "App Users and groups": f"{portal}/apps/{app}/users",
                "Provisioning status": f"{portal}/apps/{app}/provisioning",
                "Attribute Mapping (edit pane)": f"{portal}/apps/{app}/provisioning/mappings/user?edit=0",
                "Provision on demand": f"{portal}/apps/{app}/provisioning/on-demand",
                "Provisioning logs (500 rows)": f"{portal}/apps/{app}/provisioning/logs",
                "Provisioning log detail": f"{portal}/apps/{app}/provisioning/logs?entry={entry}",
                "Galaxy Access > Users": f"{base}/galaxy/access/users",
                "Galaxy Access > Groups": f"{base}/galaxy/access/groups",
                "Galaxy Requests": f"{base}/galaxy/access/requests",
            }
            print(f"{'page':<34}{'p50 ms':>9}{'p95 ms':>9}{'KiB':>9}")
            for name, url in pages.items():
                p50, p95, size = timed(browser, url, args.rounds)
                print(f"{name:<34}{p50:>9.1f}{p95:>9.1f}{size / 1024:>9.0f}")
            print(f"server peak RSS: {peak_rss_mb(proc.pid):.0f} MiB")
        finally:
            proc.terminate()
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
