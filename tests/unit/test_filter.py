"""SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2): what parses, what matches, what is refused.

Each test reads as one rule of the grammar or of the comparison semantics; resources are plain
dicts in the stored wire shape.
"""

from __future__ import annotations

import time

import pytest

from emulator.scim.errors import ScimError
from emulator.scim.filter import (
    And,
    Compare,
    Not,
    Or,
    Present,
    UnknownAttribute,
    ValuePath,
    compile_filter,
    equality_lookup,
    parse_filter,
    parse_path,
)
from emulator.scim.schema import (
    CORE_USER,
    ENTERPRISE_USER,
    Attribute,
    ResourceType,
    Schema,
    build_profile,
)

FULL = build_profile("full")
GALAXY = build_profile("galaxy")
USER = FULL.user
GROUP = FULL.group

BJENSEN = {
    "schemas": [CORE_USER, ENTERPRISE_USER],
    "id": "2819c223-7f76-453a-919d-413861904646",
    "externalId": "701984",
    "userName": "bjensen@example.com",
    "name": {"givenName": "Barbara", "familyName": "Jensen", "honorificPrefix": "Ms."},
    "displayName": "Babs Jensen",
    "title": "Tour Guide",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "addresses": [{"type": "work", "locality": "Hollywood", "country": "USA"}],
    "meta": {
        "resourceType": "User",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34Z",
    },
    ENTERPRISE_USER: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
}
JSMITH = {
    "schemas": [CORE_USER],
    "id": "a1b2",
    "externalId": "EXT-2",
    "userName": "JSmith",
    "displayName": "",
    "active": False,
    "emails": [{"value": "jsmith@corp.test", "type": "work"}],
    "meta": {"resourceType": "User", "lastModified": "2026-12-04T16:24:25.123Z"},
}
NOMAIL = {
    "schemas": [CORE_USER],
    "id": "n0",
    "userName": "nomail",
    "active": True,
    "emails": [],
    "name": {},
    "meta": {"resourceType": "User", "lastModified": "2026-12-04T16:24:25.124Z"},
}
PEOPLE = [BJENSEN, JSMITH, NOMAIL]


def ids(text: str, resources: list[dict] = PEOPLE, rtype: ResourceType = USER) -> list[str]:
    """The ids of the resources the filter selects, in order."""
    predicate = compile_filter(text, rtype)
    return [r["id"] for r in resources if predicate(r)]


def refused(text: str, rtype: ResourceType = USER) -> ScimError:
    with pytest.raises(ScimError) as caught:
        compile_filter(text, rtype)
    assert caught.value.status == 400
    assert caught.value.scim_type == "invalidFilter"
    return caught.value


# --- operators ---------------------------------------------------------------------------------


def test_eq_on_username_ignores_case_because_username_is_not_case_exact():
    assert ids('userName eq "BJENSEN@example.COM"') == [BJENSEN["id"]]
    assert ids('userName eq "jsmith"') == ["a1b2"]


def test_eq_on_id_and_external_id_is_case_exact():
    assert ids('externalId eq "EXT-2"') == ["a1b2"]
    assert ids('externalId eq "ext-2"') == []
    assert ids('id eq "A1B2"') == []
    assert ids('id eq "a1b2"') == ["a1b2"]


def test_ne_is_true_when_the_attribute_is_missing():
    assert ids('title ne "Tour Guide"') == ["a1b2", "n0"]
    assert ids('externalId ne "701984"') == ["a1b2", "n0"]


def test_co_sw_ew_compare_substrings_ignoring_case_on_case_insensitive_attributes():
    assert ids('userName co "SMI"') == ["a1b2"]
    assert ids('userName sw "BJ"') == [BJENSEN["id"]]
    assert ids('userName ew "EXAMPLE.COM"') == [BJENSEN["id"]]


def test_co_sw_ew_honour_case_exact_attributes():
    assert ids('externalId sw "ext"') == []
    assert ids('externalId sw "EXT"') == ["a1b2"]
    assert ids('externalId ew "-2"') == ["a1b2"]
    assert ids('externalId co "198"') == [BJENSEN["id"]]


