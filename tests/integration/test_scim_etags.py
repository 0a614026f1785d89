"""Weak ETags from meta.version, If-Match and If-None-Match (RFC 7644 §3.14)."""

from __future__ import annotations

from tests.conftest import ScimClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "path": "displayName", "value": "New"}],
}


async def test_etag_header_matches_meta_version(scim: ScimClient) -> None:
    reply = await scim.post("/Users", {"schemas": [USER], "userName": "ada"})
    assert reply.headers["ETag"] == reply.json["meta"]["version"] == 'W/"1"'
    got = await scim.get(f"/Users/{reply.json['id']}")
    assert got.headers["ETag"] == 'W/"1"'


async def test_if_none_match_with_current_version_is_304(scim: ScimClient) -> None:
    user = (await scim.post("/Users", {"schemas": [USER], "userName": "ada"})).json
    assert (await scim.get(f"/Users/{user['id']}", headers={"If-None-Match": 'W/"1"'})).status == 304
    assert (await scim.get(f"/Users/{user['id']}", headers={"If-None-Match": 'W/"0"'})).status == 200


async def test_stale_if_match_is_412_and_changes_nothing(scim: ScimClient) -> None:
    user = (await scim.post("/Users", {"schemas": [USER], "userName": "ada"})).json
    path = f"/Users/{user['id']}"
    assert (await scim.patch(path, PATCH, headers={"If-Match": 'W/"1"'})).status == 200
    stale = await scim.patch(path, PATCH, headers={"If-Match": 'W/"1"'})
    assert stale.status == 412 and stale.json["status"] == "412"
    assert (
        await scim.put(path, {"schemas": [USER], "userName": "x"}, headers={"If-Match": 'W/"1"'})
    ).status == 412
    assert (await scim.delete(path, headers={"If-Match": 'W/"1"'})).status == 412
    assert (await scim.get(path)).json["userName"] == "ada"
    assert (await scim.delete(path, headers={"If-Match": "*"})).status == 204


async def test_if_none_match_accepts_star_lists_and_either_tag_form(scim: ScimClient) -> None:
    user = (await scim.post("/Users", {"schemas": [USER], "userName": "ada"})).json
    path = f"/Users/{user['id']}"
    for header in ("*", '"1"', 'W/"0", W/"1"', '"0",W/"1"'):
        reply = await scim.get(path, headers={"If-None-Match": header})
        assert reply.status == 304 and reply.headers["ETag"] == 'W/"1"', header
    assert (await scim.get(path, headers={"If-None-Match": 'W/"0", "2"'})).status == 200


async def test_if_match_uses_the_same_comparison(scim: ScimClient) -> None:
    user = (await scim.post("/Users", {"schemas": [USER], "userName": "ada"})).json
    path = f"/Users/{user['id']}"
    assert (await scim.patch(path, PATCH, headers={"If-Match": '"1"'})).status == 200
    assert (await scim.patch(path, PATCH, headers={"If-Match": 'W/"0", W/"2"'})).status == 200
    assert (await scim.patch(path, PATCH, headers={"If-Match": "2"})).status == 412
    assert (await scim.patch(path, PATCH, headers={"If-Match": 'W/"2"x'})).status == 412
