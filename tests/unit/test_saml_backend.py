"""In-process SAML signatures: python-xmlsec under pysaml2, and every tamper and wrapping attack
of reference saml.md §3 that can be told at the signature level, refused."""

from __future__ import annotations

import base64
import copy
import subprocess
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from lxml import etree

from emulator.clock import ManualClock
from emulator.saml.backend import (
    XmlsecBackend,
    client_from_settings,
    install,
    server_from_settings,
)
from emulator.saml.errors import SignatureMismatch, SignatureRejected, UnsafeXmlError
from emulator.saml.keys import SigningKeys
from emulator.saml.signing import (
    DEFAULT_ALLOWED_ALGORITHMS,
    WITH_SHA1_ALGORITHMS,
    SignatureAlgorithm,
    algorithm_allowlist,
    sign_element,
    verify_element,
)
from emulator.saml.xml import DSIG_NS, SAML_ASSERTION_NS, SAML_PROTOCOL_NS, parse_xml

with warnings.catch_warnings():
    # pysaml2 7.5 touches a deprecated cryptography name at import (saml.md pitfall 12)
    warnings.simplefilter("ignore")
    import saml2.sigver
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
    from saml2.config import IdPConfig, SPConfig
    from saml2.metadata import entity_descriptor
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
    from saml2.server import Server
    from saml2.sigver import EncryptError, SignatureError, SigverError

TENANT = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
IDP_ENTITY = f"https://sts.windows.net/{TENANT}/"
SSO_URL = f"https://login.microsoftonline.example/{TENANT}/saml2"
SP_ENTITY = "https://galaxy.example/saml/metadata"
ACS_URL = "https://galaxy.example/saml/acs"
EMAIL_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
GROUPS_CLAIM = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"

NS = {"samlp": SAML_PROTOCOL_NS, "saml": SAML_ASSERTION_NS, "ds": DSIG_NS}
_ASSERTION = f"{{{SAML_ASSERTION_NS}}}Assertion"
_SIGNATURE = f"{{{DSIG_NS}}}Signature"

SIGN_OPTIONS = {
    "assertion": {"sign_assertion": True, "sign_response": False},  # Entra's default
    "response": {"sign_assertion": False, "sign_response": True},
    "response and assertion": {"sign_assertion": True, "sign_response": True},
}


# -- an IdP and an SP, in memory -----------------------------------------------------------------


def idp_settings(keys: SigningKeys, sp_metadata: str | None = None) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "entityid": IDP_ENTITY,
        "key_file": str(keys.key_path),
        "cert_file": str(keys.cert_path),
        "allow_unknown_attributes": True,
        "service": {
            "idp": {
                "endpoints": {
                    "single_sign_on_service": [(SSO_URL, BINDING_HTTP_REDIRECT), (SSO_URL, BINDING_HTTP_POST)]
                },
                "policy": {"default": {"lifetime": {"minutes": 70}, "name_form": None}},
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
            }
        },
    }
    if sp_metadata:
        settings["metadata"] = {"inline": [sp_metadata]}
    return settings


def sp_settings(keys: SigningKeys, idp_metadata: str | None = None) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "entityid": SP_ENTITY,
        "key_file": str(keys.key_path),
        "cert_file": str(keys.cert_path),
        "allow_unknown_attributes": True,
        "accepted_time_diff": 180,
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(ACS_URL, BINDING_HTTP_POST)]},
                # accepts each of Entra's three signing options, refuses unsigned (saml.md §3)
                "want_assertions_or_response_signed": True,
                "want_response_signed": False,
                "want_assertions_signed": False,
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
            }
        },
    }
    if idp_metadata:
        settings["metadata"] = {"inline": [idp_metadata]}
    return settings


def metadata_of(settings: dict[str, Any], config_class: type) -> str:
    config = config_class()
    config.load({**settings, "crypto_backend": "XMLSecurity"})
    return str(entity_descriptor(config))


@dataclass
class World:
    idp_keys: SigningKeys
    sp_keys: SigningKeys
    attacker_keys: SigningKeys
    idp: Server
    sp_settings: dict[str, Any]
    sp_metadata: str

    def sp(self, **options: Any) -> Any:
        return client_from_settings(self.sp_settings, **options)

    def server(self, keys: SigningKeys | None = None, **options: Any) -> Server:
        return server_from_settings(idp_settings(keys or self.idp_keys, self.sp_metadata), **options)


