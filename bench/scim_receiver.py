"""Throughput of Galaxy's SCIM receiver with one sequential keep-alive client.

Measures creates/s (POST /Users), lookups/s (GET ?filter=userName eq "..."), pages/s (GET
?count=100) at 1,000 and at 50,000 stored users, next to a bare aiohttp hello-world measured in
the same run, and the server's peak RSS. The server is the real `scim-emulator serve` process on a
fresh data folder; its store is pre-filled offline (through the same directory code the routes
use) so the 50,000-user case does not spend a minute on set-up.

    .venv/bin/python bench/scim_receiver.py [--sizes 1000,50000] [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.serving import BENCH_TOKEN, free_port, peak_rss_mb, start_emulator, wait_healthy
from emulator.clock import Clock
from emulator.galaxy.directory import GalaxyDirectory
from emulator.scim.schema import CORE_USER, build_profile
from emulator.store import Store

HEADERS = {"Authorization": f"Bearer {BENCH_TOKEN}", "Content-Type": "application/scim+json"}


def user_name(i: int, prefix: str = "user") -> str:
    return f"{prefix}{i:06d}@contoso.onmicrosoft.com"


def user_body(i: int, prefix: str = "user") -> dict:
    """An Entra-shaped create body (reference §1.6), most of it ignored by the Galaxy profile."""
    return {
        "schemas": [CORE_USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": f"ext-{prefix}-{i}",
        "userName": user_name(i, prefix),
        "active": True,
        "displayName": f"User {i}",
        "emails": [{"primary": True, "type": "work", "value": f"{prefix}{i}@contoso.com"}],
        "name": {"formatted": f"Given{i} Family{i}", "familyName": f"Family{i}", "givenName": f"Given{i}"},
        "meta": {"resourceType": "User"},
        "roles": [],
    }


def prefill(folder: Path, count: int) -> None:
    store = Store(folder)
    directory = GalaxyDirectory(store, Clock(), build_profile("galaxy"))
    for i in range(count):
        directory.create("User", user_body(i))
    store.close()


async def timed(session: aiohttp.ClientSession, requests: list[tuple[str, str, dict | None]]) -> dict:
    """Send `requests` one after another; return rate and latency percentiles."""
    latencies = []
    started = time.perf_counter()
    for method, url, body in requests:
        t0 = time.perf_counter()
        async with session.request(method, url, json=body) as resp:
            await resp.read()
            if resp.status >= 400:
                raise RuntimeError(f"{method} {url} -> {resp.status}")
        latencies.append(time.perf_counter() - t0)
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "rate": len(requests) / wall,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def measure_emulator(size: int, n: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="scim-bench-"))
    t0 = time.perf_counter()
    prefill(folder, size)
    prefill_s = time.perf_counter() - t0
    proc, url = start_emulator(folder)
    scim = url + "/galaxy/scim/v2"
    rng = random.Random(7)
    try:
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(headers=HEADERS, connector=connector) as session:
            creates = await timed(session, [("POST", scim + "/Users", user_body(i, "new")) for i in range(n)])
            total = size + n
            lookups = await timed(
                session,
                [
                    (
                        "GET",
                        f'{scim}/Users?filter=userName eq "{user_name(rng.randrange(size))}"',
                        None,
                    )
                    for _ in range(n)
                ],
            )
            pages = await timed(
                session,
                [
                    ("GET", f"{scim}/Users?startIndex={rng.randrange(1, total - 100)}&count=100", None)
                    for _ in range(max(50, n // 10))
                ],
            )
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return {
        "size": size,
        "prefill_s": prefill_s,
        "creates": creates,
        "lookups": lookups,
        "pages": pages,
        "rss_mb": rss,
    }


def bare_app() -> web.Application:
    """The floor: a hello-world and a JSON echo on plain aiohttp, access log off."""

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"hello": "world"})

    async def echo(request: web.Request) -> web.Response:
        return web.json_response(await request.json(), status=201)

    app = web.Application()
    app.router.add_get("/hello", hello)
    app.router.add_post("/echo", echo)
    app.router.add_get("/_emulator/health", hello)
    return app


async def measure_bare_aiohttp(n: int) -> dict:
    """Served from its own process, like the emulator, so both pay the same client costs."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--bare-server", str(port)])
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
            get = await timed(session, [("GET", base + "/hello", None)] * n)
            post = await timed(session, [("POST", base + "/echo", user_body(i)) for i in range(n)])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"get": get, "post": post}


def row(label: str, m: dict) -> str:
    return f"  {label:<34} {m['rate']:>9.0f}/s   p50 {m['p50']:6.2f} ms   p99 {m['p99']:6.2f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,50000")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    print("Bare aiohttp in its own process, same client:")
    bare = await measure_bare_aiohttp(args.requests)
    print(row("GET /hello", bare["get"]))
    print(row("POST /echo", bare["post"]))
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        r = await measure_emulator(size, args.requests)
        results.append(r)
        print(f"\nscim-emulator with {size:,} stored users (prefilled in {r['prefill_s']:.1f} s):")
        print(row("creates  POST /Users", r["creates"]))
        print(row("lookups  GET filter=userName eq", r["lookups"]))
        print(row("pages    GET count=100", r["pages"]))
        print(f"  peak RSS of the server: {r['rss_mb']:.0f} MB")
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(f"\n{last['size']:,} vs {first['size']:,} users:")
        for key in ("creates", "lookups", "pages"):
            change = (last[key]["rate"] / first[key]["rate"] - 1) * 100
            print(f"  {key:<8} {change:+.0f}%")


if __name__ == "__main__":
    if "--bare-server" in sys.argv:
        web.run_app(bare_app(), host="127.0.0.1", port=int(sys.argv[-1]), print=None, access_log=None)
    else:
        asyncio.run(main())
