"""The control API's state endpoints, over real HTTP: `POST /_emulator/reset` starts a running
emulator over from a scenario, `POST /_emulator/scenario` loads one, and
`GET /_emulator/scenario/export` writes the current state as a scenario file that loads back
into the same directory, app and settings (a state built by hand becomes a test fixture)."""

from __future__ import annotations

import asyncio
import re
import tomllib
from pathlib import Path

import aiohttp
import pytest

from emulator.app import STARTUP
from emulator.galaxy.sso import ACCOUNTADMIN_EMAIL
from emulator.scenarios import load_scenario
from emulator.scenarios.loader import load_text
from tests.conftest import TOKEN, Running, StartEmulator
from tests.entra_helpers import Control

APP_PATH = "/entra/apps/Starburst%20Galaxy"
ACME = """
[scenario]
name = "acme"

[tenant]
displayName = "Acme"
primaryDomain = "acme.onmicrosoft.com"

[[users]]
userPrincipalName = "ada@acme.onmicrosoft.com"
displayName = "Ada Lovelace"
password = "Acme-Demo-1!"

[[galaxy.users]]
email = "ops@acme.example"
password = "Acme-Ops-1!"
displayName = "Ops"
roles = ["accountadmin"]
"""


class Browser:
    """One browser on Galaxy's pages: the direct login (with its CSRF token) and who it is."""

    def __init__(self, emu: Running, session: aiohttp.ClientSession) -> None:
        self.base = emu.url + "/galaxy"
        self.session = session

    async def sign_in(self, email: str, password: str) -> int:
        async with self.session.get(self.base + "/login") as page:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
        form = {"csrf_token": token, "email": email, "password": password}
        async with self.session.post(self.base + "/login", data=form, allow_redirects=False) as reply:
            return reply.status

    async def whoami(self) -> int:
        async with self.session.get(self.base + "/", headers={"Accept": "application/json"}) as reply:
            return reply.status


@pytest.fixture
async def cookie_session() -> aiohttp.ClientSession:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def reset(control: Control, body: dict | None = None, expect: int = 200) -> dict:
    return await control.call("POST", "/reset", body, expect=expect)


# -- reset ---------------------------------------------------------------------------------------


async def test_reset_returns_to_the_started_scenario_and_forgets_everything(
    start_emulator: StartEmulator, cookie_session: aiohttp.ClientSession
) -> None:
    emu = await start_emulator(scenario="demo")
    control = Control(emu)
    first_password = emu.server.app[STARTUP].galaxy_admin_password
    old_token = (await control.call("POST", "/tokens", {"name": "before"}))["token"]
    await control.user("zed@contoso.onmicrosoft.com")
    await control.call("DELETE", "/entra/groups/Finance")
    await control.call("POST", "/galaxy/faults", {"status": 503, "count": 5, "method": "POST"})
    assert (await emu.scim().get("/Users")).status == 200
    assert (await control.call("GET", "/exchanges"))["count"] == 1
    page = Browser(emu, cookie_session)
    assert await page.sign_in(ACCOUNTADMIN_EMAIL, first_password) == 303
    assert await page.whoami() == 200

    answer = await reset(control)

    assert answer["scenario"] == "demo"
    assert answer["applied"]["users"] == 12 and answer["applied"]["groups"] == 3
    users = (await control.call("GET", "/entra/users?includeDeleted=true"))["users"]
    assert len(users) == 12 and "zed@contoso.onmicrosoft.com" not in {u["userPrincipalName"] for u in users}
    assert {g["displayName"] for g in (await control.call("GET", "/entra/groups"))["groups"]} == {
        "Data Engineering",
        "Analysts",
        "Finance",
    }
    assert (await control.call("GET", "/galaxy/faults"))["faults"] == []
    assert (await control.call("GET", "/exchanges"))["count"] == 0
    # Browsers are signed out, the old password and the old token are gone, the new ones work.
    assert await page.whoami() == 401
    assert await page.sign_in(ACCOUNTADMIN_EMAIL, first_password) == 401
    assert await page.sign_in(ACCOUNTADMIN_EMAIL, answer["accountadminPassword"]) == 303
    assert (await emu.scim(old_token).get("/Users")).status == 401
    assert (await emu.scim(answer["galaxyToken"]).get("/Users")).status == 200
    assert (await emu.scim(TOKEN).get("/Users")).status == 200  # the server's fixed --token
    tokens = (await control.call("GET", "/tokens"))["tokens"]
    assert [t["name"] for t in tokens] == ["Generated on reset"]


