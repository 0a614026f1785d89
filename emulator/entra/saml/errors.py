"""Entra's sign-in errors: an AADSTS code and message, shown on a page or sent in a SAML Response.

Codes and wording follow Microsoft's "Microsoft Entra authentication and authorization error
codes" page (entra-docs identity-platform/reference-error-codes.md) and, for SAML, reference
entra-and-galaxy.md §3 and saml.md §2.
"""

from __future__ import annotations

from dataclasses import dataclass

SAML_STATUS = "urn:oasis:names:tc:SAML:2.0:status:"
REQUESTER = SAML_STATUS + "Requester"
RESPONDER = SAML_STATUS + "Responder"
REQUEST_UNSUPPORTED = SAML_STATUS + "RequestUnsupported"
NO_PASSIVE = SAML_STATUS + "NoPassive"
NO_AUTHN_CONTEXT = SAML_STATUS + "NoAuthnContext"
INVALID_NAMEID_POLICY = SAML_STATUS + "InvalidNameIDPolicy"


class AadstsError(Exception):
    """A refusal Entra shows on its own error page ("Sorry, but we're having trouble signing you
    in"): the request cannot be answered to the app, because the app or its reply URL is unknown
    or the person may not go on. `status` is the HTTP status of that page."""

    def __init__(self, code: int, message: str, status: int = 400, *, title: str | None = None) -> None:
        super().__init__(f"AADSTS{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.title = title

    @property
    def text(self) -> str:
        return f"AADSTS{self.code}: {self.message}"


@dataclass(frozen=True)
class SamlFailure:
    """A refusal Entra answers with a SAML error Response POSTed to the app's reply URL, once the
    app and the reply URL are known (reference §3: nested StatusCode, StatusMessage
    "AADSTS75006: ...")."""

    code: int
    message: str
    status: str = REQUESTER
    sub_status: str | None = REQUEST_UNSUPPORTED

    @property
    def text(self) -> str:
        return f"AADSTS{self.code}: {self.message}"


class SamlFailureError(Exception):
    """Raised while checking a request whose app and reply URL are already known: the handler
    turns it into an error Response for that reply URL."""

    def __init__(self, failure: SamlFailure) -> None:
        super().__init__(failure.text)
        self.failure = failure


def unsupported_property(name: str) -> SamlFailure:
    """AADSTS900236 (InvalidRequestSamlPropertyUnsupported) wrapped the way Entra's sample wraps
    request errors, in AADSTS75006."""
    return SamlFailure(
        75006,
        "An error occurred while processing a SAML2 Authentication request. "
        f"AADSTS900236: The SAML authentication request property '{name}' is not supported "
        "and must not be set.",
    )
