"""Per-tenant SAML signing keys: an RSA-2048 key and a self-signed certificate kept in a folder.

Entra signs each tenant's SAML tokens with a self-signed certificate whose subject is
`CN=Microsoft Azure Federated SSO Certificate`, valid three years (reference saml.md §2, from
setup guides). `SigningKeys` makes one on first use in the caller's folder, conventionally
`<data-dir>/saml/<tenant-id>/`:

    signing.key           the private key, PKCS#8 PEM, mode 0600
    signing.crt           its certificate, PEM
    signing.previous.crt  after `rotate()`: the certificate it replaced (the key is not kept)

The previous certificate is kept so that metadata can list it beside the new one while service
providers catch up, as Entra shows an inactive certificate during a rollover; nothing signs with
it. Loaded objects are cached: the files are read once, and read again only when another process
(a CLI `rotate`) replaced them. Key material is never logged or put in a repr.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from emulator.clock import Clock

log = logging.getLogger(__name__)

CERTIFICATE_COMMON_NAME = "Microsoft Azure Federated SSO Certificate"
KEY_SIZE = 2048
VALIDITY_YEARS = 3
KEY_FILE = "signing.key"
CERT_FILE = "signing.crt"
PREVIOUS_CERT_FILE = "signing.previous.crt"

_TENANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True, eq=False)
class SigningCertificate:
    """One X.509 certificate in the forms Entra's portal and metadata show it."""

    certificate: x509.Certificate = field(repr=False)
    der: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "der", self.certificate.public_bytes(serialization.Encoding.DER))

    @property
    def pem(self) -> str:
        """PEM armour; this is also what Entra's "Certificate (Base64)" download (a .cer) holds."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def base64(self) -> str:
        """The DER bytes in Base64 on one line, as `<ds:X509Certificate>` carries them in metadata."""
        return base64.b64encode(self.der).decode("ascii")

    @property
    def thumbprint(self) -> str:
        """SHA-1 of the DER bytes in upper-case hex, as the portal's "Thumbprint" shows it."""
        return hashlib.sha1(self.der, usedforsecurity=False).hexdigest().upper()

    @property
    def sha256_fingerprint(self) -> str:
        return hashlib.sha256(self.der).hexdigest().upper()

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def not_before(self) -> datetime:
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        """The expiry date ("Expiration" in the portal)."""
        return self.certificate.not_valid_after_utc

    @property
    def serial_number(self) -> int:
        return self.certificate.serial_number

    def __repr__(self) -> str:
        return f"SigningCertificate(thumbprint={self.thumbprint}, not_after={self.not_after.isoformat()})"


@dataclass(frozen=True, eq=False)
class SigningKeyPair:
    """A loaded private key and its certificate, with the paths pysaml2's config wants."""

    certificate: SigningCertificate
    key_path: Path
    cert_path: Path
    key_pem: bytes = field(repr=False)
    xmlsec_key: xmlsec.Key = field(repr=False)
    _cryptography_key: list[rsa.RSAPrivateKey] = field(default_factory=list, repr=False)

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        """The key as a `cryptography` object (for the Redirect binding or a new certificate)."""
        if not self._cryptography_key:
            self._cryptography_key.append(_load_private_key(self.key_pem))
        return self._cryptography_key[0]

    def __repr__(self) -> str:
        return f"SigningKeyPair(key_path={str(self.key_path)!r}, certificate={self.certificate!r})"


