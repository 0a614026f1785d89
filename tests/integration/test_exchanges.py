"""The exchange log at /_emulator/exchanges and the health probe."""

from __future__ import annotations

from tests.conftest import Running, ScimClient


async def get_json(emu: Running, path: str) -> tuple[int, dict]:
    async with emu.session.get(emu.url + path) as resp:
        return resp.status, await resp.json()


async def test_each_exchange_is_recorded_with_bodies_status_and_duration(
    emulator: Running, scim: ScimClient
) -> None:
    await scim.post("/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada"})
    await scim.get("/Users/missing")
    status, body = await get_json(emulator, "/_emulator/exchanges")
    assert status == 200
    first, second = body["exchanges"]
    assert first["method"] == "POST" and first["path"] == "/galaxy/scim/v2/Users" and first["status"] == 201
    assert first["request"]["body"]["userName"] == "ada" and first["response"]["body"]["userName"] == "ada"
    assert first["durationMs"] >= 0 and first["time"].endswith("Z")
    assert second["status"] == 404 and second["seq"] > first["seq"]


async def test_exchange_filters_and_limit(emulator: Running, scim: ScimClient) -> None:
    for i in range(5):
        await scim.get(f'/Users?filter=userName eq "u{i}"')
    await scim.get("/Groups")
    _, only_groups = await get_json(emulator, "/_emulator/exchanges?path=/Groups")
    assert [e["path"] for e in only_groups["exchanges"]] == ["/galaxy/scim/v2/Groups"]
    _, last_two = await get_json(emulator, "/_emulator/exchanges?limit=2")
    assert len(last_two["exchanges"]) == 2 and last_two["exchanges"][-1]["path"].endswith("/Groups")
    _, since = await get_json(emulator, f"/_emulator/exchanges?since={last_two['exchanges'][0]['seq']}")
    assert len(since["exchanges"]) == 1
    status, error = await get_json(emulator, "/_emulator/exchanges?limit=lots")
    assert status == 400 and "limit" in error["error"]


async def test_exchange_log_is_bounded(start_emulator) -> None:
    emu = await start_emulator(exchange_log_size=3)
    for _ in range(5):
        await emu.scim().get("/Users")
    _, body = await get_json(emu, "/_emulator/exchanges")
    assert len(body["exchanges"]) == 3


async def test_health_answers_when_ready(emulator: Running) -> None:
    status, body = await get_json(emulator, "/_emulator/health")
    assert status == 200 and body["status"] == "ready"
    status, body = await get_json(emulator, "/_emulator/nope")
    assert status == 404 and body["error"]


async def test_passwords_never_reach_the_exchange_log_or_an_error_detail(
    emulator: Running, scim: ScimClient
) -> None:
    user = "urn:ietf:params:scim:schemas:core:2.0:User"
    patch_op = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    made = await scim.post("/Users", {"schemas": [user], "userName": "ada", "Password": "Secret-1-abc"})
    assert made.status == 201
    path = f"/Users/{made.json['id']}"
    await scim.post("/Users", {"schemas": [user], "userName": "bob", f"{user}:password": "Secret-2-abc"})
    await scim.patch(
        path,
        {
            "schemas": [patch_op],
            "Operations": [{"Op": "Replace", "Path": "password", "Value": "Secret-3-abc"}],
        },
    )
    await scim.patch(
        path,
        {
            "schemas": [patch_op],
            "Operations": [{"op": "replace", "path": f"{user}:password", "value": "Secret-4-abc"}],
        },
    )
    broken = await scim.post("/Users", raw=b'{"schemas": [], "userName": "c", "password": "Secret-5-abc"')
    assert broken.status == 400
    wrong_type = await scim.post("/Users", {"schemas": [user], "userName": "d", "password": 987654321})
    assert wrong_type.status == 400 and "987654321" not in wrong_type.json["detail"]
    assert "password" in wrong_type.json["detail"]
    patched_wrong = await scim.patch(
        path,
        {"schemas": [patch_op], "Operations": [{"op": "replace", "path": "password", "value": 55554444}]},
    )
    assert patched_wrong.status == 400 and "55554444" not in patched_wrong.json["detail"]
    async with emulator.session.get(f"{emulator.url}/_emulator/exchanges") as resp:
        assert resp.status == 200
        text = await resp.text()
    for secret in ("Secret-1", "Secret-2", "Secret-3", "Secret-4", "Secret-5", "987654321", "55554444"):
        assert secret not in text, secret
    raw_length = len(b'{"schemas": [], "userName": "c", "password": "Secret-5-abc"')
    assert f"<{raw_length} bytes, not JSON>" in text
