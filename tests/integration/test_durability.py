"""Nothing acknowledged is ever lost: kill -9 the server mid-load, restart, count."""

from __future__ import annotations

import asyncio
import random
import signal

import aiohttp
from tinydb import TinyDB

from tests.helpers import ServerProcess

TOKEN = "proc-token-0123456789"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


async def hammer(url: str, acknowledged: list[str], stop: asyncio.Event, worker: int) -> None:
    """Create users as fast as the server answers; remember each one that got a 201."""
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        i = 0
        while not stop.is_set():
            name = f"w{worker}-u{i}@contoso.com"
            i += 1
            try:
                async with session.post(
                    f"{url}/galaxy/scim/v2/Users", json={"schemas": [USER], "userName": name}
                ) as r:
                    if r.status == 201:
                        acknowledged.append(name)
            except (aiohttp.ClientError, ConnectionError):
                return


async def all_user_names(url: str) -> set[str]:
    names: set[str] = set()
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        start = 1
        while True:
            async with session.get(f"{url}/galaxy/scim/v2/Users?startIndex={start}&count=1000") as r:
                page = await r.json()
            names.update(u["userName"] for u in page["Resources"])
            start += 1000
            if start > page["totalResults"]:
                return names


async def test_every_acknowledged_user_survives_kill_9(tmp_path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data)
    acknowledged: list[str] = []
    stop = asyncio.Event()
    workers = [asyncio.create_task(hammer(server.url, acknowledged, stop, w)) for w in range(3)]
    await asyncio.sleep(random.uniform(0.5, 1.5))
    server.proc.kill()  # SIGKILL: no shutdown hook runs
    server.proc.wait()
    stop.set()
    await asyncio.gather(*workers)
    assert len(acknowledged) > 50, "the load ran too briefly to prove anything"

    restarted = ServerProcess(data)
    stored = await all_user_names(restarted.url)
    assert set(acknowledged) <= stored
    assert len(stored) - len(acknowledged) <= 3, "at most one unacknowledged create per worker may land"

    output = restarted.stop(signal.SIGTERM)
    assert restarted.proc.returncode == 0, output
    users = TinyDB(data / "data.json").table("galaxy_users").all()
    assert {u["userName"] for u in users} == stored


async def test_sigint_compacts_the_data_file_for_plain_tinydb(tmp_path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data)
    async with (
        aiohttp.ClientSession(headers=HEADERS) as session,
        session.post(f"{server.url}/galaxy/scim/v2/Users", json={"schemas": [USER], "userName": "ada"}) as r,
    ):
        assert r.status == 201
    server.stop(signal.SIGINT)
    assert server.proc.returncode == 0
    assert [u["userName"] for u in TinyDB(data / "data.json").table("galaxy_users").all()] == ["ada"]
    assert all(p.stat().st_size == 0 for p in data.glob("journal.*.log"))