def test_pr_is_false_for_missing_null_empty_string_empty_list_and_empty_object():
    assert ids("title pr") == [BJENSEN["id"]]
    assert ids("displayName pr") == [BJENSEN["id"]]  # JSMITH has ""
    assert ids("emails pr") == [BJENSEN["id"], "a1b2"]  # NOMAIL has []
    assert ids("name pr") == [BJENSEN["id"]]  # NOMAIL has {}
    assert ids("name.givenName pr") == [BJENSEN["id"]]
    assert ids("emails.primary pr") == [BJENSEN["id"]]
    assert ids("userName pr") == [r["id"] for r in PEOPLE]


def test_gt_ge_lt_le_order_strings_lexicographically_ignoring_case():
    assert ids('userName gt "j"') == ["a1b2", "n0"]
    assert ids('userName ge "JSMITH"') == ["a1b2", "n0"]
    assert ids('userName lt "JSMITH"') == [BJENSEN["id"]]
    assert ids('userName le "jsmith"') == [BJENSEN["id"], "a1b2"]


def test_datetime_comparisons_are_between_instants():
    assert ids('meta.lastModified gt "2011-05-13T04:42:34Z"') == ["a1b2", "n0"]
    assert ids('meta.lastModified ge "2011-05-13T04:42:34Z"') == [BJENSEN["id"], "a1b2", "n0"]
    assert ids('meta.lastModified lt "2026-12-04T16:24:25.124Z"') == [BJENSEN["id"], "a1b2"]
    assert ids('meta.lastModified le "2026-12-04T16:24:25.124Z"') == [BJENSEN["id"], "a1b2", "n0"]
    # the same instant written with an offset, with more fraction digits, or in lower case
    assert ids('meta.lastModified eq "2026-12-04T17:24:25.123+01:00"') == ["a1b2"]
    assert ids('meta.lastModified eq "2026-12-04T16:24:25.123000Z"') == ["a1b2"]
    assert ids('meta.lastModified eq "2011-05-13t04:42:34z"') == [BJENSEN["id"]]
    assert ids('meta.lastModified ne "2011-05-13T04:42:34Z"') == ["a1b2", "n0"]
    assert ids('meta.created lt "2011-01-01T00:00:00Z"') == [BJENSEN["id"]]


def test_boolean_eq_and_ne_compare_values():
    assert ids("active eq true") == [BJENSEN["id"], "n0"]
    assert ids("active eq false") == ["a1b2"]
    assert ids("active ne true") == ["a1b2"]


def test_boolean_comparisons_accept_the_strings_entra_sends():
    for text in ("True", "true", "TRUE"):
        assert ids(f'active eq "{text}"') == [BJENSEN["id"], "n0"]
    assert ids('active eq "False"') == ["a1b2"]


NUMBERS = ResourceType(
    "Thing",
    "/Things",
    "A resource type with numbers, for the number comparisons no User attribute exercises",
    Schema(
        "urn:example:Thing",
        "Thing",
        "Thing",
        (Attribute("count", "integer"), Attribute("ratio", "decimal"), Attribute("sizes", "integer", True)),
    ),
)
THINGS = [
    {"id": "a", "count": 3, "ratio": 1.5, "sizes": [1, 2]},
    {"id": "b", "count": -2, "ratio": -0.015, "sizes": [10]},
    {"id": "c", "count": 1000, "ratio": 2, "sizes": []},
    {"id": "d", "count": True},  # a stored boolean is not the number 1
]


def things(text: str) -> list[str]:
    return ids(text, THINGS, NUMBERS)


