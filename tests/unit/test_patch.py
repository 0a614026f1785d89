"""PATCH (RFC 7644 §3.5.2) over stored resources, including every request form Entra sends.

The Entra requests are copied verbatim from ../shared/reference/entra-and-galaxy.md §1.6 (which
trims ids with "…"; those strings are used as they are).
"""

from __future__ import annotations

import copy
import json

import pytest

from emulator.scim.errors import ScimError
from emulator.scim.filter import UnknownAttribute
from emulator.scim.patch import apply_patch
from emulator.scim.schema import CORE_GROUP, CORE_USER, ENTERPRISE_USER, PATCH_OP, ResourceType, build_profile
from emulator.scim.values import coerce

FULL = build_profile("full")
GALAXY = build_profile("galaxy")

# The user of §1.6 "Create user", as the receiver stores it (id and meta added).
ENTRA_USER = {
    "schemas": [CORE_USER, ENTERPRISE_USER],
    "id": "1b1c5f7e",
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa",
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb@testuser.com"}],
    "meta": {
        "resourceType": "User",
        "created": "2026-12-04T16:24:25.123Z",
        "lastModified": "2026-12-04T16:24:25.123Z",
    },
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
}
GALAXY_USER = {
    "schemas": [CORE_USER],
    "id": "9d0e",
    "userName": "bjensen@example.com",
    "active": True,
    "displayName": "Babs",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "meta": {
        "resourceType": "User",
        "created": "2026-12-04T16:24:25.123Z",
        "lastModified": "2026-12-04T16:24:25.123Z",
    },
}
GROUP = {
    "schemas": [CORE_GROUP],
    "id": "g1",
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "displayName",
    "members": [{"value": "u1"}, {"value": "u1091"}, {"value": "7f4b…"}],
    "meta": {
        "resourceType": "Group",
        "created": "2026-12-04T16:24:25.123Z",
        "lastModified": "2026-12-04T16:24:25.123Z",
    },
}


def patch(
    resource: dict, *operations: dict, rtype: ResourceType = FULL.user, ignore_unknown: bool = False
) -> tuple[dict, list[str]]:
    body = {"schemas": [PATCH_OP], "Operations": list(operations)}
    return apply_patch(resource, body, rtype, ignore_unknown=ignore_unknown, coerce=coerce)


def entra(
    operations_json: str, resource: dict, rtype: ResourceType = FULL.user, **kw
) -> tuple[dict, list[str]]:
    """Replay a PatchOp body whose Operations are given as the JSON text Entra sends."""
    body = {"schemas": [PATCH_OP], "Operations": json.loads(operations_json)}
    return apply_patch(resource, body, rtype, ignore_unknown=kw.get("ignore_unknown", False), coerce=coerce)


def refused(resource: dict, *operations: dict, rtype: ResourceType = FULL.user, body: dict | None = None):
    before = copy.deepcopy(resource)
    with pytest.raises(ScimError) as caught:
        if body is not None:
            apply_patch(resource, body, rtype, ignore_unknown=False, coerce=coerce)
        else:
            patch(resource, *operations, rtype=rtype)
    assert caught.value.status == 400
    assert resource == before  # a failed PATCH changes nothing
    return caught.value


# --- Entra's requests, verbatim (reference §1.6) ---------------------------------------------------


def test_entra_default_update_user_replaces_through_filter_dotted_and_urn_paths():
    new, changed = entra(
        """[
 {"op":"Replace","path":"emails[type eq \\"work\\"].value","value":"updatedEmail@microsoft.com"},
 {"op":"Replace","path":"name.familyName","value":"updatedFamilyName"},
 {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"Eqpj"}]""",
        ENTRA_USER,
    )
    assert new["emails"] == [{"primary": True, "type": "work", "value": "updatedEmail@microsoft.com"}]
    assert new["name"]["familyName"] == "updatedFamilyName"
    assert new["name"]["givenName"] == "givenName"
    assert new[ENTERPRISE_USER] == {"employeeNumber": "Eqpj"}
    assert changed == ["name.familyName", "emails", f"{ENTERPRISE_USER}:employeeNumber"]


def test_entra_default_update_user_on_galaxy_applies_what_galaxy_stores_and_ignores_the_rest():
    new, changed = entra(
        """[
 {"op":"Replace","path":"emails[type eq \\"work\\"].value","value":"updatedEmail@microsoft.com"},
 {"op":"Replace","path":"name.familyName","value":"updatedFamilyName"},
 {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"Eqpj"}]""",
        GALAXY_USER,
        GALAXY.user,
        ignore_unknown=True,
    )
    assert new == {**GALAXY_USER, "name": {"givenName": "Barbara", "familyName": "updatedFamilyName"}}
    assert changed == ["name.familyName"]


