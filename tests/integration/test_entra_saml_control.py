"""The control API of an app's Single sign-on blade: `/_emulator/entra/apps/{app}/saml`, its
validation messages, the certificate downloads and key rotation."""

from __future__ import annotations

import base64
import stat
import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.conftest import Running, StartEmulator
from tests.entra_helpers import APP, Control
from tests.entra_saml_helpers import (
    ACS_URL,
    SP_ENTITY,
    Browser,
    configure_saml,
    metadata,
    parse_with_pysaml2,
    pysaml2_sp,
    redirect_request,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pysaml2 touches a deprecated cryptography name (saml.md pitfall 12)
    from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

TENANT = "8c3f1d2a-6b4e-4f0a-9e2d-3a7b5c1d9e40"
SAML = f"/entra/apps/{APP}/saml"


async def test_a_new_app_has_entras_defaults_and_no_identifier(emulator: Running) -> None:
    view = await Control(emulator).call("GET", SAML)
    assert {k: v for k, v in view.items() if k not in ("appObjectId", "appId", "entra")} == {
        "displayName": "Starburst Galaxy",
        "identifiers": [],
        "replyUrls": [],
        "signOnUrl": None,
        "relayState": None,
        "logoutUrl": None,
        "signingOption": "assertion",
        "signingAlgorithm": "SHA-256",
        "nameIdSource": "user.userprincipalname",
        "nameIdFormat": "emailAddress",
        "claims": [
            {
                "name": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
                "source": "user.givenname",
            },
            {
                "name": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
                "source": "user.surname",
            },
            {
                "name": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                "source": "user.mail",
            },
            {
                "name": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
                "source": "user.userprincipalname",
            },
        ],
        "groupsClaim": "none",
        "assertionLifetimeMinutes": 70,
        "subjectConfirmationMinutes": 5,
        "assignmentRequired": True,
    }
    entra = view["entra"]
    assert entra["loginUrl"] == entra["logoutUrl"] == f"{emulator.url}/entra/{TENANT}/saml2"
    assert entra["identifier"] == f"https://sts.windows.net/{TENANT}/"
    assert entra["certificate"]["subject"] == "CN=Microsoft Azure Federated SSO Certificate"


async def test_patch_merges_and_survives_a_restart(start_emulator: StartEmulator, tmp_path: Path) -> None:
    emu = await start_emulator()
    control = Control(emu)
    await configure_saml(control, signingOption="both", relayState="/home")
    view = await control.call("PATCH", SAML, {"signingAlgorithm": "sha1"})
    assert (view["signingOption"], view["signingAlgorithm"], view["relayState"]) == ("both", "SHA-1", "/home")
    assert view["identifiers"] == [SP_ENTITY] and view["replyUrls"] == [ACS_URL]
    # a GET body sent back unchanged is accepted (read-only fields are ignored)
    assert (await control.call("PATCH", SAML, view))["signingOption"] == "both"
    await emu.server.close()
    again = await start_emulator(data_dir=tmp_path / "data")
    assert (await Control(again).call("GET", SAML))["signingAlgorithm"] == "SHA-1"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"signingOption": "everything"}, "signingOption must be one of assertion, response, both"),
        ({"signingAlgorithm": "MD5"}, "signingAlgorithm must be SHA-256 or SHA-1"),
        ({"replyUrls": ["ftp://x.example/acs"]}, "replyUrls: 'ftp://x.example/acs' must be an absolute"),
        ({"replyUrls": "https://a.example/acs"}, None),
        ({"identifiers": ["has space"]}, "identifiers: 'has space' contains white space"),
        ({"identifiers": ["a", "A"]}, "identifiers lists 'A' twice"),
        ({"nameIdSource": "user.shoesize"}, "nameIdSource must be a user attribute"),
        ({"nameIdFormat": "kerberos"}, "nameIdFormat must be one of emailAddress"),
        ({"claims": [{"name": "x"}]}, "claims[0].source must be a user attribute"),
        (
            {
                "claims": [
                    {"name": "http://schemas.microsoft.com/identity/claims/tenantid", "source": "user.mail"}
                ]
            },
            "a claim Entra adds by itself",
        ),
        ({"groupsClaim": "all"}, "groupsClaim must be one of none, securityGroups"),
        (
            {"assertionLifetimeMinutes": 5},
            "assertionLifetimeMinutes must be a whole number of minutes from 10",
        ),
        ({"assignmentRequired": "yes"}, "assignmentRequired must be true or false"),
        ({"colour": "blue"}, "unknown SAML setting(s): colour"),
    ],
)
async def test_bad_settings_are_refused_with_a_message_naming_the_field(
    emulator: Running, body: dict, message: str | None
) -> None:
    control = Control(emulator)
    if message is None:
        assert (await control.call("PATCH", SAML, body))["replyUrls"] == ["https://a.example/acs"]
        return
    answer = await control.call("PATCH", SAML, body, expect=400)
    assert message in answer["error"]


async def test_certificate_downloads_match_the_metadata(emulator: Running) -> None:
    control = Control(emulator)
    xml, _ = await metadata(emulator, control)
    base = f"{emulator.url}/_emulator{SAML}/certificate"
    async with emulator.session.get(base) as resp:
        pem = await resp.text()
    async with emulator.session.get(base + "?format=base64") as resp:
        one_line = await resp.text()
    async with emulator.session.get(base + "?format=raw") as resp:
        der = await resp.read()
    certificate = x509.load_pem_x509_certificate(pem.encode())
    assert base64.b64decode(one_line) == der == certificate.public_bytes(Encoding.DER)
    assert OneLogin_Saml2_IdPMetadataParser.parse(xml)["idp"]["x509cert"] == one_line
    assert (await control.call("GET", f"{SAML}/certificate?format=jpeg", expect=400))["error"]


async def test_rotation_lists_both_certificates_and_signs_with_the_new_key(emulator: Running) -> None:
    control = Control(emulator)
    await configure_saml(control)
    user = await control.user("alice@contoso.test")
    await control.assign(user["id"])
    before = (await control.call("GET", SAML))["entra"]["certificate"]["thumbprint"]
    after = (await control.call("POST", f"{SAML}/rotate-certificate"))["entra"]["certificate"]["thumbprint"]
    assert before != after
    xml, _ = await metadata(emulator, control)
    parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml)
    assert len(parsed["idp"]["x509certMulti"]["signing"]) == 2

    sp = pysaml2_sp(xml)
    request_id, url = redirect_request(sp, f"https://sts.windows.net/{TENANT}/")
    browser = Browser(emulator)
    try:
        page = await browser.pick(await browser.get(url), user)
        assert parse_with_pysaml2(sp, page.saml_post()[1], request_id).name_id.text == "alice@contoso.test"
    finally:
        await browser.close()

    key_file = emulator.config.data_dir / "saml" / TENANT / "signing.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_unknown_app_is_a_json_404(emulator: Running) -> None:
    answer = await Control(emulator).call("GET", "/entra/apps/nope/saml", expect=404)
    assert "nope" in answer["error"]