@pytest.fixture(autouse=True)
def _quiet_pysaml2_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    # pysaml2 logs each rejection at ERROR with the whole document; keep failures readable.
    caplog.set_level("CRITICAL", logger="saml2")
    yield


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("saml")
    clock = ManualClock()
    idp_keys = SigningKeys(root / TENANT, clock)
    sp_keys = SigningKeys(root / "galaxy", clock)
    attacker_keys = SigningKeys(root / "attacker", clock)
    idp_metadata = metadata_of(idp_settings(idp_keys), IdPConfig)
    sp_metadata = metadata_of(sp_settings(sp_keys), SPConfig)
    settings = sp_settings(sp_keys, idp_metadata)
    idp = server_from_settings(idp_settings(idp_keys, sp_metadata))
    return World(idp_keys, sp_keys, attacker_keys, idp, settings, sp_metadata)


@pytest.fixture(scope="module")
def sp(world: World) -> Any:
    return world.sp()


def issue(
    idp: Server, sp: Any, *, sign: str = "assertion", email: str = "alice@contoso.example"
) -> tuple[str, str]:
    """An SP-initiated login up to the IdP's signed Response: (response XML, request ID)."""
    request_id, info = sp.prepare_for_authenticate(entityid=IDP_ENTITY, binding=BINDING_HTTP_REDIRECT)
    query = parse_qs(urlparse(dict(info["headers"])["Location"]).query)
    request = idp.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
    response = idp.create_authn_response(
        {EMAIL_CLAIM: [email], GROUPS_CLAIM: ["6a7b8c9d-0000-4000-8000-000000000001"]},
        userid=email,
        name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
        **idp.response_args(request.message),
        **SIGN_OPTIONS[sign],
    )
    return str(response), request_id


def consume(sp: Any, xml: str | bytes, request_id: str) -> Any:
    data = xml.encode() if isinstance(xml, str) else xml
    return sp.parse_authn_request_response(
        base64.b64encode(data).decode(), BINDING_HTTP_POST, {request_id: "/"}
    )


def edit(xml: str, change: Callable[[etree._Element], None]) -> bytes:
    root = parse_xml(xml)
    change(root)
    return etree.tostring(root)


def assertion_of(root: etree._Element) -> etree._Element:
    (assertion,) = root.findall("saml:Assertion", NS)
    return assertion


def set_name_id(element: etree._Element, value: str) -> None:
    element.find(".//saml:Subject/saml:NameID", NS).text = value


# -- the matched pair ----------------------------------------------------------------------------


def test_lxml_and_xmlsec_import_together_on_one_libxml2() -> None:
    # Pitfall 2: built against different libxml2 copies, `import xmlsec` raises "lxml & xmlsec
    # libxml2 library version mismatch"; pyproject pins the two wheels as a pair.
    import xmlsec

    assert xmlsec.get_libxml_version() == etree.LIBXML_VERSION
    assert xmlsec.get_libxml_compiled_version() == etree.LIBXML_COMPILED_VERSION


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sign", list(SIGN_OPTIONS))
def test_the_sp_accepts_each_entra_signing_option(world: World, sp: Any, sign: str) -> None:
    xml, request_id = issue(world.idp, sp, sign=sign)
    response = consume(sp, xml, request_id)
    assert response.name_id.text == "alice@contoso.example"
    assert response.ava[EMAIL_CLAIM] == ["alice@contoso.example"]


def test_pysaml2_signs_with_rsa_sha256_and_the_metadata_certificate(world: World, sp: Any) -> None:
    xml, _ = issue(world.idp, sp)
    root = parse_xml(xml)
    assertion = assertion_of(root)
    signature = assertion.find("ds:Signature", NS)
    assert assertion.index(signature) == 1  # right after saml:Issuer
    assert (
        signature.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm")
        == SignatureAlgorithm.RSA_SHA256
    )
    assert (
        signature.find(".//ds:DigestMethod", NS).get("Algorithm") == "http://www.w3.org/2001/04/xmlenc#sha256"
    )
    assert signature.findtext(".//ds:X509Certificate", namespaces=NS) == world.idp_keys.certificate.base64
    assert root.find("ds:Signature", NS) is None  # the assertion only, as Entra by default
    # The standalone verifier agrees with the backend about pysaml2's output.
    verified = verify_element(xml, assertion.get("ID"), [world.idp_keys.certificate])
    assert verified.findtext(".//saml:NameID", namespaces=NS) == "alice@contoso.example"


