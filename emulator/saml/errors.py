"""Why a SAML document or signature was refused, as exceptions that carry a readable reason."""

from __future__ import annotations


class SamlSecurityError(Exception):
    """A SAML document was refused; `reason` is a sentence fit for a 403 page (no key material)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsafeXmlError(SamlSecurityError):
    """The XML is not well-formed, or carries a DTD, an entity or another construct SAML never needs."""


class SignatureRejected(SamlSecurityError):
    """The signature breaks the rules before any cryptography runs: a refused algorithm, a missing or
    extra signature, a Reference that does not point at its own element, a duplicated ID."""


class SignatureMismatch(SamlSecurityError):
    """The signature is well-formed but no trusted certificate verifies it (tampered, or another key)."""
