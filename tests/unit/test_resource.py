"""parse_resource: POST and PUT bodies become canonical stored resources."""

import json

import pytest

from emulator.scim.errors import ScimError
from emulator.scim.resource import parse_resource, refresh_schemas, validate_resource
from emulator.scim.schema import (
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    Attribute,
    ResourceType,
    Schema,
    build_profile,
)

GALAXY = build_profile("galaxy")
FULL = build_profile("full")

# Reference entra-and-galaxy.md §1.6 "Create user", verbatim (source S1: Microsoft Learn,
# use-scim-to-provision-users-and-groups).
ENTRA_CREATE_USER = """
{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
 "externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_00aa…","active":true,
 "emails":[{"primary":true,"type":"work","value":"Test_User_11bb…@testuser.com"}],
 "meta":{"resourceType":"User"},
 "name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"},"roles":[]}
"""

# Reference entra-and-galaxy.md §1.6 "Create group", verbatim (source S1).
ENTRA_CREATE_GROUP = """
{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
 "externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"displayName","meta":{"resourceType":"Group"}}
"""


def user(**attrs) -> dict:
    return {"schemas": [CORE_USER], "userName": "ada@example.com", **attrs}


def fails(body, rtype=FULL.user, *, ignore_unknown=False, existing=None) -> ScimError:
    with pytest.raises(ScimError) as caught:
        parse_resource(body, rtype, ignore_unknown=ignore_unknown, existing=existing)
    assert caught.value.status == 400
    return caught.value


# --- Entra's bodies -----------------------------------------------------------------------------


def test_entra_create_user_in_the_galaxy_profile_keeps_only_supported_fields():
    stored = parse_resource(json.loads(ENTRA_CREATE_USER), GALAXY.user, ignore_unknown=True)
    assert stored == {
        "schemas": [CORE_USER],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa…",
        "active": True,
        "name": {"familyName": "familyName", "givenName": "givenName"},
    }


def test_entra_create_user_in_the_full_profile_keeps_everything_but_read_only_and_empty_values():
    stored = parse_resource(json.loads(ENTRA_CREATE_USER), FULL.user, ignore_unknown=False)
    assert stored == {
        "schemas": [CORE_USER],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa…",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb…@testuser.com"}],
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    }