def test_entra_add_sets_a_previously_empty_single_valued_attribute():
    new, changed = entra('[{"op":"Add","path":"nickName","value":"Babs"}]', ENTRA_USER)
    assert new["nickName"] == "Babs"
    assert changed == ["nickName"]


def test_entra_add_manager_as_a_one_element_list_sets_the_single_valued_manager():
    new, changed = entra(
        '[{"op":"Add","path":"manager","value":[{"$ref":"…/Users/<id>","value":"<id>"}]}]', ENTRA_USER
    )
    assert new[ENTERPRISE_USER]["manager"] == {"$ref": "…/Users/<id>", "value": "<id>"}
    assert changed == [f"{ENTERPRISE_USER}:manager.value", f"{ENTERPRISE_USER}:manager.$ref"]


def test_entra_merged_pathless_replace_with_dotted_and_urn_keys():
    new, changed = entra(
        """[{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua",
 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]""",
        ENTRA_USER,
    )
    assert new["displayName"] == "Bjfe"
    assert new["name"] == {"formatted": "givenName familyName", "familyName": "Unua", "givenName": "Kkom"}
    assert new[ENTERPRISE_USER] == {"employeeNumber": "Aklq"}
    assert changed == [
        "name.givenName",
        "name.familyName",
        "displayName",
        f"{ENTERPRISE_USER}:employeeNumber",
    ]


def test_entra_merged_pathless_replace_on_galaxy_skips_the_enterprise_key():
    new, changed = entra(
        """[{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua",
 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]""",
        GALAXY_USER,
        GALAXY.user,
        ignore_unknown=True,
    )
    assert new["displayName"] == "Bjfe"
    assert new["name"] == {"givenName": "Kkom", "familyName": "Unua"}
    assert ENTERPRISE_USER not in new
    assert changed == ["name.givenName", "name.familyName", "displayName"]


def test_entra_default_disable_sends_active_as_the_string_false():
    new, changed = entra('[{"op":"Replace","path":"active","value":"False"}]', ENTRA_USER)
    assert new["active"] is False
    assert changed == ["active"]
    again, _ = entra('[{"op":"Replace","path":"active","value":"True"}]', new)
    assert again["active"] is True


def test_entra_flagged_disable_sends_active_as_a_boolean():
    new, changed = entra('[{"op":"replace","path":"active","value":false}]', ENTRA_USER)
    assert new["active"] is False
    assert changed == ["active"]


def test_lower_case_boolean_strings_are_accepted_too():
    assert patch(ENTRA_USER, {"op": "replace", "path": "active", "value": "false"})[0]["active"] is False
    assert patch(ENTRA_USER, {"op": "replace", "path": "active", "value": "true"})[0]["active"] is True


def test_entra_rename_group():
    new, changed = entra('[{"op":"Replace","path":"displayName","value":"…"}]', GROUP, FULL.group)
    assert new["displayName"] == "…"
    assert changed == ["displayName"]


def test_entra_add_members_appends_by_target_side_id():
    new, changed = entra(
        '[{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]',
        GROUP,
        FULL.group,
    )
    assert new["members"] == [*GROUP["members"], {"value": "f648f8d5ea4e4cd38e9c"}]
    assert changed == ["members"]


def test_entra_default_remove_members_removes_only_the_listed_member():
    new, changed = entra('[{"op":"Remove","path":"members","value":[{"value":"u1091"}]}]', GROUP, FULL.group)
    assert new["members"] == [{"value": "u1"}, {"value": "7f4b…"}]
    assert changed == ["members"]


def test_entra_tutorial_remove_members_with_null_ref_removes_only_the_listed_member():
    new, _ = entra(
        '[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"u1091"}]}]', GROUP, FULL.group
    )
    assert new["members"] == [{"value": "u1"}, {"value": "7f4b…"}]


def test_entra_flagged_remove_members_uses_a_value_filter():
    new, changed = entra('[{"op":"remove","path":"members[value eq \\"7f4b…\\"]"}]', GROUP, FULL.group)
    assert new["members"] == [{"value": "u1"}, {"value": "u1091"}]
    assert changed == ["members"]


