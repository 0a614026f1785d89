"""Entra's request bodies, built by emulator.entra.provisioning.quirks, compared field by field
(and key by key) with the samples Microsoft publishes (reference entra-and-galaxy.md §1.6, §4;
fixture fixtures/protocol/entra-engine-expected-requests.json, sources S1 and S2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator.entra.provisioning.quirks import (
    ADSCIM_GROUP,
    Change,
    WireMode,
    active_patch_body,
    create_group_body,
    create_user_body,
    group_patch_body,
    members_patch_bodies,
    on_demand_mode,
    parse_tenant_url,
    same_value,
    user_patch_body,
    value_at,
)
from emulator.scim.schema import CORE_GROUP, CORE_USER, ENTERPRISE_USER, PATCH_OP

FIXTURE = Path(__file__).parents[2] / "fixtures" / "protocol" / "entra-engine-expected-requests.json"
DEFAULT = WireMode(rfc_patch=False)
RFC = WireMode(rfc_patch=True)
EMPLOYEE_NUMBER = f"{ENTERPRISE_USER}:employeeNumber"
WORK_EMAIL = 'emails[type eq "work"].value'


@pytest.fixture(scope="module")
def samples() -> list[dict]:
    return json.loads(FIXTURE.read_text())["requests"]


def expected(samples: list[dict], name: str, mode: str = "default") -> dict:
    return next(s for s in samples if s["name"] == name and s["mode"] == mode)


def assert_same_body(actual: object, sample: dict) -> None:
    """Equal values, and the same key order at every level (Entra's bodies are compared as text
    by some receivers' tests, and the reference asks for the samples' shape)."""
    assert actual == sample["body"], sample["source"]
    assert json.dumps(actual) == json.dumps(sample["body"]), sample["source"]


# --- Tenant URL -------------------------------------------------------------------------------


def test_tenant_url_without_flag_uses_the_default_dialect() -> None:
    assert parse_tenant_url("https://api.contoso.com/scim/") == ("https://api.contoso.com/scim", DEFAULT)


def test_tenant_url_flag_is_stripped_and_turns_on_rfc_patch() -> None:
    base, mode = parse_tenant_url("https://host.example/scim/?aadOptscim062020")
    assert base == "https://host.example/scim"
    assert mode == RFC


def test_downgrade_flag_wins_over_the_upgrade() -> None:
    assert parse_tenant_url("http://h:8080/scim/v2?AzureAdScimPatch2017")[1] == DEFAULT
    assert parse_tenant_url("http://h/s?aadOptscim062020&AzureAdScimPatch2017")[1] == DEFAULT


def test_tenant_url_keeps_port_and_path_and_trims_whitespace() -> None:
    assert parse_tenant_url("  http://127.0.0.1:8000/galaxy/scim/v2//  ") == (
        "http://127.0.0.1:8000/galaxy/scim/v2",
        DEFAULT,
    )
    assert parse_tenant_url("https://host")[0] == "https://host"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://host/scim", "https://"),
        ("host/scim", "https://"),
        ("https:///scim", "no host"),
        ("", "empty"),
        ("https://host/scim?foo=bar", "foo=bar"),
        ("https://host/scim#frag", "fragment"),
        ("https://host:port/scim", "not a valid URL"),
    ],
)
def test_bad_tenant_urls_are_refused_with_a_readable_message(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_tenant_url(url)


def test_on_demand_runs_ignore_the_flag() -> None:
    assert on_demand_mode() == DEFAULT


# --- Create ------------------------------------------------------------------------------------


def test_create_user_matches_the_s1_sample(samples: list[dict]) -> None:
    body = create_user_body(
        {
            "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
            "active": "True",
            WORK_EMAIL: "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
            "name.givenName": "givenName",
            "name.familyName": "familyName",
            "name.formatted": "givenName familyName",
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        }
    )
    assert_same_body(body, expected(samples, "create user"))


def test_create_user_places_every_default_mapping_and_never_sends_nulls_or_the_manager() -> None:
    body = create_user_body(
        {
            "userName": "adele@contoso.com",
            "active": "False",
            "displayName": "Adele Vance",
            "title": "Retail Manager",
            WORK_EMAIL: "adele@contoso.com",
            "preferredLanguage": None,
            "name.givenName": "Adele",
            "name.familyName": "",
            'addresses[type eq "work"].locality': "Seattle",
            'addresses[type eq "work"].country': "US",
            'phoneNumbers[type eq "work"].value': "+1 425 555 0100",
            'phoneNumbers[type eq "mobile"].value': "+1 425 555 0101",
            'phoneNumbers[type eq "fax"].value': None,
            "externalId": "AdeleV",
            EMPLOYEE_NUMBER: "1001",
            f"{ENTERPRISE_USER}:department": "Retail",
            f"{ENTERPRISE_USER}:manager": "target-id-of-manager",
        }
    )
    assert list(body) == [
        "schemas",
        "externalId",
        "userName",
        "active",
        "addresses",
        "displayName",
        "emails",
        "meta",
        "name",
        "phoneNumbers",
        "roles",
        "title",
        ENTERPRISE_USER,
    ]
    assert body["schemas"] == [CORE_USER, ENTERPRISE_USER]
    assert body["active"] is False
    assert body["addresses"] == [{"country": "US", "locality": "Seattle", "type": "work"}]
    assert body["emails"] == [{"primary": True, "type": "work", "value": "adele@contoso.com"}]
    assert body["name"] == {"givenName": "Adele"}
    assert body["phoneNumbers"] == [
        {"type": "work", "value": "+1 425 555 0100"},
        {"type": "mobile", "value": "+1 425 555 0101"},
    ]
    assert body[ENTERPRISE_USER] == {"department": "Retail", "employeeNumber": "1001"}
    assert "preferredLanguage" not in body
    assert "manager" not in json.dumps(body)
    assert body["meta"] == {"resourceType": "User"} and body["roles"] == []


def test_create_group_matches_the_s1_sample_and_never_carries_members(samples: list[dict]) -> None:
    body = create_group_body(
        {
            "displayName": "displayName",
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "members": ["u1", "u2"],
        }
    )
    assert_same_body(body, expected(samples, "create group"))
    assert body["schemas"] == [CORE_GROUP, ADSCIM_GROUP]


# --- Update users -----------------------------------------------------------------------------


def test_update_user_default_mode_matches_s1(samples: list[dict]) -> None:
    body = user_patch_body(
        [
            Change(WORK_EMAIL, "old@microsoft.com", "updatedEmail@microsoft.com"),
            Change("name.familyName", "familyName", "updatedFamilyName"),
        ],
        DEFAULT,
    )
    assert_same_body(body, expected(samples, "update user multi-valued properties"))
    body = user_patch_body(
        [Change("userName", "Test_User_00aa", "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com")], DEFAULT
    )
    assert_same_body(body, expected(samples, "update user single-valued properties"))


S2_DEFAULT_CHANGES = [
    Change("displayName", "old", "Pvlo"),
    Change(WORK_EMAIL, "old@test.microsoft.com", "TestBcwqnm@test.microsoft.com"),
    Change("name.givenName", "old", "Gtfd"),
    Change("name.familyName", "old", "Pkqf"),
    Change("externalId", "old", "Eqpj"),
    Change(EMPLOYEE_NUMBER, "old", "Eqpj"),
]
S2_RFC_CHANGES = [
    Change("displayName", "old", "Bjfe"),
    Change(WORK_EMAIL, "old@test.microsoft.com", "TestMhvaes@test.microsoft.com"),
    Change("name.givenName", "old", "Kkom"),
    Change("name.familyName", "old", "Unua"),
    Change(EMPLOYEE_NUMBER, "old", "Aklq"),
]


def test_replace_multiple_attributes_is_one_op_each_without_the_flag(samples: list[dict]) -> None:
    assert_same_body(
        user_patch_body(S2_DEFAULT_CHANGES, DEFAULT), expected(samples, "replace multiple attributes")
    )


def test_replace_multiple_attributes_is_merged_path_less_with_the_flag(samples: list[dict]) -> None:
    assert_same_body(
        user_patch_body(S2_RFC_CHANGES, RFC), expected(samples, "replace multiple attributes", "rfc")
    )


def test_a_previously_empty_attribute_is_added_in_both_modes(samples: list[dict]) -> None:
    change = [Change("nickName", None, "Babs")]
    assert_same_body(
        user_patch_body(change, DEFAULT), expected(samples, "add a single-value string attribute")
    )
    assert_same_body(
        user_patch_body(change, RFC), expected(samples, "add a single-value string attribute", "rfc")
    )


def test_with_the_flag_adds_keep_their_path_and_replaces_are_merged() -> None:
    body = user_patch_body(
        [Change("title", None, "CFO"), Change("displayName", "A", "B"), Change("active", "False", "True")],
        RFC,
    )
    assert body == {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "add", "path": "title", "value": "CFO"},
            {"op": "replace", "path": "active", "value": True},
            {"op": "replace", "value": {"displayName": "B"}},
        ],
    }


def test_active_change_is_a_string_by_default() -> None:
    body = user_patch_body([Change("active", "True", "False")], DEFAULT)
    assert body == {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }


def test_nulls_and_unchanged_values_send_nothing() -> None:
    assert user_patch_body([Change("title", "CFO", None), Change("displayName", "A", "A")], DEFAULT) is None
    assert user_patch_body([Change("active", True, "True")], RFC) is None
    assert user_patch_body([], RFC) is None


def test_manager_is_an_add_with_an_absolute_ref_as_in_s1_example_5(samples: list[dict]) -> None:
    sample = expected(samples, "update manager")
    manager = "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
    body = user_patch_body(
        [Change(f"{ENTERPRISE_USER}:manager", None, manager)], DEFAULT, base_url=sample["base_url"]
    )
    assert_same_body(body, sample)


def test_changed_manager_is_a_replace_and_needs_the_base_url() -> None:
    changes = [Change(f"{ENTERPRISE_USER}:manager", "m1", "m2")]
    body = user_patch_body(changes, RFC, base_url="https://h/scim/")
    assert body is not None
    assert body["Operations"] == [
        {"op": "replace", "path": "manager", "value": [{"$ref": "https://h/scim/Users/m2", "value": "m2"}]}
    ]
    with pytest.raises(ValueError, match="base_url"):
        user_patch_body(changes, DEFAULT)


# --- Disable / enable ---------------------------------------------------------------------------


def test_disable_user_in_both_modes(samples: list[dict]) -> None:
    assert_same_body(active_patch_body(False, DEFAULT), expected(samples, "disable user"))
    assert_same_body(active_patch_body(False, RFC), expected(samples, "disable user", "rfc"))


def test_enable_user_is_the_same_op_with_true() -> None:
    assert active_patch_body(True, DEFAULT)["Operations"] == [
        {"op": "Replace", "path": "active", "value": "True"}
    ]
    assert active_patch_body(True, RFC)["Operations"] == [{"op": "replace", "path": "active", "value": True}]


# --- Groups -------------------------------------------------------------------------------------


def test_rename_group_matches_s1(samples: list[dict]) -> None:
    new = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    assert_same_body(
        group_patch_body([Change("displayName", "old", new)], DEFAULT), expected(samples, "rename group")
    )


def test_rename_group_with_the_flag_is_a_path_less_replace() -> None:
    body = group_patch_body([Change("displayName", "a", "b"), Change("externalId", None, "x")], RFC)
    assert body == {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "add", "path": "externalId", "value": "x"},
            {"op": "replace", "value": {"displayName": "b"}},
        ],
    }
    with pytest.raises(ValueError, match="members_patch_bodies"):
        group_patch_body([Change("members", [], ["u"])], DEFAULT)


def test_add_members_matches_s1(samples: list[dict]) -> None:
    bodies = members_patch_bodies(["f648f8d5ea4e4cd38e9c"], [], DEFAULT)
    assert len(bodies) == 1
    assert_same_body(bodies[0], expected(samples, "add members"))


def test_remove_member_in_both_modes_matches_s2(samples: list[dict]) -> None:
    (default,) = members_patch_bodies([], ["u1091"], DEFAULT)
    assert_same_body(default, expected(samples, "remove a group member"))
    (rfc,) = members_patch_bodies([], ["7f4bc1a3-285e-48ae-8202-5accb43efb0e"], RFC)
    assert_same_body(rfc, expected(samples, "remove a group member", "rfc"))


def test_several_members_go_in_one_op_and_large_lists_are_split() -> None:
    adds = [f"u{i}" for i in range(5)]
    bodies = members_patch_bodies(adds, ["x1", "x2", "x3"], DEFAULT, batch_size=2)
    assert [b["Operations"][0]["op"] for b in bodies] == ["Add", "Add", "Add", "Remove", "Remove"]
    assert [len(b["Operations"][0]["value"]) for b in bodies] == [2, 2, 1, 2, 1]
    assert bodies[0]["Operations"][0]["value"] == [
        {"$ref": None, "value": "u0"},
        {"$ref": None, "value": "u1"},
    ]
    rfc = members_patch_bodies(["a"], ["x1", "x2", "x3"], RFC, batch_size=2)
    assert rfc[0]["Operations"] == [{"op": "add", "path": "members", "value": [{"$ref": None, "value": "a"}]}]
    assert rfc[1]["Operations"] == [
        {"op": "remove", "path": 'members[value eq "x1"]'},
        {"op": "remove", "path": 'members[value eq "x2"]'},
    ]
    assert len(rfc) == 3
    assert members_patch_bodies([], [], RFC) == []
    with pytest.raises(ValueError):
        members_patch_bodies(["a"], [], RFC, batch_size=0)


def test_member_ids_are_escaped_in_filter_paths() -> None:
    (body,) = members_patch_bodies([], ['we"ird\\id'], RFC)
    assert body["Operations"][0]["path"] == 'members[value eq "we\\"ird\\\\id"]'


# --- Reading targets -----------------------------------------------------------------------------

RESOURCE = {
    "schemas": [CORE_USER, ENTERPRISE_USER],
    "id": "t1",
    "userName": "adele@contoso.com",
    "active": True,
    "name": {"givenName": "Adele", "familyName": "Vance"},
    "emails": [
        {"value": "adele.other@contoso.com", "type": "other"},
        {"value": "adele@contoso.com", "type": "Work", "primary": True},
    ],
    "addresses": [{"type": "work", "locality": "Seattle"}],
    ENTERPRISE_USER: {"department": "Retail", "manager": {"value": "m1", "$ref": "../Users/m1"}},
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("userName", "adele@contoso.com"),
        ("USERNAME", "adele@contoso.com"),
        ("active", True),
        ("name.givenName", "Adele"),
        ("name.middleName", None),
        (WORK_EMAIL, "adele@contoso.com"),
        ('emails[type eq "other"].value', "adele.other@contoso.com"),
        ('emails[type eq "home"].value', None),
        ('addresses[type eq "work"].locality', "Seattle"),
        (f"{ENTERPRISE_USER}:department", "Retail"),
        (EMPLOYEE_NUMBER, None),
        (f"{ENTERPRISE_USER}:manager", "m1"),
        ("manager", "m1"),
        (f"{CORE_USER}:name.familyName", "Vance"),
    ],
)
def test_value_at_reads_entra_target_paths(path: str, value: object) -> None:
    assert value_at(RESOURCE, path) == value


def test_value_at_reads_manager_lists_and_group_members() -> None:
    assert value_at({ENTERPRISE_USER: {"manager": [{"value": "m9"}]}}, f"{ENTERPRISE_USER}:manager") == "m9"
    assert value_at({"members": [{"value": "a"}, {"value": "b"}]}, "members") == ["a", "b"]
    assert value_at({"displayName": "g"}, "members") is None


def test_same_value_compares_active_as_a_boolean() -> None:
    assert same_value("active", "True", True)
    assert not same_value("active", "False", True)
    assert same_value("title", None, "")
    assert not same_value("title", "a", "A")
