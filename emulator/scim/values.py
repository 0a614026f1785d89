"""Type checking and coercion of JSON values against one attribute definition (RFC 7643 §2.3).

Every value a client sends (POST/PUT bodies, PATCH operation values) passes through `coerce`, so
stored resources only ever hold values of the declared type under canonical sub-attribute names.
This runs once per attribute per request, so it avoids building strings unless it has to fail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from emulator.scim.errors import ScimError, invalid_value
from emulator.scim.schema import Attribute

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


def _json_type(value: Any) -> str:
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
    shown = repr(value) if not isinstance(value, (dict, list)) else _json_type(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    expected = _EXPECTED.get(attr.type, attr.type)
    return invalid_value(
        f"{where}: attribute '{name or attr.name}' must be {expected}, got {_json_type(value)} {shown}"
    )


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
    # filters and sorting can rely on it. fromisoformat in 3.11 accepts "Z" and offsets.
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
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
        if sub_value is None:
            continue
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
    nulls dropped. A multi-valued attribute always yields a list: a lone value is wrapped, null
    elements and complex elements left empty after dropping are removed (RFC 7643 §2.5 treats
    null and unassigned alike). Empty lists and dicts are returned as such; callers decide
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
