"""Galaxy's sign-in service, piece by piece: certificates and metadata as administrators paste or
point to them, the refusal mapping for pysaml2's exceptions, RelayState safety, SAML times."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from emulator.clock import ManualClock
from emulator.galaxy.directory import GalaxyDirectory
from emulator.galaxy.sso.acs import decode_saml_response, parse_instant
from emulator.galaxy.sso.direct_users import ACCOUNTADMIN_EMAIL, DirectUserError, DirectUsers
from emulator.galaxy.sso.metadata import (
    SpValues,
    SsoConfigError,
    idp_metadata_xml,
    manual_trust,
    parse_certificates,
    trust_from_metadata,
)
from emulator.galaxy.sso.refusals import LoginRefused, RefusalCode, refusal_from_exception
from emulator.galaxy.sso.service import GalaxySso
from emulator.saml.errors import SignatureRejected
from emulator.scim.schema import build_profile
from emulator.store import Store
from tests.galaxy_saml import ISSUER, LOGIN_URL, KeyPair, StandInIdp


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    return KeyPair.generate()


def test_galaxys_values_for_entra_live_under_its_mount() -> None:
    values = SpValues.for_base("http://127.0.0.1:8000/galaxy")
    assert values.entity_id == "http://127.0.0.1:8000/galaxy/saml"
    assert values.reply_url == "http://127.0.0.1:8000/galaxy/saml/acs"
    assert values.relay_state == "http://127.0.0.1:8000/galaxy/"


def test_certificates_are_read_as_pem_with_its_lines_or_as_bare_base64(keys: KeyPair) -> None:
    der = base64.b64decode(keys.cert_base64)
    assert parse_certificates(keys.cert_pem) == (der,)
    assert parse_certificates(keys.cert_base64) == (der,)
    assert parse_certificates("\r\n" + keys.cert_pem.replace("\n", "\r\n")) == (der,)
    other = KeyPair.generate()
    assert len(parse_certificates(keys.cert_pem + other.cert_pem)) == 2  # a rollover pasted together


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("-----BEGIN CERTIFICATE-----\nMIIB", "do not match"),
        ("%%%", "Base64"),
        (base64.b64encode(b"not DER").decode(), "X.509"),
    ],
)
def test_unreadable_certificates_are_named(text: str, message: str) -> None:
    with pytest.raises(SsoConfigError, match=message):
        parse_certificates(text)


def test_metadata_yields_the_identifier_login_url_and_signing_certificates(keys: KeyPair) -> None:
    trust = trust_from_metadata(StandInIdp(keys).metadata())
    assert trust.entity_id == ISSUER and trust.login_url == LOGIN_URL
    assert trust.certificates == (base64.b64decode(keys.cert_base64),)
    assert trust.logout_url == LOGIN_URL
    # Galaxy's own rendering for pysaml2 reads back to the same trust.
    assert trust_from_metadata(idp_metadata_xml(trust)) == trust


def test_entra_shaped_metadata_with_ws_federation_roles_is_read(keys: KeyPair) -> None:
    md = "urn:oasis:names:tc:SAML:2.0:metadata"
    document = (
        f'<EntitiesDescriptor xmlns="{md}"><EntityDescriptor entityID="{ISSUER}" ID="_1">'
        '<RoleDescriptor xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706" '
        'xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706"/>'
        '<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        '<KeyDescriptor use="encryption"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data>'
        "<X509Certificate>ignored-not-for-signing</X509Certificate></X509Data></KeyInfo></KeyDescriptor>"
        '<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data>'
        f"<X509Certificate>{keys.cert_base64}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>"
        '<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
        f'Location="{LOGIN_URL}"/>'
        "</IDPSSODescriptor></EntityDescriptor></EntitiesDescriptor>"
    )
    trust = trust_from_metadata(document)
    assert trust.entity_id == ISSUER and trust.login_url == LOGIN_URL and len(trust.certificates) == 1


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("<html><body>Sign in</body></html>", "not SAML metadata"),
        ("not xml at all", "not well-formed"),
        ('<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>', "DTD"),
        (
            '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><SPSSODescriptor/>'
            "</EntityDescriptor>",
            "no identity provider",
        ),
    ],
)
def test_documents_that_are_not_idp_metadata_are_named(document: str, message: str) -> None:
    with pytest.raises(SsoConfigError, match=message):
        trust_from_metadata(document)


def test_manual_entry_needs_an_http_login_url(keys: KeyPair) -> None:
    with pytest.raises(SsoConfigError, match="Login URL"):
        manual_trust(keys.cert_pem, "javascript:alert(1)", ISSUER)
    assert manual_trust(keys.cert_pem, LOGIN_URL, ISSUER).login_url == LOGIN_URL


def test_pysaml2s_plain_exceptions_map_to_reasons() -> None:
    audience = refusal_from_exception(Exception("AudienceRestrictions conditions not satisfied! (Local ...)"))
    assert audience.code is RefusalCode.AUDIENCE
    assert refusal_from_exception(Exception("Invalid number of assertions in Response: 2")).code is (
        RefusalCode.WRAPPING
    )
    wrapped = RuntimeError("pysaml2 wrapper")
    wrapped.__cause__ = SignatureRejected("2 elements carry the ID '_a': a signature wrapping attempt")
    assert refusal_from_exception(wrapped).code is RefusalCode.WRAPPING
    odd = refusal_from_exception(KeyError("surprise"))
    assert odd.code is RefusalCode.MALFORMED and "KeyError" in odd.reason


def test_saml_times_parse_with_any_fraction_and_zone() -> None:
    expected = datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)
    assert parse_instant("2026-01-05T09:00:00.1234567Z") == expected
    assert parse_instant("2026-01-05T09:00:00.123456+00:00") == expected
    assert parse_instant("2026-01-05T09:00:00Z") == datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert parse_instant(None) is None
    with pytest.raises(LoginRefused):
        parse_instant("yesterday")


def test_a_deflate_bomb_is_refused() -> None:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = deflater.compress(b"<" + b"a" * (4 * 1024 * 1024)) + deflater.flush()
    with pytest.raises(LoginRefused, match="1 MiB"):
        decode_saml_response(base64.b64encode(bomb).decode())


@pytest.fixture
def service(tmp_path) -> Iterator[GalaxySso]:
    store = Store(tmp_path)
    clock = ManualClock()
    yield GalaxySso(store, clock, GalaxyDirectory(store, clock, build_profile("galaxy")), "http://h:1/galaxy")
    store.close()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "/galaxy/"),
        ("/galaxy/access/sso", "/galaxy/access/sso"),
        ("http://h:1/galaxy/?tab=users", "/galaxy/?tab=users"),
        ("https://evil.example/galaxy/", "/galaxy/"),
        ("//evil.example/galaxy/", "/galaxy/"),
        ("/galaxy\\..\\evil", "/galaxy/"),
        ("/entra/myapps", "/galaxy/"),
        ("/galaxy/../entra/myapps", "/galaxy/"),
        ("javascript:alert(1)", "/galaxy/"),
    ],
)
def test_sign_in_targets_never_leave_galaxy(service: GalaxySso, target: str | None, expected: str) -> None:
    assert service.safe_target(target) == expected


def test_direct_users_are_unique_by_email_and_hashed(service: GalaxySso) -> None:
    users: DirectUsers = service.direct_users
    users.add("Dana@Contoso.example", "pa55word!", roles=["public"])
    with pytest.raises(DirectUserError, match="already exists"):
        users.add("dana@contoso.example", "x")
    with pytest.raises(DirectUserError, match="not an email"):
        users.add("dana", "x")
    assert users.authenticate("DANA@contoso.example", "pa55word!")["displayName"] == "Dana"
    assert users.authenticate("dana@contoso.example", "wrong") is None
    assert "pa55word!" not in str(users.table.values())
    password = service.ensure_accountadmin()
    assert password and service.ensure_accountadmin() is None
    assert users.authenticate(ACCOUNTADMIN_EMAIL, password)["roles"] == ["accountadmin"]