async def test_the_change_counter_starts_over_as_in_a_new_data_folder(start_emulator: StartEmulator) -> None:
    emu = await start_emulator(scenario="demo")
    control = Control(emu)
    fresh = (await control.call("GET", "/entra/tenant"))["changeSeq"]
    for i in range(5):
        await control.user(f"u{i}@contoso.onmicrosoft.com")
    await reset(control)
    assert (await control.call("GET", "/entra/tenant"))["changeSeq"] == fresh


async def test_a_reset_is_journaled_and_survives_a_restart(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emu = await start_emulator(scenario="demo", data_dir=tmp_path / "kept")
    answer = await reset(Control(emu), {"scenario": "empty"})
    await emu.server.close()  # the journal is folded into data.json on the way out
    again = await start_emulator(scenario="demo", data_dir=tmp_path / "kept")
    control = Control(again)
    assert (await control.call("GET", "/entra/users"))["users"] == []  # not re-seeded with demo
    assert (await again.scim(answer["galaxyToken"]).get("/Users")).status == 200
    assert again.server.app[STARTUP].galaxy_admin_password is None


async def test_loading_a_scenario_by_name_path_or_text(start_emulator: StartEmulator, tmp_path: Path) -> None:
    emu = await start_emulator(scenario="demo")
    control = Control(emu)
    assert (await control.call("POST", "/scenario", {"scenario": "empty"}))["scenario"] == "empty"
    assert (await control.call("GET", "/entra/users"))["users"] == []
    assert await control.call("GET", "/scenario") == {
        "default": "demo",
        "current": "empty",
        "builtIn": ["demo", "empty", "large"],
    }
    path = tmp_path / "acme.toml"
    path.write_text(ACME)
    answer = await control.call("POST", "/scenario", {"scenario": str(path)})
    assert answer["scenario"] == "acme" and answer["applied"]["galaxyUsers"] == 1
    assert (await control.call("GET", "/entra/tenant"))["displayName"] == "Acme"
    answer = await control.call("POST", "/scenario", {"toml": ACME.replace('"acme"', '"uploaded-acme"')})
    assert answer["scenario"] == "uploaded-acme"
    # A plain reset goes back to the scenario the server was started with.
    assert (await reset(control))["scenario"] == "demo"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, 'give the scenario as {"scenario"'),
        ({"scenario": ""}, "scenario must be a non-empty string"),
        ({"scenario": "nope"}, "nope: unknown scenario; the built-in ones are demo, empty, large"),
        ({"scenario": "/no/such/file.toml"}, "/no/such/file.toml: no such scenario file"),
        ({"scenario": "demo", "toml": "x = 1"}, "give either scenario (a name or a path) or toml"),
        ({"name": "demo"}, "unknown field(s) name; allowed: scenario, toml"),
        ({"toml": "[[users]]\nupn = 1\n"}, "the uploaded scenario: 3 problems:"),
        ({"toml": "[tenant\n"}, "the uploaded scenario:1:8: invalid TOML"),
        (
            {"toml": '[app.provisioning]\nmode = "Sometimes"\n'},
            "the uploaded scenario: app.provisioning: mode must be one of Manual, Automatic",
        ),
        (
            {"toml": '[galaxy.sso]\nloginUrl = "{entra_login_url}"\n'},
            "the uploaded scenario: galaxy.sso: the Microsoft Entra Identifier is empty",
        ),
    ],
)
async def test_a_bad_scenario_is_a_400_with_the_loaders_message_and_changes_nothing(
    emulator: Running, body: dict, message: str
) -> None:
    control = Control(emulator)
    await control.user("keep@contoso.onmicrosoft.com")
    error = await control.call("POST", "/scenario", body, expect=400)
    assert error["status"] == 400 and error["error"].startswith(message), error
    users = (await control.call("GET", "/entra/users"))["users"]
    assert [u["userPrincipalName"] for u in users] == ["keep@contoso.onmicrosoft.com"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "the body is not valid JSON"),
        (b'["demo"]', "the body must be a JSON object"),
        (b'{"scenario": 5}', "scenario must be a non-empty string"),
    ],
)
async def test_a_malformed_reset_body_is_a_json_400(emulator: Running, raw: bytes, message: str) -> None:
    async with emulator.session.post(
        emulator.url + "/_emulator/reset", data=raw, headers={"Content-Type": "application/json"}
    ) as reply:
        assert reply.status == 400 and reply.content_type == "application/json"
        assert (await reply.json())["error"].startswith(message)


