"""Attribute mappings: the defaults of a non-gallery SCIM app, evaluation per object, validation.

The default tables are compared row by row with reference entra-and-galaxy.md §1.5; evaluation
follows §1.4/§1.7 (null source values are skipped, never sent).
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from emulator.entra.provisioning.mappings import (
    ENTERPRISE_USER,
    GROUP_SOURCE_ATTRIBUTES,
    USER_SOURCE_ATTRIBUTES,
    AttributeMapping,
    MappingError,
    default_group_mappings,
    default_user_mappings,
    evaluate_mappings,
    mappings_from_json,
    mappings_to_json,
    matching_mappings,
)

E = ENTERPRISE_USER

# Reference §1.5, user table, in the portal's order: (source, target, sourceType, matching precedence).
REFERENCE_USER_TABLE = [
    ("userPrincipalName", "userName", "direct", 1),
    ('Switch([IsSoftDeleted], , "False", "True", "True", "False")', "active", "expression", None),
    ("displayName", "displayName", "direct", None),
    ("jobTitle", "title", "direct", None),
    ("mail", 'emails[type eq "work"].value', "direct", None),
    ("preferredLanguage", "preferredLanguage", "direct", None),
    ("givenName", "name.givenName", "direct", None),
    ("surname", "name.familyName", "direct", None),
    ('Join(" ", [givenName], [surname])', "name.formatted", "expression", None),
    ("physicalDeliveryOfficeName", 'addresses[type eq "work"].formatted', "direct", None),
    ("streetAddress", 'addresses[type eq "work"].streetAddress', "direct", None),
    ("city", 'addresses[type eq "work"].locality', "direct", None),
    ("state", 'addresses[type eq "work"].region', "direct", None),
    ("postalCode", 'addresses[type eq "work"].postalCode', "direct", None),
    ("country", 'addresses[type eq "work"].country', "direct", None),
    ("telephoneNumber", 'phoneNumbers[type eq "work"].value', "direct", None),
    ("mobile", 'phoneNumbers[type eq "mobile"].value', "direct", None),
    ("facsimileTelephoneNumber", 'phoneNumbers[type eq "fax"].value', "direct", None),
    ("mailNickname", "externalId", "direct", None),
    ("employeeId", f"{E}:employeeNumber", "direct", None),
    ("department", f"{E}:department", "direct", None),
    ("manager", f"{E}:manager", "direct", None),
]

# Reference §1.5, last paragraph.
REFERENCE_GROUP_TABLE = [
    ("displayName", "displayName", "direct", 1),
    ("objectId", "externalId", "direct", None),
    ("members", "members", "direct", None),
]

ADELE = {
    "objectId": "6e7b768e-07e2-4810-8459-485f84f8f204",
    "userPrincipalName": "AdeleV@contoso.onmicrosoft.com",
    "mail": "AdeleV@contoso.onmicrosoft.com",
    "mailNickname": "AdeleV",
    "givenName": "Adele",
    "surname": "Vance",
    "displayName": "Adele Vance",
    "jobTitle": "Retail Manager",
    "department": "Retail",
    "employeeId": "1001",
    "manager": "5bde3e51-d13b-4db1-9948-fe4b109d11a7",
    "accountEnabled": True,
    "preferredLanguage": "en-US",
    "physicalDeliveryOfficeName": "18/2111",
    "streetAddress": "205 108th Ave NE",
    "city": "Bellevue",
    "state": "WA",
    "postalCode": "98004",
    "country": "US",
    "telephoneNumber": "+1 425 555 0109",
    "mobile": None,
    "facsimileTelephoneNumber": "",
    "IsSoftDeleted": "False",
}

# A user without mail (the `demo` scenario has one): no phone, no address, no manager either.
NO_MAIL = {
    "objectId": "0d1c6f4a-6a4a-4e0f-9a55-2f5c7f2b8e11",
    "userPrincipalName": "Contractor1@contoso.onmicrosoft.com",
    "mailNickname": "Contractor1",
    "givenName": "Casey",
    "surname": "Jensen",
    "displayName": "Casey Jensen",
    "accountEnabled": True,
    "IsSoftDeleted": "False",
}


def table(mappings: list[AttributeMapping]) -> list[tuple]:
    return [(m.source_value, m.target, m.source, m.matching_precedence) for m in mappings]


# --- the defaults (reference §1.5) -------------------------------------------------------------


def test_default_user_mappings_match_the_reference_table():
    assert table(default_user_mappings()) == REFERENCE_USER_TABLE


def test_default_group_mappings_match_the_reference_table():
    assert table(default_group_mappings()) == REFERENCE_GROUP_TABLE


def test_defaults_always_apply_and_have_no_default_values():
    for mapping in default_user_mappings() + default_group_mappings():
        assert mapping.apply_on == "always"
        assert mapping.default_value is None


def test_default_sources_are_known_source_attributes():
    for mapping in default_user_mappings():
        assert mapping.attributes <= USER_SOURCE_ATTRIBUTES
    for mapping in default_group_mappings():
        assert mapping.attributes <= GROUP_SOURCE_ATTRIBUTES


def test_only_manager_and_members_are_references():
    assert [m.target for m in default_user_mappings() if m.is_reference] == [f"{E}:manager"]
    assert [m.target for m in default_group_mappings() if m.is_reference] == ["members"]


def test_default_lists_are_fresh_copies():
    first = default_user_mappings()
    first.clear()
    assert len(default_user_mappings()) == len(REFERENCE_USER_TABLE)


# --- evaluation --------------------------------------------------------------------------------


def test_evaluate_a_full_contoso_user():
    values = evaluate_mappings(default_user_mappings(), ADELE, creating=True)
    assert values == {
        "userName": "AdeleV@contoso.onmicrosoft.com",
        "active": "True",
        "displayName": "Adele Vance",
        "title": "Retail Manager",
        'emails[type eq "work"].value': "AdeleV@contoso.onmicrosoft.com",
        "preferredLanguage": "en-US",
        "name.givenName": "Adele",
        "name.familyName": "Vance",
        "name.formatted": "Adele Vance",
        'addresses[type eq "work"].formatted': "18/2111",
        'addresses[type eq "work"].streetAddress': "205 108th Ave NE",
        'addresses[type eq "work"].locality': "Bellevue",
        'addresses[type eq "work"].region': "WA",
        'addresses[type eq "work"].postalCode': "98004",
        'addresses[type eq "work"].country': "US",
        'phoneNumbers[type eq "work"].value': "+1 425 555 0109",
        # mobile None and fax "" are null: skipped, never sent (§1.4, §1.7)
        "externalId": "AdeleV",
        f"{E}:employeeNumber": "1001",
        f"{E}:department": "Retail",
        # the manager's objectId, for the engine to resolve to a target id
        f"{E}:manager": "5bde3e51-d13b-4db1-9948-fe4b109d11a7",
    }


def test_a_user_without_mail_gets_no_emails_value():
    values = evaluate_mappings(default_user_mappings(), NO_MAIL, creating=True)
    assert not any(target.startswith("emails") for target in values)
    assert values == {
        "userName": "Contractor1@contoso.onmicrosoft.com",
        "active": "True",
        "displayName": "Casey Jensen",
        "name.givenName": "Casey",
        "name.familyName": "Jensen",
        "name.formatted": "Casey Jensen",
        "externalId": "Contractor1",
    }


def test_a_soft_deleted_user_evaluates_active_to_the_string_false():
    values = evaluate_mappings(default_user_mappings(), {**NO_MAIL, "IsSoftDeleted": "True"}, creating=False)
    assert values["active"] == "False"


def test_evaluate_a_group_returns_member_object_ids_raw():
    group = {"objectId": "g-1", "displayName": "Sales", "members": ["u-1", "u-2"], "description": None}
    assert evaluate_mappings(default_group_mappings(), group, creating=True) == {
        "displayName": "Sales",
        "externalId": "g-1",
        "members": ["u-1", "u-2"],
    }


def test_a_group_without_members_sends_no_members():
    group = {"objectId": "g-2", "displayName": "Empty", "members": []}
    assert "members" not in evaluate_mappings(default_group_mappings(), group, creating=True)


def test_direct_mappings_keep_booleans_as_booleans():
    mapping = AttributeMapping("active", "direct", "accountEnabled")
    assert evaluate_mappings([mapping], {"accountEnabled": False}, creating=True) == {"active": False}


def test_direct_mappings_read_source_keys_case_insensitively():
    mapping = AttributeMapping("userName", "direct", "UserPrincipalName")
    assert evaluate_mappings([mapping], {"userPrincipalName": "a@b.c"}, creating=True) == {
        "userName": "a@b.c"
    }


def test_a_constant_mapping_always_sends_its_text():
    mapping = AttributeMapping("userType", "constant", "Employee")
    assert evaluate_mappings([mapping], {}, creating=False) == {"userType": "Employee"}


def test_default_value_replaces_a_null_source_only():
    mapping = AttributeMapping(f"{E}:department", "direct", "department", default_value="Unassigned")
    assert evaluate_mappings([mapping], {}, creating=True) == {f"{E}:department": "Unassigned"}
    assert evaluate_mappings([mapping], {"department": "Retail"}, creating=True) == {
        f"{E}:department": "Retail"
    }


def test_default_value_applies_to_expressions_too():
    mapping = AttributeMapping(
        "nickName", "expression", 'Append([mailNickname], "-ext")', default_value="none"
    )
    assert mapping.value({}) == "none"
    assert mapping.value({"mailNickname": "bob"}) == "bob-ext"


@pytest.mark.parametrize(
    ("apply_on", "on_create", "on_update"),
    [("always", True, True), ("create", True, False), ("update", False, True)],
)
def test_apply_on_decides_when_a_mapping_flows(apply_on, on_create, on_update):
    mapping = AttributeMapping("title", "direct", "jobTitle", apply_on=apply_on)
    source = {"jobTitle": "Engineer"}
    assert ("title" in evaluate_mappings([mapping], source, creating=True)) is on_create
    assert ("title" in evaluate_mappings([mapping], source, creating=False)) is on_update
    assert mapping.applies(creating=True) is on_create
    assert mapping.applies(creating=False) is on_update


def test_evaluation_is_fast_enough_for_an_initial_cycle_of_10000_users():
    mappings = default_user_mappings()
    users = [{**ADELE, "objectId": str(i), "userPrincipalName": f"u{i}@contoso.com"} for i in range(10_000)]
    started = time.perf_counter()
    for user in users:
        evaluate_mappings(mappings, user, creating=True)
    per_user = (time.perf_counter() - started) / len(users)
    # The target is well under 50 µs on the 2-core box; the bound leaves room for a busy CI.
    assert per_user < 200e-6, f"{per_user * 1e6:.1f} µs per user"


# --- matching ----------------------------------------------------------------------------------


def test_matching_mappings_are_sorted_by_precedence():
    mappings = [
        AttributeMapping("externalId", "direct", "objectId", matching_precedence=2),
        AttributeMapping("displayName", "direct", "displayName"),
        AttributeMapping("userName", "direct", "userPrincipalName", matching_precedence=1),
    ]
    assert [m.target for m in matching_mappings(mappings)] == ["userName", "externalId"]
    assert [m.target for m in matching_mappings(default_user_mappings())] == ["userName"]
    assert [m.target for m in matching_mappings(default_group_mappings())] == ["displayName"]


# --- JSON form and validation ------------------------------------------------------------------


def test_to_json_uses_camel_case_keys():
    assert default_user_mappings()[0].to_json() == {
        "target": "userName",
        "sourceType": "direct",
        "source": "userPrincipalName",
        "matchingPrecedence": 1,
        "applyOn": "always",
        "defaultValue": None,
    }


def test_every_default_round_trips_through_json():
    for mappings, known in (
        (default_user_mappings(), USER_SOURCE_ATTRIBUTES),
        (default_group_mappings(), GROUP_SOURCE_ATTRIBUTES),
    ):
        again = mappings_from_json(mappings_to_json(mappings), known_attributes=known)
        assert again == mappings
        assert mappings_to_json(again) == mappings_to_json(mappings)


def test_from_json_fills_optional_fields_and_normalises_case():
    mapping = AttributeMapping.from_json(
        {"target": "title", "sourceType": "Direct", "source": "JOBTITLE", "applyOn": "Create"},
        kind="user",
    )
    assert mapping == AttributeMapping("title", "direct", "jobTitle", apply_on="create")


def test_from_json_canonicalises_expression_text():
    mapping = AttributeMapping.from_json(
        {"target": "name.formatted", "sourceType": "expression", "source": 'join(" ",[GivenName],[surname])'},
        known_attributes=USER_SOURCE_ATTRIBUTES,
    )
    assert mapping.source_value == 'Join(" ", [givenName], [surname])'
    assert mapping.expression is not None
    assert mapping.attributes == frozenset({"givenName", "surname"})


GOOD = {"target": "title", "sourceType": "direct", "source": "jobTitle"}


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"target": None}, "target", "is required"),
        ({"target": 'emails[type eq "work"'}, "target", "not a SCIM attribute path"),
        ({"target": 7}, "target", "expected a string"),
        ({"sourceType": "function"}, "sourceType", "not one of direct, expression, constant"),
        ({"source": ""}, "source", "non-empty source"),
        ({"source": "jobTitel"}, "source", "unknown source attribute 'jobTitel'"),
        ({"matchingPrecedence": 0}, "matchingPrecedence", "whole number from 1"),
        ({"matchingPrecedence": "1"}, "matchingPrecedence", "whole number from 1"),
        ({"matchingPrecedence": True}, "matchingPrecedence", "whole number from 1"),
        ({"applyOn": "sometimes"}, "applyOn", "not one of always, create, update"),
        ({"defaultValue": 3}, "defaultValue", "not a string or null"),
        ({"matchingPrecendence": 1}, "matchingPrecendence", "unknown field"),
    ],
)
def test_from_json_errors_name_the_field(changes, field, fragment):
    with pytest.raises(MappingError) as caught:
        AttributeMapping.from_json({**GOOD, **changes}, known_attributes=USER_SOURCE_ATTRIBUTES)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert fragment in str(caught.value)


def test_a_bad_expression_is_refused_when_the_mapping_is_saved():
    data = {"target": "active", "sourceType": "expression", "source": 'Switch([IsSoftDeleted], , "False")'}
    with pytest.raises(MappingError) as caught:
        AttributeMapping.from_json(data, kind="user")
    assert caught.value.field == "source"
    assert "invalid expression: Switch takes at least 4 arguments but got 3 at character 1" in str(
        caught.value
    )


def test_an_expression_naming_an_unknown_attribute_is_refused_for_groups():
    data = {"target": "displayName", "sourceType": "expression", "source": "ToUpper([givenName])"}
    assert AttributeMapping.from_json(data, kind="user").expression is not None
    with pytest.raises(MappingError, match=r"unknown source attribute \[givenName\] at character 9"):
        AttributeMapping.from_json(data, kind="group")


def test_mapping_error_is_a_value_error_and_mappings_are_frozen():
    assert issubclass(MappingError, ValueError)
    with pytest.raises(dataclasses.FrozenInstanceError):
        default_user_mappings()[0].target = "other"  # type: ignore[misc]


def test_mapping_list_errors_name_the_row_and_field():
    rows = mappings_to_json(default_user_mappings())
    rows[3] = {**rows[3], "source": "[jobTitle"}
    rows[3]["sourceType"] = "expression"
    with pytest.raises(MappingError) as caught:
        mappings_from_json(rows, kind="user", field_name="userMappings")
    assert caught.value.field == "userMappings[3].source"


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        (lambda rows: rows.append(dict(rows[2])), "mappings[22].target", "already mapped by mappings[2]"),
        (
            lambda rows: rows[2].update(matchingPrecedence=1),
            "mappings[2].matchingPrecedence",
            "precedence 1 is already used by mappings[0]",
        ),
        (
            lambda rows: rows[0].update(matchingPrecedence=None),
            "mappings",
            "at least one mapping must be a matching",
        ),
    ],
)
def test_mapping_lists_need_unique_targets_and_a_matching_attribute(mutate, field, fragment):
    rows = mappings_to_json(default_user_mappings())
    mutate(rows)
    with pytest.raises(MappingError) as caught:
        mappings_from_json(rows, kind="user")
    assert caught.value.field == field
    assert fragment in str(caught.value)
