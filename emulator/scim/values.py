"""Type checking and coercion of JSON values against one attribute definition (RFC 7643 §2.3),
and the small value helpers the other SCIM modules share.

Every value a client sends (POST/PUT bodies, PATCH operation values) passes through `coerce`, so
stored resources only ever hold values of the declared type under canonical sub-attribute names.
This runs once per attribute per request, so it avoids building strings unless it has to fail.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from emulator.scim.errors import ScimError, invalid_value
from emulator.scim.schema import Attribute

# --- shared helpers ---------------------------------------------------------------------------


def is_empty(value: Any) -> bool:
    """RFC 7643 §2.5: null, an empty array and (by extension) an empty object mean unassigned.

    An empty string counts too: POST, PUT and PATCH all read `""` as "no value", because Entra's
    validator clears attributes with empty strings before it tries nulls (reference scim.md §2.2).
    """
    return value is None or value == "" or value == [] or value == {}


def without_subs(value: Any, names: Collection[str]) -> Any:
    """`value` (a complex value, or a list of values) without the sub-attributes in `names`.

    In a list, dict elements left empty are dropped and other elements are kept as they are; a
    single dict may come back empty, and the caller decides what that means. The input is never
    modified.
    """
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in names}
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict):
                item = {k: v for k, v in item.items() if k not in names}
                if not item:
                    continue
            out.append(item)
        return out
    return value


def equal(attr: Attribute | None, a: Any, b: Any) -> bool:
    """Whether two stored values of `attr` are the same, honouring caseExact (RFC 7643 §2.3.1)."""
    if attr is not None and not attr.case_exact and isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b


def parse_instant(text: Any) -> datetime | None:
    """An ISO-8601 dateTime string (RFC 7643 §2.3.5) as an aware instant, or None.

    A value without a zone is read as UTC. RFC 3339 allows a lower-case "t" and "z", which
    `datetime.fromisoformat` does not, so those are retried upper-cased.
    """
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.upper())
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_secret(attr: Attribute) -> bool:
    """A writeOnly or returned=never attribute (password): its values never appear in any answer,
    error details included."""
    return attr.mutability == "writeOnly" or attr.returned == "never"


# --- coerce -----------------------------------------------------------------------------------

_EXPECTED = {
    "string": "a string",
    "reference": "a string (URI reference)",
    "binary": "a string (base64)",
    "boolean": 'a boolean (true/false, or the string "true"/"false")',
    "integer": "an integer",
    "decimal": "a number",
    "dateTime": 'an ISO-8601 date-time string such as "2024-01-31T12:00:00Z"',
    "complex": "a JSON object",
}


def json_type(value: Any) -> str:
    """The JSON type name of `value`, for error details a person can act on."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _wrong(attr: Attribute, value: Any, where: str, name: str | None) -> ScimError:
    expected = _EXPECTED.get(attr.type, attr.type)
    got = json_type(value)
    if is_secret(attr) or isinstance(value, (dict, list)):
        # The value of a write-only attribute (password) never goes back to the client or into
        # the exchange log, not even when it is rejected: only its JSON type is named.
        return invalid_value(f"{where}: attribute '{name or attr.name}' must be {expected}, got {got}")
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return invalid_value(f"{where}: attribute '{name or attr.name}' must be {expected}, got {got} {shown}")


def _string(attr: Attribute, value: Any, where: str, name: str | None) -> Any:
    if isinstance(value, str):
        return value
    raise _wrong(attr, value, where, name)


def _boolean(attr: Attribute, value: Any, where: str, name: str | None) -> Any:
    if value is True or value is False:
        return value
    if isinstance(value, str):
        # Entra's default mapping for `active` is the expression Switch([IsSoftDeleted], ...) which
        # yields the strings "True"/"False", and integrators report lowercase "false" too
        # (reference entra-and-galaxy.md §1.5, §1.6 "Disable user"). Accept any letter case.
        lowered = value.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    raise _wrong(attr, value, where, name)


def _integer(attr: Attribute, value: Any, where: str, name: str | None) -> Any:
    # bool is a subclass of int in Python, but JSON true is not an integer.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _wrong(attr, value, where, name)


def _decimal(attr: Attribute, value: Any, where: str, name: str | None) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise _wrong(attr, value, where, name)


def _date_time(attr: Attribute, value: Any, where: str, name: str | None) -> Any:
    # Stored as sent (clients compare what they wrote); only checked to be parseable, so that
    # filters and sorting can rely on it.
    if parse_instant(value) is not None:
        return value
    raise _wrong(attr, value, where, name)


_Checker = Callable[[Attribute, Any, str, str | None], Any]

_SIMPLE: dict[str, _Checker] = {
    "string": _string,
    "reference": _string,
    "binary": _string,
    "boolean": _boolean,
    "integer": _integer,
    "decimal": _decimal,
    "dateTime": _date_time,
}


def _complex(attr: Attribute, value: Any, where: str, name: str | None) -> dict:
    if not isinstance(value, dict):
        raise _wrong(attr, value, where, name)
    out: dict = {}
    for key, sub_value in value.items():
        if sub_value is None or sub_value == "":
            continue  # "" is "no value", as for top-level attributes (see is_empty)
        sub = attr.sub(key)
        if sub is None:
            continue  # unknown sub-attribute: dropped (the galaxy profile stores a subset)
        if sub.multi_valued:
            sub_value = coerce(sub, sub_value, where, name=f"{name or attr.name}.{sub.name}")
        else:
            check = _SIMPLE.get(sub.type)
            if check is None:  # RFC 7643 §2.3.8: sub-attributes are never complex themselves
                raise invalid_value(f"{where}: attribute '{name or attr.name}.{sub.name}' is not settable")
            sub_value = check(sub, sub_value, where, f"{name or attr.name}.{sub.name}")
        out[sub.name] = sub_value
    return out


def coerce(attr: Attribute, value: Any, where: str, *, name: str | None = None) -> Any:
    """Check `value` against `attr` and return it in canonical form; None means "absent".

    `where` says which part of the request held the value (e.g. "request body" or "PATCH
    operation 2") and `name` the attribute's full path for the error detail (defaults to
    `attr.name`); a wrong type raises ScimError 400 invalidValue naming both.

    Complex values keep only known sub-attributes, renamed to their canonical spelling, with
    nulls and empty strings dropped. A multi-valued attribute always yields a list: a lone value
    is wrapped, null elements and complex elements left empty after dropping are removed (RFC
    7643 §2.5 treats null and unassigned alike). Empty lists and dicts are returned as such; callers decide
    whether that means "unassigned".
    """
    if value is None:
        return None
    if attr.multi_valued:
        if not isinstance(value, list):
            value = [value]
        out = []
        if attr.type == "complex":
            for item in value:
                if item is not None:
                    item = _complex(attr, item, where, name)
                    if item:
                        out.append(item)
        else:
            check = _SIMPLE.get(attr.type, _string)
            for item in value:
                if item is not None:
                    out.append(check(attr, item, where, name))
        return out
    if attr.type == "complex":
        return _complex(attr, value, where, name)
    return _SIMPLE.get(attr.type, _string)(attr, value, where, name)
