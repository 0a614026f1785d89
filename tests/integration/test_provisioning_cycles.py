"""Entra's provisioning engine pushing to the built-in Galaxy receiver over real HTTP, with the
requests compared to reference entra-and-galaxy.md §1.6/§1.7 and the checklist in §4."""

from __future__ import annotations

import pytest

from emulator.clock import ManualClock
from tests.entra_helpers import Control, writes

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
async def entra(start_emulator) -> Control:
    emu = await start_emulator(clock=ManualClock(), cycle_interval=None, scim_profile="full")
    return Control(emu)


async def seed(entra: Control) -> dict:
    """Ada and Bob assigned directly, Cy via the Analysts group, Dee unassigned, Eve disabled."""
    ada = await entra.user("ada@contoso.com", givenName="Ada", surname="Lovelace", jobTitle="Countess")
    bob = await entra.user("bob@contoso.com", givenName="Bob", surname="Builder")
    cy = await entra.user("cy@contoso.com")
    dee = await entra.user("dee@contoso.com")
    eve = await entra.user("eve@contoso.com", accountEnabled=False)
    analysts = await entra.group("Analysts", [cy["id"], ada["id"]])
    for principal in (ada, bob, eve, analysts):
        await entra.assign(principal["id"])
    await entra.configure()
    return {"ada": ada, "bob": bob, "cy": cy, "dee": dee, "eve": eve, "analysts": analysts}


async def test_initial_cycle_creates_assigned_users_and_groups_with_members(entra: Control) -> None:
    objs = await seed(entra)
    summary = await entra.run()
    assert summary["initial"] is True and summary["status"] == "success"
    users = await entra.galaxy_users()
    assert set(users) == {"ada@contoso.com", "bob@contoso.com", "cy@contoso.com"}, (
        "Dee is unassigned, Eve disabled"
    )
    ada = users["ada@contoso.com"]
    assert ada["externalId"] == "ada" and ada["name"] == {
        "givenName": "Ada",
        "familyName": "Lovelace",
        "formatted": "Ada Lovelace",
    }
    assert ada["emails"] == [{"primary": True, "type": "work", "value": "ada@contoso.com"}]
    assert ada["active"] is True and ada["title"] == "Countess"
    group = (await entra.galaxy_groups())["Analysts"]
    assert group["externalId"] == objs["analysts"]["id"]
    assert {m["value"] for m in group["members"]} == {users["cy@contoso.com"]["id"], ada["id"]}
    status = await entra.status()
    assert status["status"] == "NotRun" or status["initialCycleCompleted"]


async def test_initial_cycle_requests_follow_entras_wire_format(entra: Control) -> None:
    """§1.2/§4.1 probe, §1.3 query-before-create, §1.6 POST shapes, group POST without members
    then PATCH Add members with target ids."""
    await seed(entra)
    await entra.clear_exchanges()
    await entra.run()
    log = await entra.exchanges()
    probe = log[0]
    assert probe["method"] == "GET" and probe["path"].startswith(
        "/galaxy/scim/v2/Users?filter=userName+eq+%22"
    )
    assert probe["response"]["body"]["totalResults"] == 0
    queries = [e["path"] for e in log if e["method"] == "GET"][1:]
    assert "/galaxy/scim/v2/Users?filter=userName+eq+%22ada%40contoso.com%22" in queries or any(
        "ada" in q for q in queries
    )
    assert any(
        q.startswith("/galaxy/scim/v2/Groups?excludedAttributes=members&filter=displayName") for q in queries
    )
    posts = [(p, b) for m, p, b in writes(log) if m == "POST"]
    user_post = next(b for p, b in posts if p == "/Users" and b["userName"] == "ada@contoso.com")
    assert user_post["schemas"] == [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ]
    assert (
        user_post["active"] is True
        and user_post["meta"] == {"resourceType": "User"}
        and user_post["roles"] == []
    )
    group_post = next(b for p, b in posts if p == "/Groups")
    assert group_post["schemas"] == [
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
    ]
    assert "members" not in group_post
    member_patch = next(b for m, p, b in writes(log) if m == "PATCH" and p.startswith("/Groups/"))
    op = member_patch["Operations"][0]
    assert op["op"] == "Add" and op["path"] == "members" and len(op["value"]) == 2
    assert all(v["$ref"] is None for v in op["value"])


