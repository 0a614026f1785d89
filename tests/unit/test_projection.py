"""What responses contain: attributes/excludedAttributes, sortBy, paging and ListResponse."""

import copy

import pytest

from emulator.scim.errors import ScimError
from emulator.scim.projection import (
    MAX_PAGING_VALUE,
    list_response,
    make_projector,
    parse_attribute_list,
    parse_paging,
    sort_key,
    union_sort_keys,
)
from emulator.scim.schema import (
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    LIST_RESPONSE,
    Attribute,
    ResourceType,
    Schema,
    build_profile,
)

GALAXY = build_profile("galaxy")


def project(resource: dict, rtype: ResourceType, attributes, excluded) -> dict:
    """One resource through a projector compiled for it, the way the receiver renders a page."""
    return make_projector(rtype, attributes, excluded)(resource)


FULL = build_profile("full")
META = {
    "resourceType": "User",
    "created": "2024-01-01T00:00:00Z",
    "lastModified": "2024-01-02T00:00:00Z",
    "location": "http://127.0.0.1:8000/galaxy/scim/v2/Users/u1",
    "version": 'W/"1"',
}
ADA = {
    "schemas": [CORE_USER, ENTERPRISE_USER],
    "id": "u1",
    "externalId": "e1",
    "userName": "ada@example.com",
    "name": {"givenName": "Ada", "familyName": "Lovelace"},
    "active": True,
    "password": "$hash$",
    "emails": [
        {"value": "ada@home.example", "type": "home"},
        {"value": "ada@work.example", "type": "work", "primary": True},
    ],
    ENTERPRISE_USER: {"employeeNumber": "42", "department": "R&D"},
    "meta": META,
}


def paths(text, rtype=FULL.user):
    return parse_attribute_list(text, rtype)


def invalid(call, *args, **kw) -> ScimError:
    with pytest.raises(ScimError) as caught:
        call(*args, **kw)
    assert caught.value.status == 400
    return caught.value


# --- parse_attribute_list -----------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", " , ", []])
def test_attribute_list_absent_or_empty_is_none(text):
    assert parse_attribute_list(text, FULL.user) is None


def test_attribute_list_resolves_names_case_insensitively_with_optional_urns():
    parsed = paths(f" USERNAME , name.GivenName,{ENTERPRISE_USER}:employeeNumber,{CORE_USER}:active")
    assert [p.dotted() for p in parsed] == [
        "userName",
        "name.givenName",
        f"{ENTERPRISE_USER}:employeeNumber",
        "active",
    ]


def test_attribute_list_accepts_the_search_request_array_form():
    assert [p.dotted() for p in paths(["userName", "name.familyName,active"])] == [
        "userName",
        "name.familyName",
        "active",
    ]


def test_attribute_list_bare_schema_urn_names_every_attribute_of_the_schema():
    assert {p.dotted() for p in paths(ENTERPRISE_USER)} == {
        f"{ENTERPRISE_USER}:{name}"
        for name in ("employeeNumber", "costCenter", "organization", "division", "department", "manager")
    }


@pytest.mark.parametrize("text", ["nosuch", "name.nosuch", "userName,shoeSize", "urn:example:x:foo"])
def test_attribute_list_unknown_name_is_invalid_path_naming_it(text):
    error = invalid(parse_attribute_list, text, FULL.user)
    assert error.scim_type == "invalidPath"
    bad = text.split(",")[-1]
    assert f"'{bad}'" in error.detail
    assert "attributes" in error.detail


def test_attribute_list_galaxy_profile_rejects_attributes_it_does_not_store():
    error = invalid(parse_attribute_list, "emails", GALAXY.user, param="excludedAttributes")
    assert error.scim_type == "invalidPath"
    assert "excludedAttributes" in error.detail


# --- default projection -------------------------------------------------------------------------


@pytest.mark.parametrize("profile", [GALAXY, FULL], ids=["galaxy", "full"])
def test_default_projection_never_returns_the_password(profile):
    shown = project(ADA, profile.user, None, None)
    assert "password" not in shown
    assert shown == {k: v for k, v in ADA.items() if k != "password"}


def test_projection_never_modifies_the_stored_resource():
    stored = copy.deepcopy(ADA)
    project(stored, FULL.user, None, None)
    project(stored, FULL.user, paths("name.givenName,emails.value"), None)
    project(stored, FULL.user, None, paths(f"name.givenName,emails.type,{ENTERPRISE_USER}:department"))
    assert stored == ADA


# --- attributes ---------------------------------------------------------------------------------