# --- body validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "explained"),
    [
        ([], "JSON object"),
        ({"Operations": [{"op": "add", "path": "title", "value": "x"}]}, PATCH_OP),
        ({"schemas": [CORE_USER], "Operations": [{"op": "add", "path": "title", "value": "x"}]}, PATCH_OP),
        ({"schemas": PATCH_OP, "Operations": [{"op": "add", "path": "title", "value": "x"}]}, PATCH_OP),
        ({"schemas": [PATCH_OP]}, "non-empty list"),
        ({"schemas": [PATCH_OP], "Operations": []}, "non-empty list"),
        ({"schemas": [PATCH_OP], "Operations": {"op": "add"}}, "non-empty list"),
        ({"schemas": [PATCH_OP], "Operations": ["add"]}, "operation 1 must be a JSON object"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "merge", "path": "title", "value": "x"}]}, "'merge'"),
        ({"schemas": [PATCH_OP], "Operations": [{"path": "title", "value": "x"}]}, "missing"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": 1, "path": "title", "value": "x"}]}, "missing"),
    ],
)
def test_a_malformed_patch_body_is_invalid_syntax_saying_what_is_wrong(body, explained):
    error = refused(ENTRA_USER, body=body)
    assert error.scim_type == "invalidSyntax"
    assert explained in error.detail


def test_operations_and_op_names_are_case_insensitive():
    body = {
        "schemas": [PATCH_OP.upper()],
        "operations": [
            {"Op": "ADD", "Path": "title", "Value": "Boss"},
            {"op": "rEpLaCe", "path": "nickName", "value": "B"},
            {"op": "REMOVE", "path": "externalId"},
        ],
    }
    new, changed = apply_patch(ENTRA_USER, body, FULL.user, ignore_unknown=False, coerce=coerce)
    assert (new["title"], new["nickName"]) == ("Boss", "B")
    assert "externalId" not in new
    assert changed == ["externalId", "nickName", "title"]


def test_add_or_replace_without_a_value_is_invalid_value():
    assert refused(ENTRA_USER, {"op": "add", "path": "title"}).scim_type == "invalidValue"
    assert refused(ENTRA_USER, {"op": "replace"}).scim_type == "invalidValue"


def test_a_path_that_is_not_a_string_is_invalid_path():
    assert refused(ENTRA_USER, {"op": "add", "path": 5, "value": "x"}).scim_type == "invalidPath"


def test_a_malformed_path_is_invalid_path_naming_the_operation():
    error = refused(
        ENTRA_USER,
        {"op": "add", "path": "title", "value": "x"},
        {"op": "add", "path": "emails[", "value": "x"},
    )
    assert error.scim_type == "invalidPath"
    assert error.detail.startswith("PATCH operation 2")


# --- atomicity ----------------------------------------------------------------------------------


def test_the_input_resource_is_never_mutated():
    before = copy.deepcopy(ENTRA_USER)
    new, _ = patch(
        ENTRA_USER,
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "x@y"},
        {"op": "add", "path": "name.middleName", "value": "J"},
    )
    assert before == ENTRA_USER
    assert new["emails"][0]["value"] == "x@y"


def test_a_failing_operation_discards_the_earlier_ones():
    error = refused(
        ENTRA_USER,
        {"op": "replace", "path": "title", "value": "Boss"},
        {"op": "replace", "path": "active", "value": "maybe"},
    )
    assert error.scim_type == "invalidValue"
    assert "PATCH operation 2" in error.detail and "'active'" in error.detail


# --- add --------------------------------------------------------------------------------------


def test_add_on_a_set_simple_attribute_replaces_its_value():
    new, changed = patch(ENTRA_USER, {"op": "add", "path": "userName", "value": "renamed"})
    assert new["userName"] == "renamed"
    assert changed == ["userName"]


def test_add_to_a_multi_valued_attribute_appends_and_skips_exact_duplicates():
    new, changed = patch(
        ENTRA_USER,
        {
            "op": "add",
            "path": "emails",
            "value": [
                {"primary": True, "type": "work", "value": "Test_User_11bb@testuser.com"},
                {"type": "home", "value": "home@example.com"},
            ],
        },
    )
    assert new["emails"] == [*ENTRA_USER["emails"], {"type": "home", "value": "home@example.com"}]
    assert changed == ["emails"]


def test_add_accepts_a_single_object_for_a_multi_valued_attribute():
    new, _ = patch(
        ENTRA_USER, {"op": "add", "path": "phoneNumbers", "value": {"type": "work", "value": "555"}}
    )
    assert new["phoneNumbers"] == [{"type": "work", "value": "555"}]


def test_add_of_an_existing_member_is_skipped_by_value():
    new, changed = patch(
        GROUP, {"op": "add", "path": "members", "value": [{"value": "u1", "type": "User"}]}, rtype=FULL.group
    )
    assert new["members"] == GROUP["members"]
    assert changed == []