async def test_changes_arrive_as_one_patch_with_capitalised_ops(entra: Control) -> None:
    objs = await seed(entra)
    await entra.run()
    await entra.clear_exchanges()
    await entra.call(
        "PATCH",
        f"/entra/users/{objs['ada']['id']}",
        {"displayName": "Ada King", "mail": "ada.king@contoso.com", "department": "Research"},
    )
    summary = await entra.run()
    assert summary["initial"] is False
    patches = [b for m, p, b in writes(await entra.exchanges()) if m == "PATCH"]
    assert len(patches) == 1
    ops = {o["path"]: o for o in patches[0]["Operations"]}
    assert ops["displayName"] == {"op": "Replace", "path": "displayName", "value": "Ada King"}
    assert ops['emails[type eq "work"].value'] == {
        "op": "Replace",
        "path": 'emails[type eq "work"].value',
        "value": "ada.king@contoso.com",
    }
    dept = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
    assert ops[dept] == {"op": "Add", "path": dept, "value": "Research"}, "previously empty: Add (S2)"
    users = await entra.galaxy_users()
    assert users["ada@contoso.com"]["displayName"] == "Ada King"


async def test_membership_changes_use_entras_member_forms(entra: Control) -> None:
    objs = await seed(entra)
    await entra.run()
    await entra.clear_exchanges()
    await entra.call("POST", f"/entra/groups/{objs['analysts']['id']}/members", {"id": objs["bob"]["id"]})
    await entra.call("DELETE", f"/entra/groups/{objs['analysts']['id']}/members/{objs['cy']['id']}")
    await entra.run()
    users = await entra.galaxy_users()
    bodies = [b for m, p, b in writes(await entra.exchanges()) if m == "PATCH" and p.startswith("/Groups/")]
    ops = [o for b in bodies for o in b["Operations"]]
    assert {
        "op": "Add",
        "path": "members",
        "value": [{"$ref": None, "value": users["bob@contoso.com"]["id"]}],
    } in ops
    assert {"op": "Remove", "path": "members", "value": [{"value": users["cy@contoso.com"]["id"]}]} in ops
    group = (await entra.galaxy_groups())["Analysts"]
    assert {m["value"] for m in group["members"]} == {
        users["ada@contoso.com"]["id"],
        users["bob@contoso.com"]["id"],
    }


async def test_unassign_block_and_soft_delete_disable_with_a_string_false(entra: Control) -> None:
    """§1.7: unassigned, blocked or soft-deleted users get PATCH active "False" (a string in
    the default mode, §1.6 "Disable user"), never a DELETE."""
    objs = await seed(entra)
    await entra.run()
    await entra.clear_exchanges()
    await entra.unassign(objs["bob"]["id"])
    await entra.call("PATCH", f"/entra/users/{objs['ada']['id']}", {"accountEnabled": False})
    await entra.call("DELETE", f"/entra/users/{objs['cy']['id']}")
    summary = await entra.run()
    assert summary["byAction"].get("disable") == 3
    disables = [b for m, p, b in writes(await entra.exchanges()) if m == "PATCH" and p.startswith("/Users/")]
    assert all(b["Operations"] == [{"op": "Replace", "path": "active", "value": "False"}] for b in disables)
    assert not [m for m, _, _ in writes(await entra.exchanges()) if m == "DELETE"]
    users = await entra.galaxy_users()
    assert [users[u]["active"] for u in ("ada@contoso.com", "bob@contoso.com", "cy@contoso.com")] == [
        False
    ] * 3


async def test_hard_delete_30_clock_days_later_sends_delete_and_restore_reenables(entra: Control) -> None:
    objs = await seed(entra)
    await entra.run()
    await entra.call("DELETE", f"/entra/users/{objs['ada']['id']}")
    await entra.call("DELETE", f"/entra/users/{objs['cy']['id']}")
    await entra.run()
    await entra.call("POST", f"/entra/users/{objs['cy']['id']}/restore")
    await entra.clear_exchanges()
    await entra.run()
    restore = [b for m, p, b in writes(await entra.exchanges()) if m == "PATCH" and p.startswith("/Users/")]
    assert restore[0]["Operations"] == [{"op": "Replace", "path": "active", "value": "True"}]
    assert (await entra.galaxy_users())["cy@contoso.com"]["active"] is True
    await entra.advance(29 * 86400)
    await entra.run()
    assert "ada@contoso.com" in await entra.galaxy_users(), "still soft-deleted after 29 days"
    await entra.clear_exchanges()
    await entra.advance(2 * 86400)
    await entra.run()
    deletes = [(m, p) for m, p, _ in writes(await entra.exchanges()) if m == "DELETE"]
    assert len(deletes) == 1 and deletes[0][1].startswith("/Users/")
    assert "ada@contoso.com" not in await entra.galaxy_users()
    assert (await entra.call("GET", "/entra/users?includeDeleted=true"))["users"]
    await entra.call("GET", f"/entra/users/{objs['ada']['id']}", expect=404)