class SigningKeys:
    """One tenant's signing key and certificate in `folder`, made on first use and cached.

    `clock` dates the certificate (three years from "now" on the emulator's clock), so a manual
    clock gives certificates a test can predict. Safe to share between threads.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        clock: Clock,
        *,
        common_name: str = CERTIFICATE_COMMON_NAME,
        key_size: int = KEY_SIZE,
        validity_years: int = VALIDITY_YEARS,
    ) -> None:
        self.folder = Path(folder)
        self.clock = clock
        self.common_name = common_name
        self.key_size = key_size
        self.validity_years = validity_years
        self._lock = threading.Lock()
        self._pair: SigningKeyPair | None = None
        self._stamp: tuple | None = None
        self._previous: SigningCertificate | None = None
        self._previous_stamp: tuple | None = None

    @property
    def key_path(self) -> Path:
        """The key file (made first if need be), for configs such as pysaml2's that want a path."""
        return self.current.key_path

    @property
    def cert_path(self) -> Path:
        """The certificate file (made first if need be)."""
        return self.current.cert_path

    @property
    def _key_file(self) -> Path:
        return self.folder / KEY_FILE

    @property
    def _cert_file(self) -> Path:
        return self.folder / CERT_FILE

    @property
    def _previous_cert_file(self) -> Path:
        return self.folder / PREVIOUS_CERT_FILE

    # -- the pair --------------------------------------------------------------------------------

    @property
    def current(self) -> SigningKeyPair:
        """The active pair: made if the folder holds none, reloaded if its files were replaced."""
        stamp = self._files_stamp()
        pair = self._pair
        if pair is not None and stamp == self._stamp:
            return pair
        with self._lock:
            stamp = self._files_stamp()
            if self._pair is None or stamp != self._stamp:
                self._pair = self._load_or_create()
                self._stamp = self._files_stamp()
            return self._pair

    @property
    def previous(self) -> SigningCertificate | None:
        """The certificate that the last `rotate()` replaced, if any (for metadata during rollover)."""
        stamp = _stat(self._previous_cert_file)
        if stamp != self._previous_stamp:
            with self._lock:
                self._previous = (
                    None if stamp is None else _read_certificate(self._previous_cert_file.read_bytes())
                )
                self._previous_stamp = stamp
        return self._previous

    def certificates(self) -> list[SigningCertificate]:
        """The active certificate first, then the previous one if kept: what metadata may list."""
        previous = self.previous
        return [self.current.certificate, *([previous] if previous is not None else [])]

    def rotate(self) -> SigningKeyPair:
        """Make a new key and certificate; keep the replaced certificate as `signing.previous.crt`."""
        with self._lock:
            old = self._pair
            if (old is None or self._files_stamp() != self._stamp) and self._key_file.exists():
                old = self._load_or_create()  # what is on disk now, e.g. after another process rotated
            key = rsa.generate_private_key(public_exponent=65537, key_size=self.key_size)
            pair = self._write(key, self._issue_certificate(key), previous=old)
            self._pair = pair
            self._stamp = self._files_stamp()
        log.info(
            "rotated the SAML signing certificate in %s (new thumbprint %s)",
            self.folder,
            pair.certificate.thumbprint,
        )
        return pair

    # -- what the portal shows -----------------------------------------------------------------

    @property
    def certificate(self) -> SigningCertificate:
        """The active certificate: its PEM, Base64, DER, thumbprint and dates."""
        return self.current.certificate

    @property
    def xmlsec_key(self) -> xmlsec.Key:
        """The active private key, loaded for python-xmlsec (so `sign_element` takes these keys)."""
        return self.current.xmlsec_key

    def __repr__(self) -> str:
        return f"SigningKeys(folder={str(self.folder)!r})"

    # -- files -------------------------------------------------------------------------------------

    def _files_stamp(self) -> tuple | None:
        key, cert = _stat(self._key_file), _stat(self._cert_file)
        return None if key is None or cert is None else (key, cert)

    def _load_or_create(self) -> SigningKeyPair:
        if not self._key_file.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=self.key_size)
            pair = self._write(key, self._issue_certificate(key), previous=None)
            log.info(
                "made a SAML signing certificate in %s (thumbprint %s)",
                self.folder,
                pair.certificate.thumbprint,
            )
            return pair
        _tighten_mode(self._key_file)
        key_pem = self._key_file.read_bytes()
        # Our own 0600 file, so the ~34 ms RSA consistency check is skipped here; a full load happens
        # only if the `cryptography` object is asked for (SigningKeyPair.private_key).
        loaded = serialization.load_pem_private_key(
            key_pem, password=None, unsafe_skip_rsa_key_validation=True
        )
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{self._key_file} does not hold an RSA private key")
        certificate = _read_certificate(self._cert_file.read_bytes()) if self._cert_file.exists() else None
        if certificate is None or certificate.certificate.public_key().public_numbers() != (
            loaded.public_key().public_numbers()
        ):
            if self._pair is not None:
                # Another process is half-way through a rotation (key written, certificate not yet):
                # keep serving the pair we have until both files agree.
                return self._pair
            # A start that crashed between the two writes: the key is the truth; certify it again.
            certificate = SigningCertificate(self._issue_certificate(loaded))
            _write_file(self._cert_file, certificate.pem.encode("ascii"), mode=0o644)
        return SigningKeyPair(
            certificate=certificate,
            key_path=self._key_file,
            cert_path=self._cert_file,
            key_pem=key_pem,
            xmlsec_key=xmlsec.Key.from_memory(key_pem, xmlsec.KeyFormat.PEM),
        )

    def _write(
        self, key: rsa.RSAPrivateKey, cert: x509.Certificate, *, previous: SigningKeyPair | None
    ) -> SigningKeyPair:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        certificate = SigningCertificate(cert)
        if previous is not None:
            _write_file(self._previous_cert_file, previous.certificate.pem.encode("ascii"), mode=0o644)
        # Key first, then certificate: a reader that sees a new key with the old certificate keeps
        # its cached pair (see _load_or_create) until the certificate lands.
        _write_file(self._key_file, key_pem, mode=0o600)
        _write_file(self._cert_file, certificate.pem.encode("ascii"), mode=0o644)
        return SigningKeyPair(
            certificate=certificate,
            key_path=self._key_file,
            cert_path=self._cert_file,
            key_pem=key_pem,
            xmlsec_key=xmlsec.Key.from_memory(key_pem, xmlsec.KeyFormat.PEM),
            _cryptography_key=[key],
        )

    def _issue_certificate(self, key: rsa.RSAPrivateKey) -> x509.Certificate:
        now = self.clock.now().replace(microsecond=0)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.common_name)])
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
            .not_valid_before(now)
            .not_valid_after(add_years(now, self.validity_years))
            .sign(key, hashes.SHA256())
        )


