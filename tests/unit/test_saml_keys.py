"""Per-tenant SAML signing keys: made once on the emulator's clock, kept 0600, cached, rotated."""

from __future__ import annotations

import base64
import hashlib
import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from emulator.clock import ManualClock
from emulator.saml import keys as keys_module
from emulator.saml.keys import (
    CERTIFICATE_COMMON_NAME,
    SigningKeyring,
    SigningKeys,
    add_years,
)

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def keys(tmp_path: Path, clock: ManualClock) -> SigningKeys:
    return SigningKeys(tmp_path / "saml" / "tenant-a", clock)


def test_first_use_makes_a_key_readable_only_by_its_owner_and_a_certificate(keys: SigningKeys) -> None:
    folder = keys.folder
    assert not folder.exists()  # nothing happens until the keys are needed
    pair = keys.current
    assert pair.key_path == folder / "signing.key"
    assert pair.cert_path == folder / "signing.crt"
    assert mode_of(pair.key_path) == 0o600
    assert pair.key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert pair.cert_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert not list(folder.glob(".*.tmp"))  # atomic writes leave no temporaries behind


def test_certificate_is_entra_like_and_valid_three_years_of_clock_time(keys: SigningKeys) -> None:
    cert = keys.certificate.certificate
    common_names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert (
        [a.value for a in common_names]
        == [CERTIFICATE_COMMON_NAME]
        == ["Microsoft Azure Federated SSO Certificate"]
    )
    assert cert.issuer == cert.subject  # self-signed
    cert.verify_directly_issued_by(cert)
    assert cert.not_valid_before_utc == START
    assert cert.not_valid_after_utc == datetime(2029, 3, 2, 9, 30, tzinfo=UTC) == keys.certificate.not_after
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048


def test_a_certificate_made_later_starts_at_the_clock_time_then(
    keys: SigningKeys, clock: ManualClock
) -> None:
    first = keys.certificate
    clock.advance(timedelta(days=400))
    keys.rotate()
    assert keys.certificate.not_before == START + timedelta(days=400)
    assert keys.certificate.not_after == add_years(START + timedelta(days=400), 3)
    assert first.not_before == START


def test_certificate_forms_match_what_the_portal_and_metadata_show(keys: SigningKeys) -> None:
    der = keys.certificate.der
    assert x509.load_der_x509_certificate(der) == keys.certificate.certificate
    assert base64.b64decode(keys.certificate.base64) == der  # metadata's <ds:X509Certificate>
    assert "\n" not in keys.certificate.base64
    assert (
        x509.load_pem_x509_certificate(keys.certificate.pem.encode()).public_bytes(serialization.Encoding.DER)
        == der
    )  # the "Certificate (Base64)" download
    assert keys.certificate.thumbprint == hashlib.sha1(der).hexdigest().upper()
    assert len(keys.certificate.thumbprint) == 40