async def test_unassigned_then_deleted_user_is_unmanaged_so_nothing_is_deleted(entra: Control) -> None:
    """§1.7: after an unassignment disable the user is unmanaged; a later delete sends nothing."""
    objs = await seed(entra)
    await entra.run()
    await entra.unassign(objs["bob"]["id"])
    await entra.run()
    await entra.call("DELETE", f"/entra/users/{objs['bob']['id']}?permanent=true")
    await entra.clear_exchanges()
    await entra.run()
    assert not [m for m, _, _ in writes(await entra.exchanges()) if m == "DELETE"]
    assert (await entra.galaxy_users())["bob@contoso.com"]["active"] is False


async def test_rfc_mode_with_aadoptscim062020(entra: Control) -> None:
    """§1.6 with the flag: lowercase ops, boolean active, merged path-less replace, and
    member removal by a filter path."""
    objs = await seed(entra)
    await entra.configure(tenantUrl=entra.emu.scim_url + "?aadOptscim062020")
    await entra.run()
    await entra.clear_exchanges()
    await entra.call(
        "PATCH", f"/entra/users/{objs['ada']['id']}", {"displayName": "Ada K", "givenName": "Adaline"}
    )
    await entra.call("DELETE", f"/entra/groups/{objs['analysts']['id']}/members/{objs['cy']['id']}")
    await entra.unassign(objs["bob"]["id"])
    await entra.run()
    users = await entra.galaxy_users()
    bodies = writes(await entra.exchanges())
    ada_patch = next(b for m, p, b in bodies if p == f"/Users/{users['ada@contoso.com']['id']}")
    merged = ada_patch["Operations"][0]
    assert merged["op"] == "replace" and "path" not in merged
    assert merged["value"]["displayName"] == "Ada K" and merged["value"]["name.givenName"] == "Adaline"
    bob_patch = next(b for m, p, b in bodies if p == f"/Users/{users['bob@contoso.com']['id']}")
    assert bob_patch["Operations"] == [{"op": "replace", "path": "active", "value": False}]
    group_patch = next(b for m, p, b in bodies if p.startswith("/Groups/"))
    cy_id = users["cy@contoso.com"]["id"]
    assert group_patch["Operations"] == [{"op": "remove", "path": f'members[value eq "{cy_id}"]'}]


async def test_incremental_cycle_sends_only_the_changes(entra: Control) -> None:
    objs = await seed(entra)
    await entra.run()
    await entra.clear_exchanges()
    summary = await entra.run()
    assert summary["requests"] == 1, "only the start-of-cycle probe"
    assert len(await entra.exchanges()) == 1
    await entra.call("PATCH", f"/entra/users/{objs['bob']['id']}", {"jobTitle": "Builder"})
    await entra.clear_exchanges()
    await entra.run()
    assert [(m, p.split("/")[1]) for m, p, _ in writes(await entra.exchanges())] == [("PATCH", "Users")]


async def test_matching_links_existing_target_users_instead_of_duplicating(entra: Control) -> None:
    await entra.emu.scim().post(
        "/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada@contoso.com",
            "displayName": "Old name",
        },
    )
    await seed(entra)
    summary = await entra.run()
    users = await entra.galaxy_users()
    assert len([u for u in users if u.startswith("ada")]) == 1
    assert users["ada@contoso.com"]["displayName"] == "Ada"
    assert summary["byAction"]["update"] >= 1


async def test_restart_clears_the_watermark_and_keeps_links(entra: Control) -> None:
    await seed(entra)
    await entra.run()
    before = await entra.galaxy_users()
    await entra.call("POST", "/entra/apps/Starburst Galaxy/provisioning/restart")
    summary = await entra.run()
    assert summary["initial"] is True and summary["byAction"].get("create", 0) == 0
    assert await entra.galaxy_users() == before


async def test_mapping_change_forces_a_new_initial_cycle(entra: Control) -> None:
    await seed(entra)
    await entra.run()
    settings = await entra.call("GET", "/entra/apps/Starburst Galaxy/provisioning")
    mappings = [m for m in settings["userMappings"] if m["target"] != "title"]
    await entra.configure(userMappings=mappings)
    assert (await entra.run())["initial"] is True


async def test_bad_expression_is_refused_when_saved(entra: Control) -> None:
    settings = await entra.call("GET", "/entra/apps/Starburst Galaxy/provisioning")
    mappings = settings["userMappings"] + [
        {
            "target": "nickName",
            "sourceType": "expression",
            "source": 'Join(" ", [givenName]',
            "applyOn": "always",
        }
    ]
    error = await entra.call(
        "PATCH", "/entra/apps/Starburst Galaxy/provisioning", {"userMappings": mappings}, expect=400
    )
    assert "userMappings[" in error["error"] and "character" in error["error"]
