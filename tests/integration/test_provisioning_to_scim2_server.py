"""The engine against an independent SCIM server (scim2-server from PyPI) on 127.0.0.1: the
same full cycle succeeds there, so the engine is not tuned to our own receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator

import aiohttp
import pytest

from emulator.clock import ManualClock
from tests.entra_helpers import APP, Control
from tests.helpers import scim2_server

TOKEN = "peer-token-0123456789"


@pytest.fixture
def peer() -> Iterator[str]:
    with scim2_server(TOKEN) as url:
        yield url


async def peer_get(url: str, path: str) -> dict:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session,
        session.get(url + path) as resp,
    ):
        return await resp.json(content_type=None)


async def settings_without_manager(entra: Control) -> list[dict]:
    settings = await entra.call("GET", f"/entra/apps/{APP}/provisioning")
    return [m for m in settings["userMappings"] if not m["target"].endswith(":manager")]


@pytest.mark.parametrize("flag", ["", "?aadOptscim062020"])
async def test_user_lifecycle_against_scim2_server(start_emulator, peer: str, flag: str) -> None:
    """Create, match, update, disable on unassignment and soft delete, DELETE on hard delete."""
    entra = Control(await start_emulator(clock=ManualClock(), cycle_interval=None))
    ada = await entra.user("ada@contoso.com", givenName="Ada", surname="Lovelace", department="R&D")
    bob = await entra.user("bob@contoso.com", givenName="Bob", surname="Builder", jobTitle="Builder")
    cy = await entra.user("cy@contoso.com")
    for user in (ada, bob, cy):
        await entra.assign(user["id"])
    result = await entra.call(
        "POST", f"/entra/apps/{APP}/provisioning/test", {"tenantUrl": peer + flag, "secretToken": TOKEN}
    )
    assert result["success"], result
    await entra.configure(
        tenantUrl=peer + flag,
        secretToken=TOKEN,
        provisionGroups=False,
        userMappings=await settings_without_manager(entra),
    )
    await expect_success(entra)
    users = {u["userName"]: u for u in (await peer_get(peer, "/Users"))["Resources"]}
    assert set(users) == {"ada@contoso.com", "bob@contoso.com", "cy@contoso.com"}
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    assert users["ada@contoso.com"][enterprise]["department"] == "R&D"
    assert users["ada@contoso.com"]["emails"][0]["value"] == "ada@contoso.com"
    assert users["bob@contoso.com"]["title"] == "Builder" and users["bob@contoso.com"]["active"] is True

    await entra.call(
        "PATCH",
        f"/entra/users/{ada['id']}",
        {"displayName": "Ada King", "surname": "King", "mail": "ada.king@contoso.com"},
    )
    await entra.unassign(cy["id"])
    await entra.call("DELETE", f"/entra/users/{bob['id']}")
    await expect_success(entra)
    users = {u["userName"]: u for u in (await peer_get(peer, "/Users"))["Resources"]}
    assert users["ada@contoso.com"]["displayName"] == "Ada King"
    assert users["ada@contoso.com"]["name"]["familyName"] == "King"
    assert users["ada@contoso.com"]["emails"][0]["value"] == "ada.king@contoso.com"
    assert users["bob@contoso.com"]["active"] is False
    assert users["cy@contoso.com"]["active"] is False

    await entra.call("POST", f"/entra/users/{bob['id']}/restore")
    await expect_success(entra)
    assert {u["userName"]: u["active"] for u in (await peer_get(peer, "/Users"))["Resources"]}[
        "bob@contoso.com"
    ]
    await entra.call("DELETE", f"/entra/users/{bob['id']}?permanent=true")
    await expect_success(entra)
    names = {u["userName"] for u in (await peer_get(peer, "/Users"))["Resources"]}
    assert names == {"ada@contoso.com", "cy@contoso.com"}


async def test_entra_formats_scim2_server_refuses_are_reported_in_the_logs(start_emulator, peer: str) -> None:
    """Two of Entra's documented forms that scim2-server refuses, as real Entra would meet them:
    the ADSCIM schema URN in a group POST (§1.6 "Create group") and the bare `manager` path
    (§1.6 "Manager", S1 Example 5). The logs name the peer's own error."""
    entra = Control(await start_emulator(clock=ManualClock(), cycle_interval=None))
    ada = await entra.user("ada@contoso.com")
    bob = await entra.user("bob@contoso.com", manager=ada["id"])
    team = await entra.group("Team", [ada["id"], bob["id"]])
    await entra.assign(team["id"])
    await entra.configure(tenantUrl=peer, secretToken=TOKEN)
    summary = await entra.run()
    assert summary["status"] == "partial"
    reasons = {
        f["sourceIdentity"]["displayName"]: f["provisioningStatusInfo"]["errorInformation"]["reason"]
        for f in await entra.logs(status="failure")
    }
    assert "Unknown extension schemas" in reasons["Team"]
    assert "'manager' is not an attribute" in reasons["Bob"]


async def expect_success(entra: Control) -> None:
    summary = await entra.run()
    failures = await entra.logs(status="failure")
    assert summary["status"] == "success", "\n".join(
        json.dumps(f["provisioningStatusInfo"]) for f in failures
    )
