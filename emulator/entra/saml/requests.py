"""What an SP sends to `/{tenant}/saml2`: the two bindings decoded, the message parsed, and
Entra's rules for an AuthnRequest applied.

Decoding is kept apart from protocol handling (as pysaml2 does): `decode_redirect` and
`decode_post` turn the `SAMLRequest` parameter into XML bytes, `parse_request` turns those into
an `AuthnRequest` or a `LogoutRequest` through the hardened parser (no DTD, no entities, no
network), and `check_authn_request` applies the rules of entra-docs single-sign-on-saml-protocol
(reference entra-and-galaxy.md §3, saml.md §2). Every refusal is an `AadstsError` (Entra shows a
page) or a `SamlFailureError` (Entra posts an error Response to the reply URL), never a crash.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass

from lxml import etree

from emulator.entra.saml.errors import (
    NO_AUTHN_CONTEXT,
    REQUESTER,
    AadstsError,
    SamlFailure,
    SamlFailureError,
    unsupported_property,
)
from emulator.entra.saml.settings import NAMEID_FORMATS, SamlSettings
from emulator.saml.errors import UnsafeXmlError
from emulator.saml.xml import SAML_ASSERTION_NS, SAML_PROTOCOL_NS, parse_xml

BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

#: A decoded message larger than this is refused (a deflate bomb inflates a few KiB to GiBs).
MAX_MESSAGE_BYTES = 256 * 1024

AC_CLASSES = "urn:oasis:names:tc:SAML:2.0:ac:classes:"
AC_PASSWORD = AC_CLASSES + "Password"
# What a password sign-in satisfies when an SP asks for it with Comparison="exact" (anything else,
# such as X509 or Smartcard, is AADSTS75011 "NoMatchedAuthnContextInOutputClaims").
SATISFIED_AUTHN_CONTEXTS = frozenset(
    {AC_PASSWORD, AC_CLASSES + "PasswordProtectedTransport", AC_CLASSES + "Unspecified"}
)

_P = f"{{{SAML_PROTOCOL_NS}}}"
_A = f"{{{SAML_ASSERTION_NS}}}"


def invalid_message(reason: str) -> AadstsError:
    """AADSTS75005 (Saml2MessageInvalid), the code Entra gives a message it cannot read."""
    return AadstsError(75005, f"The request is not a valid Saml2 protocol message. {reason}")


@dataclass(frozen=True)
class AuthnRequest:
    """The parts of a `samlp:AuthnRequest` Entra looks at."""

    id: str
    issuer: str | None
    acs_url: str | None
    force_authn: bool
    is_passive: bool
    name_id_format: str | None
    sp_name_qualifier: str | None
    requested_contexts: tuple[str, ...]
    comparison: str | None
    has_subject: bool
    unsupported_scoping: str | None
    protocol_binding: str | None = None


@dataclass(frozen=True)
class LogoutRequest:
    """The parts of a `samlp:LogoutRequest` Entra looks at."""

    id: str
    issuer: str | None
    name_id: str | None


# -- bindings --------------------------------------------------------------------------------------


def _base64(value: str, binding: str) -> bytes:
    text = value
    if binding == BINDING_REDIRECT:
        # A '+' the SP forgot to percent-encode reaches us as a space.
        text = text.replace(" ", "+")
    text = "".join(text.split())
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_message("The SAMLRequest parameter is not valid base64.") from None


def decode_redirect(value: str) -> bytes:
    """HTTP-Redirect binding (SAML bindings §3.4.4.1): base64 of raw DEFLATE (no zlib header)."""
    compressed = _base64(value, BINDING_REDIRECT)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        xml = inflater.decompress(compressed, MAX_MESSAGE_BYTES)
    except zlib.error:
        raise invalid_message(
            "The SAMLRequest parameter could not be inflated: the HTTP-Redirect binding carries "
            "base64 of raw DEFLATE data."
        ) from None
    if inflater.unconsumed_tail:
        raise invalid_message(f"The SAMLRequest inflates to more than {MAX_MESSAGE_BYTES} bytes.")
    if not xml:
        raise invalid_message("The SAMLRequest parameter is empty.")
    return xml


def decode_post(value: str) -> bytes:
    """HTTP-POST binding (SAML bindings §3.5.4): plain base64 of the XML."""
    xml = _base64(value, BINDING_POST)
    if len(xml) > MAX_MESSAGE_BYTES:
        raise invalid_message(f"The SAMLRequest is larger than {MAX_MESSAGE_BYTES} bytes.")
    if not xml:
        raise invalid_message("The SAMLRequest parameter is empty.")
    return xml


# -- parsing ---------------------------------------------------------------------------------------


def parse_request(xml: bytes) -> AuthnRequest | LogoutRequest:
    """Parse a decoded SAMLRequest; raises `AadstsError` for anything that is not a readable
    SAML 2.0 AuthnRequest or LogoutRequest (DTDs and entities included: saml.md §3)."""
    try:
        root = parse_xml(xml)
    except UnsafeXmlError as exc:
        raise invalid_message(f"The XML was refused: {exc.reason}.") from None
    if root.tag not in (f"{_P}AuthnRequest", f"{_P}LogoutRequest"):
        name = etree.QName(root).localname if isinstance(root.tag, str) else "?"
        raise invalid_message(
            f"Expected a samlp:AuthnRequest or samlp:LogoutRequest, not {name!r} "
            f"in namespace {etree.QName(root).namespace!r}."
        )
    if root.get("Version") != "2.0":
        raise invalid_message(f"The Version must be 2.0, not {root.get('Version')!r}.")
    request_id = root.get("ID")
    if not request_id:
        raise invalid_message("The request has no ID.")
    if request_id[0].isdigit():
        # entra-docs reference-error-codes: AADSTS7500529, "ID must not begin with a number".
        raise AadstsError(
            7500529,
            f"The value '{request_id}' is not a valid SAML ID. The ID must not begin with a number.",
        )
    issuer = _text(root.find(f"{_A}Issuer"))
    if root.tag == f"{_P}LogoutRequest":
        return LogoutRequest(id=request_id, issuer=issuer, name_id=_text(root.find(f"{_A}NameID")))

    policy = root.find(f"{_P}NameIDPolicy")
    context = root.find(f"{_P}RequestedAuthnContext")
    scoping = root.find(f"{_P}Scoping")
    unsupported_scoping = None
    if scoping is not None:
        # entra-docs: "don't include the ProxyCount attribute, IDPListOption or RequesterID".
        if scoping.get("ProxyCount") is not None:
            unsupported_scoping = "Scoping/ProxyCount"
        elif scoping.find(f"{_P}RequesterID") is not None:
            unsupported_scoping = "Scoping/RequesterID"
    return AuthnRequest(
        id=request_id,
        issuer=issuer,
        acs_url=root.get("AssertionConsumerServiceURL"),
        force_authn=_boolean(root.get("ForceAuthn"), "ForceAuthn"),
        is_passive=_boolean(root.get("IsPassive"), "IsPassive"),
        name_id_format=None if policy is None else policy.get("Format"),
        sp_name_qualifier=None if policy is None else policy.get("SPNameQualifier"),
        requested_contexts=()
        if context is None
        else tuple((c.text or "").strip() for c in context.findall(f"{_A}AuthnContextClassRef")),
        comparison=None if context is None else context.get("Comparison", "exact"),
        has_subject=root.find(f"{_A}Subject") is not None,
        unsupported_scoping=unsupported_scoping,
        protocol_binding=root.get("ProtocolBinding"),
    )


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return (element.text or "").strip() or None


def _boolean(value: str | None, name: str) -> bool:
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise invalid_message(f"The {name} attribute must be true or false, not {value!r}.")


# -- Entra's rules ---------------------------------------------------------------------------------


def reply_url_for(request_acs: str | None, settings: SamlSettings, app: dict) -> str:
    """The reply URL the Response goes to: the request's AssertionConsumerServiceURL if it is
    a registered Reply URL (AADSTS50011 otherwise), else the default Reply URL."""
    if request_acs is not None:
        if request_acs in settings.reply_urls:
            return request_acs
        raise AadstsError(
            50011,
            f"The redirect URI '{request_acs}' specified in the request does not match the redirect "
            f"URIs configured for the application '{app['appId']}'. Make sure the redirect URI sent "
            "in the request matches one added to your application in the Azure portal.",
        )
    if settings.default_reply_url is None:
        raise AadstsError(
            500113, f"No reply address is registered for the application '{app['displayName']}'."
        )
    return settings.default_reply_url


def check_response_binding(request: AuthnRequest) -> None:
    """Entra answers only by HTTP-POST: a request for the Response by another binding (Artifact,
    PAOS) is AADSTS75003 (UnsupportedBindingError), shown as a page since it cannot be posted."""
    if request.protocol_binding is not None and request.protocol_binding != BINDING_POST:
        raise AadstsError(
            75003,
            f"The request asked for the response by the binding '{request.protocol_binding}'; a SAML "
            "protocol response can't be sent via bindings other than HTTP POST.",
        )


def check_authn_request(request: AuthnRequest) -> None:
    """The rules that Entra answers with an error Response at the (already trusted) reply URL;
    raises `SamlFailureError`."""
    if request.has_subject:
        # entra-docs: "Don't include a Subject element ... will return an error".
        raise SamlFailureError(unsupported_property("Subject"))
    if request.unsupported_scoping is not None:
        raise SamlFailureError(unsupported_property(request.unsupported_scoping))
    if request.name_id_format is not None and request.name_id_format not in NAMEID_FORMATS.values():
        # entra-docs: "The Format attribute can have only one of the following values; any
        # other value results in an error"; reference §3: Requester/RequestUnsupported.
        raise SamlFailureError(
            SamlFailure(
                75006,
                "An error occurred while processing a SAML2 Authentication request. AADSTS75016: "
                f"SAML2 Authentication Request has invalid NameIdPolicy: the Format "
                f"'{request.name_id_format}' is not supported. Use one of "
                f"{', '.join(NAMEID_FORMATS.values())}.",
            )
        )
    if request.comparison is not None and request.comparison != "exact":
        # entra-docs: "the Comparison element must be set to exact".
        raise SamlFailureError(unsupported_property(f"RequestedAuthnContext/Comparison={request.comparison}"))
    if request.requested_contexts and not SATISFIED_AUTHN_CONTEXTS.intersection(request.requested_contexts):
        raise SamlFailureError(
            SamlFailure(
                75011,
                "Authentication method 'Password' by which the user authenticated with the service "
                "doesn't match requested authentication method "
                f"'{', '.join(request.requested_contexts)}'. Contact the application owner.",
                status=REQUESTER,
                sub_status=NO_AUTHN_CONTEXT,
            )
        )