def test_keys_are_reused_across_loads_and_objects_are_cached(
    keys: SigningKeys, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = keys.current
    assert keys.current is pair  # the loaded objects are kept
    # A second process (a new object on the same folder) reads the same key, without the ~34 ms
    # validated `cryptography` load, which only happens if that object is asked for.
    monkeypatch.setattr(keys_module, "_load_private_key", _refuse_full_key_load)
    again = SigningKeys(keys.folder, clock)
    assert again.certificate.thumbprint == keys.certificate.thumbprint
    assert again.current.key_pem == pair.key_pem
    assert again.current is again.current


def _refuse_full_key_load(pem: bytes) -> rsa.RSAPrivateKey:
    raise AssertionError("the validated key load should not run just to use the keys")


def test_rotation_makes_a_new_pair_and_keeps_the_previous_certificate(
    keys: SigningKeys, clock: ManualClock
) -> None:
    old = keys.current
    assert keys.previous is None
    assert keys.certificates() == [old.certificate]
    new = keys.rotate()
    assert new.certificate.thumbprint != old.certificate.thumbprint
    assert new.key_pem != old.key_pem
    assert keys.current is new
    assert keys.previous is not None
    assert keys.previous.thumbprint == old.certificate.thumbprint
    assert [c.thumbprint for c in keys.certificates()] == [
        new.certificate.thumbprint,
        old.certificate.thumbprint,
    ]
    assert mode_of(keys.key_path) == 0o600
    assert (keys.folder / "signing.previous.crt").exists()
    assert not (keys.folder / "signing.previous.key").exists()  # nothing signs with the old pair
    reloaded = SigningKeys(keys.folder, clock)
    assert reloaded.certificate.thumbprint == new.certificate.thumbprint
    assert reloaded.previous is not None
    assert reloaded.previous.thumbprint == old.certificate.thumbprint


def test_rotation_by_another_process_is_picked_up(keys: SigningKeys, clock: ManualClock) -> None:
    before = keys.certificate.thumbprint
    other = SigningKeys(keys.folder, clock)  # e.g. `scim-emulator saml rotate` while serving
    other.rotate()
    assert keys.certificate.thumbprint == other.certificate.thumbprint != before
    assert keys.previous is not None
    assert keys.previous.thumbprint == before


def test_rotation_after_another_process_rotated_keeps_what_was_on_disk(
    keys: SigningKeys, clock: ManualClock
) -> None:
    first = keys.current
    other = SigningKeys(keys.folder, clock)
    by_other = other.rotate().certificate.thumbprint
    keys.rotate()
    assert keys.previous is not None
    assert keys.previous.thumbprint == by_other != keys.certificate.thumbprint
    # ...and the other process follows in turn.
    assert other.certificate.thumbprint == keys.certificate.thumbprint
    assert first.certificate.thumbprint not in {c.thumbprint for c in keys.certificates()}


def test_rotate_before_first_use_just_makes_a_pair(keys: SigningKeys) -> None:
    pair = keys.rotate()
    assert keys.previous is None
    assert keys.current is pair


def test_a_missing_certificate_is_issued_again_for_the_existing_key(
    keys: SigningKeys, clock: ManualClock
) -> None:
    key_pem = keys.current.key_pem
    (keys.folder / "signing.crt").unlink()
    reloaded = SigningKeys(keys.folder, clock)
    assert reloaded.current.key_pem == key_pem
    assert reloaded.certificate.certificate.public_key().public_numbers() == (
        reloaded.current.private_key.public_key().public_numbers()
    )


def test_a_key_file_left_readable_is_tightened_on_load(keys: SigningKeys, clock: ManualClock) -> None:
    path = keys.key_path
    path.chmod(0o644)
    assert SigningKeys(keys.folder, clock).certificate.thumbprint == keys.certificate.thumbprint
    assert mode_of(path) == 0o600


def test_key_material_is_never_logged_or_shown(keys: SigningKeys, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    pair = keys.current
    rotated = keys.rotate()
    for secret in (pair.key_pem, rotated.key_pem):
        body = b"".join(secret.splitlines()[1:-1]).decode()
        for shown in (caplog.text, repr(keys), repr(pair), repr(rotated), str(rotated)):
            assert "PRIVATE KEY" not in shown
            assert body[:40] not in shown
    assert rotated.certificate.thumbprint in caplog.text  # what is logged is public


def test_the_keyring_keeps_one_folder_and_one_object_per_tenant(tmp_path: Path, clock: ManualClock) -> None:
    ring = SigningKeyring(tmp_path / "saml", clock)
    first = ring.for_tenant("11111111-2222-3333-4444-555555555555")
    assert ring.for_tenant("11111111-2222-3333-4444-555555555555") is first
    second = ring.for_tenant("contoso")
    assert first.key_path == tmp_path / "saml" / "11111111-2222-3333-4444-555555555555" / "signing.key"
    assert first.certificate.thumbprint != second.certificate.thumbprint
    for bad in ("", "..", "a/b", "../etc", ".hidden", "x" * 200):
        with pytest.raises(ValueError):
            ring.for_tenant(bad)


def test_add_years_keeps_the_instant_and_moves_29_february() -> None:
    assert add_years(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), 3) == datetime(2029, 1, 5, 9, 0, tzinfo=UTC)
    assert add_years(datetime(2028, 2, 29, tzinfo=UTC), 3) == datetime(2031, 2, 28, tzinfo=UTC)
