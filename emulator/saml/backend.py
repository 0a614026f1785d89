"""pysaml2's crypto backend on the python `xmlsec` wheel: signatures in process, no xmlsec1 program.

pysaml2 ships two backends: the `xmlsec1` program (a process and temporary files per call, about
35 ms) and pyXMLSecurity (which accepts a same-ID wrapping attack: reference saml.md §3). This
one signs in about 1.6 ms and applies the rules of `emulator.saml.signing` to every signature
pysaml2 asks it to check. Load a config with `crypto_backend: "XMLSecurity"` (so no binary is
looked for), then call `install` on the Server or Saml2Client; `server_from_settings` and
`client_from_settings` do both. Encryption is not done here: pass the xmlsec1 backend as
`fallback` if a test needs it (reference saml.md §3 advises keeping encryption off).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import xmlsec
from cryptography.utils import CryptographyDeprecationWarning

from emulator.saml.errors import SignatureMismatch, SignatureRejected
from emulator.saml.signing import (
    DEFAULT_ALLOWED_ALGORITHMS,
    SignatureAlgorithm,
    find_signed_element,
    own_signature,
    private_key,
    sign_node,
    verify_element,
)
from emulator.saml.xml import parse_xml, to_text

with warnings.catch_warnings():
    # pysaml2 7.5 names modes.CFB at import, which cryptography ≥ 45 deprecates (saml.md pitfall 12).
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from saml2 import SamlBase
    from saml2.client import Saml2Client
    from saml2.config import IdPConfig, SPConfig
    from saml2.entity import Entity
    from saml2.server import Server
    from saml2.sigver import CryptoBackend, DecryptError, EncryptError, SignatureError

#: The only value of pysaml2's `crypto_backend` setting that loads without the xmlsec1 program.
CONFIG_CRYPTO_BACKEND = "XMLSecurity"


class XmlsecBackend(CryptoBackend):
    """Signs and verifies for pysaml2 with python-xmlsec, under `emulator.saml.signing`'s rules.

    `validate_signature` returns False when the signature does not match the certificate pysaml2
    offers (it then tries the next metadata certificate), and raises `SignatureRejected` or
    `UnsafeXmlError` when the document breaks a rule, so the reason reaches the caller.
    """

    def __init__(
        self,
        *,
        allowed_algorithms: Collection[str] = DEFAULT_ALLOWED_ALGORITHMS,
        fallback: CryptoBackend | None = None,
    ) -> None:
        super().__init__()
        self.allowed_algorithms = frozenset(SignatureAlgorithm.from_name(a) for a in allowed_algorithms)
        self.fallback = fallback

    @property
    def version(self) -> str:
        return ".".join(str(part) for part in xmlsec.get_libxmlsec_version())

    def sign_statement(
        self, statement: Any, node_name: str, key_file: str | None, node_id: str | None
    ) -> str:
        """Fill in the ds:Signature template pysaml2 put on the element `node_id` (of kind
        `node_name`) with the key in `key_file`; return the whole document as text."""
        if isinstance(statement, SamlBase):
            statement = str(statement)
        if not key_file:
            raise SignatureError("no signing key configured (key_file)")
        root = parse_xml(statement)
        node = find_signed_element(root, node_id, node_name)
        signature = own_signature(node)
        if signature is None:
            raise SignatureError(f"the element {node_id!r} has no signature template to fill in")
        try:
            # Loaded keys are cached by content, not path: pysaml2 may hand over a fresh temporary
            # file per call, and a key rotated at the same path must be picked up.
            key = private_key(Path(key_file).read_bytes())
        except xmlsec.Error as exc:
            raise SignatureError("the signing key could not be read") from exc
        try:
            sign_node(node, signature, key)
        except ValueError as exc:
            raise SignatureError(str(exc)) from exc
        return to_text(root)

    def validate_signature(
        self, signedtext: Any, cert_file: str, cert_type: str, node_name: str, node_id: str | None
    ) -> bool:
        """Whether the element `node_id` (of kind `node_name`) carries its own valid enveloped
        signature by the certificate in `cert_file`, which pysaml2 took from metadata."""
        if signedtext is None:
            raise SignatureRejected("there is no document to verify")
        if isinstance(signedtext, SamlBase):
            signedtext = str(signedtext)
        key = _verification_key(Path(cert_file).read_bytes(), cert_type)
        try:
            verify_element(signedtext, node_id, [key], self.allowed_algorithms, element_tag=node_name)
        except SignatureMismatch:
            return False
        return True

    def encrypt(self, text, recv_key, template, key_type):  # type: ignore[no-untyped-def]
        return self._fallback(EncryptError).encrypt(text, recv_key, template, key_type)

    def encrypt_assertion(self, statement, enc_key, template, key_type="des-192", node_xpath=None):  # type: ignore[no-untyped-def]
        return self._fallback(EncryptError).encrypt_assertion(
            statement, enc_key, template, key_type, node_xpath
        )

    def decrypt(self, enctext, key_file):  # type: ignore[no-untyped-def]
        return self._fallback(DecryptError).decrypt(enctext, key_file)

    def _fallback(self, error: type[Exception]) -> CryptoBackend:
        if self.fallback is None:
            raise error("encryption is not done in process; configure the xmlsec1 backend as a fallback")
        return self.fallback


@functools.lru_cache(maxsize=128)
def _verification_key(data: bytes, cert_type: str) -> xmlsec.Key:
    if cert_type not in ("pem", "der"):
        raise SignatureRejected(f"unsupported certificate type {cert_type!r}")
    kind = xmlsec.KeyFormat.CERT_PEM if cert_type == "pem" else xmlsec.KeyFormat.CERT_DER
    try:
        return xmlsec.Key.from_memory(data, kind)
    except xmlsec.Error as exc:
        raise SignatureRejected("the trusted certificate could not be read") from exc


def install(
    entity: Entity,
    *,
    allowed_algorithms: Collection[str] | None = None,
    allow_sha1: bool = False,
    signing_algorithm: SignatureAlgorithm | str | None = None,
    fallback: CryptoBackend | None = None,
) -> XmlsecBackend:
    """Put an `XmlsecBackend` under a loaded pysaml2 Server or Saml2Client, and return it.

    Also: keys for verification come only from metadata (`only_use_keys_in_metadata`, never the
    document's KeyInfo); and the entity signs with `signing_algorithm`, else the config's
    `signing_algorithm`, else RSA-SHA256 (pysaml2's own default is RSA-SHA1), with the digest of
    the same strength unless the config names one. `allow_sha1` adds RSA-SHA1 to the
    verification allowlist, which is SHA-2 only by default.
    """
    allowed = frozenset(
        SignatureAlgorithm.from_name(a) for a in (allowed_algorithms or DEFAULT_ALLOWED_ALGORITHMS)
    )
    if allow_sha1:
        allowed |= {SignatureAlgorithm.RSA_SHA1}
    backend = XmlsecBackend(allowed_algorithms=allowed, fallback=fallback)
    entity.sec.crypto = backend
    entity.sec.only_use_keys_in_metadata = True
    configured = _configured(entity, "signing_algorithm")
    chosen = SignatureAlgorithm.from_name(signing_algorithm or configured or SignatureAlgorithm.RSA_SHA256)
    entity.signing_algorithm = chosen.value
    entity.digest_algorithm = (
        _configured(entity, "digest_algorithm") if signing_algorithm is None else None
    ) or chosen.digest
    return backend


def _configured(entity: Entity, name: str) -> str | None:
    # pysaml2 7.5 loads `signing_algorithm` and `digest_algorithm` as top-level settings but the
    # Entity looks them up in the service's context (`_idp_signing_algorithm`), never finds them,
    # and falls back to its global default, RSA-SHA1. Read both places.
    return entity.config.getattr(name) or entity.config.getattr(name, "")


def server_from_settings(settings: Mapping[str, Any], **options: Any) -> Server:
    """A pysaml2 IdP `Server` from an in-memory config dict, with the in-process backend installed
    (`options` go to `install`)."""
    config = IdPConfig()
    config.load({**settings, "crypto_backend": CONFIG_CRYPTO_BACKEND})
    server = Server(config=config)
    install(server, **options)
    return server


def client_from_settings(settings: Mapping[str, Any], **options: Any) -> Saml2Client:
    """A pysaml2 SP `Saml2Client` from an in-memory config dict, with the in-process backend
    installed (`options` go to `install`)."""
    config = SPConfig()
    config.load({**settings, "crypto_backend": CONFIG_CRYPTO_BACKEND})
    client = Saml2Client(config=config)
    install(client, **options)
    return client
