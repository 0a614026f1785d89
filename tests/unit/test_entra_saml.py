"""Entra's SAML IdP without an event loop: settings validation, binding decoding, request rules,
the documents it writes, and the sign-in flows' lifetime."""

from __future__ import annotations

import base64
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from emulator.clock import ManualClock
from emulator.entra.saml.errors import AadstsError, SamlFailure, SamlFailureError
from emulator.entra.saml.flows import FlowStore
from emulator.entra.saml.requests import (
    AuthnRequest,
    LogoutRequest,
    check_authn_request,
    decode_post,
    decode_redirect,
    parse_request,
)
from emulator.entra.saml.response import (
    Assertion,
    Attribute,
    Signer,
    audience_for,
    build_error_response,
    build_response,
    redirect_url,
)
from emulator.entra.saml.settings import SamlSettings, SamlSettingsError, SamlSettingsStore, apply_changes
from emulator.saml.keys import SigningKeys
from emulator.saml.signing import SignatureAlgorithm, verify_element
from emulator.saml.xml import SAML_ASSERTION_NS, SAML_PROTOCOL_NS, parse_xml
from emulator.store import Store

NS = {"samlp": SAML_PROTOCOL_NS, "saml": SAML_ASSERTION_NS, "ds": "http://www.w3.org/2000/09/xmldsig#"}
NOW = datetime(2026, 1, 5, 9, 0, 0, 123000, tzinfo=UTC)


def deflate(xml: bytes) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()


# -- settings --------------------------------------------------------------------------------------


def test_settings_json_round_trips_and_normalises_names() -> None:
    settings = SamlSettings.from_json(
        {
            "identifiers": ["https://sp.example"],
            "replyUrls": "https://sp.example/acs",
            "signingAlgorithm": "rsa-sha1",
            "nameIdFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            "nameIdSource": "USER.MAIL",
            "signOnUrl": "",
        }
    )
    assert settings.reply_urls == ("https://sp.example/acs",)
    assert (settings.signing_algorithm, settings.name_id_format, settings.name_id_source) == (
        "SHA-1",
        "persistent",
        "user.mail",
    )
    assert settings.sign_on_url is None
    assert SamlSettings.from_json(settings.to_json()) == settings


def test_patch_changes_only_the_fields_given() -> None:
    changed = apply_changes(SamlSettings(), {"signingOption": "both"})
    assert (changed.sign_assertion, changed.sign_response) == (True, True)
    assert changed.claims == SamlSettings().claims


def test_an_identifier_belongs_to_one_app(tmp_path: Path) -> None:
    store = Store(tmp_path)
    try:
        settings = SamlSettingsStore(store)
        settings.update("app-1", {"identifiers": ["https://sp.example"]})
        with pytest.raises(SamlSettingsError, match="already used by another application"):
            settings.update("app-2", {"identifiers": ["https://sp.example"]})
        assert settings.app_for_identifier("https://sp.example") == "app-1"
        assert settings.app_for_identifier("https://sp.example/") is None  # exact match only
    finally:
        store.close()


def test_audience_is_spn_prefixed_only_for_non_uris() -> None:
    assert audience_for("https://sp.example") == "https://sp.example"
    assert audience_for("urn:galaxy:sp") == "urn:galaxy:sp"
    assert audience_for("4f3c0b8e-1111-2222-3333-444455556666") == "spn:4f3c0b8e-1111-2222-3333-444455556666"


# -- bindings and requests -------------------------------------------------------------------------

REQUEST = (
    b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1" Version="2.0" '
    b'IssueInstant="2026-01-05T09:00:00Z" ForceAuthn="true" IsPassive="0" '
    b'AssertionConsumerServiceURL="https://sp.example/acs">'
    b'<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://sp.example</saml:Issuer>'
    b'<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" SPNameQualifier="q"/>'
    b"</samlp:AuthnRequest>"
)


def test_both_bindings_decode_to_the_same_request() -> None:
    via_redirect = parse_request(decode_redirect(deflate(REQUEST)))
    via_post = parse_request(decode_post(base64.encodebytes(REQUEST).decode()))  # with line breaks
    assert via_redirect == via_post
    assert isinstance(via_redirect, AuthnRequest)
    assert (via_redirect.id, via_redirect.issuer, via_redirect.acs_url) == (
        "_r1",
        "https://sp.example",
        "https://sp.example/acs",
    )
    assert (via_redirect.force_authn, via_redirect.is_passive) == (True, False)
    assert via_redirect.sp_name_qualifier == "q"


def test_redirect_tolerates_an_unencoded_plus_sign() -> None:
    encoded = deflate(REQUEST)
    assert parse_request(decode_redirect(encoded.replace("+", " "))) == parse_request(
        decode_redirect(encoded)
    )


@pytest.mark.parametrize(
    ("decode", "value", "reason"),
    [
        (decode_redirect, "@@@", "not valid base64"),
        (decode_redirect, base64.b64encode(b"\x00\xff garbage").decode(), "could not be inflated"),
        (decode_redirect, deflate(b"<a>" + b"x" * 600_000 + b"</a>"), "inflates to more than"),
        (decode_post, "", "empty"),
        (decode_post, "a", "not valid base64"),
    ],
)
def test_undecodable_parameters_are_aadsts75005(decode, value: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AadstsError) as caught:
        decode(value)
    assert caught.value.code == 75005 and reason in caught.value.message


def test_logout_request_parses() -> None:
    xml = (
        b'<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        b'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="id1" Version="2.0" IssueInstant="x">'
        b"<saml:Issuer>https://sp.example</saml:Issuer><saml:NameID> a@b.test </saml:NameID>"
        b"</samlp:LogoutRequest>"
    )
    assert parse_request(xml) == LogoutRequest(id="id1", issuer="https://sp.example", name_id="a@b.test")


