"""Scenarios: the built-in tenants, the file format's checks and messages, and applying one to a
real store through the Entra directory."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.clock import ManualClock
from emulator.entra.directory import USER_FIELDS, EntraDirectory
from emulator.hashing import password_matches
from emulator.scenarios import (
    BUILTIN_SCENARIOS,
    Scenario,
    ScenarioError,
    apply_scenario,
    load_scenario,
)
from emulator.scenarios.large import build_large
from emulator.scenarios.loader import USER_ATTRIBUTES, scenario_from_dict
from emulator.store import Store

DEMO_PASSWORD = "Contoso-Demo-2026!"


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[EntraDirectory]:
    store = Store(tmp_path / "data")
    yield EntraDirectory(store, ManualClock())
    store.close()


def write(tmp_path: Path, text: str, name: str = "scenario.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def in_scope(directory: EntraDirectory, app_id: str) -> set[str]:
    """Users assigned directly or as direct members of an assigned group (Entra's rule)."""
    found = set()
    for assignment in directory.assignments_of(app_id):
        if assignment["principalType"] == "User":
            found.add(assignment["principalId"])
        else:
            group = directory.group(assignment["principalId"])
            found.update(m for m in group["members"] if directory.find_user(m))
    return found


# -- the built-in scenarios ------------------------------------------------------------------


def test_builtin_names_are_demo_empty_and_large() -> None:
    assert BUILTIN_SCENARIOS == ("demo", "empty", "large")


def test_demo_is_a_dozen_contoso_users_in_three_groups() -> None:
    demo = load_scenario("demo")
    assert isinstance(demo, Scenario)
    assert demo.tenant.primary_domain == "contoso.onmicrosoft.com"
    assert 10 <= len(demo.users) <= 14
    assert [g.display_name for g in demo.groups] == ["Data Engineering", "Analysts", "Finance"]
    assert demo.app.display_name == "Starburst Galaxy"
    assert demo.app.provisioning is None  # left for the person to configure, as the seed says
    assert demo.galaxy_users == ()
    assert [u.display_name for u in demo.users if not u.enabled] == ["Nestor Wilke"]
    assert [u.display_name for u in demo.users if "mail" not in u.attributes] == ["Lidia Holloway"]
    assert all(u.password == DEMO_PASSWORD for u in demo.users)
    assert sum(u.manager is not None for u in demo.users) >= len(demo.users) - 2


def test_demo_applies_with_users_in_and_out_of_scope(directory: EntraDirectory) -> None:
    summary = apply_scenario(load_scenario("demo"), directory)

    assert (summary.users, summary.groups, summary.disabled_users) == (12, 3, 1)
    assert directory.tenant["primaryDomain"] == "contoso.onmicrosoft.com"
    app = directory.app("Starburst Galaxy")
    assert app["id"] == summary.app_object_id and app["appId"] == summary.app_id
    kinds = {a["principalType"] for a in directory.assignments_of(app["id"])}
    assert kinds == {"User", "Group"}  # some assigned directly, some through groups

    scope = {directory.user(i)["displayName"] for i in in_scope(directory, app["id"])}
    everyone = {u["displayName"] for u in directory.list_users()}
    assert "Nestor Wilke" in scope  # blocked, yet assigned
    assert "Lidia Holloway" in scope  # no mail, yet assigned
    # Joni and Diego are only in "Finance", nested in the assigned "Analysts": out of scope.
    assert everyone - scope == {"Joni Sherman", "Diego Siciliani", "Miriam Graham"}

    nestor = directory.find_user("NestorW@contoso.onmicrosoft.com")
    assert nestor is not None and nestor["accountEnabled"] is False
    lidia = directory.find_user("lidiah@contoso.onmicrosoft.com")
    assert lidia is not None and "mail" not in lidia
    adele = directory.find_user("AdeleV@contoso.onmicrosoft.com")
    lee = directory.find_user("LeeG@contoso.onmicrosoft.com")
    assert adele is not None and lee is not None
    assert adele["manager"] == lee["id"]
    assert adele["city"] == "Redmond" and adele["mobile"] == "+1 425 555 0153"
    assert password_matches(DEMO_PASSWORD, adele["passwordHash"])
    assert not password_matches("wrong", adele["passwordHash"])

    analysts = directory.find_group("Analysts")
    finance = directory.find_group("Finance")
    assert analysts is not None and finance is not None
    assert finance["id"] in analysts["members"]  # nesting is kept as a member, not expanded


def test_empty_is_the_tenant_and_the_app_only(directory: EntraDirectory) -> None:
    empty = load_scenario("empty")
    summary = apply_scenario(empty, directory)
    assert (summary.users, summary.groups, summary.assignments) == (0, 0, 0)
    assert [a["displayName"] for a in directory.list_apps()] == ["Starburst Galaxy"]
    assert directory.tenant["id"] == empty.tenant.id


def test_large_has_the_promised_counts_and_everyone_in_a_group() -> None:
    large = load_scenario("large")
    assert len(large.users) == 10_000
    assert len(large.groups) == 200
    assert large.membership_count() == 50_000
    members = {m.lower() for g in large.groups for m in g.members}
    assert members == {u.user_principal_name.lower() for u in large.users}
    assert set(large.app.assignments) == {g.display_name for g in large.groups}


def test_large_is_the_same_on_every_build() -> None:
    first, second = load_scenario("large"), load_scenario("large")
    assert [u.id for u in first.users] == [u.id for u in second.users]
    assert [(g.id, g.members) for g in first.groups] == [(g.id, g.members) for g in second.groups]
    assert first == second


def test_large_applies_in_a_few_seconds(directory: EntraDirectory) -> None:
    large = load_scenario("large")
    started = time.perf_counter()
    summary = apply_scenario(large, directory)
    elapsed = time.perf_counter() - started
    assert (summary.users, summary.groups, summary.memberships, summary.assignments) == (
        10_000,
        200,
        50_000,
        200,
    )
    assert len(directory.list_users()) == 10_000
    assert sum(len(g["members"]) for g in directory.list_groups()) == 50_000
    assert elapsed < 15, f"applying large took {elapsed:.1f}s"


def test_a_smaller_large_keeps_its_shape() -> None:
    small = scenario_from_dict(
        build_large(users=300, groups=20, memberships=900), source="test", default_name="x"
    )
    assert (len(small.users), len(small.groups), small.membership_count()) == (300, 20, 900)


def test_user_keys_are_fields_the_directory_accepts() -> None:
    assert set(USER_ATTRIBUTES) <= USER_FIELDS


# -- ids -------------------------------------------------------------------------------------


def test_missing_ids_are_derived_from_the_tenant_id_and_the_name() -> None:
    demo = load_scenario("demo")
    tenant = uuid.UUID(demo.tenant.id)
    adele = next(u for u in demo.users if u.display_name == "Adele Vance")
    assert adele.id == str(uuid.uuid5(tenant, "user:adelev@contoso.onmicrosoft.com"))
    assert demo.groups[0].id == str(uuid.uuid5(tenant, "group:data engineering"))
    assert demo.app.id == str(uuid.uuid5(tenant, "app:starburst galaxy"))
    assert load_scenario("demo") == demo


def test_without_a_tenant_id_the_scenario_name_derives_one(tmp_path: Path) -> None:
    text = '[scenario]\nname = "acme"\n[[users]]\nuserPrincipalName = "a@acme.com"\ndisplayName = "A"\n'
    first = load_scenario(write(tmp_path, text, "one.toml"))
    second = load_scenario(write(tmp_path, text, "two.toml"))
    assert first.tenant.id == second.tenant.id
    assert first.users[0].id == second.users[0].id


def test_declared_ids_are_kept_in_lower_case(tmp_path: Path) -> None:
    scenario = load_scenario(
        write(
            tmp_path,
            '[[users]]\nuserPrincipalName = "a@acme.com"\ndisplayName = "A"\n'
            'id = "0E4C2E8C-54F0-4A4B-8B43-3C3A7B2A9F11"\n',
        )
    )
    assert scenario.users[0].id == "0e4c2e8c-54f0-4a4b-8b43-3c3a7b2a9f11"


# -- applying --------------------------------------------------------------------------------

FULL = """
[scenario]
name = "callbacks"

[[users]]
userPrincipalName = "ada@acme.com"
displayName = "Ada"
password = "one"

[[users]]
userPrincipalName = "gone@acme.com"
displayName = "Gone"
deleted = true

[[groups]]
displayName = "Outer"
members = ["Inner", "ada@acme.com"]

[[groups]]
displayName = "Inner"
members = ["gone@acme.com"]

[app]
displayName = "Starburst Galaxy"
assignments = ["Outer", "ada@acme.com"]

[app.provisioning]
mode = "Automatic"
tenantUrl = "http://127.0.0.1:9/scim"
secretToken = "s3cret"
scope = "assigned"
accidentalDeletionThreshold = 500

[[galaxy.users]]
email = "ops@acme.com"
password = "ops-pass"
displayName = "Ops"
roles = ["accountadmin"]

[[galaxy.users]]
email = "viewer@acme.com"
password = "viewer-pass"
"""


def test_callbacks_receive_the_provisioning_table_and_galaxy_users(
    tmp_path: Path, directory: EntraDirectory
) -> None:
    scenario = load_scenario(write(tmp_path, FULL))
    provisioning: list[tuple[str, dict]] = []
    galaxy: list[dict] = []

    def configure(app_object_id: str, table: dict) -> None:
        table["mutated"] = True  # must not leak back into the scenario
        provisioning.append((app_object_id, table))

    summary = apply_scenario(
        scenario, directory, configure_provisioning=configure, create_galaxy_user=galaxy.append
    )

    assert provisioning == [
        (
            summary.app_object_id,
            {
                "mode": "Automatic",
                "tenantUrl": "http://127.0.0.1:9/scim",
                "secretToken": "s3cret",
                "scope": "assigned",
                "accidentalDeletionThreshold": 500,
                "mutated": True,
            },
        )
    ]
    assert scenario.app.provisioning is not None and "mutated" not in scenario.app.provisioning
    assert galaxy == [
        {"email": "ops@acme.com", "password": "ops-pass", "displayName": "Ops", "roles": ["accountadmin"]},
        {"email": "viewer@acme.com", "password": "viewer-pass", "roles": []},
    ]
    assert summary.provisioning_configured and summary.galaxy_users == 2


def test_without_callbacks_those_parts_are_skipped_and_reported(
    tmp_path: Path, directory: EntraDirectory
) -> None:
    summary = apply_scenario(load_scenario(write(tmp_path, FULL)), directory)
    assert not summary.provisioning_configured and summary.galaxy_users == 0


def test_nested_groups_and_soft_deletes_are_applied(tmp_path: Path, directory: EntraDirectory) -> None:
    summary = apply_scenario(load_scenario(write(tmp_path, FULL)), directory)
    outer, inner = directory.find_group("Outer"), directory.find_group("Inner")
    ada, gone = directory.find_user("ada@acme.com"), directory.find_user("gone@acme.com")
    assert outer and inner and ada and gone
    assert outer["members"] == [ada["id"], inner["id"]]  # users first, nested groups after
    assert inner["members"] == [gone["id"]]
    assert gone["deletedDateTime"] is not None and ada["deletedDateTime"] is None
    assert [u["displayName"] for u in directory.list_users()] == ["Ada"]
    assert (summary.deleted_users, summary.memberships, summary.assignments) == (1, 3, 2)
    assert "passwordHash" not in gone and password_matches("one", ada["passwordHash"])


def test_a_directory_that_already_holds_the_names_is_refused_before_any_write(
    directory: EntraDirectory,
) -> None:
    apply_scenario(load_scenario("demo"), directory)
    before = directory.change_seq
    with pytest.raises(ScenarioError, match=r"already holds user 'PattiF@contoso\.onmicrosoft\.com'"):
        apply_scenario(load_scenario("demo"), directory)
    assert directory.change_seq == before


# -- finding scenarios -------------------------------------------------------------------------


def test_an_unknown_name_lists_the_builtin_ones() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario("demoo")
    assert str(caught.value) == (
        "demoo: unknown scenario; the built-in ones are demo, empty, large, or give the path to a .toml file"
    )


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match=f"^{re.escape(missing)}: no such scenario file$"):
        load_scenario(missing)