def test_integer_and_decimal_comparisons_use_numeric_order():
    assert things("count eq 3") == ["a"]
    assert things("count gt -3") == ["a", "b", "c"]
    assert things("count ge 1e3") == ["c"]
    assert things("count lt 0") == ["b"]
    assert things("count le 3.0") == ["a", "b"]
    assert things("count eq 1") == []
    assert things("ratio eq 1.5") == ["a"]
    assert things("ratio lt -1.5E-2") == []
    assert things("ratio le -1.5E-2") == ["b"]
    assert things("ratio gt 1.9") == ["c"]
    assert things("sizes gt 5") == ["b"]
    assert things("count ne 3") == ["b", "c", "d"]


def test_numbers_parse_as_json_numbers():
    assert parse_filter("count eq 42").value == 42
    assert parse_filter("count eq -7").value == -7
    assert parse_filter("ratio eq 1.5").value == 1.5
    assert parse_filter("ratio eq -1.5e-2").value == -0.015
    assert parse_filter("ratio eq 2E3").value == 2000.0
    assert isinstance(parse_filter("count eq 42").value, int)


def test_numbers_and_strings_do_not_compare_with_each_other():
    refused('count eq "3"', NUMBERS)
    refused("count co 3", NUMBERS)
    refused("userName eq 5")


# --- combinators, precedence, parentheses --------------------------------------------------------


def test_and_requires_both_and_or_requires_either():
    assert ids('userName sw "b" and active eq true') == [BJENSEN["id"]]
    assert ids('userName eq "jsmith" or userName eq "nomail"') == ["a1b2", "n0"]


def test_and_binds_tighter_than_or():
    tree = parse_filter('title pr or userName eq "x" and active eq false')
    assert tree == Or(Present("title"), And(Compare("userName", "eq", "x"), Compare("active", "eq", False)))
    assert ids('title pr or userName eq "jsmith" and active eq false') == [BJENSEN["id"], "a1b2"]
    assert ids('title pr or userName eq "nomail" and active eq false') == [BJENSEN["id"]]


def test_not_binds_tighter_than_and():
    tree = parse_filter("not (title pr) and active eq true")
    assert tree == And(Not(Present("title")), Compare("active", "eq", True))
    assert ids("not (title pr) and active eq true") == ["n0"]


def test_parentheses_override_precedence():
    tree = parse_filter('(title pr or userName eq "x") and active eq false')
    assert tree == And(Or(Present("title"), Compare("userName", "eq", "x")), Compare("active", "eq", False))
    assert ids('(title pr or userName eq "jsmith") and active eq false') == ["a1b2"]
    assert ids('((userName eq "nomail"))') == ["n0"]


def test_not_negates_a_parenthesised_filter():
    assert ids('not (userName eq "jsmith")') == [BJENSEN["id"], "n0"]
    assert ids('not (not (userName eq "jsmith"))') == ["a1b2"]
    assert ids('not (emails[type eq "work"])') == ["n0"]


def test_keywords_and_operators_ignore_case():
    assert ids('userName Eq "JSMITH" AND NOT (active EQ true) Or title PR') == [BJENSEN["id"], "a1b2"]
    assert parse_filter('userName EQ "x"') == Compare("userName", "eq", "x")
    assert parse_filter("title Pr") == Present("title")
    assert parse_filter("active eq TRUE").value is True


def test_whitespace_around_tokens_is_free():
    assert ids('  (userName eq"jsmith")or(userName eq "nomail")  ') == ["a1b2", "n0"]


# --- multi-valued, complex and value paths ----------------------------------------------------


def test_sub_attribute_of_a_multi_valued_attribute_matches_if_any_value_matches():
    assert ids('emails.type eq "home"') == [BJENSEN["id"]]
    assert ids('emails.value ew "corp.test"') == ["a1b2"]


def test_complex_multi_valued_attribute_without_sub_attribute_compares_its_value():
    assert ids('emails co "jensen.org"') == [BJENSEN["id"]]
    assert ids('emails eq "JSMITH@corp.test"') == ["a1b2"]
    group = {"id": "g", "displayName": "Admins", "members": [{"value": "u1"}, {"value": "u2"}]}
    assert ids('members eq "u2"', [group], GROUP) == ["g"]
    assert ids('members eq "U2"', [group], GROUP) == []  # members.value is caseExact


