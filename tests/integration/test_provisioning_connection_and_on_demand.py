"""Test Connection (reference §1.2, §4.1), provision on demand (§1.9), the logs (§1.10) and
cycles on a schedule by the emulator's clock (§1.8)."""

from __future__ import annotations

import csv
import io

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from emulator.clock import ManualClock
from tests.conftest import TOKEN
from tests.entra_helpers import APP, Control, writes
from tests.helpers import free_port

BASE = f"/entra/apps/{APP}/provisioning"


@pytest.fixture
async def entra(start_emulator) -> Control:
    return Control(await start_emulator(clock=ManualClock(), cycle_interval=None))


async def test_connection_succeeds_on_an_empty_list_response(entra: Control) -> None:
    result = await entra.call("POST", BASE + "/test", {"tenantUrl": entra.emu.scim_url, "secretToken": TOKEN})
    assert result == {
        "success": True,
        "errorCode": None,
        "message": "The supplied credentials are authorized to enable provisioning.",
    }
    probe = (await entra.exchanges())[-1]
    assert probe["method"] == "GET" and "filter=userName+eq+%22" in probe["path"]


@pytest.mark.parametrize(
    ("case", "code", "words"),
    [
        ("wrong token", "Unauthorized", "invalid credentials"),
        ("not found", "NotFound", "SCIM compliance issue"),
        ("refused", None, "Unable to connect"),
        (
            "not scim",
            "SystemForCrossDomainIdentityManagementServiceIncompatible",
            "did not answer like a SCIM",
        ),
    ],
)
async def test_connection_failures_read_like_the_portal(
    entra: Control, case: str, code: str, words: str
) -> None:
    url, token = entra.emu.scim_url, TOKEN
    if case == "wrong token":
        token = "not-the-token"
    elif case == "not found":
        url = entra.emu.url + "/galaxy/nothing/here"
    elif case == "refused":
        url = f"http://127.0.0.1:{free_port()}/scim"
    else:  # a web page, not a SCIM service

        async def welcome(request: web.Request) -> web.Response:
            return web.Response(text="<html>Welcome</html>", content_type="text/html")

        app = web.Application()
        app.router.add_get("/app/Users", welcome)
        page = TestServer(app, host="127.0.0.1")
        await page.start_server()
        url = str(page.make_url("/app"))
    result = await entra.call("POST", BASE + "/test", {"tenantUrl": url, "secretToken": token})
    if case == "not scim":
        await page.close()
    assert result["success"] is False and words in result["message"]
    if code:
        assert result["errorCode"] == code
    assert "not-the-token" not in result["message"]


async def test_on_demand_shows_the_five_steps_and_ignores_the_flag(entra: Control) -> None:
    ada = await entra.user("ada@contoso.com", givenName="Ada")
    await entra.assign(ada["id"])
    await entra.configure(tenantUrl=entra.emu.scim_url + "?aadOptscim062020")
    result = await entra.call("POST", BASE + "/on-demand", {"objectId": "ada@contoso.com"})
    assert result["status"] == "success" and result["action"] == "create"
    assert [s["provisioningStepType"] for s in result["steps"]] == ["import", "scoping", "matching", "export"]
    scoping = result["steps"][1]["details"]
    assert scoping["Assigned to application"] == "True" and scoping["Active in source system"] == "True"
    assert "ada@contoso.com" in await entra.galaxy_users()
    await entra.call("PATCH", "/entra/users/ada@contoso.com", {"displayName": "Ada L"})
    await entra.clear_exchanges()
    update = await entra.call("POST", BASE + "/on-demand", {"objectId": ada["id"]})
    assert update["action"] == "update"
    patch = next(b for m, _, b in writes(await entra.exchanges()) if m == "PATCH")
    assert patch["Operations"][0]["op"] == "Replace", "the flag does not apply to on-demand (§1.1)"
    entries = await entra.logs()
    assert entries[0]["initiatedBy"]["initiatorType"] == "user"