async def test_a_reset_is_refused_while_a_provisioning_cycle_runs(start_emulator: StartEmulator) -> None:
    emu = await start_emulator(scenario="demo")
    control = Control(emu)
    await control.configure()
    # Galaxy answers the cycle's first request slowly, so the cycle is still running.
    await control.call("POST", "/galaxy/faults", {"latencyMs": 1500, "count": 1})
    cycle = asyncio.create_task(control.run())
    for _ in range(100):
        if (await control.status())["runningCycle"] is not None:
            break
        await asyncio.sleep(0.02)
    refused = await reset(control, expect=409)
    assert (
        refused["status"] == 409 and "provisioning cycle of 'Starburst Galaxy' is running" in refused["error"]
    )
    assert (await cycle)["status"] == "success"
    await reset(control)
    assert (await control.status())["status"] == "NotConfigured"


# -- export --------------------------------------------------------------------------------------


async def build_by_hand(emu: Running, control: Control) -> None:
    """A state made through the control API, touching every part a scenario can carry."""
    await reset(control, {"toml": ACME})
    ada = (await control.call("GET", "/entra/users/ada@acme.onmicrosoft.com"))["id"]
    bob = await control.user(
        "bob@acme.onmicrosoft.com",
        givenName="Bob",
        surname="Builder",
        jobTitle="Engineer",
        department="Engineering",
        city="Redmond",
        mailNickname="bobby",
        manager=ada,
    )
    carol = await control.user("carol@acme.onmicrosoft.com", accountEnabled=False)
    await control.user("dave@acme.onmicrosoft.com")
    await control.user("erin@acme.onmicrosoft.com")
    await control.call("DELETE", "/entra/users/dave@acme.onmicrosoft.com")  # soft delete
    await control.call("DELETE", "/entra/users/erin@acme.onmicrosoft.com?permanent=true")
    engineering = await control.group("Engineering", [ada, bob["id"]])
    await control.call(
        "POST",
        "/entra/groups",
        {"displayName": "Analysts", "description": "Reports", "mailNickname": "analysts-team", "members": []},
    )
    await control.call("POST", "/entra/groups/Analysts/members", {"id": "Engineering"})
    await control.call("POST", "/entra/groups/Analysts/members", {"id": "dave@acme.onmicrosoft.com"})
    await control.call("POST", f"{APP_PATH}/roles", {"value": "DataAdmin", "displayName": "Data admin"})
    await control.call("POST", f"{APP_PATH}/roles", {"value": "Viewer"})
    await control.assign(engineering["id"])
    await control.call("POST", f"{APP_PATH}/assignments", {"principalId": bob["id"], "role": "DataAdmin"})
    await control.assign(carol["id"])
    await control.unassign(carol["id"])
    settings = await control.call("GET", f"{APP_PATH}/provisioning")
    mappings = [m for m in settings["userMappings"] if m["target"] != "title"]
    await control.configure(
        tenantUrl=emu.scim_url + "?aadOptscim062020",
        accidentalDeletionThreshold=25,
        scope="all",
        userMappings=mappings,
    )
    sso = await control.call("GET", "/galaxy/sso")
    await control.call(
        "PATCH",
        f"{APP_PATH}/saml",
        {
            "identifiers": [sso["galaxy"]["entityId"]],
            "replyUrls": [sso["galaxy"]["replyUrl"]],
            "relayState": sso["galaxy"]["relayState"],
            "signingOption": "both",
            "nameIdFormat": "persistent",
        },
    )
    entra = (await control.call("GET", f"{APP_PATH}/saml"))["entra"]
    async with emu.session.get(f"{emu.url}/_emulator{APP_PATH}/saml/certificate") as reply:
        certificate = await reply.text()
    await control.call(
        "PUT",
        "/galaxy/sso",
        {
            "certificate": certificate,
            "loginUrl": entra["loginUrl"],
            "entraIdentifier": entra["identifier"],
            "allowUnsolicited": False,
        },
    )


