"""The whole SP-initiated login round trip, in process: Galaxy's AuthnRequest by HTTP-Redirect,
Entra's sign-in page and account choice, the signed Response auto-posted to Galaxy's ACS, its
verification, and the session landing page. Each login is a fresh browser (cookies and all).

    .venv/bin/python bench/login.py [--logins 300] [--concurrency 8]

Prints p50 and p99 of one login alone, then logins/s with 8 browsers at once.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.serving import BENCH_TOKEN, free_port
from emulator.app import create_app
from emulator.config import EmulatorConfig
from emulator.headless import HeadlessBrowser, sign_in

USER = "bench.user@contoso.onmicrosoft.com"  # no password: the one-click sign-in of the picker


async def prepare(base: str) -> None:
    """Provision one assigned user so Galaxy admits them."""
    async with HeadlessBrowser() as browser:
        session = browser.session
        api = f"{base}/_emulator"
        async with session.post(
            f"{api}/entra/users", json={"userPrincipalName": USER, "displayName": "Bench"}
        ) as r:
            user = await r.json()
        async with session.post(
            f"{api}/entra/apps/Starburst Galaxy/assignments", json={"principalId": user["id"]}
        ):
            pass
        settings = {"mode": "Automatic", "tenantUrl": f"{base}/galaxy/scim/v2", "secretToken": BENCH_TOKEN}
        async with session.patch(f"{api}/entra/apps/Starburst Galaxy/provisioning", json=settings):
            pass
        async with session.post(f"{api}/entra/apps/Starburst Galaxy/provisioning/run") as r:
            assert r.status == 200, await r.text()


async def one_login(base: str) -> float:
    started = time.perf_counter()
    async with HeadlessBrowser() as browser:
        result = await sign_in(browser, base, USER)
    if not result.signed_in:
        raise RuntimeError(f"login failed: {result.outcome}: {result.detail}")
    return (time.perf_counter() - started) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    config = EmulatorConfig(
        data_dir=Path(tempfile.mkdtemp(prefix="login-bench-")),
        port=port,
        token=BENCH_TOKEN,
        cycle_interval=None,
        log_level="warning",
    )
    runner = web.AppRunner(create_app(config), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = config.base_url
    try:
        await prepare(base)
        for _ in range(10):  # warm up: imports, key loading, template compilation
            await one_login(base)
        alone = sorted([await one_login(base) for _ in range(args.logins)])
        print(f"one login at a time ({args.logins} logins, client and server in one process):")
        print(f"  p50 {statistics.median(alone):6.2f} ms   p99 {alone[int(len(alone) * 0.99) - 1]:6.2f} ms")
        gate = asyncio.Semaphore(args.concurrency)

        async def gated() -> float:
            async with gate:
                return await one_login(base)

        started = time.perf_counter()
        timings = await asyncio.gather(*(gated() for _ in range(args.logins)))
        wall = time.perf_counter() - started
        timings.sort()
        print(f"{args.concurrency} browsers at once ({args.logins} logins):")
        print(
            f"  {args.logins / wall:6.0f} logins/s   p50 {statistics.median(timings):6.2f} ms   "
            f"p99 {timings[int(len(timings) * 0.99) - 1]:6.2f} ms"
        )
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