async def test_on_demand_for_an_unassigned_user_is_skipped_with_the_reason(entra: Control) -> None:
    await entra.user("dee@contoso.com")
    await entra.configure()
    result = await entra.call("POST", BASE + "/on-demand", {"objectId": "dee@contoso.com"})
    assert result["status"] == "skipped" and result["action"] == "other"
    assert result["errorInformation"]["errorCode"] == "NotEffectivelyEntitled"
    assert await entra.galaxy_users() == {}


async def test_on_demand_group_of_up_to_five_members(entra: Control) -> None:
    members = [(await entra.user(f"u{i}@contoso.com"))["id"] for i in range(3)]
    group = await entra.group("Small", members)
    await entra.assign(group["id"])
    await entra.configure()
    result = await entra.call("POST", BASE + "/on-demand", {"objectId": "Small"})
    assert result["action"] == "create" and len(result["members"]) == 3
    assert len((await entra.galaxy_groups())["Small"]["members"]) == 3
    big = await entra.group("Big", [(await entra.user(f"b{i}@contoso.com"))["id"] for i in range(6)])
    error = await entra.call("POST", BASE + "/on-demand", {"objectId": big["id"]}, expect=400)
    assert "at most 5 members" in error["error"]


async def test_logs_filter_and_export(entra: Control) -> None:
    ada = await entra.user("ada@contoso.com")
    await entra.user("dee@contoso.com")
    await entra.assign(ada["id"])
    await entra.configure()
    summary = await entra.run()
    entries = await entra.logs()
    assert [e["provisioningAction"] for e in entries] == ["create"]
    entry = entries[0]
    assert entry["cycleId"] == summary["cycleId"] and entry["sourceIdentity"]["displayName"] == "Ada"
    assert entry["provisioningStatusInfo"]["status"] == "success"
    assert {p["displayName"] for p in entry["modifiedProperties"]} >= {"userName", "active"}
    assert await entra.logs(status="failure") == []
    assert len(await entra.logs(identity="ADA")) == 1
    async with entra.emu.session.get(f"{entra.emu.url}/_emulator{BASE}/logs?format=csv") as resp:
        assert resp.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert len(rows) == 1 and "userName" in next(v for k, v in rows[0].items() if "odified" in k)
    error = await entra.call("GET", BASE + "/logs?status=great", expect=400)
    assert "status" in error["error"]


async def test_cycles_run_every_interval_of_clock_time(start_emulator) -> None:
    from datetime import timedelta

    emu = await start_emulator(clock=ManualClock(), cycle_interval=timedelta(minutes=40))
    entra = Control(emu)
    ada = await entra.user("ada@contoso.com")
    await entra.assign(ada["id"])
    await entra.configure()
    await entra.call("POST", BASE + "/start")
    await entra.advance(0)  # the initial cycle is due at once
    status = await entra.status()
    assert status["status"] == "Active" and status["initialCycleCompleted"] and status["interval"] == "PT40M"
    assert "ada@contoso.com" in await entra.galaxy_users()
    await entra.call("PATCH", "/entra/users/ada@contoso.com", {"displayName": "Ada 2"})
    await entra.advance(39 * 60)
    assert (await entra.galaxy_users())["ada@contoso.com"]["displayName"] == "Ada"
    await entra.advance(60)
    assert (await entra.galaxy_users())["ada@contoso.com"]["displayName"] == "Ada 2"
    assert (await entra.status())["cycleCount"] == 2
    await entra.call("POST", BASE + "/stop")
    await entra.call("PATCH", "/entra/users/ada@contoso.com", {"displayName": "Ada 3"})
    await entra.advance(3 * 3600)
    assert (await entra.galaxy_users())["ada@contoso.com"]["displayName"] == "Ada 2"
    assert (await entra.status())["status"] == "Paused"
