"""Users on Galaxy's SCIM receiver (RFC 7644 §3.3-3.6), in the Galaxy and the full profile."""

from __future__ import annotations

from emulator.app import STORE
from emulator.galaxy.scim_routes import GALAXY_SCIM
from tests.conftest import ScimClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def user_body(user_name: str = "ada@contoso.com", **extra) -> dict:
    return {"schemas": [USER], "userName": user_name, "active": True, **extra}


async def test_created_user_is_returned_with_id_meta_and_location(scim: ScimClient) -> None:
    reply = await scim.post("/Users", user_body(name={"givenName": "Ada", "familyName": "Lovelace"}))
    assert reply.status == 201
    user = reply.json
    assert user["id"] and user["userName"] == "ada@contoso.com"
    assert user["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert user["meta"]["resourceType"] == "User"
    assert user["meta"]["created"].endswith("Z") and user["meta"]["version"] == 'W/"1"'
    assert reply.headers["Location"] == user["meta"]["location"]
    assert user["meta"]["location"].endswith(f"/galaxy/scim/v2/Users/{user['id']}")
    assert reply.headers["Content-Type"].startswith("application/scim+json")
    fetched = await scim.get(f"/Users/{user['id']}")
    assert fetched.status == 200 and fetched.json == user


async def test_galaxy_profile_ignores_unsupported_fields_without_error(scim: ScimClient) -> None:
    """Reference §2: Galaxy stores userName, active, displayName, name.* (4 parts), password;
    everything else is accepted and ignored."""
    body = user_body(
        displayName="Ada L",
        title="Countess",
        emails=[{"value": "ada@contoso.com", "type": "work", "primary": True}],
        name={
            "givenName": "Ada",
            "familyName": "Lovelace",
            "formatted": "Ada Lovelace",
            "honorificPrefix": "Lady",
        },
        **{ENTERPRISE: {"employeeNumber": "7"}},
    )
    body["schemas"] = [USER, ENTERPRISE]
    reply = await scim.post("/Users", body)
    assert reply.status == 201
    user = reply.json
    assert "title" not in user and "emails" not in user and ENTERPRISE not in user
    assert user["name"] == {"givenName": "Ada", "familyName": "Lovelace", "honorificPrefix": "Lady"}
    assert user["displayName"] == "Ada L"
    assert user["schemas"] == [USER]


async def test_full_profile_stores_core_and_enterprise_attributes(full_scim: ScimClient) -> None:
    body = user_body(
        title="Countess",
        emails=[{"value": "ada@contoso.com", "type": "work", "primary": True}],
        **{ENTERPRISE: {"employeeNumber": "7", "department": "Analytics"}},
    )
    body["schemas"] = [USER, ENTERPRISE]
    user = (await full_scim.post("/Users", body)).json
    assert user["title"] == "Countess"
    assert user["emails"] == [{"value": "ada@contoso.com", "type": "work", "primary": True}]
    assert user[ENTERPRISE] == {"employeeNumber": "7", "department": "Analytics"}
    assert set(user["schemas"]) == {USER, ENTERPRISE}


async def test_password_is_write_only(scim: ScimClient, emulator) -> None:
    reply = await scim.post("/Users", user_body(password="S3cret-pass!"))
    assert reply.status == 201 and "password" not in reply.json
    assert "password" not in (await scim.get(f"/Users/{reply.json['id']}")).json
    listed = await scim.get("/Users?attributes=password")
    assert all("password" not in r for r in listed.json["Resources"])
    stored = emulator.server.app[STORE].table("galaxy_users").values()[0]["password"]
    assert stored.startswith("pbkdf2_sha256$") and "S3cret-pass!" not in stored


async def test_user_name_is_unique_case_insensitively(scim: ScimClient) -> None:
    assert (await scim.post("/Users", user_body("Ada@Contoso.com"))).status == 201
    dup = await scim.post("/Users", user_body("ada@contoso.COM"))
    assert dup.status == 409
    assert dup.json["scimType"] == "uniqueness" and dup.json["status"] == "409"
    assert "ada@contoso.COM" in dup.json["detail"]


async def test_inactive_users_are_still_returned_by_get_and_filters(scim: ScimClient) -> None:
    """Reference §1.3: soft-deleted (active false) users must still be returned."""
    user = (await scim.post("/Users", user_body(active=False))).json
    assert (await scim.get(f"/Users/{user['id']}")).json["active"] is False
    found = await scim.get('/Users?filter=userName eq "ada@contoso.com"')
    assert found.json["totalResults"] == 1
    inactive = await scim.get("/Users?filter=active eq false")
    assert [r["id"] for r in inactive.json["Resources"]] == [user["id"]]


async def test_put_replaces_the_user_and_bumps_the_version(scim: ScimClient) -> None:
    user = (await scim.post("/Users", user_body(displayName="Ada", name={"givenName": "Ada"}))).json
    reply = await scim.put(f"/Users/{user['id']}", user_body("ada.l@contoso.com", active=False))
    assert reply.status == 200
    replaced = reply.json
    assert replaced["id"] == user["id"] and replaced["userName"] == "ada.l@contoso.com"
    assert "displayName" not in replaced and "name" not in replaced and replaced["active"] is False
    assert replaced["meta"]["version"] == 'W/"2"' and replaced["meta"]["created"] == user["meta"]["created"]


async def test_delete_removes_the_user(scim: ScimClient) -> None:
    user = (await scim.post("/Users", user_body())).json
    assert (await scim.delete(f"/Users/{user['id']}")).status == 204
    gone = await scim.get(f"/Users/{user['id']}")
    assert gone.status == 404 and gone.json["status"] == "404"
    assert (await scim.delete(f"/Users/{user['id']}")).status == 404


async def test_patch_answers_200_with_the_resource(scim: ScimClient) -> None:
    user = (await scim.post("/Users", user_body())).json
    reply = await scim.patch(
        f"/Users/{user['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Ada"}],
        },
    )
    assert reply.status == 200 and reply.json["displayName"] == "Ada"
    assert reply.json["meta"]["version"] == 'W/"2"'


