"""Entra-exact SAML messages, built with lxml and signed with `emulator.saml.signing`.

pysaml2's own output is not Entra's (prefixes `ns0`, an Issuer Format, `id-` ids, NameFormat on
every attribute: reference saml.md §4 pitfall 5), so the documents are written here element by
element after entra-docs single-sign-on-saml-protocol and reference entra-and-galaxy.md §3:

    <samlp:Response xmlns:samlp=... ID="_guid" Version="2.0" IssueInstant Destination InResponseTo>
      <Issuer xmlns="...assertion">https://sts.windows.net/{tenant}/</Issuer>
      <samlp:Status><samlp:StatusCode Value="...Success"/></samlp:Status>
      <Assertion xmlns="...assertion" ID="_guid" IssueInstant Version="2.0">
        <Issuer>...</Issuer> [Signature]
        <Subject> NameID, SubjectConfirmation bearer (InResponseTo, NotOnOrAfter +5 min, Recipient)
        <Conditions NotBefore=IssueInstant NotOnOrAfter=+70 min> AudienceRestriction/Audience
        <AttributeStatement> Attribute Name=... (no NameFormat) / AttributeValue
        <AuthnStatement AuthnInstant SessionIndex=assertion ID> ...ac:classes:Password

The functions are pure: time, ids and keys come in as arguments.
"""

from __future__ import annotations

import base64
import re
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from emulator.clock import format_instant
from emulator.entra.saml.errors import SamlFailure
from emulator.entra.saml.settings import is_uri
from emulator.saml.keys import SigningKeyPair
from emulator.saml.signing import SignatureAlgorithm, sign_element
from emulator.saml.xml import SAML_ASSERTION_NS, SAML_PROTOCOL_NS

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
AC_PASSWORD = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"

_P = f"{{{SAML_PROTOCOL_NS}}}"
_A = f"{{{SAML_ASSERTION_NS}}}"


def new_id() -> str:
    """Entra's message ids: `_` and a GUID (reference §3), which never start with a digit."""
    return f"_{uuid.uuid4()}"


def audience_for(identifier: str) -> str:
    """The Audience for an app Identifier: itself, or `spn:` + it when it is not a URI (entra-docs
    single-sign-on-saml-protocol, "Audience")."""
    return identifier if is_uri(identifier) else f"spn:{identifier}"


@dataclass(frozen=True)
class Signer:
    """Who signs and how: the tenant's active key pair (its certificate goes into KeyInfo, as
    Entra's tokens carry it) and the app's algorithm."""

    pair: SigningKeyPair
    algorithm: SignatureAlgorithm = SignatureAlgorithm.RSA_SHA256

    def sign(self, xml: bytes, element_id: str) -> bytes:
        """Sign the element `element_id`; the signature goes right after its Issuer."""
        return sign_element(xml, element_id, self.pair, self.pair.certificate, self.algorithm)