def test_several_members_are_added_in_one_operation():
    new, _ = patch(
        GROUP,
        {"op": "Add", "path": "members", "value": [{"value": "a"}, {"value": "b"}, {"value": "a"}]},
        rtype=FULL.group,
    )
    assert [m["value"] for m in new["members"]] == ["u1", "u1091", "7f4b…", "a", "b"]


def test_add_on_a_complex_attribute_merges_sub_attributes():
    new, changed = patch(
        ENTRA_USER, {"op": "add", "path": "name", "value": {"middleName": "Jane", "GIVENNAME": "Barbara"}}
    )
    assert new["name"] == {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "Barbara",
        "middleName": "Jane",
    }
    assert changed == ["name.givenName", "name.middleName"]


def test_add_with_a_filter_and_sub_attribute_updates_matching_values_only():
    user = {**ENTRA_USER, "emails": [*ENTRA_USER["emails"], {"type": "home", "value": "h@x"}]}
    new, _ = patch(user, {"op": "add", "path": 'emails[type eq "home"].display', "value": "Home"})
    assert new["emails"] == [ENTRA_USER["emails"][0], {"type": "home", "value": "h@x", "display": "Home"}]


def test_add_with_a_filter_and_no_sub_attribute_merges_into_matching_values():
    new, _ = patch(ENTRA_USER, {"op": "add", "path": 'emails[type eq "work"]', "value": {"display": "Work"}})
    assert new["emails"] == [{**ENTRA_USER["emails"][0], "display": "Work"}]


def test_add_through_a_filter_that_matches_nothing_creates_the_value_from_its_eq_terms():
    # Entra sends Add for a previously empty work email (reference §1.5, §1.6).
    user = {k: v for k, v in ENTRA_USER.items() if k != "emails"}
    new, changed = patch(user, {"op": "Add", "path": 'emails[type eq "work"].value', "value": "w@x"})
    assert new["emails"] == [{"type": "work", "value": "w@x"}]
    assert changed == ["emails"]


def test_replace_through_a_filter_that_matches_nothing_also_creates_the_value():
    new, _ = patch(
        ENTRA_USER, {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "555"}
    )
    assert new["phoneNumbers"] == [{"type": "mobile", "value": "555"}]


def test_the_created_value_takes_every_eq_term_of_an_and_chain():
    new, _ = patch(
        ENTRA_USER,
        {"op": "add", "path": 'addresses[type eq "work" and country eq "US"].locality', "value": "Redmond"},
    )
    assert new["addresses"] == [{"type": "work", "country": "US", "locality": "Redmond"}]


def test_a_filter_without_sub_attribute_that_matches_nothing_creates_terms_plus_value():
    new, _ = patch(ENTRA_USER, {"op": "add", "path": 'emails[type eq "home"]', "value": {"value": "h@x"}})
    assert new["emails"][-1] == {"type": "home", "value": "h@x"}


@pytest.mark.parametrize(
    "path",
    [
        'emails[value co "@nowhere"].display',
        'emails[type eq "home" or type eq "other"].value',
        'emails[not (type eq "work")]',
    ],
)
def test_a_filter_that_matches_nothing_and_is_not_an_eq_chain_is_no_target(path):
    value = "x" if path.endswith("e") else {"value": "x"}
    assert refused(ENTRA_USER, {"op": "add", "path": path, "value": value}).scim_type == "noTarget"


def test_adding_a_sub_attribute_of_a_multi_valued_attribute_without_values_is_no_target():
    user = {k: v for k, v in ENTRA_USER.items() if k != "emails"}
    assert refused(user, {"op": "add", "path": "emails.type", "value": "work"}).scim_type == "noTarget"


def test_a_sub_attribute_of_a_multi_valued_attribute_without_filter_is_set_on_every_value():
    user = {**ENTRA_USER, "emails": [{"value": "a@x"}, {"value": "b@x"}]}
    new, _ = patch(user, {"op": "replace", "path": "emails.type", "value": "other"})
    assert new["emails"] == [{"value": "a@x", "type": "other"}, {"value": "b@x", "type": "other"}]


def test_an_extension_attribute_is_created_with_its_extension_and_listed_in_schemas():
    user = {**GALAXY_USER, "schemas": [CORE_USER]}
    new, changed = patch(user, {"op": "add", "path": f"{ENTERPRISE_USER}:department", "value": "Sales"})
    assert new[ENTERPRISE_USER] == {"department": "Sales"}
    assert new["schemas"] == [CORE_USER, ENTERPRISE_USER]
    assert changed == [f"{ENTERPRISE_USER}:department"]