def test_value_path_needs_one_value_to_meet_every_condition():
    assert ids('emails[type eq "work" and value co "@"]') == [BJENSEN["id"], "a1b2"]
    assert ids('emails[type eq "work" and value co "jensen.org"]') == []
    # ...whereas sub-attribute filters may be met by different values
    assert ids('emails.type eq "work" and emails.value co "jensen.org"') == [BJENSEN["id"]]


def test_value_path_names_resolve_relative_to_the_parent_attribute():
    assert ids('emails[TYPE eq "home"]') == [BJENSEN["id"]]
    assert ids("emails[primary eq true]") == [BJENSEN["id"]]
    assert ids('addresses[locality eq "hollywood" and country pr]') == [BJENSEN["id"]]


def test_value_path_may_hold_or_not_and_parentheses():
    assert ids('emails[not (type eq "work") or (primary eq true)]') == [BJENSEN["id"]]


def test_value_path_combines_with_other_filters():
    assert ids('active eq false or emails[type eq "home"]') == [BJENSEN["id"], "a1b2"]


def test_value_path_parses_into_a_value_path_node():
    tree = parse_filter('emails[type eq "work" and value co "@"]')
    assert tree == ValuePath("emails", And(Compare("type", "eq", "work"), Compare("value", "co", "@")))


# --- names ---------------------------------------------------------------------------------


def test_urn_qualified_extension_attributes_are_resolved():
    urn = ENTERPRISE_USER
    assert ids(f'{urn}:employeeNumber eq "701984"') == [BJENSEN["id"]]
    assert ids(f'{urn}:manager.value eq "26118915"') == [BJENSEN["id"]]
    assert ids(f'{urn}:manager eq "26118915"') == [BJENSEN["id"]]  # through its value sub-attribute
    assert ids(f"{urn}:employeeNumber pr") == [BJENSEN["id"]]
    assert ids(f'{urn.upper()}:EMPLOYEENUMBER eq "701984"') == [BJENSEN["id"]]


def test_urn_qualified_core_attributes_are_resolved():
    assert ids(f'{CORE_USER}:userName eq "jsmith"') == ["a1b2"]
    assert ids(f'{CORE_USER}:name.givenName eq "barbara"') == [BJENSEN["id"]]


def test_dotted_sub_attributes_and_names_ignore_case():
    assert ids('name.givenName eq "BARBARA"') == [BJENSEN["id"]]
    assert ids('NAME.GIVENNAME sw "bar"') == [BJENSEN["id"]]
    assert ids('USERNAME eq "nomail"') == ["n0"]


def test_schemas_can_be_filtered_like_any_multi_valued_attribute():
    assert ids(f'schemas eq "{ENTERPRISE_USER}"') == [BJENSEN["id"]]


def test_null_comparisons_test_presence():
    assert ids("title eq null") == ["a1b2", "n0"]
    assert ids("title ne null") == [BJENSEN["id"]]
    assert ids("emails eq null") == ["n0"]
    refused("title gt null")


def test_string_values_accept_json_escapes():
    person = {"id": "q", "userName": 'Babs "B" Jensen\\é'}
    assert ids('userName eq "babs \\"b\\" jensen\\\\\\u00e9"', [person]) == ["q"]


def test_compare_nodes_keep_the_value_as_json():
    assert parse_filter('x eq "a"').value == "a"
    assert parse_filter("x eq true").value is True
    assert parse_filter("x eq false").value is False
    assert parse_filter("x eq null").value is None


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "explained"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("userName", "expected an operator"),
        ("userName eq", "expected a value"),
        ('userName equals "x"', "found 'equals' at character 10"),
        ('(userName eq "x"', "expected ')' to close the '(' at character 1"),
        ('userName eq "x")', "unexpected ')' at character 16"),
        ('userName eq "x', "not closed"),
        ('userName eq "\\q"', "not a valid JSON string"),
        ("userName eq bjensen", '"quoted string"'),
        ('userName eq "x" and', "the text ended"),
        ('userName eq "x" garbage', "unexpected 'garbage'"),
        ('not userName eq "x"', "parenthesised"),
        ('emails[type eq "work"', "expected ']'"),
        ('emails[type eq "work"]]', "unexpected ']'"),
        ('emails[addresses[type eq "x"]]', "cannot be nested"),
        ('"userName" eq "x"', "expected an attribute name"),
        ("userName eq 1.", "expected a value"),
        ('user name eq "x"', "expected an operator"),
        ('userName eq "a" or or userName eq "b"', "expected an attribute name"),
        ("()", "expected an attribute name"),
    ],
)
def test_a_filter_that_does_not_parse_is_invalid_filter_saying_where(text, explained):
    error = refused(text)
    assert explained in error.detail