def hand_built_assertion(assertion_id: str = "_2f6c0a1e-8d3b-4e5f-9a7b-1c2d3e4f5a6b") -> bytes:
    return (
        f'<Assertion xmlns="{SAML_ASSERTION_NS}" ID="{assertion_id}" IssueInstant="2026-01-05T09:00:00.000Z"'
        f' Version="2.0"><Issuer>{IDP_ENTITY}</Issuer><Subject><NameID'
        ' Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@contoso.example</NameID>'
        f'</Subject><AttributeStatement><Attribute Name="{EMAIL_CLAIM}"><AttributeValue>'
        "alice@contoso.example</AttributeValue></Attribute></AttributeStatement></Assertion>"
    ).encode()


def test_sign_element_and_verify_element_round_trip_without_pysaml2(world: World) -> None:
    keys = world.idp_keys
    signed = sign_element(
        hand_built_assertion(), "_2f6c0a1e-8d3b-4e5f-9a7b-1c2d3e4f5a6b", keys.current, keys.certificate
    )
    root = parse_xml(signed)
    assert [etree.QName(child).localname for child in root][:2] == ["Issuer", "Signature"]
    signature = root.find("ds:Signature", NS)
    assert signature.prefix is None  # <Signature xmlns="...xmldsig#">, as Entra writes it
    assert signature.find(".//ds:Reference", NS).get("URI") == "#_2f6c0a1e-8d3b-4e5f-9a7b-1c2d3e4f5a6b"
    assert signature.findtext(".//ds:X509Certificate", namespaces=NS) == keys.certificate.base64
    element = verify_element(signed, "_2f6c0a1e-8d3b-4e5f-9a7b-1c2d3e4f5a6b", [keys.certificate.pem])
    assert element.tag == _ASSERTION
    # Certificates may be given in any form a caller holds them in.
    for cert in (
        keys.certificate.der,
        keys.certificate.base64,
        keys.certificate.certificate,
        keys.certificate.pem.encode(),
    ):
        verify_element(signed, "_2f6c0a1e-8d3b-4e5f-9a7b-1c2d3e4f5a6b", [cert], element_tag=_ASSERTION)


def test_a_trusted_certificate_among_others_is_found(world: World) -> None:
    keys = world.idp_keys
    signed = sign_element(hand_built_assertion("_a1"), "_a1", keys.current, keys.certificate)
    verify_element(signed, "_a1", [world.attacker_keys.certificate, keys.certificate])


# -- the tamper and XSW table (reference saml.md §3) ---------------------------------------------


def test_name_id_changed_after_signing_is_rejected(world: World, sp: Any) -> None:
    xml, request_id = issue(world.idp, sp)
    forged = edit(xml, lambda root: set_name_id(assertion_of(root), "mallory@contoso.example"))
    with pytest.raises(SignatureError):
        consume(sp, forged, request_id)
    with pytest.raises(SignatureMismatch):
        verify_element(forged, assertion_of(parse_xml(forged)).get("ID"), [world.idp_keys.certificate])


def test_attribute_value_changed_after_signing_is_rejected(world: World, sp: Any) -> None:
    xml, request_id = issue(world.idp, sp)

    def promote(root: etree._Element) -> None:
        value = assertion_of(root).find(f".//saml:Attribute[@Name='{GROUPS_CLAIM}']/saml:AttributeValue", NS)
        value.text = "00000000-0000-0000-0000-0000000000ad"

    with pytest.raises(SignatureError):
        consume(sp, edit(xml, promote), request_id)


@pytest.mark.parametrize("sign", ["assertion", "response"])
def test_a_stripped_signature_is_rejected(world: World, sp: Any, sign: str) -> None:
    xml, request_id = issue(world.idp, sp, sign=sign)

    def strip(root: etree._Element) -> None:
        for signature in root.iter(_SIGNATURE):
            signature.getparent().remove(signature)

    stripped = edit(xml, strip)
    with pytest.raises(SigverError, match=r"are signed|[Ss]ignature missing"):
        consume(sp, stripped, request_id)
    with pytest.raises(SignatureRejected, match="no enveloped signature"):
        verify_element(stripped, assertion_of(parse_xml(stripped)).get("ID"), [world.idp_keys.certificate])