@dataclass(frozen=True)
class Attribute:
    """One claim: its Name (a URI, with no NameFormat, as Entra writes it) and its values."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Assertion:
    """What the assertion says, ready to be written: who, for whom, until when."""

    issuer: str
    name_id: str
    name_id_format: str
    recipient: str
    audience: str
    attributes: Sequence[Attribute]
    issue_instant: datetime
    authn_instant: datetime
    lifetime: timedelta
    subject_confirmation_lifetime: timedelta
    in_response_to: str | None = None
    sp_name_qualifier: str | None = None


def build_response(
    assertion: Assertion,
    signer: Signer,
    *,
    sign_assertion: bool = True,
    sign_response: bool = False,
    response_id: str | None = None,
    assertion_id: str | None = None,
) -> bytes:
    """A signed `samlp:Response` carrying `assertion`, as bytes for the HTTP-POST binding.

    Signing follows the app's "Signing Option" (reference §3): the assertion only (Entra's
    default), the response only, or both, the assertion first so that the response signature
    covers it."""
    response_id = response_id or new_id()
    assertion_id = assertion_id or new_id()
    instant = format_instant(assertion.issue_instant)
    response = _response_root("Response", response_id, instant, assertion.recipient, assertion.in_response_to)
    _issuer(response, assertion.issuer)
    status = etree.SubElement(response, f"{_P}Status")
    etree.SubElement(status, f"{_P}StatusCode", Value=STATUS_SUCCESS)
    _assertion(response, assertion, assertion_id, instant)
    xml = etree.tostring(response, encoding="utf-8")
    if sign_assertion:
        xml = signer.sign(xml, assertion_id)
    if sign_response:
        xml = signer.sign(xml, response_id)
    return xml


def _response_root(
    kind: str, response_id: str, instant: str, destination: str | None, in_response_to: str | None
) -> etree._Element:
    root = etree.Element(f"{_P}{kind}", nsmap={"samlp": SAML_PROTOCOL_NS})
    root.set("ID", response_id)
    root.set("Version", "2.0")
    root.set("IssueInstant", instant)
    if destination is not None:
        root.set("Destination", destination)
    if in_response_to is not None:
        root.set("InResponseTo", in_response_to)
    return root


def _issuer(parent: etree._Element, issuer: str) -> None:
    # <Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">, with no Format (pitfall 5).
    etree.SubElement(parent, f"{_A}Issuer", nsmap={None: SAML_ASSERTION_NS}).text = issuer


def _assertion(parent: etree._Element, a: Assertion, assertion_id: str, instant: str) -> None:
    node = etree.SubElement(parent, f"{_A}Assertion", nsmap={None: SAML_ASSERTION_NS})
    node.set("ID", assertion_id)
    node.set("IssueInstant", instant)
    node.set("Version", "2.0")
    etree.SubElement(node, f"{_A}Issuer").text = a.issuer

    subject = etree.SubElement(node, f"{_A}Subject")
    name_id = etree.SubElement(subject, f"{_A}NameID", Format=a.name_id_format)
    if a.sp_name_qualifier is not None:
        # entra-docs: "If SPNameQualifier is specified, Microsoft Entra ID includes the same
        # SPNameQualifier in the response."
        name_id.set("SPNameQualifier", a.sp_name_qualifier)
    name_id.text = a.name_id
    confirmation = etree.SubElement(subject, f"{_A}SubjectConfirmation", Method=BEARER)
    data = etree.SubElement(confirmation, f"{_A}SubjectConfirmationData")
    if a.in_response_to is not None:
        data.set("InResponseTo", a.in_response_to)
    data.set("NotOnOrAfter", format_instant(a.issue_instant + a.subject_confirmation_lifetime))
    data.set("Recipient", a.recipient)

    # NotBefore is the issue instant with no skew buffer; NotOnOrAfter 70 minutes on (§3).
    conditions = etree.SubElement(
        node,
        f"{_A}Conditions",
        NotBefore=instant,
        NotOnOrAfter=format_instant(a.issue_instant + a.lifetime),
    )
    restriction = etree.SubElement(conditions, f"{_A}AudienceRestriction")
    etree.SubElement(restriction, f"{_A}Audience").text = a.audience

    if a.attributes:
        statement = etree.SubElement(node, f"{_A}AttributeStatement")
        for attribute in a.attributes:
            element = etree.SubElement(statement, f"{_A}Attribute", Name=attribute.name)
            for value in attribute.values:
                etree.SubElement(element, f"{_A}AttributeValue").text = value

    authn = etree.SubElement(
        node,
        f"{_A}AuthnStatement",
        AuthnInstant=format_instant(a.authn_instant),
        SessionIndex=assertion_id,  # = the assertion ID in Microsoft's sample (§3)
    )
    context = etree.SubElement(authn, f"{_A}AuthnContext")
    etree.SubElement(context, f"{_A}AuthnContextClassRef").text = AC_PASSWORD


def status_message(failure: SamlFailure, now: datetime, trace_id: str) -> str:
    """The StatusMessage Entra writes: the AADSTS text, then the trace id and a timestamp."""
    return f"{failure.text}\nTrace ID: {trace_id}\nTimestamp: {now.strftime('%Y-%m-%d %H:%M:%SZ')}"


def build_error_response(
    *,
    issuer: str,
    destination: str,
    in_response_to: str | None,
    failure: SamlFailure,
    now: datetime,
    trace_id: str,
) -> bytes:
    """A failed `samlp:Response`: nested StatusCode (e.g. Requester / RequestUnsupported) and a
    StatusMessage, unsigned like Microsoft's sample (reference §3 "Error sample")."""
    root = _response_root("Response", new_id(), format_instant(now), destination, in_response_to)
    _issuer(root, issuer)
    status = etree.SubElement(root, f"{_P}Status")
    code = etree.SubElement(status, f"{_P}StatusCode", Value=failure.status)
    if failure.sub_status is not None:
        etree.SubElement(code, f"{_P}StatusCode", Value=failure.sub_status)
    etree.SubElement(status, f"{_P}StatusMessage").text = status_message(failure, now, trace_id)
    return etree.tostring(root, encoding="utf-8")


def build_logout_response(
    *, issuer: str, destination: str | None, in_response_to: str, now: datetime
) -> bytes:
    """A successful `samlp:LogoutResponse` (entra-docs single-sign-out-saml-protocol)."""
    root = _response_root("LogoutResponse", new_id(), format_instant(now), destination, in_response_to)
    _issuer(root, issuer)
    status = etree.SubElement(root, f"{_P}Status")
    etree.SubElement(status, f"{_P}StatusCode", Value=STATUS_SUCCESS)
    return etree.tostring(root, encoding="utf-8")


def redirect_url(
    location: str,
    xml: bytes,
    *,
    parameter: str = "SAMLResponse",
    relay_state: str | None = None,
    signer: Signer | None = None,
) -> str:
    """`location` with the message in the HTTP-Redirect binding (SAML bindings §3.4.4): raw
    DEFLATE, base64, and when `signer` is given the SigAlg and Signature parameters computed
    over the encoded query, in the order the binding prescribes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    encoded = base64.b64encode(compressor.compress(xml) + compressor.flush()).decode("ascii")
    params = [(parameter, encoded)]
    if relay_state is not None:
        params.append(("RelayState", relay_state))
    query = _entra_urlencode(params)
    if signer is not None:
        query += "&" + _entra_urlencode([("SigAlg", signer.algorithm.value)])
        digest = hashes.SHA1() if signer.algorithm is SignatureAlgorithm.RSA_SHA1 else hashes.SHA256()
        signature = signer.pair.private_key.sign(query.encode("ascii"), padding.PKCS1v15(), digest)
        query += "&" + _entra_urlencode([("Signature", base64.b64encode(signature).decode("ascii"))])
    separator = "&" if urlsplit(location).query else "?"
    return f"{location}{separator}{query}"


def _entra_urlencode(params: list[tuple[str, str]]) -> str:
    """Form-encode with lower-case percent escapes (`%2f`, not `%2F`), as .NET's UrlEncode writes
    them. Entra signs the Redirect binding over these exact bytes, so an SP that re-encodes the
    parameters upper-case before verifying fails with Entra, and with the emulator, unless told
    (python3-saml's `lowercase_urlencoding`; python3-saml #282, php-saml #433)."""
    return _ESCAPE.sub(lambda m: m.group(0).lower(), urlencode(params))


_ESCAPE = re.compile(r"%[0-9A-F]{2}")
