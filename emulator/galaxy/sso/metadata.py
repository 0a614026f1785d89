"""SAML metadata in both directions: what Galaxy learns about the identity provider, and what
Galaxy tells it.

Galaxy's SSO page takes either Entra's App Federation Metadata URL or three values typed in by
hand: the signing certificate (Base64/PEM), the Login URL and the Microsoft Entra Identifier
(reference entra-and-galaxy.md §2). Both end as one `IdpTrust`, from which a minimal IdP
metadata document is written for pysaml2, so the two ways of configuring behave identically and
pysaml2 never reads the WS-Federation parts of Entra's metadata. Galaxy learns about Entra only
from this document and what browsers post (ARCHITECTURE.md).

The fetched metadata's own signature is not checked: Galaxy fetches it over HTTPS from an
address the administrator typed, which is what it trusts; the emulator does the same.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from emulator.saml.errors import UnsafeXmlError
from emulator.saml.xml import DSIG_NS, SAML_METADATA_NS, parse_xml

BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"

_MD = f"{{{SAML_METADATA_NS}}}"
_DS = f"{{{DSIG_NS}}}"
_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)


class SsoConfigError(ValueError):
    """An SSO configuration Galaxy cannot use; the message says what to fix."""


@dataclass(frozen=True)
class IdpTrust:
    """What Galaxy trusts about the identity provider: its Entity ID (the Microsoft Entra
    Identifier), where to send AuthnRequests (the Login URL) and its signing certificates (DER)."""

    entity_id: str
    login_url: str
    certificates: tuple[bytes, ...]
    logout_url: str | None = None


@dataclass(frozen=True)
class SpValues:
    """Galaxy's own values, to copy into Entra's Basic SAML Configuration.

    Galaxy shows them only in screenshots (reference §2 and §5 mark the strings [U]), so these
    are the emulator's choice, all under Galaxy's mount:
    Identifier (Entity ID) `{base}/galaxy/saml`, Reply URL (ACS) `{base}/galaxy/saml/acs`,
    Relay State `{base}/galaxy/` (the landing page, where an IdP-initiated sign-in from My Apps
    ends). Entra's Sign on URL stays blank so that My Apps launches IdP-initiated.
    """

    entity_id: str
    reply_url: str
    relay_state: str
    metadata_url: str
    login_url: str

    @classmethod
    def for_base(cls, galaxy_base: str) -> SpValues:
        """`galaxy_base` is Galaxy's mounted URL without a trailing slash, e.g.
        `http://127.0.0.1:8000/galaxy`."""
        base = galaxy_base.rstrip("/")
        return cls(
            entity_id=f"{base}/saml",
            reply_url=f"{base}/saml/acs",
            relay_state=f"{base}/",
            metadata_url=f"{base}/saml/metadata",
            login_url=f"{base}/login",
        )

    def to_json(self) -> dict:
        return {
            "entityId": self.entity_id,
            "replyUrl": self.reply_url,
            "relayState": self.relay_state,
            "metadataUrl": self.metadata_url,
            "loginUrl": self.login_url,
        }


# -- certificates ----------------------------------------------------------------------------------


def parse_certificates(text: str) -> tuple[bytes, ...]:
    """DER certificates from what a person pastes: one or more PEM blocks with their BEGIN/END
    lines (Entra's "Certificate (Base64)" download), or bare Base64 as in metadata."""
    text = (text or "").strip()
    if not text:
        raise SsoConfigError(
            "the certificate is empty: paste Entra's Certificate (Base64) with its BEGIN/END lines"
        )
    if "-----BEGIN" in text:
        bodies = _PEM_BLOCK.findall(text)
        if not bodies:
            raise SsoConfigError("the certificate's BEGIN CERTIFICATE / END CERTIFICATE lines do not match")
    else:
        bodies = [text]
    found = []
    for body in bodies:
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise SsoConfigError("the certificate is not valid Base64") from None
        found.append(_checked_der(der))
    return tuple(found)


def _checked_der(der: bytes) -> bytes:
    try:
        x509.load_der_x509_certificate(der)
    except ValueError:
        raise SsoConfigError("the certificate could not be read as an X.509 certificate") from None
    return der


def certificate_summary(der: bytes) -> dict:
    """What the SSO page and the control API show about a trusted certificate."""
    cert = x509.load_der_x509_certificate(der)
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return {
        "subject": cert.subject.rfc4514_string(),
        "thumbprint": hashlib.sha1(der, usedforsecurity=False).hexdigest().upper(),
        "notBefore": cert.not_valid_before_utc.isoformat(),
        "notAfter": cert.not_valid_after_utc.isoformat(),
        "pem": pem,
    }


def check_url(value: str, what: str) -> str:
    value = (value or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SsoConfigError(f"the {what} must be an http or https URL, not {value!r}")
    return value


def manual_trust(
    certificate: str, login_url: str, entra_identifier: str, logout_url: str | None = None
) -> IdpTrust:
    """The trust from the three values of Galaxy's manual entry form."""
    identifier = (entra_identifier or "").strip()
    if not identifier:
        raise SsoConfigError(
            "the Microsoft Entra Identifier is empty (it looks like https://sts.windows.net/<tenant-id>/)"
        )
    return IdpTrust(
        entity_id=identifier,
        login_url=check_url(login_url, "Login URL"),
        certificates=parse_certificates(certificate),
        logout_url=check_url(logout_url, "Logout URL") if logout_url else None,
    )


# -- reading the identity provider's metadata ------------------------------------------------------


def trust_from_metadata(document: bytes | str) -> IdpTrust:
    """The trust an IdP's SAML metadata describes (Entra's App Federation Metadata among them):
    the entity ID, the single sign-on URL (Redirect binding preferred, as Galaxy sends by
    redirect) and the signing certificates of the IDPSSODescriptor."""
    try:
        root = parse_xml(document)
    except UnsafeXmlError as exc:
        raise SsoConfigError(f"the metadata is not usable XML: {exc.reason}") from None
    entity = _idp_entity(root)
    entity_id = (entity.get("entityID") or "").strip()
    if not entity_id:
        raise SsoConfigError("the metadata's EntityDescriptor has no entityID")
    descriptor = entity.find(f"{_MD}IDPSSODescriptor")
    assert descriptor is not None  # _idp_entity picked an entity that has one
    services = {s.get("Binding"): s.get("Location") for s in descriptor.findall(f"{_MD}SingleSignOnService")}
    login_url = services.get(BINDING_REDIRECT) or services.get(BINDING_POST)
    if not login_url:
        raise SsoConfigError(
            "the metadata names no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding"
        )
    logouts = {s.get("Binding"): s.get("Location") for s in descriptor.findall(f"{_MD}SingleLogoutService")}
    certificates: list[bytes] = []
    for key in descriptor.findall(f"{_MD}KeyDescriptor"):
        if key.get("use") not in (None, "signing"):
            continue
        for text in key.iterfind(f"{_DS}KeyInfo/{_DS}X509Data/{_DS}X509Certificate"):
            certificates.extend(parse_certificates(text.text or ""))
    if not certificates:
        raise SsoConfigError("the metadata's IDPSSODescriptor carries no signing certificate")
    return IdpTrust(
        entity_id=entity_id,
        login_url=check_url(login_url, "SingleSignOnService Location"),
        certificates=tuple(dict.fromkeys(certificates)),
        logout_url=logouts.get(BINDING_REDIRECT) or logouts.get(BINDING_POST),
    )


def _idp_entity(root: etree._Element) -> etree._Element:
    if root.tag == f"{_MD}EntityDescriptor":
        candidates = [root]
    elif root.tag == f"{_MD}EntitiesDescriptor":
        candidates = list(root.iter(f"{_MD}EntityDescriptor"))
    else:
        raise SsoConfigError(
            f"the document is not SAML metadata (its root is {etree.QName(root).localname}, "
            "not EntityDescriptor)"
        )
    for entity in candidates:
        if entity.find(f"{_MD}IDPSSODescriptor") is not None:
            return entity
    raise SsoConfigError("the metadata describes no identity provider (no IDPSSODescriptor)")


# -- writing metadata ----------------------------------------------------------------------------


def idp_metadata_xml(trust: IdpTrust) -> str:
    """A minimal IdP metadata document for pysaml2: entity ID, SSO endpoints, signing keys."""
    nsmap = {"md": SAML_METADATA_NS, "ds": DSIG_NS}
    entity = etree.Element(f"{_MD}EntityDescriptor", nsmap=nsmap, entityID=trust.entity_id)
    descriptor = etree.SubElement(
        entity, f"{_MD}IDPSSODescriptor", protocolSupportEnumeration=PROTOCOL, WantAuthnRequestsSigned="false"
    )
    for der in trust.certificates:
        key = etree.SubElement(descriptor, f"{_MD}KeyDescriptor", use="signing")
        data = etree.SubElement(etree.SubElement(key, f"{_DS}KeyInfo"), f"{_DS}X509Data")
        etree.SubElement(data, f"{_DS}X509Certificate").text = base64.b64encode(der).decode("ascii")
    if trust.logout_url:
        for binding in (BINDING_REDIRECT, BINDING_POST):
            etree.SubElement(
                descriptor, f"{_MD}SingleLogoutService", Binding=binding, Location=trust.logout_url
            )
    etree.SubElement(descriptor, f"{_MD}NameIDFormat").text = NAMEID_EMAIL
    for binding in (BINDING_REDIRECT, BINDING_POST):
        etree.SubElement(descriptor, f"{_MD}SingleSignOnService", Binding=binding, Location=trust.login_url)
    return etree.tostring(entity, encoding="unicode")


def sp_metadata_xml(values: SpValues) -> bytes:
    """Galaxy's SP metadata: its Entity ID, the POST Assertion Consumer Service and the email
    NameID format it needs. Unsigned, with no key: Galaxy neither signs AuthnRequests nor
    accepts encrypted assertions (Entra needs neither)."""
    entity = etree.Element(
        f"{_MD}EntityDescriptor", nsmap={"md": SAML_METADATA_NS}, entityID=values.entity_id
    )
    descriptor = etree.SubElement(
        entity,
        f"{_MD}SPSSODescriptor",
        protocolSupportEnumeration=PROTOCOL,
        AuthnRequestsSigned="false",
        WantAssertionsSigned="true",
    )
    etree.SubElement(descriptor, f"{_MD}NameIDFormat").text = NAMEID_EMAIL
    etree.SubElement(
        descriptor,
        f"{_MD}AssertionConsumerService",
        Binding=BINDING_POST,
        Location=values.reply_url,
        index="0",
        isDefault="true",
    )
    return etree.tostring(entity, encoding="utf-8", xml_declaration=True)