@pytest.mark.parametrize("profile", [GALAXY, FULL], ids=["galaxy", "full"])
def test_entra_create_group_accepts_the_adscim_schema_urn(profile):
    stored = parse_resource(json.loads(ENTRA_CREATE_GROUP), profile.group, ignore_unknown=False)
    assert stored == {
        "schemas": [CORE_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
    }


def test_entra_string_booleans_are_stored_as_booleans():
    assert parse_resource(user(active="False"), GALAXY.user, ignore_unknown=True)["active"] is False


def test_explicit_nulls_from_older_entra_bodies_are_treated_as_absent():
    body = user(addresses=None, nickName=None, displayName=None, unknownThing=None)
    assert parse_resource(body, FULL.user, ignore_unknown=False) == user()


def test_entra_member_values_drop_null_refs():
    body = {"schemas": [CORE_GROUP], "displayName": "g", "members": [{"$ref": None, "value": "u1"}]}
    assert parse_resource(body, GALAXY.group, ignore_unknown=True)["members"] == [{"value": "u1"}]


# --- structure and schemas ----------------------------------------------------------------------


@pytest.mark.parametrize("body", [[], "user", 5, None])
def test_body_that_is_not_an_object_is_invalid_syntax(body):
    assert fails(body).scim_type == "invalidSyntax"


def test_missing_schemas_is_invalid_syntax():
    error = fails({"userName": "ada"})
    assert error.scim_type == "invalidSyntax"
    assert "schemas" in error.detail


@pytest.mark.parametrize("schemas", [CORE_USER, [1], {"a": CORE_USER}])
def test_schemas_that_is_not_a_list_of_strings_is_invalid_syntax(schemas):
    assert fails({"schemas": schemas, "userName": "ada"}).scim_type == "invalidSyntax"


def test_schemas_without_the_core_urn_is_invalid_syntax():
    error = fails({"schemas": [CORE_GROUP], "userName": "ada"})
    assert error.scim_type == "invalidSyntax"
    assert CORE_USER in error.detail


def test_schemas_urns_are_compared_case_insensitively():
    body = {"schemas": [CORE_USER.upper()], "userName": "ada"}
    assert parse_resource(body, FULL.user, ignore_unknown=False)["schemas"] == [CORE_USER]


def test_output_schemas_list_only_extensions_present():
    body = user(**{ENTERPRISE_USER: {"employeeNumber": "42"}})
    assert parse_resource(body, FULL.user, ignore_unknown=False)["schemas"] == [CORE_USER, ENTERPRISE_USER]
    body = {"schemas": [CORE_USER, ENTERPRISE_USER, "urn:example:other"], "userName": "ada"}
    assert parse_resource(body, FULL.user, ignore_unknown=False)["schemas"] == [CORE_USER]


# --- names --------------------------------------------------------------------------------------


def test_attribute_names_are_matched_case_insensitively_and_stored_canonically():
    body = {"SCHEMAS": [CORE_USER], "USERNAME": "ada", "Name": {"GIVENNAME": "Ada"}, "ExternalID": "e1"}
    stored = parse_resource(body, GALAXY.user, ignore_unknown=True)
    assert stored == {
        "schemas": [CORE_USER],
        "userName": "ada",
        "name": {"givenName": "Ada"},
        "externalId": "e1",
    }


def test_extension_object_key_is_matched_case_insensitively():
    body = user(**{ENTERPRISE_USER.lower(): {"EmployeeNumber": "42", "manager": {"value": "m1"}}})
    stored = parse_resource(body, FULL.user, ignore_unknown=False)
    assert stored[ENTERPRISE_USER] == {"employeeNumber": "42", "manager": {"value": "m1"}}


def test_urn_qualified_attribute_keys_are_placed_in_their_schema():
    body = user(**{f"{ENTERPRISE_USER}:department": "R&D", f"{CORE_USER}:displayName": "Ada"})
    stored = parse_resource(body, FULL.user, ignore_unknown=False)
    assert stored[ENTERPRISE_USER] == {"department": "R&D"}
    assert stored["displayName"] == "Ada"


def test_empty_extension_object_is_dropped():
    body = user(**{ENTERPRISE_USER: {"employeeNumber": None}})
    stored = parse_resource(body, FULL.user, ignore_unknown=False)
    assert ENTERPRISE_USER not in stored
    assert stored["schemas"] == [CORE_USER]


def test_extension_that_is_not_an_object_is_invalid_value():
    error = fails(user(**{ENTERPRISE_USER: "42"}))
    assert error.scim_type == "invalidValue"
    assert ENTERPRISE_USER in error.detail


def test_enterprise_extension_is_ignored_by_the_galaxy_profile():
    body = user(**{ENTERPRISE_USER: {"employeeNumber": "42"}})
    assert parse_resource(body, GALAXY.user, ignore_unknown=True) == user()


# --- unknown and read-only attributes -----------------------------------------------------------


def test_unknown_attributes_are_dropped_when_ignoring_unknown():
    body = user(emails=[{"value": "a@example.com"}], title="Countess", favouriteColour="green")
    assert parse_resource(body, GALAXY.user, ignore_unknown=True) == user()


def test_unknown_attribute_is_invalid_syntax_naming_it_when_strict():
    error = fails(user(favouriteColour="green"))
    assert error.scim_type == "invalidSyntax"
    assert "favouriteColour" in error.detail


def test_unknown_extension_attribute_is_invalid_syntax_when_strict():
    error = fails(user(**{ENTERPRISE_USER: {"shoeSize": "9"}}))
    assert error.scim_type == "invalidSyntax"
    assert "shoeSize" in error.detail


def test_read_only_attributes_in_input_are_ignored():
    body = user(id="chosen-by-client", meta={"resourceType": "User"}, groups=[{"value": "g1"}])
    assert parse_resource(body, FULL.user, ignore_unknown=False) == user()


def test_read_only_sub_attributes_are_ignored():
    body = user(**{ENTERPRISE_USER: {"manager": {"value": "m1", "displayName": "Boss"}}})
    assert parse_resource(body, FULL.user, ignore_unknown=False)[ENTERPRISE_USER] == {
        "manager": {"value": "m1"}
    }


def test_password_is_returned_as_sent_for_the_caller_to_hash():
    for profile in (GALAXY, FULL):
        stored = parse_resource(user(password="s3cret!"), profile.user, ignore_unknown=True)
        assert stored["password"] == "s3cret!"


def test_input_body_is_not_modified():
    body = json.loads(ENTRA_CREATE_USER)
    before = json.dumps(body)
    parse_resource(body, GALAXY.user, ignore_unknown=True)
    assert json.dumps(body) == before


# --- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "named"),
    [({"active": "yes"}, "active"), ({"userName": 5}, "userName"), ({"name": "Ada"}, "name")],
)
def test_wrong_types_are_invalid_value_naming_the_attribute(attrs, named):
    body = {"schemas": [CORE_USER], "userName": "ada", **attrs}
    for profile, ignore in ((GALAXY, True), (FULL, False)):
        error = fails(body, profile.user, ignore_unknown=ignore)
        assert error.scim_type == "invalidValue"
        assert f"'{named}'" in error.detail


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_or_empty_user_name_is_invalid_value(value):
    body = {"schemas": [CORE_USER], "name": {"givenName": "Ada"}}
    if value is not None:
        body["userName"] = value
    for profile in (GALAXY, FULL):
        error = fails(body, profile.user, ignore_unknown=True)
        assert error.scim_type == "invalidValue"
        assert "userName" in error.detail


