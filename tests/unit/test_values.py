"""values.coerce: every value a client sends is checked against its attribute definition."""

import pytest

from emulator.scim.errors import ScimError
from emulator.scim.schema import Attribute, build_profile
from emulator.scim.values import coerce, equal, is_empty, parse_instant, without_subs

FULL = build_profile("full").user
GALAXY = build_profile("galaxy").user


def attr(name: str, rtype=FULL) -> Attribute:
    path = rtype.resolve(name)
    assert path is not None
    return path.leaf


def rejects(attribute: Attribute, value, where: str = "request body", **kw) -> ScimError:
    with pytest.raises(ScimError) as caught:
        coerce(attribute, value, where, **kw)
    assert caught.value.status == 400
    assert caught.value.scim_type == "invalidValue"
    assert where in caught.value.detail
    return caught.value


def test_null_means_absent():
    assert coerce(attr("userName"), None, "request body") is None
    assert coerce(attr("emails"), None, "request body") is None
    assert coerce(attr("name"), None, "request body") is None


def test_string_is_kept_as_sent():
    assert coerce(attr("userName"), "Ada@Example.com", "request body") == "Ada@Example.com"
    assert coerce(attr("userName"), "", "request body") == ""


@pytest.mark.parametrize("value", [5, 1.5, True, ["a"], {"a": 1}])
def test_string_rejects_other_json_types(value):
    error = rejects(attr("userName"), value)
    assert "'userName'" in error.detail
    assert "string" in error.detail


def test_reference_and_binary_are_strings():
    assert coerce(attr("profileUrl"), "https://example.com/ada", "x") == "https://example.com/ada"
    assert coerce(attr("x509Certificates.value"), "TUlJREVE", "x") == "TUlJREVE"
    rejects(attr("profileUrl"), 42)
    rejects(attr("x509Certificates.value"), 42)


def test_boolean_accepts_json_booleans():
    assert coerce(attr("active"), True, "x") is True
    assert coerce(attr("active"), False, "x") is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [("True", True), ("False", False), ("true", True), ("false", False), ("TRUE", True), ("fAlSe", False)],
)
def test_boolean_accepts_entra_string_booleans_in_any_case(text, expected):
    # Entra's default `active` mapping sends "True"/"False" strings (reference §1.6).
    assert coerce(attr("active"), text, "PATCH operation 1") is expected


@pytest.mark.parametrize("value", ["yes", "1", "", 1, 0, 1.0, [True], {"value": True}])
def test_boolean_rejects_anything_else(value):
    error = rejects(attr("active"), value, "PATCH operation 1")
    assert "'active'" in error.detail
    assert "boolean" in error.detail


def test_integer_accepts_int_but_not_bool_float_or_string():
    integer = Attribute("loginCount", "integer")
    assert coerce(integer, 7, "x") == 7
    assert coerce(integer, -3, "x") == -3
    for value in (True, 1.5, 2.0, "7"):
        assert "integer" in rejects(integer, value).detail


def test_decimal_accepts_int_and_float_but_not_bool_or_string():
    decimal = Attribute("score", "decimal")
    assert coerce(decimal, 7, "x") == 7
    assert coerce(decimal, 0.25, "x") == 0.25
    for value in (False, "0.25"):
        assert "number" in rejects(decimal, value).detail


@pytest.mark.parametrize(
    "text", ["2024-01-31T12:00:00Z", "2024-01-31T12:00:00.123+02:00", "2024-01-31T12:00:00", "2024-01-31"]
)
def test_date_time_accepts_iso_8601_and_keeps_the_text(text):
    assert coerce(attr("meta.lastModified"), text, "filter") == text


@pytest.mark.parametrize("value", ["yesterday", "31/01/2024", "", 1706702400])
def test_date_time_rejects_unparseable_values(value):
    error = rejects(attr("meta.lastModified"), value)
    assert "ISO-8601" in error.detail


def test_complex_keys_are_matched_case_insensitively_and_renamed():
    value = coerce(attr("name"), {"GIVENNAME": "Ada", "familyname": "Lovelace"}, "x")
    assert value == {"givenName": "Ada", "familyName": "Lovelace"}


def test_complex_drops_unknown_and_null_sub_attributes():
    value = coerce(attr("name"), {"givenName": "Ada", "nickname": "A", "familyName": None}, "x")
    assert value == {"givenName": "Ada"}