@pytest.mark.parametrize(
    ("xml", "code"),
    [
        (REQUEST.replace(b'ForceAuthn="true"', b'ForceAuthn="maybe"'), 75005),
        (REQUEST.replace(b'Version="2.0"', b'Version="1.1"'), 75005),
        (REQUEST.replace(b'ID="_r1"', b'ID="9r1"'), 7500529),
        (REQUEST.replace(b'ID="_r1" ', b""), 75005),
    ],
)
def test_malformed_requests_are_refused(xml: bytes, code: int) -> None:
    with pytest.raises(AadstsError) as caught:
        parse_request(xml)
    assert caught.value.code == code


def test_scoping_with_a_proxy_count_is_unsupported() -> None:
    xml = REQUEST.replace(b"</samlp:AuthnRequest>", b'<samlp:Scoping ProxyCount="1"/></samlp:AuthnRequest>')
    request = parse_request(xml)
    assert isinstance(request, AuthnRequest)
    with pytest.raises(SamlFailureError, match="Scoping/ProxyCount"):
        check_authn_request(request)


# -- documents -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    keys = SigningKeys(tmp_path_factory.mktemp("keys"), ManualClock())
    return Signer(keys.current)


def assertion(**overrides: object) -> Assertion:
    fields: dict = {
        "issuer": "https://sts.windows.net/t/",
        "name_id": "alice@contoso.test",
        "name_id_format": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "recipient": "https://sp.example/acs",
        "audience": "https://sp.example",
        "attributes": [Attribute("http://x/claim", ("a", "b"))],
        "issue_instant": NOW,
        "authn_instant": NOW - timedelta(minutes=3),
        "lifetime": timedelta(minutes=70),
        "subject_confirmation_lifetime": timedelta(minutes=5),
        "in_response_to": "_r1",
    }
    return Assertion(**{**fields, **overrides})


def test_response_is_entra_shaped_and_its_assertion_signature_verifies(signer: Signer) -> None:
    xml = build_response(assertion(), signer, response_id="_resp", assertion_id="_asrt")
    root = parse_xml(xml)
    assert xml.startswith(
        b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_resp" Version="2.0" '
        b'IssueInstant="2026-01-05T09:00:00.123Z" Destination="https://sp.example/acs" InResponseTo="_r1">'
        b'<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">https://sts.windows.net/t/</Issuer>'
    )
    assert [child.tag.rsplit("}", 1)[1] for child in root.find("saml:Assertion", NS)] == [
        "Issuer",
        "Signature",
        "Subject",
        "Conditions",
        "AttributeStatement",
        "AuthnStatement",
    ]
    assert root.find(".//saml:Conditions", NS).attrib == {
        "NotBefore": "2026-01-05T09:00:00.123Z",
        "NotOnOrAfter": "2026-01-05T10:10:00.123Z",
    }
    assert root.find(".//saml:AuthnStatement", NS).get("AuthnInstant") == "2026-01-05T08:57:00.123Z"
    values = [v.text for v in root.iterfind(".//saml:AttributeValue", NS)]
    assert values == ["a", "b"]
    verify_element(xml, "_asrt", [signer.pair.certificate])


def test_idp_initiated_response_has_no_in_response_to(signer: Signer) -> None:
    root = parse_xml(build_response(assertion(in_response_to=None), signer))
    assert "InResponseTo" not in root.attrib
    assert "InResponseTo" not in root.find(".//saml:SubjectConfirmationData", NS).attrib


def test_sha1_response_signature(signer: Signer) -> None:
    sha1 = Signer(signer.pair, SignatureAlgorithm.RSA_SHA1)
    xml = build_response(assertion(), sha1, sign_assertion=False, sign_response=True, response_id="_resp")
    assert (
        parse_xml(xml)
        .find("ds:Signature/ds:SignedInfo/ds:SignatureMethod", NS)
        .get("Algorithm")
        .endswith("rsa-sha1")
    )
    verify_element(xml, "_resp", [signer.pair.certificate], {SignatureAlgorithm.RSA_SHA1})


def test_error_response_carries_the_aadsts_message() -> None:
    failure = SamlFailure(75006, "An error occurred.")
    root = parse_xml(
        build_error_response(
            issuer="https://sts.windows.net/t/",
            destination="https://sp.example/acs",
            in_response_to="_r1",
            failure=failure,
            now=NOW,
            trace_id="trace",
        )
    )
    assert root.findtext(".//samlp:StatusMessage", namespaces=NS) == (
        "AADSTS75006: An error occurred.\nTrace ID: trace\nTimestamp: 2026-01-05 09:00:00Z"
    )
    assert root.find(".//saml:Assertion", NS) is None


def test_redirect_url_uses_lower_case_escapes_and_signs_them(signer: Signer) -> None:
    url = redirect_url(
        "https://sp.example/logout?x=1", b"<samlp:LogoutResponse/>", relay_state="a/b c", signer=signer
    )
    assert url.startswith("https://sp.example/logout?x=1&SAMLResponse=")
    assert "RelayState=a%2fb+c" in url
    assert "%2F" not in url and "%3A" not in url


# -- flows -----------------------------------------------------------------------------------------


def test_flows_expire_and_are_bounded() -> None:
    clock = ManualClock()
    flows = FlowStore(clock, lifetime=timedelta(minutes=30), limit=3)
    first = flows.start(login_hint="a")
    assert flows.get(first.id) == first
    clock.advance(timedelta(minutes=31))
    assert flows.get(first.id) is None
    made = [flows.start() for _ in range(4)]
    assert flows.get(made[0].id) is None and flows.get(made[-1].id) is not None
    flows.finish(made[-1].id)
    assert flows.get(made[-1].id) is None