async def snapshot(control: Control) -> dict:
    """Everything a scenario carries, as the control API shows it, without what a new data
    folder makes anew (timestamps, change stamps, app role ids, the masked token)."""
    stamps = {"createdDateTime", "modifiedDateTime", "changeSeq"}
    users = (await control.call("GET", "/entra/users?includeDeleted=true"))["users"]
    groups = (await control.call("GET", "/entra/groups"))["groups"]
    app = await control.call("GET", APP_PATH)
    roles = {r["id"]: r["value"] for r in app.get("appRoles", [])}
    assignments = (await control.call("GET", f"{APP_PATH}/assignments"))["assignments"]
    provisioning = await control.call("GET", f"{APP_PATH}/provisioning")
    assert provisioning.pop("secretToken")
    galaxy_sso = await control.call("GET", "/galaxy/sso")
    tenant = await control.call("GET", "/entra/tenant")
    return {
        "tenant": {k: v for k, v in tenant.items() if k != "changeSeq"},
        "users": sorted(
            (
                {
                    **{k: v for k, v in u.items() if k not in stamps},
                    "deletedDateTime": bool(u["deletedDateTime"]),
                }
                for u in users
            ),
            key=lambda u: u["userPrincipalName"],
        ),
        "groups": sorted(
            (
                {**{k: v for k, v in g.items() if k not in stamps}, "members": sorted(g["members"])}
                for g in groups
            ),
            key=lambda g: g["displayName"],
        ),
        "app": {
            **{k: v for k, v in app.items() if k not in ("createdDateTime", "appRoles")},
            "appRoles": [{k: v for k, v in r.items() if k != "id"} for r in app.get("appRoles", [])],
        },
        "assignments": sorted(
            (a["principalId"], a["principalType"], roles.get(a["appRoleId"])) for a in assignments
        ),
        "provisioning": provisioning,
        "saml": await control.call("GET", f"{APP_PATH}/saml"),
        "galaxySso": {k: v for k, v in galaxy_sso.items() if k not in ("updated", "revision")},
    }


async def export(emu: Running, query: str = "") -> tuple[str, dict]:
    async with emu.session.get(f"{emu.url}/_emulator/scenario/export{query}") as reply:
        assert reply.status == 200, await reply.text()
        return await reply.text(), dict(reply.headers)


async def test_an_exported_state_loads_back_field_by_field(
    start_emulator: StartEmulator, tmp_path: Path, cookie_session: aiohttp.ClientSession
) -> None:
    emu = await start_emulator()
    control = Control(emu)
    await build_by_hand(emu, control)
    before = await snapshot(control)

    text, headers = await export(emu, "?name=acme-by-hand")
    assert headers["Content-Type"].startswith("application/toml")
    assert headers["Content-Disposition"] == 'attachment; filename="acme-by-hand.toml"'
    assert TOKEN not in text  # never a secret in clear
    parsed = tomllib.loads(text)
    assert parsed["app"]["provisioning"]["tenantUrl"] == "{galaxy_scim_url}?aadOptscim062020"
    assert parsed["app"]["provisioning"]["secretToken"] == "{galaxy_token}"
    assert parsed["galaxy"]["sso"]["certificate"] == "{entra_certificate}"
    assert [u["email"] for u in parsed["galaxy"]["users"]] == ["ops@acme.example"]  # not accountadmin
    path = tmp_path / "acme-by-hand.toml"
    path.write_text(text)
    scenario = load_scenario(path)
    assert scenario.name == "acme-by-hand" and len(scenario.users) == 4  # erin was purged

    # Change everything, then load the file: the same state comes back.
    await reset(control, {"scenario": "demo"})
    answer = await reset(control, {"scenario": str(path)})
    assert answer["scenario"] == "acme-by-hand" and answer["applied"]["provisioningConfigured"]
    after = await snapshot(control)
    for part in before:
        assert after[part] == before[part], part
    # Passwords came back as their hashes: Galaxy's direct user signs in with the old password.
    assert await Browser(emu, cookie_session).sign_in("ops@acme.example", "Acme-Ops-1!") == 303
    # {galaxy_token} became a live token: provisioning pushes to Galaxy at once.
    summary = await control.run()
    assert summary["status"] == "success", summary
    # Exporting the loaded state gives the same tables again.
    again, _ = await export(emu, "?name=acme-by-hand")
    first, second = tomllib.loads(text), tomllib.loads(again)
    for exported in (first, second):
        exported["scenario"].pop("description")  # it says when
        for group in exported["groups"]:  # a scenario adds nested groups after the users
            group["members"].sort()
    assert second == first