def test_pathless_add_accepts_an_extension_urn_key_holding_an_object():
    new, changed = patch(
        ENTRA_USER,
        {
            "op": "add",
            "value": {ENTERPRISE_USER: {"department": "Sales", "manager": {"value": "m1"}}, "title": "Boss"},
        },
    )
    assert new[ENTERPRISE_USER] == {"department": "Sales", "manager": {"value": "m1"}}
    assert new["title"] == "Boss"
    assert changed == ["title", f"{ENTERPRISE_USER}:department", f"{ENTERPRISE_USER}:manager.value"]


def test_pathless_add_accepts_plain_keys_in_any_case_and_whole_complex_values():
    new, _ = patch(ENTRA_USER, {"op": "add", "value": {"NICKNAME": "Babs", "name": {"middleName": "J"}}})
    assert new["nickName"] == "Babs"
    assert new["name"]["middleName"] == "J" and new["name"]["givenName"] == "givenName"


def test_a_path_naming_a_whole_extension_takes_an_object_of_its_attributes():
    new, _ = patch(ENTRA_USER, {"op": "add", "path": ENTERPRISE_USER, "value": {"costCenter": "42"}})
    assert new[ENTERPRISE_USER] == {"costCenter": "42"}


# --- replace ------------------------------------------------------------------------------------


def test_replace_sets_a_simple_attribute():
    new, changed = patch(ENTRA_USER, {"op": "replace", "path": "externalId", "value": "x"})
    assert new["externalId"] == "x"
    assert changed == ["externalId"]


def test_replace_of_a_multi_valued_attribute_without_filter_replaces_the_whole_list():
    new, changed = patch(
        ENTRA_USER, {"op": "replace", "path": "emails", "value": [{"type": "home", "value": "h@x"}]}
    )
    assert new["emails"] == [{"type": "home", "value": "h@x"}]
    assert changed == ["emails"]


def test_replace_of_members_without_filter_replaces_all_members():
    new, _ = patch(GROUP, {"op": "replace", "path": "members", "value": [{"value": "n1"}]}, rtype=FULL.group)
    assert new["members"] == [{"value": "n1"}]


def test_replace_on_a_complex_attribute_changes_the_given_sub_attributes_and_keeps_the_others():
    # RFC 7644 §3.5.2.3: "Sub-attributes that are not specified in the value parameter are left unchanged."
    new, changed = patch(
        ENTRA_USER, {"op": "replace", "path": "name", "value": {"givenName": "G", "familyName": None}}
    )
    assert new["name"] == {"formatted": "givenName familyName", "givenName": "G"}
    assert changed == ["name.givenName", "name.familyName"]


def test_replace_with_a_filter_and_no_sub_attribute_replaces_matching_values_whole():
    new, _ = patch(
        ENTRA_USER,
        {"op": "replace", "path": 'emails[type eq "work"]', "value": {"value": "n@x", "type": "work"}},
    )
    assert new["emails"] == [{"value": "n@x", "type": "work"}]


def test_replacing_with_the_same_value_changes_nothing():
    new, changed = patch(ENTRA_USER, {"op": "Replace", "path": "userName", "value": "Test_User_00aa"})
    assert new == ENTRA_USER
    assert changed == []


# --- remove ------------------------------------------------------------------------------------


def test_remove_without_a_path_is_no_target():
    assert refused(ENTRA_USER, {"op": "remove"}).scim_type == "noTarget"
    assert refused(ENTRA_USER, {"op": "remove", "path": ""}).scim_type == "noTarget"


def test_remove_deletes_a_simple_attribute():
    new, changed = patch(ENTRA_USER, {"op": "remove", "path": "externalId"})
    assert "externalId" not in new
    assert changed == ["externalId"]


def test_remove_of_a_sub_attribute_keeps_the_other_sub_attributes():
    new, changed = patch(ENTRA_USER, {"op": "remove", "path": "name.formatted"})
    assert new["name"] == {"familyName": "familyName", "givenName": "givenName"}
    assert changed == ["name.formatted"]