def test_complex_in_the_galaxy_profile_keeps_only_stored_sub_attributes():
    name = attr("name", GALAXY)
    value = coerce(name, {"formatted": "Ada Lovelace", "givenName": "Ada", "middleName": "B"}, "x")
    assert value == {"givenName": "Ada"}


def test_complex_coerces_each_sub_attribute():
    value = coerce(attr("emails"), [{"value": "a@example.com", "primary": "True"}], "x")
    assert value == [{"value": "a@example.com", "primary": True}]


def test_complex_sub_attribute_type_error_names_the_full_path():
    error = rejects(attr("emails"), [{"value": "a@example.com", "primary": "maybe"}], "PATCH operation 3")
    assert "'emails.primary'" in error.detail
    assert "PATCH operation 3" in error.detail


def test_complex_rejects_a_non_object():
    error = rejects(attr("name"), "Ada Lovelace")
    assert "'name'" in error.detail
    assert "object" in error.detail


def test_multi_valued_wraps_a_single_value_into_a_list():
    assert coerce(attr("emails"), {"value": "a@example.com"}, "x") == [{"value": "a@example.com"}]


def test_multi_valued_drops_null_and_emptied_elements():
    members = build_profile("galaxy").group.resolve("members").attribute
    value = coerce(members, [None, {"$ref": None, "value": "u1"}, {"unknown": 1}, {}], "x")
    assert value == [{"value": "u1"}]


def test_multi_valued_empty_list_stays_an_empty_list():
    assert coerce(attr("roles"), [], "x") == []


def test_multi_valued_element_type_error_is_reported():
    error = rejects(attr("emails"), [{"value": "a@example.com"}, "b@example.com"])
    assert "'emails'" in error.detail


def test_name_keyword_overrides_the_path_in_the_detail():
    urn_name = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
    employee_number = FULL.resolve(urn_name).attribute
    error = rejects(employee_number, 12345, name=urn_name)
    assert urn_name in error.detail


def test_error_detail_shows_the_offending_value():
    error = rejects(attr("active"), "enabled")
    assert "'enabled'" in error.detail


@pytest.mark.parametrize("value", [123456789, True, 1.25])
@pytest.mark.parametrize("rtype", [FULL, GALAXY])
def test_error_detail_never_repeats_a_write_only_value(rtype, value):
    error = rejects(attr("password", rtype), value)
    assert "'password'" in error.detail and "string" in error.detail
    assert repr(value) not in error.detail


def test_empty_string_sub_attributes_are_dropped_like_nulls():
    # "" means "no value" for POST, PUT and PATCH alike (values.is_empty).
    assert coerce(attr("name"), {"givenName": "Ada", "familyName": ""}, "x") == {"givenName": "Ada"}
    assert coerce(attr("emails"), [{"value": "", "type": "work"}], "x") == [{"type": "work"}]


@pytest.mark.parametrize("text", ["2024-01-31t12:00:00z", "2024-01-31T12:00:00z"])
def test_date_time_accepts_rfc_3339_lower_case_separators(text):
    # One ISO parser (values.parse_instant) for coerce, filters and sorting: filters already
    # accepted these, so coerce must too.
    assert coerce(attr("meta.lastModified"), text, "x") == text


def test_parse_instant_reads_zones_and_treats_a_missing_zone_as_utc():
    assert parse_instant("2024-01-31T12:00:00Z") == parse_instant("2024-01-31T13:00:00+01:00")
    assert parse_instant("2024-01-31T12:00:00") == parse_instant("2024-01-31T12:00:00Z")
    assert parse_instant("2024-01-31t12:00:00z") == parse_instant("2024-01-31T12:00:00Z")
    assert parse_instant("yesterday") is None and parse_instant(5) is None


def test_without_subs_drops_names_and_emptied_list_elements():
    assert without_subs({"a": 1, "b": 2}, {"b"}) == {"a": 1}
    assert without_subs([{"a": 1, "b": 2}, {"b": 3}, "x"], {"b"}) == [{"a": 1}, "x"]
    assert without_subs("plain", {"b"}) == "plain"


def test_is_empty_and_equal():
    assert all(is_empty(v) for v in (None, "", [], {}))
    assert not any(is_empty(v) for v in (0, False, " ", [None], {"a": None}))
    assert equal(attr("userName"), "Ada", "ADA") and not equal(attr("id"), "Ada", "ADA")
    assert equal(None, 1, 1) and not equal(None, "a", "A")
