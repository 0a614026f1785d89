"""Entra's requests from reference entra-and-galaxy.md §1.6, replayed verbatim from the fixture
files named after their source pages, against both profiles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ScimClient

SAMPLES = Path(__file__).parents[2] / "fixtures" / "protocol"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def load(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


async def replay(scim: ScimClient, sample: dict) -> list:
    """Replay a sample file; sample user ids are swapped for ids of real users made first."""
    ids: dict[str, str] = {}
    for sample_id in sample["ids"]["user"]:
        made = await scim.post("/Users", {"schemas": [USER], "userName": f"member-{sample_id}@contoso.com"})
        ids[sample_id] = made.json["id"]
    target = (await scim.post("/Users", {"schemas": [USER], "userName": "target@contoso.com"})).json["id"]
    group = (
        await scim.post(
            "/Groups",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "sample group",
                "members": [{"value": v} for v in ids.values()],
            },
        )
    ).json["id"]
    replies = []
    for example in sample["examples"]:
        text = json.dumps(example.get("body")) if "body" in example else None
        for sample_id, real in ids.items():
            text = text.replace(sample_id, real) if text else text
        if example["name"] in ("create group", "create user"):
            path = example["path"]
        else:
            path = example["path"].replace("{id}", target).replace("{group}", group)
        reply = await scim.request(example["method"], path, json.loads(text) if text else None)
        assert reply.status == example["status"], (example["name"], reply.body)
        if example["name"] == "create user":
            target = reply.json["id"]
        replies.append((example["name"], reply))
    return replies


@pytest.mark.parametrize("profile", ["galaxy", "full"])
async def test_use_scim_to_provision_users_and_groups_samples(start_emulator, profile: str) -> None:
    emu = await start_emulator(scim_profile=profile)
    sample = load("ms-learn-use-scim-to-provision-users-and-groups.json")
    replies = dict(await replay(emu.scim(), sample))
    created = replies["create user"].json
    assert created["userName"] == "Test_User_00aa" and created["active"] is True
    assert created["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    fetched = replies["get user"].json
    assert fetched["id"] == created["id"] and fetched["userName"] == "Test_User_00aa"
    missing = replies["get user (not found)"]
    documented = next(e for e in sample["examples"] if e["name"] == "get user (not found)")["response"]
    assert missing.json["schemas"] == documented["schemas"] and missing.json["status"] == documented["status"]
    assert missing.headers["Content-Type"].startswith("application/scim+json")
    older = replies["create user (older example, explicit nulls)"].json
    assert older["userName"] == "jyoung@testuser.com" and older["externalId"] == "jyoung"
    assert older["displayName"] == "Joy Young"
    assert older["name"] == {"familyName": "Young", "givenName": "Joy"}
    sent_as_null = {"addresses", "phoneNumbers", "preferredLanguage", "title", "department", "manager"}
    assert not sent_as_null & set(older)
    if profile == "full":
        assert older["emails"] == [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}]
    renamed_user = replies["update user (single-valued: userName)"].json
    assert renamed_user["id"] == created["id"], "a userName change keeps the user's id"
    assert renamed_user["userName"] == "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    assert replies["query user by userName"].json["totalResults"] == 1
    assert replies["disable user (default, active as a string)"].json["active"] is False
    group = replies["create group"].json
    assert group["members"] == [] if "members" in group else True
    listed = replies["query group by displayName without members"].json
    assert listed["totalResults"] == 1 and "members" not in listed["Resources"][0]
    assert "members" not in replies["get group without members"].json
    updated = replies["update user (default, no flag)"].json
    assert updated["name"]["familyName"] == "updatedFamilyName"
    if profile == "full":
        assert updated["emails"][0]["value"] == "updatedEmail@microsoft.com"
        assert (
            updated["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"] == "Eqpj"
        )
        manager = replies["add manager"].json["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"][
            "manager"
        ]
        assert manager["value"]
    else:
        assert "emails" not in updated
    renamed = replies["rename group"].json
    assert renamed["displayName"].endswith("updatedDisplayName")
    assert len(renamed["members"]) == 1, "only the listed member is removed (Entra's non-RFC form)"
    emptied = replies["remove members (tutorial, $ref null in the value array)"].json
    assert emptied.get("members", []) == [], "the member named with a null $ref is removed"


@pytest.mark.parametrize("profile", ["galaxy", "full"])
async def test_scim_compatibility_samples(start_emulator, profile: str) -> None:
    emu = await start_emulator(scim_profile=profile)
    replies = dict(
        await replay(
            emu.scim(), load("ms-learn-application-provisioning-config-problem-scim-compatibility.json")
        )
    )
    merged = replies["update user with aadOptscim062020 (merged path-less replace)"].json
    assert merged["displayName"] == "Bjfe" and merged["name"]["givenName"] == "Kkom"
    assert merged["name"]["familyName"] == "Unua"
    assert replies["disable user with aadOptscim062020 (boolean)"].json["active"] is False
    assert replies["remove member with aadOptscim062020 (filter path)"].json.get("members", []) == []
    if profile == "full":
        assert replies["add a previously empty single-valued attribute"].json["nickName"] == "Babs"
