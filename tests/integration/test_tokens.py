"""Galaxy's access tokens: shown once, stored hashed, several live at once, each revocable."""

from __future__ import annotations

import json

from emulator.app import STORE
from tests.conftest import Running, ScimClient


async def create_token(emu: Running, name: str = "") -> dict:
    async with emu.session.post(f"{emu.url}/_emulator/tokens", json={"name": name}) as resp:
        assert resp.status == 201
        return await resp.json()


async def test_missing_wrong_and_malformed_tokens_get_401_with_bearer_challenge(emulator: Running) -> None:
    for token, header in [(None, None), ("wrong", None), (None, "Basic Zm9vOmJhcg==")]:
        client = emulator.scim(token=token)
        reply = await client.get("/Users", headers={"Authorization": header} if header else None)
        assert reply.status == 401
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
        assert reply.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert reply.json["status"] == "401"


async def test_generated_tokens_work_side_by_side_until_revoked(emulator: Running) -> None:
    first, second = await create_token(emulator, "Entra"), await create_token(emulator, "curl")
    assert first["token"] != second["token"]
    for t in (first, second):
        assert (await emulator.scim(token=t["token"]).get("/Users")).status == 200
    async with emulator.session.delete(f"{emulator.url}/_emulator/tokens/{first['id']}") as resp:
        assert resp.status == 200 and (await resp.json())["revoked"]
    assert (await emulator.scim(token=first["token"]).get("/Users")).status == 401
    assert (await emulator.scim(token=second["token"]).get("/Users")).status == 200
    async with emulator.session.get(f"{emulator.url}/_emulator/tokens") as resp:
        listed = (await resp.json())["tokens"]
    assert {t["id"] for t in listed} >= {first["id"], second["id"]}
    assert all("token" not in t and "hash" not in t for t in listed)


async def test_tokens_are_stored_only_as_hashes(emulator: Running) -> None:
    new = await create_token(emulator)
    stored = json.dumps(emulator.server.app[STORE].table("galaxy_tokens").values())
    assert new["token"] not in stored


async def test_tokens_never_appear_in_the_exchange_log(emulator: Running, scim: ScimClient) -> None:
    await scim.get("/Users")
    await scim.post(
        "/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "a",
            "password": "Hunter2-secret",
        },
    )
    async with emulator.session.get(f"{emulator.url}/_emulator/exchanges") as resp:
        text = await resp.text()
    assert "test-fixed-token" not in text and "Hunter2-secret" not in text
    assert "[redacted]" in text


async def test_regenerate_replaces_a_token_under_its_name(emulator: Running) -> None:
    old = await create_token(emulator, "Entra provisioning")
    async with emulator.session.post(f"{emulator.url}/_emulator/tokens/{old['id']}/regenerate") as resp:
        assert resp.status == 201
        new = await resp.json()
    assert new["name"] == "Entra provisioning" and new["id"] != old["id"]
    assert (await emulator.scim(token=old["token"]).get("/Users")).status == 401
    assert (await emulator.scim(token=new["token"]).get("/Users")).status == 200
    # A revoked or unknown token cannot be regenerated, and nothing is created.
    for token_id in (old["id"], "no-such-id"):
        async with emulator.session.post(f"{emulator.url}/_emulator/tokens/{token_id}/regenerate") as resp:
            assert resp.status == 404
            assert "no live token" in (await resp.json())["error"]
    async with emulator.session.get(f"{emulator.url}/_emulator/tokens") as resp:
        assert len((await resp.json())["tokens"]) == 2
