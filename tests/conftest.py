"""Fixtures shared by the whole suite: a live emulator on 127.0.0.1 over a temporary data folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from emulator.app import create_app
from emulator.clock import Clock
from emulator.config import EmulatorConfig
from tests.helpers import free_port

TOKEN = "test-fixed-token-0123456789"
SCIM_PATH = "/galaxy/scim/v2"


@dataclass
class Reply:
    status: int
    headers: dict
    body: object

    @property
    def json(self) -> dict:
        assert isinstance(self.body, dict), self.body
        return self.body


class ScimClient:
    """A tiny SCIM client over a real HTTP connection, sending Entra's media type."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str | None = TOKEN) -> None:
        self.session = session
        self.base = base
        self.token = token

    async def request(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        headers: dict | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        sent = {"Content-Type": "application/scim+json"}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        sent.update(headers or {})
        data = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
        async with self.session.request(method, self.base + path, data=data, headers=sent) as resp:
            text = await resp.read()
            try:
                parsed = orjson.loads(text) if text else None
            except orjson.JSONDecodeError:
                parsed = text.decode()
            return Reply(resp.status, resp.headers.copy(), parsed)

    async def get(self, path: str, **kw) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: object = None, **kw) -> Reply:
        return await self.request("POST", path, body, **kw)

    async def put(self, path: str, body: object = None, **kw) -> Reply:
        return await self.request("PUT", path, body, **kw)

    async def patch(self, path: str, body: object = None, **kw) -> Reply:
        return await self.request("PATCH", path, body, **kw)

    async def delete(self, path: str, **kw) -> Reply:
        return await self.request("DELETE", path, **kw)


@dataclass
class Running:
    server: TestServer
    session: aiohttp.ClientSession
    config: EmulatorConfig

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def scim_url(self) -> str:
        return self.url + SCIM_PATH

    def scim(self, token: str | None = TOKEN) -> ScimClient:
        return ScimClient(self.session, self.scim_url, token)


StartEmulator = Callable[..., Awaitable[Running]]


@pytest.fixture
async def start_emulator(tmp_path: Path) -> AsyncIterator[StartEmulator]:
    """Start emulators on free ports over `tmp_path/data` (or a given folder); all stop at the end."""
    servers: list[TestServer] = []
    session = aiohttp.ClientSession()

    async def start(clock: Clock | None = None, **overrides) -> Running:
        overrides.setdefault("data_dir", tmp_path / "data")
        overrides.setdefault("token", TOKEN)
        overrides.setdefault("scenario", "empty")
        overrides.setdefault("port", free_port())
        config = EmulatorConfig(**overrides)
        server = TestServer(create_app(config, clock), host="127.0.0.1", port=config.port)
        await server.start_server()
        servers.append(server)
        return Running(server, session, config)

    yield start
    for server in reversed(servers):
        await server.close()
    await session.close()


@pytest.fixture
async def emulator(start_emulator: StartEmulator) -> Running:
    return await start_emulator()


@pytest.fixture
async def full_emulator(start_emulator: StartEmulator) -> Running:
    return await start_emulator(scim_profile="full")


@pytest.fixture
def scim(emulator: Running) -> ScimClient:
    return emulator.scim()


@pytest.fixture
def full_scim(full_emulator: Running) -> ScimClient:
    return full_emulator.scim()
