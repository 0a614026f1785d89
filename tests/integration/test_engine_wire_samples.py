"""The engine's requests, as the Galaxy receiver's exchange log recorded them, compared field by
field with the requests Microsoft publishes (fixtures/protocol/entra-engine-expected-requests.json,
reference entra-and-galaxy.md §1.6 and §4): same methods, same path forms, same keys in the same
order, same op names, same value types; only ids and sample values differ, and a user may
carry attributes the sample user did not have."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from emulator.clock import ManualClock
from tests.entra_helpers import APP, Control

SAMPLES = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "protocol" / "entra-engine-expected-requests.json").read_text()
)["requests"]
EXACT_KEYS = {"op", "schemas", "resourceType", "type", "primary"}
ID = re.compile(r'(?<=value eq \\")[^"\\]+|(?<=value eq ")[^"]+')


def sample(name: str, mode: str = "default") -> dict:
    return next(s for s in SAMPLES if s["name"] == name and s["mode"] == mode)


def like(expected: Any, actual: Any, key: str = "") -> bool:
    """Whether `actual` has the sample's form: every key of the sample, in the sample's order
    (our users may carry more attributes than the sample user, e.g. displayName), lists of the
    same length, op names and schema URNs exactly, other values of the same JSON type (ids and
    sample values are not expected to match)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        keys = [k for k in actual if k in expected]
        return keys == list(expected) and all(like(expected[k], actual[k], k) for k in expected)
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(like(e, a, key) for e, a in zip(expected, actual, strict=True))
        )
    if key in EXACT_KEYS:
        return expected == actual
    if key == "path":
        return ID.sub("<id>", expected) == ID.sub("<id>", actual)
    return type(expected) is type(actual)


def path_shape(path: str) -> str:
    """A request path with ids and filter values replaced."""
    path = re.sub(r"/(Users|Groups)/[^/?]+", r"/\1/<id>", path)
    return re.sub(r"%22[^%]+%22|\"[^\"]+\"", "<value>", path)


def assert_like(expected: dict, actual: dict) -> None:
    assert actual["method"] == expected["method"]
    if "path" in expected:
        assert path_shape(actual["path"]) == path_shape(expected["path"]), (actual["path"], expected["path"])
    assert like(expected.get("body"), actual.get("body")), json.dumps(actual.get("body"), indent=1)


@pytest.fixture
async def entra(start_emulator) -> Control:
    return Control(await start_emulator(clock=ManualClock(), cycle_interval=None, scim_profile="full"))


async def requests_of(entra: Control, action) -> list[dict]:
    """Run `action` (changes, then a cycle) and return the requests the receiver got."""
    await entra.clear_exchanges()
    await action()
    return [
        {"method": e["method"], "path": e["path"].split("/scim/v2", 1)[1], "body": e["request"]["body"]}
        for e in await entra.exchanges()
    ]


async def setup(entra: Control, flag: str = "", *, unmap_formatted: bool = False) -> dict:
    """Ada, Bob and a Team group, assigned. With `unmap_formatted`, changing a surname changes
    exactly the attributes of Microsoft's multi-valued update sample (no `name.formatted`)."""
    ada = await entra.user("ada@contoso.com", givenName="Ada", surname="Lovelace", employeeId="7")
    bob = await entra.user("bob@contoso.com", givenName="Bob", surname="Builder")
    team = await entra.group("Team", [ada["id"]])
    for principal in (ada, bob, team):
        await entra.assign(principal["id"])
    settings = await entra.call("GET", f"/entra/apps/{APP}/provisioning")
    mappings = [m for m in settings["userMappings"] if not unmap_formatted or m["target"] != "name.formatted"]
    await entra.configure(tenantUrl=entra.emu.scim_url + flag, userMappings=mappings)
    return {"ada": ada, "bob": bob, "team": team}


async def test_initial_cycle_requests(entra: Control) -> None:
    await setup(entra)
    sent = await requests_of(entra, entra.run)
    assert_like(sample("test connection"), sent[0])
    user_post = next(r for r in sent if r["method"] == "POST" and r["path"] == "/Users")
    assert_like(sample("create user"), user_post)
    group_post = next(r for r in sent if r["method"] == "POST" and r["path"] == "/Groups")
    assert_like(sample("create group"), group_post)
    group_query = next(r for r in sent if r["path"].startswith("/Groups?"))
    assert path_shape(group_query["path"]).replace("+", " ").replace("%22", '"') == path_shape(
        sample("get group by displayName")["path"]
    )
    add = next(r for r in sent if r["method"] == "PATCH" and r["path"].startswith("/Groups/"))
    assert_like(sample("add members"), add)


