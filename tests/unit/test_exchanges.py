"""The exchange log's redaction and its listing, which must never fail whatever was recorded."""

from __future__ import annotations

import json

import orjson
import pytest

from emulator.galaxy.exchanges import MAX_DEPTH, NESTED, REDACTED, ExchangeLog, redact

CORE_PASSWORD = "urn:ietf:params:scim:schemas:core:2.0:User:password"


@pytest.mark.parametrize("key", ["password", "Password", "PASSWORD", CORE_PASSWORD, CORE_PASSWORD.upper()])
def test_secret_members_are_redacted_in_any_case_and_urn_qualified(key: str) -> None:
    body = {"userName": "ada", key: "hunter2", "nested": [{key: "hunter2"}]}
    assert redact(body) == {"userName": "ada", key: REDACTED, "nested": [{key: REDACTED}]}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "password", "value": "hunter2"},
        {"Op": "Replace", "Path": "password", "Value": "hunter2"},
        {"OP": "add", "PATH": "Password", "VALUE": "hunter2"},
        {"op": "replace", "path": CORE_PASSWORD, "value": "hunter2"},
        {"op": "replace", "path": " password ", "value": "hunter2"},
        {"op": "replace", "value": {"Password": "hunter2"}},
        {"op": "replace", "value": {CORE_PASSWORD: "hunter2"}},
        {"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:User": {"password": "hunter2"}}},
    ],
)
def test_patch_operations_on_the_password_are_redacted(operation: dict) -> None:
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [operation]}
    assert "hunter2" not in json.dumps(redact(body))


def test_other_patch_operations_keep_their_values() -> None:
    operation = {"Op": "Replace", "Path": "displayName", "Value": "Ada"}
    assert redact(operation) == operation


def test_values_nested_deeper_than_the_limit_become_a_placeholder() -> None:
    deep: object = "bottom"
    for _ in range(5 * MAX_DEPTH):
        deep = {"a": [deep]}
    shown = redact(deep)
    depth = 0
    while isinstance(shown, (dict, list)):
        shown = shown["a"] if isinstance(shown, dict) else shown[0]
        depth += 1
    assert shown == NESTED and depth == MAX_DEPTH


def entries_after(request_body: bytes | None, response_body: bytes | None = None) -> list[dict]:
    log = ExchangeLog(10)
    log.record({"method": "POST", "path": "/Users", "status": 400}, request_body, response_body)
    return log.query()


def test_a_body_that_is_not_json_is_never_shown_as_text() -> None:
    raw = b'{"userName": "ada", "password": "hunter2"'
    (entry,) = entries_after(raw)
    assert entry["request"]["body"] == f"<{len(raw)} bytes, not JSON>"


def test_the_listing_never_fails_and_is_always_json_encodable() -> None:
    too_deep_for_orjson = b"[" * 5000 + b"]" * 5000
    deep_enough = b'{"a":' * 1000 + b"1" + b"}" * 1000
    for body in (too_deep_for_orjson, deep_enough, b"\xff\xfe", b"x" * 100_000, b"null"):
        (entry,) = entries_after(body, body)
        json.dumps(entry)  # what the control route does
        orjson.dumps(entry)


def test_a_query_naming_the_password_is_hidden_in_the_listing() -> None:
    from emulator.galaxy.exchanges import redact_path

    assert (
        redact_path('/Users?filter=password eq "hunter2"&count=1')
        == "/Users?filter=[redacted]&count=[redacted]"
    )
    assert redact_path('/Users?filter=userName eq "a"') == '/Users?filter=userName eq "a"'
    assert redact_path("/Users") == "/Users"