class SigningKeyring:
    """Every tenant's `SigningKeys` under one folder (`<data-dir>/saml`), one object per tenant."""

    def __init__(self, root: str | os.PathLike[str], clock: Clock) -> None:
        self.root = Path(root)
        self.clock = clock
        self._tenants: dict[str, SigningKeys] = {}
        self._lock = threading.Lock()

    def for_tenant(self, tenant_id: str) -> SigningKeys:
        if not _TENANT_ID.fullmatch(tenant_id) or set(tenant_id) <= {"."}:
            raise ValueError(f"not a usable tenant id for a folder name: {tenant_id!r}")
        with self._lock:
            keys = self._tenants.get(tenant_id)
            if keys is None:
                keys = self._tenants[tenant_id] = SigningKeys(self.root / tenant_id, self.clock)
            return keys

    def __repr__(self) -> str:
        return f"SigningKeyring(root={str(self.root)!r})"


def add_years(moment: datetime, years: int) -> datetime:
    """The same calendar instant `years` later (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def _load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the signing key is not an RSA key")
    return key


def _read_certificate(pem: bytes) -> SigningCertificate:
    return SigningCertificate(x509.load_pem_x509_certificate(pem))


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _tighten_mode(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode != 0o600:
        log.warning("%s had mode %o; setting it to 600", path, mode)
        path.chmod(0o600)


def _write_file(path: Path, data: bytes, *, mode: int) -> None:
    """Write atomically: a temporary file with its final mode from the start, then a rename."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)  # the umask may have narrowed it
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