@pytest.mark.parametrize("mode", ["default", "rfc"])
async def test_update_disable_and_member_removal_requests(entra: Control, mode: str) -> None:
    objs = await setup(entra, "?aadOptscim062020" if mode == "rfc" else "", unmap_formatted=True)
    await entra.run()
    ada, bob, team = objs["ada"]["id"], objs["bob"]["id"], objs["team"]["id"]

    async def multi_valued() -> None:
        await entra.call(
            "PATCH",
            f"/entra/users/{ada}",
            {"mail": "ada.k@contoso.com", "surname": "King"},
        )
        await entra.run()

    patch = next(r for r in await requests_of(entra, multi_valued) if r["method"] == "PATCH")
    if mode == "default":
        assert_like(sample("update user multi-valued properties"), patch)
    else:
        ops = patch["body"]["Operations"]
        assert ops[0] == {
            "op": "replace",
            "path": 'emails[type eq "work"].value',
            "value": "ada.k@contoso.com",
        }
        assert ops[1]["op"] == "replace" and "path" not in ops[1]
        assert ops[1]["value"] == {"name.familyName": "King"}

    async def add_one() -> None:
        # Map a source to nickName, as an admin would in the mappings editor, to reproduce S2's
        # "add a single-value string attribute" sample (nickName, previously empty).
        settings = await entra.call("GET", f"/entra/apps/{APP}/provisioning")
        nick = {"target": "nickName", "sourceType": "constant", "source": "Babs", "applyOn": "always"}
        await entra.call(
            "PATCH", f"/entra/apps/{APP}/provisioning", {"userMappings": [*settings["userMappings"], nick]}
        )
        await entra.run()

    patch = next(r for r in await requests_of(entra, add_one) if r["method"] == "PATCH")
    assert_like(sample("add a single-value string attribute", mode), patch)

    async def remove_member() -> None:
        await entra.call("DELETE", f"/entra/groups/{team}/members/{ada}")
        await entra.run()

    patch = next(r for r in await requests_of(entra, remove_member) if r["path"].startswith("/Groups/"))
    assert_like(sample("remove a group member", mode), patch)

    async def disable() -> None:
        await entra.unassign(bob)
        await entra.run()

    patch = next(r for r in await requests_of(entra, disable) if r["method"] == "PATCH")
    assert_like(sample("disable user", mode), patch)


async def test_rename_manager_and_delete_requests(entra: Control) -> None:
    objs = await setup(entra)
    await entra.run()
    ada, bob, team = objs["ada"]["id"], objs["bob"]["id"], objs["team"]["id"]

    async def rename() -> None:
        await entra.call("PATCH", f"/entra/users/{ada}", {"userPrincipalName": "ada.l@contoso.com"})
        await entra.call("PATCH", f"/entra/groups/{team}", {"displayName": "Team 2"})
        await entra.run()

    sent = await requests_of(entra, rename)
    user_patch = next(r for r in sent if r["method"] == "PATCH" and r["path"].startswith("/Users/"))
    assert_like(sample("update user single-valued properties"), user_patch)
    group_patch = next(r for r in sent if r["method"] == "PATCH" and r["path"].startswith("/Groups/"))
    assert_like(sample("rename group"), group_patch)

    async def manager() -> None:
        await entra.call("PATCH", f"/entra/users/{bob}", {"manager": ada})
        await entra.run()

    patch = next(r for r in await requests_of(entra, manager) if r["method"] == "PATCH")
    assert_like(sample("update manager"), patch)
    assert patch["body"]["Operations"][0]["value"][0]["$ref"].endswith(
        "/galaxy/scim/v2/Users/" + patch["body"]["Operations"][0]["value"][0]["value"]
    )

    async def purge() -> None:
        await entra.call("DELETE", f"/entra/users/{bob}?permanent=true")
        await entra.call("DELETE", f"/entra/groups/{team}")
        await entra.run()

    deletes = [r for r in await requests_of(entra, purge) if r["method"] == "DELETE"]
    assert_like(sample("delete user"), next(r for r in deletes if r["path"].startswith("/Users/")))
    assert_like(sample("delete group"), next(r for r in deletes if r["path"].startswith("/Groups/")))


async def test_the_app_path_is_quoted_in_urls(entra: Control) -> None:
    """The control API takes the app by name, as the portal shows it."""
    assert (await entra.call("GET", f"/entra/apps/{APP}"))["displayName"] == APP