def test_parse_filter_alone_reports_syntax_errors_as_invalid_filter():
    with pytest.raises(ScimError) as caught:
        parse_filter("userName eq")
    assert caught.value.scim_type == "invalidFilter"


@pytest.mark.parametrize(
    ("text", "name", "rtype"),
    [
        ('nickname eq "x"', "nickname", GALAXY.user),
        ('emails[type eq "work"]', "emails", GALAXY.user),
        ('name.formatted eq "x"', "name.formatted", GALAXY.user),
        (f'{ENTERPRISE_USER}:employeeNumber eq "1"', f"{ENTERPRISE_USER}:employeeNumber", GALAXY.user),
        ('foo eq "x"', "foo", USER),
        ('name.nope eq "x"', "name.nope", USER),
        ('emails[nope eq "x"]', "nope", USER),
        ('urn:example:unknown:schema:attr eq "x"', "urn:example:unknown:schema:attr", USER),
        ('userName eq "x" and members eq "y"', "members", USER),
    ],
)
def test_an_unknown_attribute_is_invalid_filter_naming_it(text, name, rtype):
    error = refused(text, rtype)
    assert isinstance(error, UnknownAttribute)
    assert error.name == name
    assert f"unknown attribute '{name}'" in error.detail


@pytest.mark.parametrize(
    ("text", "explained"),
    [
        ('active eq "x"', "true or false"),
        ("active eq 1", "true or false"),
        ("active gt true", "cannot be ordered"),
        ('active co "t"', "only to string"),
        ("userName eq true", "quoted string"),
        ('meta.lastModified gt "yesterday"', "ISO-8601"),
        ("meta.lastModified gt 5", "ISO-8601"),
        ('meta.lastModified co "2011"', "only to string"),
        ('name eq "Barbara"', "complex attribute"),
        ('x509Certificates.value gt "MII"', "cannot be ordered"),
        ('x509Certificates.value sw "MII"', "only to string"),
        ('userName[value eq "x"]', "only a complex attribute"),
        ("emails[type gt null]", "only eq and ne"),
    ],
)
def test_a_comparison_that_does_not_fit_the_attribute_type_is_invalid_filter(text, explained):
    error = refused(text)
    assert explained in error.detail
    assert text in error.detail  # the detail quotes the filter


def test_a_filter_on_the_password_is_refused_without_repeating_the_value():
    error = refused('password eq "hunter2-secret"')
    assert "write-only" in error.detail and error.scim_type == "invalidFilter"
    assert "hunter2-secret" not in error.detail


@pytest.mark.parametrize("text", ["", "   ", 5, None, ["userName pr"]])
def test_an_empty_or_non_string_filter_is_invalid_filter(text):
    # RFC 7644 §3.4.2.2 has no empty filter; a filter is always a string.
    with pytest.raises(ScimError) as caught:
        parse_filter(text)  # type: ignore[arg-type]
    assert caught.value.status == 400 and caught.value.scim_type == "invalidFilter"


def test_a_deeply_nested_filter_is_refused_not_crashed():
    refused("(" * 5000 + 'userName eq "x"' + ")" * 5000)