def test_missing_group_display_name_is_invalid_value():
    error = fails({"schemas": [CORE_GROUP], "externalId": "x"}, GALAXY.group)
    assert error.scim_type == "invalidValue"
    assert "displayName" in error.detail


# --- PUT ----------------------------------------------------------------------------------------

BADGE = Attribute("badge", mutability="immutable")
GADGET = ResourceType(
    "Gadget",
    "/Gadgets",
    "A resource type with an immutable attribute",
    Schema("urn:example:Gadget", "Gadget", "Gadget", (Attribute("label", required=True), BADGE)),
)


def gadget(**attrs) -> dict:
    return {"schemas": ["urn:example:Gadget"], "label": "g", **attrs}


def test_put_changing_an_immutable_attribute_is_a_mutability_error():
    existing = {"id": "1", **gadget(badge="B-1")}
    error = fails(gadget(badge="B-2"), GADGET, existing=existing)
    assert error.scim_type == "mutability"
    assert "badge" in error.detail


def test_put_repeating_an_immutable_attribute_is_accepted():
    existing = {"id": "1", **gadget(badge="B-1")}
    assert (
        parse_resource(gadget(badge="b-1"), GADGET, ignore_unknown=False, existing=existing)["badge"] == "b-1"
    )


def test_put_omitting_an_immutable_attribute_keeps_the_stored_value():
    existing = {"id": "1", **gadget(badge="B-1")}
    assert parse_resource(gadget(), GADGET, ignore_unknown=False, existing=existing)["badge"] == "B-1"


def test_put_may_set_an_immutable_attribute_that_had_no_value():
    assert (
        parse_resource(gadget(badge="B-9"), GADGET, ignore_unknown=False, existing=gadget())["badge"] == "B-9"
    )


def test_put_may_change_read_write_attributes():
    existing = {"id": "1", "meta": {}, **user(displayName="Ada")}
    stored = parse_resource(user(displayName="Countess"), FULL.user, ignore_unknown=False, existing=existing)
    assert stored == user(displayName="Countess")


# --- after PATCH --------------------------------------------------------------------------------


def test_validate_resource_accepts_a_complete_resource():
    validate_resource({"id": "1", **user()}, GALAXY.user)


def test_validate_resource_rejects_a_removed_required_attribute():
    with pytest.raises(ScimError) as caught:
        validate_resource({"id": "1", "schemas": [CORE_USER], "active": True}, GALAXY.user)
    assert caught.value.scim_type == "invalidValue"
    assert "userName" in caught.value.detail


def test_refresh_schemas_follows_the_extensions_present():
    resource = user(**{ENTERPRISE_USER: {"department": "R&D"}})
    resource["schemas"] = [CORE_USER]
    refresh_schemas(resource, FULL.user)
    assert resource["schemas"] == [CORE_USER, ENTERPRISE_USER]
    resource[ENTERPRISE_USER] = {}
    refresh_schemas(resource, FULL.user)
    assert resource["schemas"] == [CORE_USER]
    assert ENTERPRISE_USER not in resource


def test_put_without_a_write_only_attribute_keeps_the_stored_value():
    existing = {**user(password="pbkdf2_sha256$stored"), "id": "u1"}
    for body in (user(displayName="Ada"), user(password=None)):
        stored = parse_resource(body, GALAXY.user, ignore_unknown=True, existing=existing)
        assert stored["password"] == "pbkdf2_sha256$stored"
    sent = parse_resource(user(password="new"), GALAXY.user, ignore_unknown=True, existing=existing)
    assert sent["password"] == "new"
    created = parse_resource(user(), GALAXY.user, ignore_unknown=True)
    assert "password" not in created


def test_empty_strings_mean_no_value_as_in_patch():
    stored = parse_resource(
        user(displayName="", active="", name={"givenName": "Ada", "familyName": ""}, emails=[{"value": ""}]),
        FULL.user,
        ignore_unknown=False,
    )
    assert stored == {"schemas": [CORE_USER], "userName": "ada@example.com", "name": {"givenName": "Ada"}}


def test_per_type_tables_are_built_once_per_resource_type():
    built = []

    def build(rtype: ResourceType) -> str:
        built.append(rtype.name)
        return f"table for {rtype.name}"

    assert FULL.user.derived(build) == FULL.user.derived(build) == "table for User"
    assert GALAXY.group.derived(build) == "table for Group"
    assert built == ["User", "Group"]
    assert hash(FULL.user) == hash(build_profile("full").user)  # the memo takes no part in equality
    assert FULL.user == build_profile("full").user