def test_attributes_returns_only_those_plus_id_and_schemas():
    shown = project(ADA, FULL.user, paths("userName"), None)
    assert shown == {"schemas": ADA["schemas"], "id": "u1", "userName": "ada@example.com"}


def test_attributes_sub_attribute_keeps_only_that_part():
    shown = project(ADA, FULL.user, paths("name.givenName"), None)
    assert shown["name"] == {"givenName": "Ada"}


def test_attributes_sub_attribute_of_multi_valued_applies_to_each_value():
    shown = project(ADA, FULL.user, paths("emails.value"), None)
    assert shown["emails"] == [{"value": "ada@home.example"}, {"value": "ada@work.example"}]


def test_attributes_whole_attribute_wins_over_its_sub_attribute():
    shown = project(ADA, FULL.user, paths("name.givenName,name"), None)
    assert shown["name"] == ADA["name"]


def test_attributes_extension_attribute_keeps_the_extension_with_only_it():
    shown = project(ADA, FULL.user, paths(f"{ENTERPRISE_USER}:department"), None)
    assert shown == {"schemas": ADA["schemas"], "id": "u1", ENTERPRISE_USER: {"department": "R&D"}}


def test_attributes_naming_the_password_still_does_not_return_it():
    shown = project(ADA, GALAXY.user, paths("password,userName", GALAXY.user), None)
    assert shown == {"schemas": ADA["schemas"], "id": "u1", "userName": "ada@example.com"}


def test_attributes_meta_sub_attribute():
    shown = project(ADA, FULL.user, paths("meta.lastModified"), None)
    assert shown["meta"] == {"lastModified": "2024-01-02T00:00:00Z"}


def test_attributes_missing_from_the_resource_are_simply_absent():
    shown = project(ADA, FULL.user, paths("nickName,addresses.country"), None)
    assert shown == {"schemas": ADA["schemas"], "id": "u1"}


# --- excludedAttributes -------------------------------------------------------------------------


def test_excluded_attributes_are_removed():
    shown = project(ADA, FULL.user, None, paths("emails,meta"))
    assert "emails" not in shown and "meta" not in shown and "password" not in shown
    assert shown["userName"] == "ada@example.com"


def test_excluded_attributes_cannot_remove_id():
    assert project(ADA, FULL.user, None, paths("id"))["id"] == "u1"


def test_excluded_sub_attribute_is_removed_from_the_complex_value():
    shown = project(ADA, FULL.user, None, paths("name.familyName,emails.type"))
    assert shown["name"] == {"givenName": "Ada"}
    assert shown["emails"] == [{"value": "ada@home.example"}, {"value": "ada@work.example", "primary": True}]


def test_excluding_the_last_extension_attribute_drops_the_extension():
    shown = project(ADA, FULL.user, None, paths(f"{ENTERPRISE_USER}:employeeNumber"))
    assert shown[ENTERPRISE_USER] == {"department": "R&D"}
    shown = project(
        ADA, FULL.user, None, paths(f"{ENTERPRISE_USER}:employeeNumber,{ENTERPRISE_USER}:department")
    )
    assert ENTERPRISE_USER not in shown


def test_entra_group_lookup_excludes_members():
    # Entra queries groups with excludedAttributes=members (reference §1.3).
    group = {"schemas": [CORE_GROUP], "id": "g1", "displayName": "Eng", "members": [{"value": "u1"}]}
    excluded = parse_attribute_list("members", GALAXY.group, param="excludedAttributes")
    assert project(group, GALAXY.group, None, excluded) == {
        "schemas": [CORE_GROUP],
        "id": "g1",
        "displayName": "Eng",
    }


def test_projector_is_reusable_across_a_page():
    projector = make_projector(FULL.user, paths("userName"), None)
    page = [projector({**ADA, "id": f"u{i}", "userName": f"user{i}"}) for i in range(3)]
    assert [r["userName"] for r in page] == ["user0", "user1", "user2"]
    assert [r["id"] for r in page] == ["u0", "u1", "u2"]


# --- returned: request --------------------------------------------------------------------------

SECRET_QUESTION = Attribute("secretQuestion", returned="request")
WIDGET = ResourceType(
    "Widget",
    "/Widgets",
    "A resource type with a returned=request attribute",
    Schema("urn:example:Widget", "Widget", "Widget", (Attribute("label"), SECRET_QUESTION)),
)
WIDGET_ONE = {"schemas": ["urn:example:Widget"], "id": "w1", "label": "x", "secretQuestion": "pet?"}


def test_returned_request_attribute_is_hidden_by_default():
    assert "secretQuestion" not in project(WIDGET_ONE, WIDGET, None, None)