def test_xsw_unsigned_forged_assertion_before_the_signed_one_is_rejected(world: World, sp: Any) -> None:
    xml, request_id = issue(world.idp, sp)

    def wrap(root: etree._Element) -> None:
        genuine = assertion_of(root)
        forged = copy.deepcopy(genuine)
        forged.remove(forged.find("ds:Signature", NS))
        forged.set("ID", "_forged")
        set_name_id(forged, "mallory@contoso.example")
        genuine.addprevious(forged)

    with pytest.raises(Exception, match="number of assertions"):
        consume(sp, edit(xml, wrap), request_id)


def test_xsw_same_id_with_the_genuine_assertion_moved_into_extensions_is_rejected(
    world: World, sp: Any
) -> None:
    # The case pyXMLSecurity accepted with the forged NameID (saml.md §3): only the duplicate-ID
    # rule tells the two apart, since the genuine signature still verifies over its own element.
    xml, request_id = issue(world.idp, sp)

    def wrap(root: etree._Element) -> None:
        genuine = assertion_of(root)
        forged = copy.deepcopy(genuine)
        set_name_id(forged, "mallory@contoso.example")
        genuine.addprevious(forged)
        extensions = etree.Element(f"{{{SAML_PROTOCOL_NS}}}Extensions")
        root.find("saml:Issuer", NS).addnext(extensions)
        extensions.append(genuine)

    wrapped = edit(xml, wrap)
    with pytest.raises(SignatureRejected, match="signature wrapping"):
        consume(sp, wrapped, request_id)
    assertion_id = assertion_of(parse_xml(wrapped)).get("ID")
    with pytest.raises(SignatureRejected, match="2 elements carry the ID"):
        verify_element(wrapped, assertion_id, [world.idp_keys.certificate])


def test_xsw_genuine_assertion_inside_the_forged_ones_ds_object_is_rejected(world: World, sp: Any) -> None:
    xml, request_id = issue(world.idp, sp)

    def wrap(root: etree._Element) -> None:
        genuine = assertion_of(root)
        forged = copy.deepcopy(genuine)
        forged.set("ID", "_forged")
        set_name_id(forged, "mallory@contoso.example")
        signature = forged.find("ds:Signature", NS)
        carrier = etree.SubElement(signature, f"{{{DSIG_NS}}}Object")
        genuine.addprevious(forged)
        original_signature = genuine.find("ds:Signature", NS)
        genuine.remove(original_signature)
        carrier.append(genuine)

    wrapped = edit(xml, wrap)
    with pytest.raises(SignatureError):
        consume(sp, wrapped, request_id)
    with pytest.raises(SignatureRejected):
        verify_element(wrapped, "_forged", [world.idp_keys.certificate])


def test_xsw_forged_assertion_wrapping_the_signed_one_is_rejected(world: World, sp: Any) -> None:
    xml, request_id = issue(world.idp, sp)

    def wrap(root: etree._Element) -> None:
        genuine = assertion_of(root)
        forged = copy.deepcopy(genuine)
        forged.remove(forged.find("ds:Signature", NS))
        forged.set("ID", "_forged")
        set_name_id(forged, "mallory@contoso.example")
        genuine.addprevious(forged)
        advice = etree.SubElement(forged, f"{{{SAML_ASSERTION_NS}}}Advice")
        advice.append(genuine)

    wrapped = edit(xml, wrap)
    with pytest.raises(SigverError):  # "Neither the response nor the assertions are signed"
        consume(sp, wrapped, request_id)
    # The signature is still good over the inner element, but it is not the one a reader of
    # "_forged" would use: verifying "_forged" finds no signature of its own.
    with pytest.raises(SignatureRejected, match="no enveloped signature"):
        verify_element(wrapped, "_forged", [world.idp_keys.certificate])


def test_a_response_signed_by_another_key_with_the_same_entity_id_is_rejected(world: World, sp: Any) -> None:
    impostor = world.server(world.attacker_keys)  # same entity ID, another key
    xml, request_id = issue(impostor, sp)
    with pytest.raises(SignatureError):
        consume(sp, xml, request_id)


