"""`scim-emulator login` and `scim-emulator saml ...` against a running demo server."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from lxml import etree

from tests.helpers import ServerProcess
from tests.integration.test_cli import run_cli
from tests.integration.test_cli_entra import cli

PATTI = "PattiF@contoso.onmicrosoft.com"


@pytest.fixture
def server(tmp_path: Path):
    proc = ServerProcess(tmp_path / "data", "--scenario", "demo", "--cycle-interval", "manual")
    yield str(tmp_path / "data")
    proc.stop(signal.SIGTERM)


def login(data: str, *extra: str):
    return run_cli(
        "login",
        "--user",
        PATTI,
        *extra,
        "--data-dir",
        data,
        env={"SCIM_EMULATOR_LOGIN_PASSWORD": "Contoso-Demo-2026!"},
    )


def test_login_is_refused_before_provisioning_and_accepted_after(server: str) -> None:
    before = login(server)
    assert (
        before.returncode == 1
        and "Galaxy refused:" in before.stdout
        and "not provisioned yet" in before.stdout
    )
    cli(server, "provision", "configure", "--builtin-galaxy")
    cli(server, "provision", "run")
    after = login(server)
    assert after.returncode == 0 and f"Signed in to Galaxy as {PATTI}" in after.stdout
    assert "/galaxy/saml/acs" in after.stdout
    hops = json.loads(login(server, "--idp-initiated", "--json").stdout)
    assert hops["outcome"] == "signed-in" and hops["hops"][0]["url"].endswith("/entra/myapps")


def test_metadata_of_both_sides(server: str) -> None:
    entra = etree.fromstring(cli(server, "saml", "metadata", "entra").encode())
    assert entra.get("entityID").startswith("https://sts.windows.net/")
    galaxy = etree.fromstring(cli(server, "saml", "metadata", "galaxy").encode())
    assert galaxy.get("entityID").endswith("/galaxy/saml")
    before = entra.findtext(".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate")
    assert "new certificate" in cli(server, "saml", "rotate-certificate")
    rotated = etree.fromstring(cli(server, "saml", "metadata", "entra").encode())
    certs = [c.text for c in rotated.iter("{http://www.w3.org/2000/09/xmldsig#}X509Certificate")]
    assert before in certs and len(set(certs)) >= 2


def test_saml_settings_and_galaxy_sso_from_the_terminal(server: str, tmp_path: Path) -> None:
    shown = json.loads(cli(server, "saml", "show"))
    assert shown["signingOption"] == "assertion" and shown["entra"]["identifier"].startswith(
        "https://sts.windows.net/"
    )
    saved = json.loads(
        cli(server, "saml", "configure", "--signing-option", "both", "--no-assignment-required", "--json")
    )
    assert saved["signingOption"] == "both" and saved["assignmentRequired"] is False
    sso = json.loads(cli(server, "galaxy", "sso"))
    assert sso["configured"] and sso["galaxy"]["replyUrl"].endswith("/galaxy/saml/acs")
    assert json.loads(cli(server, "galaxy", "sso", "--delete"))["configured"] is False
    certificate = tmp_path / "entra.cer"
    certificate.write_text(shown_certificate(server))
    restored = json.loads(
        cli(
            server,
            "galaxy",
            "sso",
            "--certificate",
            str(certificate),
            "--login-url",
            shown["entra"]["loginUrl"],
            "--entra-identifier",
            shown["entra"]["identifier"],
        )
    )
    assert restored["configured"] and restored["source"] == "manual"
    again = login(server)
    assert again.returncode == 1 and "not provisioned yet" in again.stdout, "SSO works again: Galaxy answers"


def shown_certificate(data: str) -> str:
    import urllib.request

    url = json.loads((Path(data) / "server.json").read_text())["url"]
    with urllib.request.urlopen(
        f"{url}/_emulator/entra/apps/Starburst%20Galaxy/saml/certificate?format=pem"
    ) as r:
        return r.read().decode()


def test_galaxy_direct_users_from_the_terminal(server: str) -> None:
    done = run_cli(
        "galaxy",
        "add-user",
        "ops@galaxy.example",
        "--display-name",
        "Ops",
        "--role",
        "viewer",
        "--data-dir",
        server,
        env={"SCIM_EMULATOR_GALAXY_PASSWORD": "Ops-Secret-123"},
    )
    assert done.returncode == 0, done.stderr
    users = json.loads(cli(server, "galaxy", "users", "--json"))
    assert {u["email"] for u in users} >= {"accountadmin@galaxy.example", "ops@galaxy.example"}
    assert all("passwordHash" not in u for u in users)
    duplicate = run_cli("galaxy", "add-user", "ops@galaxy.example", "--password", "x", "--data-dir", server)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    assert "deleted" in cli(server, "galaxy", "delete-user", "ops@galaxy.example")
    kept = run_cli("galaxy", "delete-user", "accountadmin@galaxy.example", "--data-dir", server)
    assert kept.returncode == 1 and "cannot be deleted" in kept.stderr