def test_removing_the_last_sub_attribute_removes_the_complex_attribute():
    new, _ = patch(
        GALAXY_USER, {"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}
    )
    assert "name" not in new


def test_remove_with_a_filter_removes_the_matching_values():
    user = {**ENTRA_USER, "emails": [*ENTRA_USER["emails"], {"type": "home", "value": "h@x"}]}
    new, changed = patch(user, {"op": "remove", "path": 'emails[type eq "home"]'})
    assert new["emails"] == ENTRA_USER["emails"]
    assert changed == ["emails"]


def test_removing_every_value_removes_the_attribute():
    new, _ = patch(ENTRA_USER, {"op": "remove", "path": 'emails[type eq "work"]'})
    assert "emails" not in new


def test_remove_with_a_filter_and_sub_attribute_removes_it_from_matching_values():
    user = {
        **ENTRA_USER,
        "addresses": [
            {"type": "work", "locality": "Redmond", "country": "US"},
            {"type": "home", "locality": "X"},
        ],
    }
    new, _ = patch(user, {"op": "remove", "path": 'addresses[type eq "work"].locality'})
    assert new["addresses"] == [{"type": "work", "country": "US"}, {"type": "home", "locality": "X"}]


def test_removing_the_value_of_an_email_drops_the_email():
    new, _ = patch(ENTRA_USER, {"op": "remove", "path": 'emails[type eq "work"].value'})
    assert "emails" not in new


def test_removing_what_is_not_there_is_a_no_op():
    new, changed = patch(
        ENTRA_USER, {"op": "remove", "path": "title"}, {"op": "remove", "path": 'emails[type eq "home"]'}
    )
    assert new == ENTRA_USER and changed == []
    new, changed = patch(
        GROUP, {"op": "Remove", "path": "members", "value": [{"value": "gone"}]}, rtype=FULL.group
    )
    assert new == GROUP and changed == []


def test_remove_members_without_value_removes_every_member():
    new, changed = patch(GROUP, {"op": "remove", "path": "members"}, rtype=FULL.group)
    assert "members" not in new
    assert changed == ["members"]


def test_remove_members_with_a_value_list_removes_several_listed_members():
    new, _ = patch(
        GROUP,
        {"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "7f4b…"}]},
        rtype=FULL.group,
    )
    assert new["members"] == [{"value": "u1091"}]


def test_remove_of_a_whole_extension_by_its_urn():
    user = {**ENTRA_USER, ENTERPRISE_USER: {"department": "Sales"}}
    new, changed = patch(user, {"op": "remove", "path": ENTERPRISE_USER})
    assert ENTERPRISE_USER not in new
    assert new["schemas"] == [CORE_USER]
    assert changed == [f"{ENTERPRISE_USER}:department"]


def test_removing_the_last_extension_attribute_removes_the_extension_from_schemas():
    user = {**ENTRA_USER, ENTERPRISE_USER: {"department": "Sales"}}
    new, _ = patch(user, {"op": "remove", "path": f"{ENTERPRISE_USER}:department"})
    assert ENTERPRISE_USER not in new and new["schemas"] == [CORE_USER]


def test_a_required_attribute_cannot_be_removed():
    assert refused(ENTRA_USER, {"op": "remove", "path": "userName"}).scim_type == "invalidValue"
    assert (
        refused(GROUP, {"op": "remove", "path": "displayName"}, rtype=FULL.group).scim_type == "invalidValue"
    )


# --- null and empty values ---------------------------------------------------------------------


def test_replace_with_null_removes_the_attribute():
    new, changed = patch(ENTRA_USER, {"op": "replace", "path": "externalId", "value": None})
    assert "externalId" not in new and changed == ["externalId"]


def test_add_with_null_removes_the_attribute():
    new, _ = patch(ENTRA_USER, {"op": "add", "path": "name.formatted", "value": None})
    assert "formatted" not in new["name"]


def test_an_empty_string_clears_a_string_attribute():
    # Entra's validator clears with "" first, then with null (reference scim.md §2.2).
    new, _ = patch(
        ENTRA_USER,
        {"op": "Replace", "path": "externalId", "value": ""},
        {"op": "Replace", "path": "name.givenName", "value": ""},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": ""},
        {"op": "Replace", "path": f"{ENTERPRISE_USER}:employeeNumber", "value": ""},
    )
    assert "externalId" not in new and "givenName" not in new["name"]
    assert "emails" not in new and ENTERPRISE_USER not in new


def test_pathless_null_and_empty_values_clear_their_attributes():
    new, changed = patch(
        ENTRA_USER, {"op": "replace", "value": {"externalId": None, "name.formatted": "", "title": "T"}}
    )
    assert "externalId" not in new and "formatted" not in new["name"]
    assert changed == ["externalId", "name.formatted", "title"]


def test_replacing_the_manager_with_an_empty_value_removes_it():
    user = {**ENTRA_USER, ENTERPRISE_USER: {"manager": {"value": "m1"}, "department": "D"}}
    for empty in ("", None, []):
        new, _ = patch(user, {"op": "Replace", "path": "manager", "value": empty})
        assert new[ENTERPRISE_USER] == {"department": "D"}


def test_clearing_a_required_attribute_is_refused():
    for empty in ("", None):
        assert (
            refused(ENTRA_USER, {"op": "replace", "path": "userName", "value": empty}).scim_type
            == "invalidValue"
        )


def test_replace_with_an_empty_list_clears_a_multi_valued_attribute_and_add_of_one_does_nothing():
    assert "emails" not in patch(ENTRA_USER, {"op": "replace", "path": "emails", "value": []})[0]
    assert patch(ENTRA_USER, {"op": "add", "path": "emails", "value": []}) == (ENTRA_USER, [])


# --- primary ------------------------------------------------------------------------------------


def test_adding_a_primary_value_takes_primary_from_the_others():
    new, _ = patch(
        ENTRA_USER,
        {"op": "add", "path": "emails", "value": [{"value": "n@x", "type": "home", "primary": True}]},
    )
    assert [e.get("primary") for e in new["emails"]] == [False, True]


def test_setting_primary_through_a_filter_moves_it():
    user = {**ENTRA_USER, "emails": [*ENTRA_USER["emails"], {"type": "home", "value": "h@x"}]}
    new, _ = patch(user, {"op": "replace", "path": 'emails[type eq "home"].primary', "value": "True"})
    assert [e.get("primary") for e in new["emails"]] == [False, True]


def test_a_replaced_list_with_several_primaries_keeps_the_last():
    values = [{"value": "a@x", "primary": True}, {"value": "b@x", "primary": True}]
    new, _ = patch(ENTRA_USER, {"op": "replace", "path": "emails", "value": values})
    assert [e["primary"] for e in new["emails"]] == [False, True]


# --- mutability ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("id", "new"),
        ("meta.lastModified", "2030-01-01T00:00:00Z"),
        ("meta", {"version": "x"}),
        ("groups", [{"value": "g"}]),
        (f"{ENTERPRISE_USER}:manager.displayName", "Boss"),
    ],
)
def test_changing_a_read_only_attribute_is_a_mutability_error(path, value):
    for op in ("add", "replace"):
        assert refused(ENTRA_USER, {"op": op, "path": path, "value": value}).scim_type == "mutability"
    assert refused(ENTRA_USER, {"op": "remove", "path": path}).scim_type == "mutability"