def test_stored_values_of_the_wrong_type_never_match_or_crash():
    odd = {"id": "odd", "userName": 7, "active": "yes", "meta": {"lastModified": "not a date"}, "emails": "x"}
    for text in (
        'userName eq "7"',
        'userName co "7"',
        "active eq true",
        'meta.lastModified gt "2000-01-01T00:00:00Z"',
    ):
        assert ids(text, [odd]) == []
    assert ids('emails[type eq "work"]', [odd]) == []
    assert ids('emails.type eq "work"', [odd]) == []


def test_evaluating_a_compiled_filter_over_fifty_thousand_resources_is_cheap():
    population = [
        {
            "id": str(i),
            "userName": f"user{i}@example.com",
            "active": i % 2 == 0,
            "emails": [{"value": f"u{i}@x"}],
        }
        for i in range(50_000)
    ]
    predicate = compile_filter('userName sw "USER4" and (active eq true or emails co "@x")', USER)
    started = time.perf_counter()
    found = sum(1 for r in population if predicate(r))
    elapsed = time.perf_counter() - started
    assert found == 11_111
    assert elapsed < 1.0, f"{elapsed:.2f}s for 50,000 resources"


# --- equality_lookup ---------------------------------------------------------------------------


def test_equality_lookup_names_the_index_for_the_queries_entra_makes():
    assert equality_lookup('userName eq "BJensen"', USER) == ("userName", "BJensen")
    assert equality_lookup('externalId eq "x"', USER) == ("externalId", "x")
    assert equality_lookup('id eq "2819c223"', USER) == ("id", "2819c223")
    assert equality_lookup('displayName eq "grp"', GROUP) == ("displayName", "grp")
    assert equality_lookup('id eq "g1"', GROUP) == ("id", "g1")
    assert equality_lookup('externalId eq "8aa1a0c0"', GROUP) == ("externalId", "8aa1a0c0")


def test_equality_lookup_returns_canonical_names_however_they_were_spelled():
    assert equality_lookup('USERNAME EQ "x"', USER) == ("userName", "x")
    assert equality_lookup(f'{CORE_USER}:userName eq "x"', USER) == ("userName", "x")
    assert equality_lookup(parse_filter('userName eq "x"'), GALAXY.user) == ("userName", "x")


def test_equality_lookup_declines_anything_but_a_lone_string_equality_on_an_indexed_attribute():
    for text in (
        'userName eq "x" and active eq true',
        'userName ne "x"',
        'userName co "x"',
        "userName eq null",
        "userName pr",
        'displayName eq "x"',  # not unique on Users, so not indexed
        'title eq "x"',
        'emails.value eq "x"',
        'emails[value eq "x"]',
        f'{ENTERPRISE_USER}:employeeNumber eq "x"',
        'not (userName eq "x")',
    ):
        assert equality_lookup(text, USER) is None, text


def test_equality_lookup_on_text_that_does_not_parse_is_invalid_filter():
    with pytest.raises(ScimError) as caught:
        equality_lookup("userName eq", USER)
    assert caught.value.scim_type == "invalidFilter"


# --- PATCH paths ---------------------------------------------------------------------------


def test_patch_path_resolves_a_plain_attribute():
    path = parse_path("userName", USER)
    assert path.attribute.name == "userName"
    assert path.sub is None and path.value_filter is None and path.predicate is None
    assert path.dotted() == "userName"


def test_patch_path_resolves_dotted_and_urn_qualified_names():
    assert parse_path("name.givenName", USER).dotted() == "name.givenName"
    path = parse_path(f"{ENTERPRISE_USER}:employeeNumber", USER)
    assert path.extension == ENTERPRISE_USER and path.attribute.name == "employeeNumber"
    path = parse_path(f"{ENTERPRISE_USER}:manager.value", USER)
    assert (path.extension, path.attribute.name, path.sub.name) == (ENTERPRISE_USER, "manager", "value")
    assert parse_path(f"{CORE_USER}:name.familyName", USER).dotted() == "name.familyName"


