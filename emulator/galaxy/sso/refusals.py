"""Why Galaxy refused a SAML sign-in: a short code for tests and tools, and a sentence for people.

Every way a posted SAMLResponse can fail ends as a `LoginRefused`, which the ACS answers with a
403 page naming the reason (never a 500). pysaml2 raises many exception types, some of them a
plain `Exception` distinguished only by its message (reference saml.md §4 pitfall 9), so
`refusal_from_exception` maps them all here, in one place.
"""

from __future__ import annotations

from enum import StrEnum

from emulator.saml.errors import SamlSecurityError, SignatureMismatch, SignatureRejected, UnsafeXmlError


class RefusalCode(StrEnum):
    """One code per reason; the 403 page carries it in `data-refusal` and a JSON twin."""

    NOT_CONFIGURED = "sso-not-configured"
    MISSING = "missing-response"
    BAD_ENCODING = "bad-encoding"
    UNSAFE_XML = "unsafe-xml"
    MALFORMED = "malformed"
    IDP_ERROR = "idp-error"
    ISSUER = "wrong-issuer"
    DESTINATION = "wrong-destination"
    RECIPIENT = "wrong-recipient"
    AUDIENCE = "wrong-audience"
    UNSIGNED = "unsigned"
    SIGNATURE = "bad-signature"
    WRAPPING = "signature-wrapping"
    ALGORITHM = "algorithm-refused"
    UNKNOWN_REQUEST = "unknown-in-response-to"
    UNSOLICITED = "unsolicited"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    REPLAYED = "replayed"
    NAME_ID = "name-id-not-email"
    NOT_PROVISIONED = "not-provisioned"
    DEACTIVATED = "deactivated"


class LoginRefused(Exception):
    """A sign-in Galaxy will not complete; `reason` is a sentence fit for the 403 page."""

    def __init__(self, code: RefusalCode, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason

    @property
    def title(self) -> str:
        return _TITLES.get(self.code, "Sign-in refused")


_TITLES = {
    RefusalCode.NOT_PROVISIONED: "Your account is not provisioned yet",
    RefusalCode.DEACTIVATED: "Your account is deactivated",
    RefusalCode.NOT_CONFIGURED: "Single sign-on is not configured",
}


def refusal_from_exception(exc: BaseException) -> LoginRefused:
    """The refusal for whatever pysaml2 or the signature backend raised while reading a response."""
    if isinstance(exc, LoginRefused):
        return exc
    if isinstance(exc, SamlSecurityError):
        return _from_security_error(exc)
    # A SamlSecurityError raised by our backend may reach us wrapped by pysaml2.
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, SamlSecurityError):
        return _from_security_error(cause)
    name = type(exc).__name__
    text = _message(exc)
    lowered = text.lower()
    if name.startswith("Status") or "unsuccessful operation" in lowered:
        return LoginRefused(
            RefusalCode.IDP_ERROR,
            f"the identity provider answered with an error instead of a sign-in: {text}",
        )
    if name == "UnsolicitedResponse":
        return LoginRefused(
            RefusalCode.UNKNOWN_REQUEST,
            "the response answers a sign-in request Galaxy did not send or has already used",
        )
    if name == "ResponseLifetimeExceed":
        return LoginRefused(RefusalCode.EXPIRED, "the response has expired (NotOnOrAfter has passed)")
    if name == "ToEarly":
        return LoginRefused(RefusalCode.NOT_YET_VALID, "the response is not valid yet (NotBefore is ahead)")
    if "audiencerestriction" in lowered:
        return LoginRefused(
            RefusalCode.AUDIENCE, "the assertion's Audience is not Galaxy's Identifier (Entity ID)"
        )
    if "number of assertions" in lowered:
        return LoginRefused(
            RefusalCode.WRAPPING,
            f"the response must carry exactly one assertion ({text}): a signature wrapping attempt",
        )
    if "recipient" in lowered:
        return LoginRefused(
            RefusalCode.RECIPIENT, "the subject confirmation's Recipient is not Galaxy's Reply URL"
        )
    if "neither the response nor the assertions are signed" in lowered or "signature missing" in lowered:
        return LoginRefused(RefusalCode.UNSIGNED, "neither the response nor its assertion is signed")
    if name in ("MissingKey",):
        return LoginRefused(RefusalCode.ISSUER, f"no trusted certificate for the issuer {text}")
    if name in ("SignatureError", "SigverError", "BadSignature", "CertificateError"):
        return LoginRefused(
            RefusalCode.SIGNATURE,
            "the signature does not verify with the identity provider's certificate "
            "(the document was changed after signing, another key signed it, or it is not laid out "
            "as SAML requires)",
        )
    if name in ("XMLSchemaValidationError", "XMLSchemaError") or "schema" in lowered:
        return LoginRefused(RefusalCode.MALFORMED, "the response does not follow the SAML schema")
    if name in ("EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden", "ParseError"):
        return LoginRefused(
            RefusalCode.UNSAFE_XML, "the XML carries a DTD or an entity, which SAML never uses"
        )
    return LoginRefused(RefusalCode.MALFORMED, f"the response could not be read ({name}: {text})")


def _from_security_error(exc: SamlSecurityError) -> LoginRefused:
    if isinstance(exc, UnsafeXmlError):
        return LoginRefused(RefusalCode.UNSAFE_XML, exc.reason)
    if isinstance(exc, SignatureMismatch):
        return LoginRefused(RefusalCode.SIGNATURE, exc.reason)
    if isinstance(exc, SignatureRejected):
        if "wrapping" in exc.reason:
            return LoginRefused(RefusalCode.WRAPPING, exc.reason)
        if "algorithm" in exc.reason:
            return LoginRefused(
                RefusalCode.ALGORITHM,
                f"{exc.reason} (Galaxy refuses SHA-1 signatures unless its SSO setting allows them)",
            )
        return LoginRefused(RefusalCode.SIGNATURE, exc.reason)
    return LoginRefused(RefusalCode.SIGNATURE, exc.reason)


def _message(exc: BaseException) -> str:
    """pysaml2 sometimes raises with a dict of context (and the whole document) as the argument;
    keep only its message so the page stays short and shows no document."""
    if exc.args and isinstance(exc.args[0], dict):
        context = exc.args[0]
        return str(context.get("message") or context.get("reason") or "")[:300]
    return str(exc)[:300]
