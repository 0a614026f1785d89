"""The Python API, `from emulator import Emulator`, in both forms: `async with` in the current
event loop, and `with` in a background thread for synchronous tests."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from emulator import Emulator, EmulatorError
from tests.helpers import scim2_server

DEMO_PASSWORD = "Contoso-Demo-2026!"
PATTI = "PattiF@contoso.onmicrosoft.com"
PEER_TOKEN = "their-token-0123456789"


def emulator_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "scim-emulator"]


def peer_users(url: str) -> dict[str, dict]:
    request = urllib.request.Request(url + "/Users", headers={"Authorization": f"Bearer {PEER_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return {u["userName"]: u for u in json.load(resp)["Resources"]}


async def test_async_form_tells_the_login_after_provisioning_story() -> None:
    """Refused before the first cycle, signed in after it, disabled by the cycle after the
    unassignment: the demo scenario, driven in a few lines without sleeping."""
    async with Emulator(scenario="demo") as emu:
        assert emu.url.startswith("http://127.0.0.1:")
        assert emu.galaxy_scim_url == emu.url + "/galaxy/scim/v2"
        assert emu.accountadmin_password
        assert (await emu.login(PATTI, DEMO_PASSWORD)).outcome == "refused"

        await emu.provisioning.configure()  # the built-in Galaxy, with a new Galaxy token
        status = await emu.provisioning.start()  # waits for the initial cycle
        assert status["lastCycle"]["status"] == "success", status
        assert (await emu.galaxy.users())[PATTI]["active"] is True
        assert {"Data Engineering", "Analysts"} <= set(await emu.galaxy.groups())
        result = await emu.login(PATTI, DEMO_PASSWORD)
        assert result.signed_in, result.detail
        assert result.hops[0].url == emu.url + "/galaxy/login/azure"
        from_my_apps = await emu.login(PATTI, DEMO_PASSWORD, idp_initiated=True)
        assert from_my_apps.signed_in and from_my_apps.hops[0].url == emu.url + "/entra/myapps"

        await emu.entra.unassign(PATTI)
        now = await emu.clock.advance(timedelta(minutes=40))  # the next cycle runs
        assert now == await emu.clock.now()
        assert (await emu.galaxy.users())[PATTI]["active"] is False
        refused = await emu.login(PATTI, DEMO_PASSWORD)
        assert refused.outcome == "entra-error" and "AADSTS50105" in refused.detail
        disabled = await emu.provisioning.logs(identity="Patti Fernandez", action="disable")  # newest first
        assert disabled[0]["provisioningStatusInfo"]["status"] == "success"
        puts = await emu.galaxy.exchanges(method="PATCH")
        assert any('"active"' in json.dumps(e["request"]["body"]) for e in puts)


async def test_async_form_raises_the_servers_message() -> None:
    async with Emulator(scenario="empty") as emu:
        with pytest.raises(EmulatorError) as caught:
            await emu.entra.assign("nobody@contoso.com")
        assert caught.value.status == 404
        assert caught.value.message == "no user or group 'nobody@contoso.com'"
        with pytest.raises(EmulatorError, match="provisioning is not configured"):
            await emu.provisioning.run_cycle()
        with pytest.raises(EmulatorError, match="status must be an HTTP error status"):
            await emu.galaxy.fault(status=200)


async def test_async_form_changes_the_directory_by_name_or_by_object() -> None:
    """Users and groups are named by objectId, userPrincipalName, group name or the helper's own
    result; snake_case field names become Graph's camelCase."""
    async with Emulator(scenario="empty", cycle_interval="manual") as emu:
        ada = await emu.entra.add_user("ada@contoso.com", given_name="Ada", job_title="Engineer")
        await emu.entra.add_user("bob@contoso.com", display_name="Bob Builder")
        team = await emu.entra.add_group("Team", [ada, "bob@contoso.com"])
        assert team["members"] == [ada["id"], (await emu.entra.user("bob@contoso.com"))["id"]]
        await emu.entra.assign("Team")
        await emu.provisioning.configure(provision_groups=True)
        summary = await emu.provisioning.run_cycle()
        assert summary["status"] == "success", summary
        users = await emu.galaxy.users()
        assert users["ada@contoso.com"]["name"]["givenName"] == "Ada"
        assert users["bob@contoso.com"]["displayName"] == "Bob Builder"
        assert len((await emu.galaxy.groups())["Team"]["members"]) == 2

        await emu.entra.update_user(ada, surname="Lovelace")
        await emu.entra.delete_user("bob@contoso.com")
        # cycle_interval="manual": advancing the clock runs nothing; run_cycle() does
        await emu.clock.advance(timedelta(hours=2))
        assert (await emu.galaxy.users())["bob@contoso.com"]["active"] is True
        await emu.provisioning.run_cycle()
        users = await emu.galaxy.users()
        assert users["ada@contoso.com"]["name"]["familyName"] == "Lovelace"
        assert users["bob@contoso.com"]["active"] is False