def test_patch_path_with_a_value_filter_selects_elements():
    path = parse_path('members[value eq "7f4b"]', GROUP)
    assert path.attribute.name == "members" and path.sub is None
    assert path.predicate({"value": "7f4b"}) and not path.predicate({"value": "7F4B"})
    assert path.eq_terms() == {"value": "7f4b"}
    assert path.value_filter == Compare("value", "eq", "7f4b")


def test_patch_path_with_a_value_filter_and_a_sub_attribute():
    path = parse_path('emails[type eq "work"].value', USER)
    assert path.dotted() == "emails.value"
    assert path.predicate({"type": "Work", "value": "a"})  # type is not caseExact
    assert not path.predicate({"type": "home"})
    assert path.eq_terms() == {"type": "work"}


def test_patch_path_names_ignore_case_and_come_back_canonical():
    path = parse_path('EMAILS[TYPE eq "work"].VALUE', USER)
    assert (path.attribute.name, path.sub.name) == ("emails", "value")
    assert path.eq_terms() == {"type": "work"}


def test_eq_terms_exist_only_for_and_chains_of_eq():
    assert parse_path('emails[type eq "work" and primary eq true].value', USER).eq_terms() == {
        "type": "work",
        "primary": True,
    }
    assert parse_path('emails[type eq "work" or type eq "home"]', USER).eq_terms() is None
    assert parse_path('emails[value co "@"]', USER).eq_terms() is None
    assert parse_path('emails[not (type eq "work")]', USER).eq_terms() is None
    assert parse_path("emails", USER).eq_terms() is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        'emails[type eq "work"',
        'emails[type eq "work"]value',
        'emails[type eq "work"].value.more',
        'emails[type eq "work"] extra',
        "userName extra",
        '"userName"',
        "emails[]",
        'userName[value eq "x"]',
        'name.givenName[value eq "x"]',
        "emails[type eq 5]",
        "emails[type gt true]",
    ],
)
def test_a_malformed_patch_path_is_invalid_path(text):
    with pytest.raises(ScimError) as caught:
        parse_path(text, USER)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidPath")
    assert not isinstance(caught.value, UnknownAttribute)


@pytest.mark.parametrize(
    ("text", "rtype"),
    [
        ("nickName", GALAXY.user),
        ('emails[type eq "work"].value', GALAXY.user),
        (f"{ENTERPRISE_USER}:employeeNumber", GALAXY.user),
        ("name.formatted", GALAXY.user),
        ("foo", USER),
        ('emails[type eq "work"].nope', USER),
        ('emails[nope eq "x"].value', USER),
        ("members", USER),
    ],
)
def test_a_patch_path_to_an_unknown_attribute_is_a_distinguishable_invalid_path(text, rtype):
    with pytest.raises(UnknownAttribute) as caught:
        parse_path(text, rtype)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidPath")


RFC_7644_EXAMPLES = [
    'userName eq "bjensen"',
    'name.familyName co "O\'Malley"',
    'userName sw "J"',
    'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
    "title pr",
    'meta.lastModified gt "2011-05-13T04:42:34Z"',
    'meta.lastModified ge "2011-05-13T04:42:34Z"',
    'meta.lastModified lt "2011-05-13T04:42:34Z"',
    'meta.lastModified le "2011-05-13T04:42:34Z"',
    'title pr and userType eq "Employee"',
    'title pr or userType eq "Intern"',
    'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
    'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
    'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
    'userType eq "Employee" and (emails.type eq "work")',
    'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
    'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
]


@pytest.mark.parametrize("text", RFC_7644_EXAMPLES)
def test_every_example_filter_of_rfc_7644_compiles_against_the_full_profile(text):
    predicate = compile_filter(text, USER)
    assert all(predicate(r) in (True, False) for r in PEOPLE)


def test_a_long_chain_of_and_or_or_compiles_and_evaluates_without_deep_recursion():
    terms = [f'userName eq "u{i}"' for i in range(5000)]
    assert ids(" or ".join([*terms, 'userName eq "nomail"'])) == ["n0"]
    assert ids(" and ".join(["active eq true"] * 5000)) == [BJENSEN["id"], "n0"]
