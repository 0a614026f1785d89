"""Helpers for tests that drive the mock Entra tenant and its engine through the control API."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from tests.conftest import TOKEN, Running

APP = "Starburst Galaxy"


@dataclass
class Control:
    """The control API of one running emulator, failing loudly on unexpected statuses."""

    emu: Running

    async def call(
        self, method: str, path: str, body: object = None, expect: int | tuple = (200, 201)
    ) -> dict:
        async with self.emu.session.request(method, f"{self.emu.url}/_emulator{path}", json=body) as resp:
            text = await resp.text()
            expected = (expect,) if isinstance(expect, int) else expect
            assert resp.status in expected, f"{method} {path} -> {resp.status}: {text}"
            return await resp.json(content_type=None) if text else {}

    async def user(self, upn: str, **fields: object) -> dict:
        given = upn.partition("@")[0]
        body = {"userPrincipalName": upn, "displayName": given.title(), "mail": upn, **fields}
        return await self.call("POST", "/entra/users", body)

    async def group(self, name: str, members: list[str] = ()) -> dict:
        return await self.call("POST", "/entra/groups", {"displayName": name, "members": list(members)})

    async def assign(self, principal: str) -> dict:
        return await self.call("POST", f"/entra/apps/{APP}/assignments", {"principalId": principal})

    async def unassign(self, principal: str) -> dict:
        return await self.call("DELETE", f"/entra/apps/{APP}/assignments/{principal}")

    async def configure(self, **settings: object) -> dict:
        body = {"mode": "Automatic", "tenantUrl": self.emu.scim_url, "secretToken": TOKEN, **settings}
        return await self.call("PATCH", f"/entra/apps/{APP}/provisioning", body)

    async def run(self) -> dict:
        return await self.call("POST", f"/entra/apps/{APP}/provisioning/run")

    async def status(self) -> dict:
        return await self.call("GET", f"/entra/apps/{APP}/provisioning/status")

    async def logs(self, **query: str) -> list[dict]:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return (await self.call("GET", f"/entra/apps/{APP}/provisioning/logs?{qs}"))["entries"]

    async def advance(self, seconds: float) -> dict:
        return await self.call("POST", "/clock/advance", {"seconds": seconds})

    async def exchanges(self, **query: str) -> list[dict]:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return (await self.call("GET", f"/exchanges?limit=1000&{qs}"))["exchanges"]

    async def clear_exchanges(self) -> None:
        await self.call("DELETE", "/exchanges", expect=204)

    async def galaxy_users(self) -> dict[str, dict]:
        async with self.emu.session.get(
            f"{self.emu.scim_url}/Users?count=1000", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as resp:
            return {u["userName"]: u for u in (await resp.json(content_type=None))["Resources"]}

    async def galaxy_groups(self) -> dict[str, dict]:
        async with self.emu.session.get(
            f"{self.emu.scim_url}/Groups?count=1000", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as resp:
            return {g["displayName"]: g for g in (await resp.json(content_type=None))["Resources"]}


def writes(exchanges: list[dict]) -> list[tuple[str, str, object]]:
    """(method, path without the SCIM prefix, request body) of the writes the receiver got."""
    return [
        (e["method"], e["path"].split("/scim/v2", 1)[1], e["request"]["body"])
        for e in exchanges
        if e["method"] in ("POST", "PATCH", "PUT", "DELETE")
    ]


async def session_get(session: aiohttp.ClientSession, url: str) -> dict:
    async with session.get(url) as resp:
        return await resp.json(content_type=None)