async def test_a_base_url_pasted_with_a_trailing_slash_still_works(emulator) -> None:
    client = emulator.scim()
    client.base += "/"
    reply = await client.post("/Users", user_body())
    assert reply.status == 201 and reply.json["userName"] == "ada@contoso.com"


async def test_put_without_password_keeps_the_stored_hash(scim: ScimClient, emulator) -> None:
    user = (await scim.post("/Users", user_body(password="S3cret-pass!"))).json
    table = emulator.server.app[STORE].table("galaxy_users")
    before = table.values()[0]["password"]
    reply = await scim.put(f"/Users/{user['id']}", user_body(displayName="Ada"))
    assert reply.status == 200 and "password" not in reply.json
    assert table.values()[0]["password"] == before
    await scim.put(f"/Users/{user['id']}", user_body(password="N3w-pass!"))
    changed = table.values()[0]["password"]
    assert changed != before and changed.startswith("pbkdf2_sha256$")


async def test_a_patch_that_changes_nothing_keeps_the_version_and_writes_nothing(
    scim: ScimClient, emulator, monkeypatch
) -> None:
    user = (await scim.post("/Users", user_body(displayName="Ada"))).json
    table = emulator.server.app[GALAXY_SCIM].directory.users.table
    writes = []
    original_put = table.put
    monkeypatch.setattr(table, "put", lambda *a, **kw: writes.append(a) or original_put(*a, **kw))
    same = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": "Ada"},
            {"op": "Replace", "path": "active", "value": "True"},
            {"op": "Replace", "path": "title", "value": "ignored by Galaxy"},
        ],
    }
    reply = await scim.patch(f"/Users/{user['id']}", same)
    assert reply.status == 200 and reply.json == user and reply.headers["ETag"] == 'W/"1"'
    assert writes == []
    changed = await scim.patch(
        f"/Users/{user['id']}",
        {**same, "Operations": [{"op": "Replace", "path": "displayName", "value": "Ada L"}]},
    )
    assert changed.json["meta"]["version"] == 'W/"2"' and len(writes) == 1


async def test_user_name_change_keeps_the_id(scim: ScimClient) -> None:
    user = (await scim.post("/Users", user_body())).json
    reply = await scim.patch(
        f"/Users/{user['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "userName", "value": "ada.new@contoso.com"}],
        },
    )
    assert reply.json["id"] == user["id"] and reply.json["userName"] == "ada.new@contoso.com"


async def test_empty_strings_mean_no_value_in_post_as_in_patch(full_scim: ScimClient) -> None:
    user = (
        await full_scim.post(
            "/Users", user_body(displayName="", title="", name={"givenName": "Ada", "familyName": ""})
        )
    ).json
    assert "displayName" not in user and "title" not in user
    assert user["name"] == {"givenName": "Ada"}
    patched = await full_scim.patch(
        f"/Users/{user['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"displayName": "", "name": {"familyName": ""}}}],
        },
    )
    assert patched.json == user
