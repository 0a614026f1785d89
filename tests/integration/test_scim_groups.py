"""Groups and memberships on Galaxy's SCIM receiver (RFC 7644, reference §1.6 group requests)."""

from __future__ import annotations

from tests.conftest import ScimClient

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def make_user(scim: ScimClient, name: str) -> dict:
    reply = await scim.post(
        "/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "displayName": name.title(),
        },
    )
    assert reply.status == 201, reply.body
    return reply.json


async def test_group_members_carry_value_ref_and_the_display_sent(scim: ScimClient) -> None:
    ada = await make_user(scim, "ada@contoso.com")
    reply = await scim.post(
        "/Groups",
        {
            "schemas": [GROUP],
            "displayName": "Analysts",
            "members": [{"value": ada["id"], "display": "Ada L"}],
        },
    )
    assert reply.status == 201
    member = reply.json["members"][0]
    assert member["value"] == ada["id"]
    assert member["$ref"].endswith(f"/galaxy/scim/v2/Users/{ada['id']}")
    assert member["display"] == "Ada L"


async def test_unknown_member_id_is_invalid_value_and_changes_nothing(scim: ScimClient) -> None:
    ada = await make_user(scim, "ada@contoso.com")
    group = (await scim.post("/Groups", {"schemas": [GROUP], "displayName": "Analysts"})).json
    reply = await scim.patch(
        f"/Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": ada["id"]}, {"value": "no-such-user"}]}
            ],
        },
    )
    assert reply.status == 400 and reply.json["scimType"] == "invalidValue"
    assert "no-such-user" in reply.json["detail"]
    after = (await scim.get(f"/Groups/{group['id']}")).json
    assert after.get("members", []) == [] and after["meta"]["version"] == group["meta"]["version"]
    bad_create = await scim.post(
        "/Groups", {"schemas": [GROUP], "displayName": "X", "members": [{"value": "nope"}]}
    )
    assert bad_create.status == 400
    assert (await scim.get('/Groups?filter=displayName eq "X"')).json["totalResults"] == 0


async def test_deleting_a_user_removes_it_from_its_groups(scim: ScimClient) -> None:
    ada = await make_user(scim, "ada@contoso.com")
    bob = await make_user(scim, "bob@contoso.com")
    group = (
        await scim.post(
            "/Groups",
            {
                "schemas": [GROUP],
                "displayName": "Analysts",
                "members": [{"value": ada["id"]}, {"value": bob["id"]}],
            },
        )
    ).json
    assert (await scim.delete(f"/Users/{ada['id']}")).status == 204
    after = (await scim.get(f"/Groups/{group['id']}")).json
    assert [m["value"] for m in after["members"]] == [bob["id"]]


async def test_group_display_name_is_unique_case_insensitively(scim: ScimClient) -> None:
    assert (await scim.post("/Groups", {"schemas": [GROUP], "displayName": "Analysts"})).status == 201
    dup = await scim.post("/Groups", {"schemas": [GROUP], "displayName": "ANALYSTS"})
    assert dup.status == 409 and dup.json["scimType"] == "uniqueness"


async def test_several_members_added_and_removed_in_one_operation(scim: ScimClient) -> None:
    """Reference §1.6: Entra may put several members in one op, and removes them with a value
    array and no filter (non-RFC); only the listed members go."""
    users = [await make_user(scim, f"u{i}@contoso.com") for i in range(3)]
    group = (await scim.post("/Groups", {"schemas": [GROUP], "displayName": "G"})).json
    add = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": u["id"]} for u in users]}
        ],
    }
    assert (await scim.patch(f"/Groups/{group['id']}", add)).status == 200
    remove = {
        "schemas": [PATCH],
        "Operations": [
            {
                "op": "Remove",
                "path": "members",
                "value": [{"value": users[0]["id"]}, {"value": users[2]["id"]}],
            }
        ],
    }
    reply = await scim.patch(f"/Groups/{group['id']}", remove)
    assert reply.status == 200
    assert [m["value"] for m in reply.json["members"]] == [users[1]["id"]]


async def test_full_profile_users_list_their_groups(full_scim: ScimClient) -> None:
    ada = await make_user(full_scim, "ada@contoso.com")
    group = (
        await full_scim.post(
            "/Groups", {"schemas": [GROUP], "displayName": "Analysts", "members": [{"value": ada["id"]}]}
        )
    ).json
    user = (await full_scim.get(f"/Users/{ada['id']}")).json
    assert user["groups"] == [
        {"value": group["id"], "$ref": group["meta"]["location"], "display": "Analysts", "type": "direct"}
    ]
