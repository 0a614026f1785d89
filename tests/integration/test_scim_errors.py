"""Bad input always gets an RFC 7644 §3.12 error body, never a 500, and changes nothing."""

from __future__ import annotations

import pytest

from tests.conftest import Running, ScimClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def assert_scim_error(reply, status: int, scim_type: str | None = None) -> None:
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"].startswith("application/scim+json")
    body = reply.json
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    assert isinstance(body["detail"], str) and len(body["detail"]) > 10
    if scim_type:
        assert body["scimType"] == scim_type


async def count_users(scim: ScimClient) -> int:
    return (await scim.get("/Users?count=0")).json["totalResults"]


@pytest.mark.parametrize(
    ("raw", "status", "scim_type"),
    [
        (b'{"schemas": [', 400, "invalidSyntax"),
        (b"[1, 2]", 400, "invalidSyntax"),
        (b'{"userName": "a"}', 400, "invalidSyntax"),
        (b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}', 400, "invalidValue"),
        (b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": 42}', 400, "invalidValue"),
        (
            b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", '
            b'"active": "maybe"}',
            400,
            "invalidValue",
        ),
        (
            b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "name": "Ada"}',
            400,
            "invalidValue",
        ),
        (b"", 400, "invalidSyntax"),
    ],
)
async def test_bad_user_bodies(scim: ScimClient, raw: bytes, status: int, scim_type: str) -> None:
    reply = await scim.post("/Users", raw=raw)
    assert_scim_error(reply, status, scim_type)
    assert await count_users(scim) == 0


async def test_unsupported_media_type(scim: ScimClient) -> None:
    reply = await scim.post(
        "/Users", raw=b"userName=a", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_scim_error(reply, 415)
    assert "application/scim+json" in reply.json["detail"]


async def test_body_over_the_size_limit(start_emulator) -> None:
    emu: Running = await start_emulator(max_body_bytes=4096)
    scim = emu.scim()
    reply = await scim.post("/Users", {"schemas": [USER], "userName": "a", "displayName": "x" * 5000})
    assert_scim_error(reply, 413)
    assert "4096" in reply.json["detail"]
    assert await count_users(scim) == 0


async def test_unknown_ids_paths_and_methods(scim: ScimClient) -> None:
    assert_scim_error(await scim.get("/Users/does-not-exist"), 404)
    assert_scim_error(await scim.put("/Users/does-not-exist", {"schemas": [USER], "userName": "a"}), 404)
    assert_scim_error(await scim.get("/Nope"), 404)
    assert_scim_error(await scim.post("/ServiceProviderConfig", {}), 405)
    assert_scim_error(await scim.delete("/Users"), 405)


async def test_bad_patch_changes_nothing(scim: ScimClient) -> None:
    user = (await scim.post("/Users", {"schemas": [USER], "userName": "ada", "displayName": "Ada"})).json
    bodies = [
        {"Operations": [{"op": "replace", "path": "displayName", "value": "B"}]},
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []},
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "frobnicate", "path": "displayName"}],
        },
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "displayName", "value": "B"},
                {"op": "replace", "path": "active", "value": "perhaps"},
            ],
        },
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "userName", "value": None}],
        },
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove"}]},
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "id", "value": "x"}],
        },
    ]
    for body in bodies:
        reply = await scim.patch(f"/Users/{user['id']}", body)
        assert 400 <= reply.status < 500, (body, reply.body)
        assert reply.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    after = (await scim.get(f"/Users/{user['id']}")).json
    assert after == user


async def test_patch_rename_onto_an_existing_user_name_is_a_conflict(scim: ScimClient) -> None:
    await scim.post("/Users", {"schemas": [USER], "userName": "ada"})
    bob = (await scim.post("/Users", {"schemas": [USER], "userName": "bob"})).json
    reply = await scim.patch(
        f"/Users/{bob['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "userName", "value": "ADA"}],
        },
    )
    assert_scim_error(reply, 409, "uniqueness")
    assert (await scim.get(f"/Users/{bob['id']}")).json["userName"] == "bob"


SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.mark.parametrize(
    ("path", "body", "scim_type"),
    [
        ("/Users/.search", {"sortBy": "userName", "sortOrder": 1}, "invalidValue"),
        ("/.search", {"sortBy": "userName", "sortOrder": ["descending"]}, "invalidValue"),
        ("/.search", {"attributes": 5}, "invalidValue"),
        ("/.search", {"excludedAttributes": {"a": 1}}, "invalidValue"),
        ("/.search", {"attributes": [5]}, "invalidValue"),
        ("/Users/.search", {"attributes": 5}, "invalidValue"),
        ("/Users/.search", {"filter": 5}, "invalidFilter"),
        ("/.search", {"filter": 5}, "invalidFilter"),
        ("/Users/.search", {"filter": ""}, "invalidFilter"),
        ("/.search", {"filter": "   "}, "invalidFilter"),
        ("/Users/.search", {"startIndex": 1.5}, "invalidValue"),
        ("/Users/.search", {"count": True}, "invalidValue"),
    ],
)
async def test_search_requests_with_wrong_types_are_4xx_not_500(
    scim: ScimClient, path: str, body: dict, scim_type: str
) -> None:
    await scim.post("/Users", {"schemas": [USER], "userName": "ada"})
    assert_scim_error(await scim.post(path, {"schemas": [SEARCH], **body}), 400, scim_type)


@pytest.mark.parametrize("query", ["filter=", "filter=%20%20"])
async def test_an_empty_filter_is_invalid_filter_not_everything(scim: ScimClient, query: str) -> None:
    # RFC 7644 §3.4.2.2 has no empty filter: listing everything would hide a client's bug.
    await scim.post("/Users", {"schemas": [USER], "userName": "ada"})
    assert_scim_error(await scim.get(f"/Users?{query}"), 400, "invalidFilter")


@pytest.mark.parametrize(
    ("start_index", "echoed", "shown"),
    [
        ("99999999999999999999999", 2**31 - 1, 0),
        ("9" * 5000, 2**31 - 1, 0),
        ("2147483648", 2**31 - 1, 0),
        ("-99999999999999999999999", 1, 1),
        ("00000000000000000000000000000007", 7, 0),
    ],
)
async def test_a_huge_start_index_is_clamped_not_a_500(
    scim: ScimClient, start_index: str, echoed: int, shown: int
) -> None:
    await scim.post("/Users", {"schemas": [USER], "userName": "ada"})
    reply = await scim.get(f"/Users?startIndex={start_index}&count=99999999999999999999999")
    assert reply.status == 200, reply.body
    assert reply.json["startIndex"] == echoed and len(reply.json["Resources"]) == shown
    assert reply.json["totalResults"] == 1
    searched = await scim.post("/.search", {"schemas": [SEARCH], "startIndex": 2**63 - 1})
    assert searched.status == 200 and searched.json["startIndex"] == 2**31 - 1


async def test_a_deeply_nested_body_is_refused_and_the_exchange_log_still_reads(
    emulator: Running, scim: ScimClient
) -> None:
    nested = b'{"a":' * 1000 + b'"bottom"' + b"}" * 1000
    raw = b'{"schemas": ["' + USER.encode() + b'"], "userName": "ada", "displayName": ' + nested + b"}"
    reply = await scim.post("/Users", raw=raw)
    assert_scim_error(reply, 400)
    assert await count_users(scim) == 0
    async with emulator.session.get(f"{emulator.url}/_emulator/exchanges") as resp:
        assert resp.status == 200
        body = await resp.json()
    posted = next(e for e in body["exchanges"] if e["method"] == "POST")
    depth, value = 0, posted["request"]["body"]["displayName"]
    while isinstance(value, dict):
        depth, value = depth + 1, value["a"]
    assert value == "<nested>" and depth < 100