async def test_a_reset_waits_for_the_running_cycle() -> None:
    """The control API refuses a reset while a cycle runs (409); `reset()` waits it out."""
    async with Emulator(scenario="empty", cycle_interval="manual") as emu:
        await emu.entra.assign(await emu.entra.add_user("ada@contoso.com"))
        await emu.provisioning.configure()
        await emu.galaxy.fault(latency_ms=300, count=1)  # a slow first request keeps the cycle busy
        cycle = asyncio.create_task(emu.provisioning.run_cycle())
        while (await emu.provisioning.status())["runningCycle"] is None:
            await asyncio.sleep(0.01)
        with pytest.raises(EmulatorError) as refused:
            await emu.control("POST", "/reset")
        assert refused.value.status == 409 and "cycle" in refused.value.message
        await emu.reset()
        assert cycle.done() and await emu.entra.users() == []


def test_sync_form_pushes_to_your_own_scim_server() -> None:
    """Entra's engine provisioning a SCIM server the test started itself (scim2-server), in a
    plain synchronous test; the thread and the temporary data folder are gone at the end."""
    with scim2_server(PEER_TOKEN) as peer, Emulator(scenario="empty") as emu:
        assert len(emulator_threads()) == 1
        data_dir = emu.data_dir
        ada = emu.entra.add_user(
            "ada@contoso.com", given_name="Ada", surname="Lovelace", mail="ada@contoso.com"
        )
        emu.entra.assign(ada)
        # scim2-server refuses the ADSCIM schema URN of Entra's group POSTs: users only
        assert emu.provisioning.test_connection(peer, PEER_TOKEN)["success"]
        emu.provisioning.point_at(peer, PEER_TOKEN, provision_groups=False)
        emu.provisioning.start()
        assert peer_users(peer)["ada@contoso.com"]["name"]["familyName"] == "Lovelace"

        emu.entra.update_user("ada@contoso.com", surname="King")
        emu.entra.add_user("bob@contoso.com")
        emu.entra.assign("bob@contoso.com")
        emu.clock.advance(40 * 60)  # the next cycle, without sleeping
        users = peer_users(peer)
        assert users["ada@contoso.com"]["name"]["familyName"] == "King"
        assert users["bob@contoso.com"]["active"] is True

        emu.entra.unassign(ada)
        emu.clock.advance(timedelta(minutes=40))
        assert peer_users(peer)["ada@contoso.com"]["active"] is False
        assert emu.provisioning.status()["cycleCount"] == 3
        assert emu.provisioning.logs(status="failure") == []
        assert emu.galaxy.users() == {}  # nothing went to the built-in Galaxy
    assert emulator_threads() == []
    assert not data_dir.exists()


def test_sync_form_resets_to_a_scenario_on_the_same_url() -> None:
    with Emulator(scenario="empty") as emu:
        url = emu.url
        emu.entra.add_user("ada@contoso.com")
        emu.galaxy.fault(status=503, count=5)
        emu.reset("demo")
        assert emu.url == url and emu.scenario == "demo"
        assert "ada@contoso.com" not in {u["userPrincipalName"] for u in emu.entra.users()}
        assert PATTI in {u["userPrincipalName"] for u in emu.entra.users()}
        assert emu.galaxy.faults() == []
        assert emu.galaxy.users() == {}  # the (new) token is accepted
        emu.entra.add_user("ada@contoso.com")
        saved = emu.export_scenario("with-ada")  # the state as a scenario file
        emu.reset()  # the scenario it started with
        assert emu.scenario == "empty" and emu.entra.users() == []
        emu.reset(toml=saved)
        assert emu.scenario == "with-ada"
        assert {"ada@contoso.com", PATTI} <= {u["userPrincipalName"] for u in emu.entra.users()}
    assert emulator_threads() == []


def test_sync_form_keeps_a_given_data_folder_and_a_fixed_token(tmp_path: Path) -> None:
    with Emulator(scenario="empty", data_dir=tmp_path, token="fixed-token-0123456789") as emu:
        assert emu.token == "fixed-token-0123456789"
        emu.entra.add_user("ada@contoso.com")
    with Emulator(data_dir=tmp_path) as emu:  # the folder keeps its data, and gets a token
        assert [u["userPrincipalName"] for u in emu.entra.users()] == ["ada@contoso.com"]
        assert emu.galaxy.users() == {}
        assert emu.accountadmin_password is None  # shown on the folder's first start only
    assert (tmp_path / "data.json").exists()


async def test_aio_lets_an_async_test_serve_while_the_engine_pushes() -> None:
    """A blocking helper would freeze the test's loop, where the test's own SCIM server runs;
    `aio` awaits the same helpers instead. Here "their" server is a second emulator's Galaxy
    receiver, served by this test's loop."""
    async with Emulator(scenario="empty") as theirs:
        with Emulator(scenario="empty") as emu:
            await emu.aio.entra.add_user("ada@contoso.com")
            await emu.aio.entra.assign("ada@contoso.com")
            await emu.aio.provisioning.point_at(theirs.galaxy_scim_url, theirs.token)
            summary = await emu.aio.provisioning.run_cycle()
            assert summary["status"] == "success", summary
            assert list(await theirs.galaxy.users()) == ["ada@contoso.com"]
            with pytest.raises(EmulatorError):
                await emu.aio.control("GET", "/entra/users/nobody@contoso.com")
    assert emulator_threads() == []


def test_a_scenario_error_stops_nothing_and_leaks_nothing() -> None:
    with pytest.raises(Exception, match="no-such-scenario"):
        Emulator(scenario="no-such-scenario").start_in_thread()
    assert emulator_threads() == []