def test_returned_request_attribute_is_returned_when_named():
    shown = project(WIDGET_ONE, WIDGET, parse_attribute_list("secretQuestion", WIDGET), None)
    assert shown == {"schemas": ["urn:example:Widget"], "id": "w1", "secretQuestion": "pet?"}


# --- sortBy -------------------------------------------------------------------------------------


def users(*names):
    return [{"id": str(i), "userName": n} if n is not None else {"id": str(i)} for i, n in enumerate(names)]


def test_sort_by_string_is_case_insensitive_for_case_insensitive_attributes():
    resources = users("bob", "Alice", "carol")
    ordered = sorted(resources, key=sort_key(GALAXY.user, "userName"))
    assert [r["userName"] for r in ordered] == ["Alice", "bob", "carol"]


def test_sort_by_case_exact_attribute_is_case_sensitive():
    resources = [
        {"id": "1", "externalId": "b"},
        {"id": "2", "externalId": "B"},
        {"id": "3", "externalId": "a"},
    ]
    ordered = sorted(resources, key=sort_key(GALAXY.user, "externalId"))
    assert [r["externalId"] for r in ordered] == ["B", "a", "b"]


def test_sort_missing_values_come_last_ascending_and_first_descending():
    resources = users("bob", None, "alice")
    key = sort_key(GALAXY.user, "username")
    assert [r.get("userName") for r in sorted(resources, key=key)] == ["alice", "bob", None]
    assert [r.get("userName") for r in sorted(resources, key=key, reverse=True)] == [None, "bob", "alice"]


def test_sort_by_sub_attribute_and_urn_qualified_name():
    resources = [
        {"id": "1", "name": {"givenName": "Zoe"}},
        {"id": "2", "name": {"familyName": "X"}},
        {"id": "3", "name": {"givenName": "amy"}},
    ]
    ordered = sorted(resources, key=sort_key(FULL.user, f"{CORE_USER}:name.givenName"))
    assert [r["id"] for r in ordered] == ["3", "1", "2"]


def test_sort_by_multi_valued_uses_the_primary_value_else_the_first():
    resources = [
        {"id": "1", "emails": [{"value": "z@x"}, {"value": "a@x", "primary": True}]},
        {"id": "2", "emails": [{"value": "m@x"}, {"value": "b@x"}]},
        {"id": "3", "emails": []},
    ]
    assert [r["id"] for r in sorted(resources, key=sort_key(FULL.user, "emails.value"))] == ["1", "2", "3"]
    assert [r["id"] for r in sorted(resources, key=sort_key(FULL.user, "emails"))] == ["1", "2", "3"]


def test_sort_by_extension_attribute():
    resources = [
        {"id": "1", ENTERPRISE_USER: {"department": "b"}},
        {"id": "2"},
        {"id": "3", ENTERPRISE_USER: {"department": "A"}},
    ]
    ordered = sorted(resources, key=sort_key(FULL.user, f"{ENTERPRISE_USER}:department"))
    assert [r["id"] for r in ordered] == ["3", "1", "2"]


def test_sort_by_date_time_compares_instants_not_text():
    resources = [
        {"id": "1", "meta": {"lastModified": "2024-01-01T10:00:00+02:00"}},  # 08:00Z
        {"id": "2", "meta": {"lastModified": "2024-01-01T09:00:00Z"}},
        {"id": "3", "meta": {"lastModified": "2024-01-01T07:30:00Z"}},
    ]
    ordered = sorted(resources, key=sort_key(GALAXY.user, "meta.lastModified"))
    assert [r["id"] for r in ordered] == ["3", "1", "2"]


def test_sort_by_boolean():
    resources = [{"id": "1", "active": True}, {"id": "2", "active": False}]
    assert [r["id"] for r in sorted(resources, key=sort_key(GALAXY.user, "active"))] == ["2", "1"]


@pytest.mark.parametrize("name", ["nosuch", "name.nosuch", "emails"])
def test_sort_by_unknown_attribute_is_invalid_path(name):
    error = invalid(sort_key, GALAXY.user, name)
    assert error.scim_type == "invalidPath"
    assert f"'{name}'" in error.detail


def test_sort_by_single_valued_complex_without_sub_attribute_is_invalid_path():
    error = invalid(sort_key, GALAXY.user, "name")
    assert error.scim_type == "invalidPath"
    assert "sub-attribute" in error.detail


@pytest.mark.parametrize("rtype", [GALAXY.user, FULL.user])
def test_sort_by_a_write_only_attribute_is_invalid_path(rtype):
    error = invalid(sort_key, rtype, "password")
    assert error.scim_type == "invalidPath" and "write-only" in error.detail


