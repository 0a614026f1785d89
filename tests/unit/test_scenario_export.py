"""The pieces behind `GET /_emulator/scenario/export`: the TOML writer reads back equal with
tomllib, and the scenario format's additions for exports (password hashes, app roles and
assignments with a role) are validated like the rest of a file."""

from __future__ import annotations

import tomllib

import pytest

from emulator.hashing import hash_password, looks_like_password_hash
from emulator.scenarios import ScenarioError
from emulator.scenarios.export import to_toml
from emulator.scenarios.loader import load_text

ADA = '[[users]]\nuserPrincipalName = "ada@acme.com"\ndisplayName = "Ada"\n'


@pytest.mark.parametrize(
    "data",
    [
        {"scenario": {"name": "plain", "description": ""}},
        {"t": {"quote": 'say "hi"', "backslash": "C:\\path\\", "tab": "a\tb", "bell": "\x07", "del": "\x7f"}},
        {"t": {"unicode": "Friedrichstraße 123 — 東京", "emoji": "\U0001f600", "cr": "a\rb"}},
        {"t": {"pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "q": 'x"""y\n'}},
        {"t": {"int": 25, "float": 0.4, "tiny": 1e-05, "big": 10**12, "yes": True, "no": False}},
        {"t": {"list": ["a", "b"], "empty": [], "mixed": ["A", {"principal": "B", "role": "R"}]}},
        {"users": [{"id": "1", "enabled": False}, {"id": "2"}], "app": {"roles": [{"value": "R"}]}},
        {"app": {"provisioning": {"userMappings": [{"target": 'emails[type eq "work"].value'}]}}},
        {"galaxy": {"users": [{"email": "e@x.com"}], "sso": {"certificate": "c"}}},
        {"t": {"key with space": 1, "dotted.key": {"inner": "v"}, "": "empty key"}},
        {"t": {"long": ["x" * 40, "y" * 40, "z" * 40]}},
    ],
)
def test_the_toml_writer_reads_back_equal(data: dict) -> None:
    assert tomllib.loads(to_toml(data, header=["a comment", "", "another"])) == data


def test_the_toml_writer_writes_tables_of_entries_as_people_do() -> None:
    text = to_toml({"users": [{"id": "1"}, {"id": "2"}], "galaxy": {"sso": {"loginUrl": "u"}}}, header=["hi"])
    assert text.splitlines() == [
        "# hi",
        "",
        "[[users]]",
        'id = "1"',
        "",
        "[[users]]",
        'id = "2"',
        "",
        "[galaxy.sso]",
        'loginUrl = "u"',
    ]


def test_the_toml_writer_refuses_what_toml_cannot_hold() -> None:
    with pytest.raises(TypeError, match="NoneType"):
        to_toml({"t": {"nothing": None}})


def test_a_password_hash_is_recognised_by_shape() -> None:
    assert looks_like_password_hash(hash_password("secret"))
    for bad in ("", "secret", "pbkdf2_sha256$x$a$b", "md5$1$AAAA$AAAA", "pbkdf2_sha256$1$AAAA$AAAA"):
        assert not looks_like_password_hash(bad), bad


def test_users_and_galaxy_users_may_carry_a_password_hash_instead_of_a_password() -> None:
    stored = hash_password("Acme-1!")
    scenario = load_text(
        ADA + f'passwordHash = "{stored}"\n'
        f'[[galaxy.users]]\nemail = "ops@acme.com"\npasswordHash = "{stored}"\n'
    )
    assert scenario.users[0].password_hash == stored and scenario.users[0].password is None
    assert scenario.galaxy_users[0].as_dict() == {
        "email": "ops@acme.com",
        "roles": [],
        "passwordHash": stored,
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (ADA + 'passwordHash = "plain"\n', "users[0].passwordHash: is not a password hash as the emulator"),
        (
            ADA + 'password = "p"\npasswordHash = "{hash}"\n',
            "users[0].passwordHash: give password or passwordHash",
        ),
        ('[[galaxy.users]]\nemail = "o@a.com"\n', "galaxy.users[0].password: is required"),
        ('[[app.roles]]\nvalue = "Data Admin"\n', "app.roles[0].value: 'Data Admin' has a space"),
        ('[[app.roles]]\nvalue = "R"\n[[app.roles]]\nvalue = "r"\n', "app.roles[1].value: 'r' is already"),
        (
            ADA + '[app]\nassignments = [{ principal = "ada@acme.com", role = "Nope" }]\n',
            "app.assignments[0].role",
        ),
        (ADA + '[app]\nassignments = [{ role = "R" }]\n', "app.assignments[0].principal: is required"),
        (
            ADA + '[app]\nassignments = [{ principal = "ada@acme.com", x = 1 }]\n',
            "app.assignments[0].x: unknown",
        ),
        ("[app]\nassignments = [5]\n", "app.assignments[0]: expected the name of a user or group"),
    ],
)
def test_export_keys_are_validated_like_the_rest(text: str, problem: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_text(text.replace("{hash}", hash_password("p")), source="s.toml")
    assert caught.value.problems[0].startswith(problem), caught.value.problems


def test_assignments_may_carry_a_declared_role_matched_case_insensitively() -> None:
    scenario = load_text(
        ADA + '[app]\nassignments = [{ principal = "ADA@acme.com", role = "dataadmin" }]\n'
        '[[app.roles]]\nvalue = "DataAdmin"\ndisplayName = "Data admin"\n'
    )
    assert scenario.app.assignments == ("ADA@acme.com",)
    assert scenario.app.role_of("ada@acme.com") == "DataAdmin"
    assert [(r.value, r.display_name) for r in scenario.app.roles] == [("DataAdmin", "Data admin")]