async def test_export_as_json_and_the_token_of_another_tenant_url_is_left_out(emulator: Running) -> None:
    control = Control(emulator)
    await control.call(
        "PATCH",
        f"{APP_PATH}/provisioning",
        {"mode": "Automatic", "tenantUrl": "https://scim.example.com/scim/v2", "secretToken": "s3cret-value"},
    )
    text, _ = await export(emulator)
    assert "s3cret-value" not in text
    assert "secretToken for https://scim.example.com/scim/v2 was left out" in text
    body = await control.call("GET", "/scenario/export?format=json")
    assert body["name"] == "exported"
    assert body["scenario"]["app"]["provisioning"] == {
        "mode": "Automatic",
        "tenantUrl": "https://scim.example.com/scim/v2",
    }
    assert any("secretToken" in note for note in body["notes"])


async def test_a_state_the_format_cannot_express_is_a_409(emulator: Running) -> None:
    control = Control(emulator)
    await control.group("Twins")
    await control.group("Twins")  # Entra allows two groups with one name; a scenario does not
    error = await control.call("GET", "/scenario/export", expect=409)
    assert "'Twins' is already the displayName of groups[0]" in error["error"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?format=yaml", "format must be toml or json"),
        ("?name=", "name must be 1 to 100 printable characters"),
    ],
)
async def test_bad_export_parameters_are_a_json_400(emulator: Running, query: str, message: str) -> None:
    error = await Control(emulator).call("GET", "/scenario/export" + query, expect=400)
    assert error == {"error": message, "status": 400}


async def test_the_demo_scenario_exports_to_what_it_declares(start_emulator: StartEmulator) -> None:
    emu = await start_emulator(scenario="demo")
    text, _ = await export(emu)
    exported = load_text(text)
    demo = load_scenario("demo")
    assert [u.id for u in exported.users] == [u.id for u in demo.users]
    assert [(g.display_name, sorted(g.members)) for g in exported.groups] == [
        (g.display_name, sorted(g.members)) for g in demo.groups
    ]
    assert exported.app.assignments == demo.app.assignments
    assert exported.app.saml == demo.app.saml and exported.galaxy_sso == demo.galaxy_sso


async def test_a_metadata_url_that_cannot_be_fetched_leaves_galaxy_sso_unconfigured_with_a_warning(
    emulator: Running,
) -> None:
    control = Control(emulator)
    toml = ACME + '\n[galaxy.sso]\nmetadataUrl = "http://127.0.0.1:9/federationmetadata.xml"\n'
    answer = await control.call("POST", "/scenario", {"toml": toml})
    assert answer["scenario"] == "acme" and answer["applied"]["galaxyUsers"] == 1
    (warning,) = answer["warnings"]
    assert warning.startswith("galaxy.sso: the metadata could not be fetched from http://127.0.0.1:9/")
    assert warning.endswith("(everything else of the scenario was applied)")
    assert (await control.call("GET", "/galaxy/sso"))["configured"] is False
    assert (await emulator.scim(answer["galaxyToken"]).get("/Users")).status == 200