# -- errors: the file and the line, or the file and the field ---------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ('[scenario]\nname = "x"\n[[users]]\nuserPrincipalName "a@b.c"\n', 4, 19, "Expected '='"),
        ('[scenario]\nname = "x"\nname = "y"\n', 3, 11, "Cannot overwrite a value"),
        ('[tenant]\ndisplayName = "unterminated\n', 2, 28, "invalid TOML"),
    ],
)
def test_a_toml_syntax_error_names_the_file_line_and_column(
    tmp_path: Path, text: str, line: int, column: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert str(caught.value).startswith(f"{path}:{line}:{column}: invalid TOML: ")
    assert message in str(caught.value)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[scenario]\nname = "caf\xe9"\n')
    with pytest.raises(ScenarioError, match=r"latin1\.toml:2:12: not UTF-8"):
        load_scenario(str(path))


USER = '[[users]]\nuserPrincipalName = "{upn}"\ndisplayName = "{name}"\n'
ADA = USER.format(upn="ada@acme.com", name="Ada")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            ADA + USER.format(upn="bob@acme.com", name="Bob") + 'manager = "carol@acme.com"\n',
            "users[1].manager: 'carol@acme.com' is not the userPrincipalName of a user in this scenario",
        ),
        (ADA + 'manager = "ADA@acme.com"\n', "users[0].manager: a user cannot be their own manager"),
        (
            ADA + '[[groups]]\ndisplayName = "G"\nmembers = ["Finanse"]\n',
            "groups[0].members[0]: 'Finanse' is neither the userPrincipalName of a user nor the "
            "displayName of a group in this scenario",
        ),
        (
            ADA + '[[groups]]\ndisplayName = "G"\nmembers = ["ada@acme.com", "Ada@Acme.com"]\n',
            "groups[0].members[1]: 'Ada@Acme.com' is already listed as groups[0].members[0]",
        ),
        (
            '[[groups]]\ndisplayName = "G"\nmembers = ["g"]\n',
            "groups[0].members[0]: a group cannot be a member of itself",
        ),
        (
            '[[groups]]\ndisplayName = "A"\nmembers = ["B"]\n'
            '[[groups]]\ndisplayName = "B"\nmembers = ["A"]\n',
            "groups[0].members: nested groups form a cycle: 'A' → 'B' → 'A'",
        ),
        (
            ADA + USER.format(upn="ADA@acme.com", name="Twin"),
            "users[1].userPrincipalName: 'ADA@acme.com' is already the userPrincipalName of users[0]",
        ),
        (
            '[[groups]]\ndisplayName = "G"\n[[groups]]\ndisplayName = "g"\n',
            "groups[1].displayName: 'g' is already the displayName of groups[0]",
        ),
        (
            ADA + '[[groups]]\ndisplayName = "ada@acme.com"\n',
            "groups[0].displayName: is also the userPrincipalName of users[0]",
        ),
        (
            ADA + 'upn = "ada@acme.com"\n',
            "users[0].upn: unknown key (did you mean 'userPrincipalName'?); allowed",
        ),
        (ADA + "enabled = 1\n", "users[0].enabled: expected a boolean (true or false), found an integer (1)"),
        (ADA + "jobTitle = 7\n", "users[0].jobTitle: expected a string, found an integer (7)"),
        (ADA + 'jobTitle = ""\n', "users[0].jobTitle: is empty; omit the key"),
        (ADA + 'mail = "not-an-address"\n', "users[0].mail: 'not-an-address' does not look like name@domain"),
        (ADA + 'id = "1234"\n', "users[0].id: '1234' is not a GUID"),
        ('[[users]]\ndisplayName = "No UPN"\n', "users[0].userPrincipalName: is required"),
        ('[[users]]\nuserPrincipalName = "x@acme.com"\n', "users[0].displayName: is required"),
        ('[tenant]\nid = "contoso"\n', "tenant.id: 'contoso' is not a GUID"),
        ('[tenant]\nprimaryDomain = "contoso"\n', "tenant.primaryDomain: 'contoso' is not a domain name"),
        ('[tenant]\nname = "Contoso"\n', "tenant.name: unknown key (did you mean 'displayName'?)"),
        (
            '[users]\nuserPrincipalName = "a@b.c"\n',
            "users: expected an array of tables ([[users]]), found a table",
        ),
        (
            "surprise = 1\n",
            "surprise: unknown key; allowed keys here: app, galaxy, groups, scenario, tenant, users",
        ),
        (
            '[app]\nassignments = ["nobody@acme.com"]\n',
            "app.assignments[0]: 'nobody@acme.com' is neither the userPrincipalName of a user",
        ),
        (
            ADA + '[app]\nassignments = ["ada@acme.com", "ada@acme.com"]\n',
            "app.assignments[1]: 'ada@acme.com' is already assigned",
        ),
        (
            '[app]\nprovisioning = "Automatic"\n',
            "app.provisioning: expected a table ([app.provisioning]), found a string",
        ),
        ('[app]\nappId = "x"\n', "app.appId: 'x' is not a GUID"),
        ('[[galaxy.users]]\nemail = "ops@acme.com"\n', "galaxy.users[0].password: is required"),
        (
            '[[galaxy.users]]\nemail = "o@a.com"\npassword = "p"\nroles = "accountadmin"\n',
            "galaxy.users[0].roles: expected an array of strings, found a string",
        ),
        (
            '[[galaxy.users]]\nemail = "o@a.com"\npassword = "p"\n'
            '[[galaxy.users]]\nemail = "O@a.com"\npassword = "q"\n',
            "galaxy.users[1].email: 'O@a.com' is already the email of galaxy.users[0]",
        ),
        (
            ADA + 'id = "0e4c2e8c-54f0-4a4b-8b43-3c3a7b2a9f11"\n'
            '[[groups]]\ndisplayName = "G"\nid = "0e4c2e8c-54f0-4a4b-8b43-3c3a7b2a9f11"\n',
            "id: 0e4c2e8c-54f0-4a4b-8b43-3c3a7b2a9f11 is the id of both user 'ada@acme.com' and group 'G'",
        ),
    ],
)
def test_a_bad_value_names_the_file_and_the_field(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == f"{path}: {caught.value.problems[0]}"
    assert caught.value.problems[0].startswith(problem)


def test_every_problem_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    text = (
        ADA
        + 'manager = "nobody@acme.com"\n'
        + USER.format(upn="bob@acme.com", name="Bob")
        + "enabled = 'no'\n"
        + '[[groups]]\ndisplayName = "G"\nmembers = ["ghost@acme.com"]\n'
    )
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "users[0].manager",
        "users[1].enabled",
        "groups[0].members[0]",
    ]
    assert str(caught.value).startswith(f"{path}: 3 problems:\n  - users[0].manager: ")
    assert isinstance(caught.value, ValueError)