def test_the_keyinfo_certificate_is_never_trusted(world: World) -> None:
    attacker = world.attacker_keys
    # Signed by the attacker, who also put their own certificate in KeyInfo.
    signed = sign_element(hand_built_assertion("_k"), "_k", attacker.current, attacker.certificate)
    with pytest.raises(SignatureMismatch):
        verify_element(signed, "_k", [world.idp_keys.certificate])
    assert world.sp().sec.only_use_keys_in_metadata is True


def test_rsa_sha1_is_refused_by_default_and_accepted_when_allowed(world: World, sp: Any) -> None:
    sha1_idp = world.server(signing_algorithm="SHA-1")  # Entra's "SHA-1" signing option
    xml, request_id = issue(sha1_idp, sp)
    method = parse_xml(xml).find(".//ds:SignatureMethod", NS).get("Algorithm")
    assert method == SignatureAlgorithm.RSA_SHA1
    with pytest.raises(SignatureRejected, match="rsa-sha1 is not allowed"):
        consume(sp, xml, request_id)

    lenient = world.sp(allow_sha1=True)
    xml, request_id = issue(sha1_idp, lenient)
    assert consume(lenient, xml, request_id).name_id.text == "alice@contoso.example"

    keys = world.idp_keys
    signed = sign_element(hand_built_assertion("_s1"), "_s1", keys.current, keys.certificate, "SHA-1")
    with pytest.raises(SignatureRejected, match="not allowed"):
        verify_element(signed, "_s1", [keys.certificate])
    verify_element(signed, "_s1", [keys.certificate], WITH_SHA1_ALGORITHMS)
    verify_element(signed, "_s1", [keys.certificate], algorithm_allowlist(sha1=True))


def test_a_sha1_digest_under_a_sha256_signature_is_refused(world: World) -> None:
    keys = world.idp_keys
    signed = sign_element(hand_built_assertion("_d"), "_d", keys.current, keys.certificate)
    digest = parse_xml(signed).find(".//ds:DigestMethod", NS)
    tampered = signed.replace(digest.get("Algorithm").encode(), b"http://www.w3.org/2000/09/xmldsig#sha1")
    with pytest.raises(SignatureRejected, match="digest algorithm"):
        verify_element(tampered, "_d", [keys.certificate])


def test_a_reference_to_another_element_is_refused(world: World) -> None:
    keys = world.idp_keys
    signed = sign_element(hand_built_assertion("_r"), "_r", keys.current, keys.certificate)
    moved = signed.replace(b'URI="#_r"', b'URI="#_elsewhere"')
    with pytest.raises(SignatureRejected, match="not its own element"):
        verify_element(moved, "_r", [keys.certificate])


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    f'<samlp:Response xmlns:samlp="{SAML_PROTOCOL_NS}" ID="_x" Version="2.0"'
    ' IssueInstant="2026-01-05T09:00:00Z">&lol3;</samlp:Response>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f'<samlp:Response xmlns:samlp="{SAML_PROTOCOL_NS}" ID="_x" Version="2.0"'
    ' IssueInstant="2026-01-05T09:00:00Z">&xxe;</samlp:Response>'
)


@pytest.mark.parametrize(
    "payload", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"]
)
def test_entity_payloads_are_refused_at_every_layer(world: World, sp: Any, payload: str) -> None:
    with pytest.raises(UnsafeXmlError, match="DTD"):
        parse_xml(payload)
    with pytest.raises(UnsafeXmlError):
        parse_xml(payload.encode("utf-16"))  # the raw-bytes scan cannot read it; the tree check can
    with pytest.raises(UnsafeXmlError):
        verify_element(payload, "_x", [world.idp_keys.certificate])
    cert_file = str(world.idp_keys.cert_path)
    with pytest.raises(UnsafeXmlError):
        XmlsecBackend().validate_signature(payload, cert_file, "pem", f"{SAML_PROTOCOL_NS}:Response", "_x")
    with pytest.raises(ValueError):  # pysaml2 parses with defusedxml first: EntitiesForbidden
        consume(sp, payload, "_unknown")


def test_malformed_xml_is_refused_with_a_reason() -> None:
    with pytest.raises(UnsafeXmlError, match="not well-formed"):
        parse_xml(b"<samlp:Response")


# -- no subprocess -------------------------------------------------------------------------------