def test_a_member_display_can_be_set_and_changed():
    path = 'members[value eq "u1"].display'
    new, _ = patch(GROUP, {"op": "add", "path": path, "value": "One"}, rtype=FULL.group)
    assert new["members"][0] == {"value": "u1", "display": "One"}
    assert patch(new, {"op": "add", "path": path, "value": "One"}, rtype=FULL.group)[1] == []
    changed, _ = patch(new, {"op": "replace", "path": path, "value": "Two"}, rtype=FULL.group)
    assert changed["members"][0]["display"] == "Two"


def test_a_member_value_is_immutable_once_set():
    error = refused(
        GROUP, {"op": "replace", "path": 'members[value eq "u1"].value', "value": "u2"}, rtype=FULL.group
    )
    assert error.scim_type == "mutability"
    error = refused(
        GROUP, {"op": "replace", "path": 'members[value eq "u1"]', "value": {"value": "u2"}}, rtype=FULL.group
    )
    assert error.scim_type == "mutability"


def test_pathless_values_for_read_only_attributes_are_ignored_like_put_does():
    new, changed = patch(
        ENTRA_USER, {"op": "replace", "value": {"id": "other", "meta": {"version": "x"}, "title": "T"}}
    )
    assert new["id"] == ENTRA_USER["id"] and new["meta"] == ENTRA_USER["meta"]
    assert changed == ["title"]


def test_read_only_sub_attributes_inside_values_are_dropped():
    new, _ = patch(
        ENTRA_USER, {"op": "add", "path": "manager", "value": {"value": "m1", "displayName": "Boss"}}
    )
    assert new[ENTERPRISE_USER]["manager"] == {"value": "m1"}
    new, _ = patch(
        ENTRA_USER,
        {"op": "add", "value": {ENTERPRISE_USER: {"manager": {"value": "m1", "displayName": "B"}}}},
    )
    assert new[ENTERPRISE_USER]["manager"] == {"value": "m1"}


# --- attributes the profile does not store ---------------------------------------------------------


def test_galaxy_skips_operations_on_attributes_it_does_not_store():
    new, changed = patch(
        GALAXY_USER,
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "x@y"},
        {"op": "Remove", "path": "title"},
        {"op": "Replace", "path": "name.formatted", "value": "B J"},
        {"op": "Replace", "path": "active", "value": "False"},
        rtype=GALAXY.user,
        ignore_unknown=True,
    )
    assert new == {**GALAXY_USER, "active": False}
    assert changed == ["active"]