def test_union_sort_keys_sort_types_lacking_the_attribute_as_missing():
    user_key, group_key = union_sort_keys([GALAXY.user, GALAXY.group], "userName")
    keyed = [
        (group_key({"id": "g", "displayName": "a"}), "g"),
        (user_key({"id": "u2", "userName": "b"}), "u2"),
        (user_key({"id": "u1", "userName": "A"}), "u1"),
        (user_key({"id": "u3"}), "u3"),
    ]
    assert [i for _, i in sorted(keyed, key=lambda k: k[0])] == ["u1", "u2", "g", "u3"]
    assert [i for _, i in sorted(keyed, key=lambda k: k[0], reverse=True)][2:] == ["u2", "u1"]


def test_union_sort_keys_merge_an_attribute_both_types_have():
    user_key, group_key = union_sort_keys([GALAXY.user, GALAXY.group], "displayName")
    keyed = sorted(
        [user_key({"displayName": "b"}), group_key({"displayName": "A"}), group_key({"displayName": "c"})]
    )
    assert [k[2] for k in keyed] == ["a", "b", "c"]


def test_union_sort_keys_compare_values_of_different_types():
    # `value` is a string in one made-up type and a number in another: they still sort.
    things = ResourceType("Thing", "/Things", "", Schema("urn:t", "T", "", (Attribute("value", "integer"),)))
    user_key, thing_key = union_sort_keys([GALAXY.user, things], "value")
    sorted([user_key({}), thing_key({"value": 3}), thing_key({"value": 1})])
    assert user_key({"value": "x"}) == (1,)


@pytest.mark.parametrize(("name", "problem"), [("nosuch", "unknown attribute"), ("name", "sub-attribute")])
def test_union_sort_keys_refuse_what_no_type_can_sort_on(name, problem):
    error = invalid(union_sort_keys, [GALAXY.user, GALAXY.group], name)
    assert error.scim_type == "invalidPath" and problem in error.detail


# --- ListResponse and paging --------------------------------------------------------------------


def test_list_response_shape():
    body = list_response([{"id": "1"}], total=7, start_index=3)
    assert body == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 7,
        "startIndex": 3,
        "itemsPerPage": 1,
        "Resources": [{"id": "1"}],
    }


def test_empty_list_response_matches_entra_test_connection_expectation():
    body = list_response([], total=0, start_index=1)
    assert body["totalResults"] == 0 and body["Resources"] == [] and body["itemsPerPage"] == 0


def test_paging_defaults_to_first_page_of_max_results():
    assert parse_paging(None, None, max_results=100) == (1, 100)
    assert parse_paging("", " ", max_results=100) == (1, 100)


def test_paging_start_index_below_one_is_one():
    assert parse_paging("0", "10", max_results=100) == (1, 10)
    assert parse_paging("-5", "10", max_results=100) == (1, 10)


def test_paging_negative_count_is_zero_and_large_count_is_capped():
    assert parse_paging("1", "-1", max_results=100) == (1, 0)
    assert parse_paging("1", "0", max_results=100) == (1, 0)
    assert parse_paging("21", "5000", max_results=100) == (21, 100)


def test_paging_accepts_search_request_integers():
    assert parse_paging(11, 10, max_results=100) == (11, 10)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("99999999999999999999999", MAX_PAGING_VALUE),
        ("9" * 10_000, MAX_PAGING_VALUE),
        (2**63, MAX_PAGING_VALUE),
        (str(MAX_PAGING_VALUE), MAX_PAGING_VALUE),
        (str(MAX_PAGING_VALUE - 1), MAX_PAGING_VALUE - 1),
        ("-" + "9" * 10_000, 1),
        ("+0042", 42),
    ],
)
def test_paging_clamps_start_index_to_a_value_json_can_echo(start, expected):
    assert MAX_PAGING_VALUE == 2**31 - 1
    assert parse_paging(start, "9" * 10_000, max_results=100) == (expected, 100)
    assert parse_paging(start, "-" + "9" * 10_000, max_results=100)[1] == 0


@pytest.mark.parametrize(
    ("start", "count", "named"),
    [("abc", None, "startIndex"), ("1", "1.5", "count"), (None, True, "count"), ("1_0", None, "startIndex")],
)
def test_paging_non_integer_is_invalid_value(start, count, named):
    error = invalid(parse_paging, start, count, max_results=100)
    assert error.scim_type == "invalidValue"
    assert named in error.detail
