"""The pytest plugin, as another project meets it: installed with the package, loaded through the
`pytest11` entry point, its fixtures used and overridden in that project's own test files.

One pytest subprocess runs every generated file, so they share one emulator, as a project's
suite would."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from emulator.pytest_plugin import EmulatorOptions

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest


@pytest.fixture(autouse=True)
def record_the_emulator(request):
    if "scim_emulator" in request.fixturenames:
        emulator = request.getfixturevalue("scim_emulator")
        print(f"\\nEMULATOR {request.node.name} {emulator.url} {emulator.scenario}")
"""

PROVISION = """
import json
import urllib.request

import pytest


def test_the_plugin_comes_from_the_entry_point(request):
    plugin = request.config.pluginmanager.get_plugin("scim_emulator")
    assert plugin is not None and plugin.__name__ == "emulator.pytest_plugin"
    dists = {dist.project_name for _, dist in request.config.pluginmanager.list_plugin_distinfo()}
    assert "scim-emulator" in dists


def test_an_assigned_user_reaches_galaxy(entra, provisioning, galaxy_scim_url, galaxy_token, scim_emulator):
    ada = entra.add_user("ada@contoso.com", given_name="Ada", surname="Lovelace")
    entra.assign(ada)
    provisioning.configure()  # the built-in Galaxy
    assert provisioning.run_cycle()["status"] == "success"
    request = urllib.request.Request(
        galaxy_scim_url + '/Users?filter=userName%20eq%20%22ada@contoso.com%22',
        headers={"Authorization": f"Bearer {galaxy_token}"},
    )
    with urllib.request.urlopen(request) as resp:
        [ada_in_galaxy] = json.load(resp)["Resources"]
    assert ada_in_galaxy["name"]["familyName"] == "Lovelace"
    assert scim_emulator.galaxy.users()["ada@contoso.com"]["active"] is True


def test_each_test_starts_from_the_scenario(entra, scim_emulator):
    assert "ada@contoso.com" not in {u["userPrincipalName"] for u in entra.users()}
    assert scim_emulator.galaxy.users() == {}


def test_login_after_the_initial_cycle(provisioning, saml_login, scim_emulator):
    user, password = "PattiF@contoso.onmicrosoft.com", "Contoso-Demo-2026!"
    assert saml_login(user, password).outcome == "refused"
    provisioning.configure()
    provisioning.start()  # the initial cycle, then one every 40 minutes of the manual clock
    assert saml_login(user, password).signed_in
    scim_emulator.entra.unassign(user)
    scim_emulator.clock.advance(40 * 60)
    assert scim_emulator.galaxy.users()[user]["active"] is False
    assert [e["provisioningAction"] for e in provisioning.logs(identity="Patti Fernandez")][0] == "disable"


@pytest.mark.scim_emulator(scenario="empty")
def test_a_mark_picks_the_scenario(entra, scim_emulator):
    assert scim_emulator.scenario == "empty" and entra.users() == []


@pytest.mark.scim_emulator(scenario="empty", isolated=True)
def test_an_isolated_test_gets_an_emulator_of_its_own(entra, scim_emulator):
    entra.add_user("ada@contoso.com")
    assert [u["userPrincipalName"] for u in entra.users()] == ["ada@contoso.com"]


async def test_an_async_test_awaits_the_helpers(scim_emulator):
    ada = await scim_emulator.aio.entra.add_user("ada@contoso.com")
    await scim_emulator.aio.entra.assign(ada)
    await scim_emulator.aio.provisioning.configure()
    await scim_emulator.aio.provisioning.run_cycle()
    assert "ada@contoso.com" in await scim_emulator.aio.galaxy.users()
"""

OVERRIDE = """
import pytest


@pytest.fixture
def scim_emulator_config():
    return {"scenario": "empty"}


def test_the_overridden_config_gives_the_empty_tenant(entra, galaxy_token, scim_emulator):
    assert scim_emulator.scenario == "empty"
    assert entra.users() == [] and entra.groups() == []
    assert galaxy_token == scim_emulator.token
"""


def test_the_plugins_fixtures_in_another_projects_suite(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_provision=PROVISION, test_override=OVERRIDE)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=8)  # and no warnings from the emulator's dependencies
    assert "warnings summary" not in result.stdout.str()
    seen = {
        name: (url, scenario)
        for name, url, scenario in re.findall(r"^EMULATOR (\S+) (\S+) (\S+)$", result.stdout.str(), re.M)
    }
    assert len(seen) == 7, result.stdout.str()
    assert seen["test_the_overridden_config_gives_the_empty_tenant"][1] == "empty"
    assert seen["test_an_assigned_user_reaches_galaxy"][1] == "demo"
    # one emulator for the whole run (the scenario changes by a reset), except the isolated test
    isolated = seen.pop("test_an_isolated_test_gets_an_emulator_of_its_own")[0]
    assert len({url for url, _ in seen.values()} | {isolated}) == 2


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, emulator, emulator.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m == 'aiohttp' or m.startswith('emulator.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['emulator.pytest_plugin']"


def test_options_are_checked() -> None:
    assert EmulatorOptions.from_value({"profile": "full"}).scim_profile == "full"
    with pytest.raises(TypeError, match=r"unknown scim_emulator option\(s\) scenarios"):
        EmulatorOptions.from_value({"scenarios": "empty"})