def test_signing_and_verifying_never_start_a_process(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args!r}")

    # A fault injected on purpose: the xmlsec1 backend would call Popen 2-3 times per operation.
    monkeypatch.setattr(subprocess, "Popen", no_process)
    monkeypatch.setattr(saml2.sigver, "Popen", no_process)
    idp = world.server()
    sp = world.sp()
    for sign in SIGN_OPTIONS:
        xml, request_id = issue(idp, sp, sign=sign)
        assert consume(sp, xml, request_id).name_id.text == "alice@contoso.example"
    keys = world.idp_keys
    signed = sign_element(hand_built_assertion("_p"), "_p", keys.current, keys.certificate)
    verify_element(signed, "_p", [keys.certificate])


# -- the backend's wiring --------------------------------------------------------------------------


def test_install_keeps_an_algorithm_the_config_names(world: World) -> None:
    settings = {
        **idp_settings(world.idp_keys, world.sp_metadata),
        "signing_algorithm": SignatureAlgorithm.RSA_SHA512.value,
    }
    server = server_from_settings(settings)
    assert server.signing_algorithm == SignatureAlgorithm.RSA_SHA512
    assert server.digest_algorithm == "http://www.w3.org/2001/04/xmlenc#sha512"
    assert isinstance(server.sec.crypto, XmlsecBackend)
    assert server.sec.crypto.allowed_algorithms == DEFAULT_ALLOWED_ALGORITHMS
    install(server, signing_algorithm="SHA-256", allow_sha1=True)
    assert server.signing_algorithm == SignatureAlgorithm.RSA_SHA256
    assert server.digest_algorithm == "http://www.w3.org/2001/04/xmlenc#sha256"
    assert SignatureAlgorithm.RSA_SHA1 in server.sec.crypto.allowed_algorithms


def test_a_rotated_key_at_the_same_path_signs_from_then_on(tmp_path: Path) -> None:
    keys = SigningKeys(tmp_path / "rotating", ManualClock())
    statement = hand_built_assertion("_rot").decode()
    template = sign_element(statement, "_rot", keys.current, keys.certificate)
    # Turn the signed document back into a template, as pysaml2 would hand one over.
    root = parse_xml(template)
    for value in root.iter(f"{{{DSIG_NS}}}DigestValue", f"{{{DSIG_NS}}}SignatureValue"):
        value.text = ""
    blank = etree.tostring(root).decode()
    backend = XmlsecBackend()
    node = f"{SAML_ASSERTION_NS}:Assertion"
    first = backend.sign_statement(blank, node, str(keys.key_path), "_rot")
    old_certificate = keys.certificate
    keys.rotate()
    second = backend.sign_statement(blank, node, str(keys.key_path), "_rot")
    verify_element(first, "_rot", [old_certificate])
    verify_element(second, "_rot", [keys.certificate])
    with pytest.raises(SignatureMismatch):
        verify_element(second, "_rot", [old_certificate])


def test_encryption_is_not_done_in_process() -> None:
    with pytest.raises(EncryptError, match="xmlsec1"):
        XmlsecBackend().encrypt("<x/>", "key.pem", "template.xml", "des-192")


def test_a_comment_inside_the_name_id_is_read_whole(world: World, sp: Any) -> None:
    # Exclusive c14n ignores comments, so the signature stays valid (saml.md §3); what matters is
    # that the NameID is then read whole, not cut at the comment (the CVE-2017-11427 family).
    keys = world.idp_keys
    document = hand_built_assertion("_c").replace(
        b"alice@contoso.example</NameID>", b"alice@contoso.example.evil.test</NameID>"
    )
    signed = sign_element(document, "_c", keys, keys.certificate)
    commented = signed.replace(
        b"alice@contoso.example.evil.test<", b"alice@contoso.example<!---->.evil.test<"
    )
    assert b"<!---->" in commented
    element = verify_element(commented, "_c", [keys.certificate])
    assert element.findtext(".//saml:NameID", namespaces=NS) == "alice@contoso.example.evil.test"

    xml, request_id = issue(world.idp, sp, email="alice@contoso.example.evil.test")
    xml = xml.replace("alice@contoso.example.evil.test<", "alice@contoso.example<!---->.evil.test<")
    assert consume(sp, xml, request_id).name_id.text == "alice@contoso.example.evil.test"