def test_galaxy_skips_unknown_pathless_keys_and_applies_the_known_ones():
    new, changed = patch(
        GALAXY_USER,
        {"op": "replace", "value": {"title": "T", "displayName": "D", "urn:example:other:User": {"x": 1}}},
        rtype=GALAXY.user,
        ignore_unknown=True,
    )
    assert new == {**GALAXY_USER, "displayName": "D"}
    assert changed == ["displayName"]


def test_without_ignoring_an_unknown_attribute_is_invalid_path_naming_it():
    error = refused(GALAXY_USER, {"op": "add", "path": "nickName", "value": "Babs"}, rtype=GALAXY.user)
    assert isinstance(error, UnknownAttribute)
    assert error.scim_type == "invalidPath" and "'nickName'" in error.detail
    error = refused(ENTRA_USER, {"op": "replace", "value": {"nope": 1}})
    assert isinstance(error, UnknownAttribute) and "'nope'" in error.detail


def test_the_galaxy_profile_stores_password_for_the_receiver_to_hash():
    new, changed = patch(
        GALAXY_USER, {"op": "replace", "path": "password", "value": "s3cret"}, rtype=GALAXY.user
    )
    assert new["password"] == "s3cret"
    assert changed == ["password"]


# --- wrong shapes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "named"),
    [
        ({"op": "replace", "path": "active", "value": 5}, "'active'"),
        ({"op": "replace", "path": "userName", "value": {"x": 1}}, "'userName'"),
        ({"op": "add", "path": "emails", "value": "a@x"}, "'emails'"),
        ({"op": "add", "path": "name", "value": "Barbara"}, "'name'"),
        ({"op": "replace", "path": "title", "value": ["a", "b"]}, "'title'"),
        ({"op": "replace", "path": 'emails[type eq "work"].primary', "value": "yes"}, "emails[type eq"),
        ({"op": "replace", "value": "not an object"}, "must be an object"),
        ({"op": "replace", "value": {ENTERPRISE_USER: "x"}}, ENTERPRISE_USER),
        ({"op": "replace", "value": {"active": "nope"}}, "'active'"),
    ],
)
def test_a_value_of_the_wrong_shape_is_invalid_value_naming_the_path(operation, named):
    error = refused(ENTRA_USER, operation)
    assert error.scim_type == "invalidValue"
    assert named in error.detail


def test_a_single_valued_target_takes_a_one_element_list_for_any_attribute():
    new, _ = patch(ENTRA_USER, {"op": "replace", "path": "title", "value": ["Boss"]})
    assert new["title"] == "Boss"


# --- changed names -----------------------------------------------------------------------------


def test_changed_names_are_canonical_and_only_list_real_changes():
    new, changed = patch(
        ENTRA_USER,
        {"op": "replace", "path": "USERNAME", "value": "other"},
        {"op": "replace", "path": "active", "value": "True"},  # unchanged
        {"op": "add", "path": f"{ENTERPRISE_USER.upper()}:EMPLOYEENUMBER", "value": "7"},
    )
    assert new["userName"] == "other"
    assert changed == ["userName", f"{ENTERPRISE_USER}:employeeNumber"]


@pytest.mark.parametrize(
    "path",
    [
        'name[givenName eq "givenName"].familyName',
        'name[givenName eq "givenName"]',
        f'{ENTERPRISE_USER}:manager[value eq "x"].value',
    ],
)
@pytest.mark.parametrize("op", ["add", "replace", "remove"])
def test_a_value_filter_on_a_single_valued_attribute_is_invalid_path(path: str, op: str):
    # A value filter picks among the values of a multi-valued attribute (RFC 7644 §3.5.2);
    # `name[...]` used to make replace overwrite all of `name`.
    user = {**ENTRA_USER, ENTERPRISE_USER: {"manager": {"value": "x"}}}
    operation = {"op": op, "path": path} | ({} if op == "remove" else {"value": "Lovelace"})
    error = refused(user, operation)
    assert error.scim_type == "invalidPath" and "single-valued" in error.detail


def test_empty_strings_in_a_patch_value_mean_no_value_as_in_post():
    result, changed = patch(
        GALAXY_USER, {"op": "add", "value": {"displayName": "", "name": {"givenName": ""}}}
    )
    assert "displayName" not in result and result["name"] == {"familyName": "Jensen"}
    assert changed == ["name.givenName", "displayName"]
    unchanged, nothing = patch(result, {"op": "replace", "path": "displayName", "value": ""})
    assert unchanged == result and nothing == []
