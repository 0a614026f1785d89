"""Sign and verify one SAML element in process with python-xmlsec, under SAML's signature profile.

The rules (reference saml.md §3 and §5; SAML 2.0 core §5.4) hold for every verification:
- the document is parsed by `emulator.saml.xml.parse_xml` (no DTD, no entities, no network);
- exactly ONE element in the whole document carries the signed ID, so a wrapped copy with the same
  ID cannot be verified in place of the element the caller will read;
- only that element's own enveloped signature (a direct ds:Signature child) is verified, with one
  Reference whose URI is `#` + its ID, exclusive c14n and only the enveloped/exc-c14n transforms,
  and no ds:Object;
- the keys are the certificates the caller passes (from metadata), never the document's KeyInfo;
- SignatureMethod and DigestMethod are checked against an allowlist before any cryptography runs,
  and the same allowlist is handed to xmlsec so that it would refuse anything else too. SHA-1 is
  refused unless the caller allows it.

`sign_element` and `verify_element` work on bytes with no pysaml2 involved, for hand-built
Entra-exact XML; `emulator.saml.backend` wraps the same functions for pysaml2.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Collection, Iterable
from enum import StrEnum
from typing import Protocol, runtime_checkable

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from emulator.saml.errors import SignatureMismatch, SignatureRejected
from emulator.saml.xml import (
    DSIG_NS,
    SAML_ASSERTION_NS,
    clark_name,
    elements_with_id,
    parse_xml,
    to_bytes,
)

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_WITH_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
ENVELOPED_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

DIGEST_SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
DIGEST_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
DIGEST_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
DIGEST_SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"


class SignatureAlgorithm(StrEnum):
    """The RSA signature methods SAML peers use; each signs with the digest of the same strength."""

    RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    RSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
    RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
    RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"

    @property
    def digest(self) -> str:
        return _DIGEST_OF[self]

    @classmethod
    def from_name(cls, name: str) -> SignatureAlgorithm:
        """`SHA-256` or `SHA-1` (as Entra's portal writes them), `rsa-sha256`, or the full URI."""
        try:
            return cls(name)
        except ValueError:
            pass
        key = name.strip().lower().replace("-", "").replace("_", "").removeprefix("rsa")
        for algorithm in cls:
            if algorithm.name.lower().replace("_", "").removeprefix("rsa") == key:
                return algorithm
        raise ValueError(f"unknown signature algorithm: {name!r}")


_DIGEST_OF = {
    SignatureAlgorithm.RSA_SHA256: DIGEST_SHA256,
    SignatureAlgorithm.RSA_SHA384: DIGEST_SHA384,
    SignatureAlgorithm.RSA_SHA512: DIGEST_SHA512,
    SignatureAlgorithm.RSA_SHA1: DIGEST_SHA1,
}

#: What a verifier accepts unless told otherwise: SHA-2 only (pitfall 8 of reference saml.md).
DEFAULT_ALLOWED_ALGORITHMS: frozenset[SignatureAlgorithm] = frozenset(
    {SignatureAlgorithm.RSA_SHA256, SignatureAlgorithm.RSA_SHA384, SignatureAlgorithm.RSA_SHA512}
)
WITH_SHA1_ALGORITHMS: frozenset[SignatureAlgorithm] = DEFAULT_ALLOWED_ALGORITHMS | {
    SignatureAlgorithm.RSA_SHA1
}

_TRANSFORMS = {
    SignatureAlgorithm.RSA_SHA256: xmlsec.Transform.RSA_SHA256,
    SignatureAlgorithm.RSA_SHA384: xmlsec.Transform.RSA_SHA384,
    SignatureAlgorithm.RSA_SHA512: xmlsec.Transform.RSA_SHA512,
    SignatureAlgorithm.RSA_SHA1: xmlsec.Transform.RSA_SHA1,
    DIGEST_SHA256: xmlsec.Transform.SHA256,
    DIGEST_SHA384: xmlsec.Transform.SHA384,
    DIGEST_SHA512: xmlsec.Transform.SHA512,
    DIGEST_SHA1: xmlsec.Transform.SHA1,
    EXC_C14N: xmlsec.Transform.EXCL_C14N,
    EXC_C14N_WITH_COMMENTS: xmlsec.Transform.EXCL_C14N_COMMENTS,
    ENVELOPED_SIGNATURE: xmlsec.Transform.ENVELOPED,
}
_CANONICALIZATIONS = frozenset({EXC_C14N, EXC_C14N_WITH_COMMENTS})
_REFERENCE_TRANSFORMS = frozenset({ENVELOPED_SIGNATURE, EXC_C14N, EXC_C14N_WITH_COMMENTS})

_DS = f"{{{DSIG_NS}}}"
_ISSUER = f"{{{SAML_ASSERTION_NS}}}Issuer"


@runtime_checkable
class HasXmlsecKey(Protocol):
    """Anything holding a loaded private key, such as `emulator.saml.keys.SigningKeyPair`."""

    @property
    def xmlsec_key(self) -> xmlsec.Key: ...


@runtime_checkable
class HasDer(Protocol):
    """Anything holding a certificate's DER bytes, such as `emulator.saml.keys.SigningCertificate`."""

    @property
    def der(self) -> bytes: ...


PrivateKeyLike = xmlsec.Key | HasXmlsecKey | bytes | str
CertificateLike = x509.Certificate | HasDer | xmlsec.Key | bytes | str


def algorithm_allowlist(
    names: Iterable[str] | None = None, *, sha1: bool = False
) -> frozenset[SignatureAlgorithm]:
    """An allowlist from names or URIs (default: SHA-2), plus RSA-SHA1 when `sha1` is set."""
    chosen = (
        DEFAULT_ALLOWED_ALGORITHMS
        if names is None
        else frozenset(SignatureAlgorithm.from_name(name) for name in names)
    )
    return (chosen | {SignatureAlgorithm.RSA_SHA1}) if sha1 else chosen


# -- keys ------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _private_key_from_pem(pem: bytes) -> xmlsec.Key:
    return xmlsec.Key.from_memory(pem, xmlsec.KeyFormat.PEM)


@functools.lru_cache(maxsize=128)
def _public_key_from_der(der: bytes) -> xmlsec.Key:
    try:
        return xmlsec.Key.from_memory(der, xmlsec.KeyFormat.CERT_DER)
    except xmlsec.Error as exc:
        raise ValueError("the trusted certificate could not be read") from exc


def private_key(key: PrivateKeyLike) -> xmlsec.Key:
    """A loaded xmlsec key from a key object or PEM text (loads are cached: xmlsec takes ~0.15 ms,
    and `SignatureContext.key` copies the key, so one loaded key serves every thread)."""
    if isinstance(key, xmlsec.Key):
        return key
    if isinstance(key, HasXmlsecKey):
        return key.xmlsec_key
    return _private_key_from_pem(key.encode() if isinstance(key, str) else bytes(key))


def certificate_der(cert: CertificateLike) -> bytes:
    """DER bytes of a certificate given as an object, PEM text, DER bytes or the bare Base64 that
    SAML metadata carries in `<ds:X509Certificate>`."""
    if isinstance(cert, x509.Certificate):
        return cert.public_bytes(serialization.Encoding.DER)
    if isinstance(cert, HasDer):
        return cert.der
    if isinstance(cert, bytes | bytearray) and not bytes(cert).lstrip().startswith(b"-----BEGIN"):
        return bytes(cert)
    text = cert.decode("ascii") if isinstance(cert, bytes | bytearray) else cert
    if "-----BEGIN" in text:
        return x509.load_pem_x509_certificate(text.encode("ascii")).public_bytes(serialization.Encoding.DER)
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as exc:
        raise ValueError("a certificate must be PEM, DER or Base64 DER") from exc


def public_key(cert: CertificateLike) -> xmlsec.Key:
    """The verification key of a trusted certificate (cached by its DER bytes); an already loaded
    `xmlsec.Key` is used as it is."""
    if isinstance(cert, xmlsec.Key):
        return cert
    return _public_key_from_der(certificate_der(cert))


# -- signing ---------------------------------------------------------------------------------------


def sign_element(
    xml: str | bytes,
    element_id: str,
    key: PrivateKeyLike,
    cert: CertificateLike | None = None,
    algorithm: SignatureAlgorithm | str = SignatureAlgorithm.RSA_SHA256,
) -> bytes:
    """Sign the one element whose ID is `element_id` with an enveloped signature and return the
    document. The signature goes right after the element's `saml:Issuer` (first child otherwise),
    with exclusive c14n and, when `cert` is given, the certificate in KeyInfo, as Entra does.
    An existing empty ds:Signature template on the element is filled in instead."""
    algorithm = SignatureAlgorithm.from_name(algorithm)
    root = parse_xml(xml)
    node = find_signed_element(root, element_id)
    signature = own_signature(node)
    if signature is None:
        signature = _signature_template(node, element_id, algorithm, cert)
    elif (signature.findtext(f"{_DS}SignatureValue") or "").strip():
        raise ValueError(f"the element with ID {element_id!r} is already signed")
    sign_node(node, signature, private_key(key))
    return to_bytes(root)


def sign_node(node: etree._Element, signature: etree._Element, key: xmlsec.Key) -> None:
    """Fill in `signature` (a template that is a child of `node`) with `key`."""
    context = xmlsec.SignatureContext()
    context.register_id(node, _id_attribute(node))
    context.key = key
    try:
        context.sign(signature)
    except xmlsec.Error as exc:
        raise ValueError(f"xmlsec could not sign the element: {exc}") from exc


def _signature_template(
    node: etree._Element, element_id: str, algorithm: SignatureAlgorithm, cert: CertificateLike | None
) -> etree._Element:
    # Entra writes the signature in the default namespace: <Signature xmlns="...xmldsig#">.
    signature = xmlsec.template.create(node, xmlsec.Transform.EXCL_C14N, _TRANSFORMS[algorithm])
    reference = xmlsec.template.add_reference(signature, _TRANSFORMS[algorithm.digest], uri=f"#{element_id}")
    xmlsec.template.add_transform(reference, xmlsec.Transform.ENVELOPED)
    xmlsec.template.add_transform(reference, xmlsec.Transform.EXCL_C14N)
    if cert is not None:
        x509_data = xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
        certificate = xmlsec.template.x509_data_add_certificate(x509_data)
        certificate.text = base64.b64encode(certificate_der(cert)).decode("ascii")
    issuer = node.find(_ISSUER)
    if issuer is not None:
        issuer.addnext(signature)
    else:
        node.insert(0, signature)
    return signature


# -- verification ----------------------------------------------------------------------------------


def verify_element(
    xml: str | bytes | etree._Element,
    element_id: str,
    certs: Iterable[CertificateLike],
    allowed_algorithms: Collection[str] = DEFAULT_ALLOWED_ALGORITHMS,
    *,
    element_tag: str | None = None,
) -> etree._Element:
    """Verify the enveloped signature of the one element whose ID is `element_id` against trusted
    `certs`, and return that element (read claims from it, nothing else is covered).

    `xml` is untrusted text, or a root already returned by `parse_xml`. `element_tag` (Clark
    `{ns}Local` or pysaml2's `ns:Local`) also pins what kind of element was signed. Raises
    `UnsafeXmlError`, `SignatureRejected` (rules broken, nothing verified) or `SignatureMismatch`.
    """
    keys = [public_key(cert) for cert in certs]
    if not keys:
        raise SignatureRejected("no trusted certificate to verify the signature with")
    root = parse_xml(xml) if isinstance(xml, str | bytes) else xml
    node = find_signed_element(root, element_id, element_tag)
    signature = own_signature(node)
    if signature is None:
        raise SignatureRejected(f"the element with ID {element_id!r} carries no enveloped signature")
    signature_method, digest_method = check_signature_profile(signature, element_id, allowed_algorithms)
    id_attribute = _id_attribute(node)
    for key in keys:
        context = xmlsec.SignatureContext()
        context.register_id(node, id_attribute)
        # Second line of defence: xmlsec itself refuses any algorithm or transform not listed.
        context.enable_signature_transform(_TRANSFORMS[signature_method])
        for c14n in _CANONICALIZATIONS:
            context.enable_signature_transform(_TRANSFORMS[c14n])
        context.enable_reference_transform(_TRANSFORMS[digest_method])
        for transform in _REFERENCE_TRANSFORMS:
            context.enable_reference_transform(_TRANSFORMS[transform])
        context.key = key
        try:
            context.verify(signature)
        except xmlsec.Error:  # VerificationError is a subclass: wrong key or changed content
            continue
        return node
    raise SignatureMismatch(
        "the signature does not verify with any trusted certificate: "
        "the document was changed after signing, or another key signed it"
    )


def check_signature_profile(
    signature: etree._Element, element_id: str, allowed_algorithms: Collection[str]
) -> tuple[SignatureAlgorithm, str]:
    """Enforce SAML core §5.4 and the allowlist on a ds:Signature before any cryptography; return
    its signature and digest methods."""
    allowed = frozenset(SignatureAlgorithm.from_name(name) for name in allowed_algorithms)
    signed_info = _exactly_one(signature, "SignedInfo", "the signature")
    method_uri = _algorithm_of(signed_info, "SignatureMethod")
    try:
        method = SignatureAlgorithm(method_uri)
    except ValueError:
        method = None
    if method is None or method not in allowed:
        raise SignatureRejected(f"signature algorithm {method_uri or '(none)'} is not allowed here")
    references = signed_info.findall(f"{_DS}Reference")
    if len(references) != 1:
        raise SignatureRejected(f"the signature has {len(references)} References; SAML allows exactly one")
    (reference,) = references
    digest = _algorithm_of(reference, "DigestMethod")
    if digest not in {algorithm.digest for algorithm in allowed}:
        raise SignatureRejected(f"digest algorithm {digest} is not allowed here")
    c14n = _algorithm_of(signed_info, "CanonicalizationMethod")
    if c14n not in _CANONICALIZATIONS:
        raise SignatureRejected(f"canonicalization {c14n} is not exclusive c14n")
    if reference.get("URI") != f"#{element_id}":
        raise SignatureRejected(
            f"the signature's Reference points at {reference.get('URI')!r}, not its own element #{element_id}"
        )
    transforms_node = reference.find(f"{_DS}Transforms")
    transforms = [] if transforms_node is None else [t.get("Algorithm") for t in transforms_node]
    if not transforms or ENVELOPED_SIGNATURE not in transforms or len(transforms) > 2:
        raise SignatureRejected("the signature must be enveloped, with at most one exclusive c14n transform")
    if any(transform not in _REFERENCE_TRANSFORMS for transform in transforms):
        raise SignatureRejected("the signature uses a transform SAML does not allow")
    if signature.find(f"{_DS}Object") is not None:
        raise SignatureRejected("the signature carries a ds:Object, which SAML does not allow")
    return method, digest


# -- helpers ---------------------------------------------------------------------------------------


def find_signed_element(
    root: etree._Element, element_id: str | None, element_tag: str | None = None
) -> etree._Element:
    """The one element of the document whose ID is `element_id` (of kind `element_tag` if given)."""
    if not element_id:
        raise SignatureRejected("the signed element has no ID")
    found = elements_with_id(root, element_id)
    if not found:
        raise SignatureRejected(f"no element carries the ID {element_id!r}")
    if len(found) > 1:
        raise SignatureRejected(
            f"{len(found)} elements carry the ID {element_id!r}: a signature wrapping attempt"
        )
    node = found[0]
    if element_tag is not None and node.tag != clark_name(element_tag):
        raise SignatureRejected(
            f"the element with ID {element_id!r} is {etree.QName(node).localname}, "
            f"not {etree.QName(clark_name(element_tag)).localname}"
        )
    return node


def own_signature(node: etree._Element) -> etree._Element | None:
    """The element's enveloped ds:Signature (a direct child), if it has one."""
    signatures = node.findall(f"{_DS}Signature")
    if len(signatures) > 1:
        raise SignatureRejected("the element carries more than one signature")
    return signatures[0] if signatures else None


def _id_attribute(node: etree._Element) -> str:
    for name in ("ID", "Id", "id"):
        if node.get(name) is not None:
            return name
    raise SignatureRejected("the signed element's ID must be an ID, Id or id attribute")


def _exactly_one(parent: etree._Element, local: str, what: str) -> etree._Element:
    found = parent.findall(f"{_DS}{local}")
    if len(found) != 1:
        raise SignatureRejected(f"{what} must have exactly one {local}")
    return found[0]


def _algorithm_of(parent: etree._Element, local: str) -> str:
    return _exactly_one(parent, local, etree.QName(parent).localname).get("Algorithm") or ""
