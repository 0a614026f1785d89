"""A stand-in identity provider for Galaxy's SP tests: Entra-shaped responses built with lxml and
signed by signxml, an independent signer (not our xmlsec backend), with keys made here.

It knows nothing of `emulator.entra`: the tests configure Galaxy with its certificate by hand, the
way an administrator pastes Entra's "Certificate (Base64)", so Galaxy's SP is tested alone.
"""

from __future__ import annotations

import base64
import copy
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, SignatureConstructionMethod

from emulator.clock import format_instant

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"samlp": SAMLP, "saml": SAML, "ds": DS}
TENANT = "5f2b9c1e-3a4d-4e6f-8a9b-0c1d2e3f4a5b"
ISSUER = f"https://sts.windows.net/{TENANT}/"
LOGIN_URL = f"https://login.microsoftonline.example/{TENANT}/saml2"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"
GROUPS_CLAIM = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"


class _Sha1Signer(XMLSigner):
    """signxml refuses SHA-1 unless a subclass allows it (its documented way): Entra can still
    be set to sign with SHA-1, and Galaxy must refuse that by default."""

    def check_deprecated_methods(self) -> None:
        pass


@dataclass
class KeyPair:
    key: rsa.RSAPrivateKey = field(repr=False)
    cert: x509.Certificate = field(repr=False)

    @classmethod
    def generate(cls, common_name: str = "Microsoft Azure Federated SSO Certificate") -> KeyPair:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        start = datetime(2025, 1, 1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=3 * 365))
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def cert_base64(self) -> str:
        return base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def new_id() -> str:
    return f"_{uuid.uuid4()}"


@dataclass
class StandInIdp:
    """Builds and signs responses the way Entra lays them out (reference saml.md §2)."""

    keys: KeyPair
    entity_id: str = ISSUER
    login_url: str = LOGIN_URL

    def metadata(self) -> bytes:
        """App Federation Metadata-like: EntityDescriptor with an IDPSSODescriptor."""
        return (
            f'<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" ID="{new_id()}" '
            f'entityID="{self.entity_id}"><IDPSSODescriptor '
            'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f'<KeyDescriptor use="signing"><KeyInfo xmlns="{DS}"><X509Data><X509Certificate>'
            f"{self.keys.cert_base64}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>"
            '<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
            f'Location="{self.login_url}"/>'
            "<NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</NameIDFormat>"
            '<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
            f'Location="{self.login_url}"/>'
            '<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
            f'Location="{self.login_url}"/></IDPSSODescriptor></EntityDescriptor>'
        ).encode()

    def response(
        self,
        *,
        now: datetime,
        email: str,
        acs: str,
        audience: str,
        in_response_to: str | None = None,
        sign: str = "assertion",
        algorithm: str = "rsa-sha256",
        keys: KeyPair | None = None,
        destination: str | None = None,
        recipient: str | None = None,
        issuer: str | None = None,
        assertion_lifetime: timedelta = timedelta(minutes=70),
        confirmation_lifetime: timedelta = timedelta(minutes=5),
        not_before: datetime | None = None,
        attributes: dict[str, list[str]] | None = None,
    ) -> bytes:
        """A signed Response (`sign`: "assertion", Entra's default, "response", "both" or "none")."""
        issuer = issuer or self.entity_id
        issued = format_instant(now)
        assertion_id, response_id = new_id(), new_id()
        irt = f' InResponseTo="{in_response_to}"' if in_response_to else ""
        values = attributes or {
            f"{CLAIMS}/emailaddress": [email],
            f"{CLAIMS}/name": [email],
            "http://schemas.microsoft.com/identity/claims/tenantid": [TENANT],
            GROUPS_CLAIM: ["6a7b8c9d-0000-4000-8000-000000000001"],
        }
        attribute_xml = "".join(
            f'<Attribute Name="{name}">'
            + "".join(f"<AttributeValue>{value}</AttributeValue>" for value in vals)
            + "</Attribute>"
            for name, vals in values.items()
        )
        assertion = (
            f'<Assertion xmlns="{SAML}" ID="{assertion_id}" IssueInstant="{issued}" Version="2.0">'
            f"<Issuer>{issuer}</Issuer>"
            f'<Subject><NameID Format="{EMAIL_FORMAT}">{email}</NameID>'
            '<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
            f'<SubjectConfirmationData{irt} NotOnOrAfter="{format_instant(now + confirmation_lifetime)}" '
            f'Recipient="{recipient or acs}"/></SubjectConfirmation></Subject>'
            f'<Conditions NotBefore="{format_instant(not_before or now)}" '
            f'NotOnOrAfter="{format_instant((not_before or now) + assertion_lifetime)}">'
            f"<AudienceRestriction><Audience>{audience}</Audience></AudienceRestriction></Conditions>"
            f"<AttributeStatement>{attribute_xml}</AttributeStatement>"
            f'<AuthnStatement AuthnInstant="{issued}" SessionIndex="{assertion_id}"><AuthnContext>'
            "<AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</AuthnContextClassRef>"
            "</AuthnContext></AuthnStatement></Assertion>"
        )
        signer_keys = keys or self.keys
        if sign in ("assertion", "both"):
            assertion = self._sign(assertion, assertion_id, signer_keys, algorithm)
        response = (
            f'<samlp:Response xmlns:samlp="{SAMLP}" ID="{response_id}" Version="2.0" '
            f'IssueInstant="{issued}" Destination="{destination or acs}"{irt}>'
            f'<Issuer xmlns="{SAML}">{issuer}</Issuer>'
            f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
            f"</samlp:Status>{assertion}</samlp:Response>"
        )
        if sign in ("response", "both"):
            response = self._sign(response, response_id, signer_keys, algorithm)
        return response.encode()

    @staticmethod
    def _sign(xml: str, element_id: str, keys: KeyPair, algorithm: str) -> str:
        """Sign the document's root element, with the signature right after its Issuer (where
        the SAML schema wants it) and exclusive c14n, as Entra does."""
        root = etree.fromstring(xml.encode())
        issuer = root.find(f"{{{SAML}}}Issuer")
        placeholder = etree.Element(f"{{{DS}}}Signature", nsmap={None: DS}, Id="placeholder")
        issuer.addnext(placeholder)
        digest = "sha1" if algorithm.endswith("sha1") else "sha256"
        signer_class = _Sha1Signer if digest == "sha1" else XMLSigner
        signer = signer_class(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm=algorithm,
            digest_algorithm=digest,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        signed = signer.sign(
            root, key=keys.key, cert=[keys.cert], reference_uri=f"#{element_id}", id_attribute="ID"
        )
        return etree.tostring(signed, encoding="unicode")


# -- taking documents apart -----------------------------------------------------------------------


def encode(document: bytes) -> str:
    """The SAMLResponse form value (HTTP-POST binding: Base64, no compression)."""
    return base64.b64encode(document).decode("ascii")


def edit(document: bytes, change) -> bytes:
    root = etree.fromstring(document)
    change(root)
    return etree.tostring(root)


def assertion_of(root: etree._Element) -> etree._Element:
    return root.find("saml:Assertion", NS)


def set_name_id(element: etree._Element, value: str) -> None:
    element.find(".//saml:Subject/saml:NameID", NS).text = value


def copy_of(element: etree._Element) -> etree._Element:
    return copy.deepcopy(element)


def authn_request_from(location: str) -> tuple[etree._Element, dict[str, list[str]]]:
    """The AuthnRequest an HTTP-Redirect carries (Base64 of raw DEFLATE in SAMLRequest)."""
    query = parse_qs(urlsplit(location).query)
    xml = zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15)
    return etree.fromstring(xml), query
