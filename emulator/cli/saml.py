"""`scim-emulator login` and `scim-emulator saml ...`: single sign-on from the terminal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from emulator.cli.entra import APP, app_option
from emulator.cli.group import main
from emulator.cli.options import Remote, echo_json, json_option, option, url_option
from emulator.headless import HeadlessBrowser, sign_in


@main.command()
@url_option
@option("--user", "email", required=True, help="The Entra user to sign in as (userPrincipalName).")
@option(
    "--password",
    envvar="SCIM_EMULATOR_LOGIN_PASSWORD",
    default=None,
    help="The user's password, when the scenario gave them one (prefer the environment variable).",
)
@option("--idp-initiated", is_flag=True, help="Start from Entra's My Apps instead of Galaxy's Azure button.")
@json_option
def login(
    url: str | None, data_dir: Path, email: str, password: str | None, idp_initiated: bool, as_json: bool
) -> None:
    """Sign in to Galaxy through Entra without a browser, printing every hop; exits 1 when
    Galaxy or Entra refuses."""
    base = Remote(url, data_dir).url

    async def run():
        async with HeadlessBrowser() as browser:
            return await sign_in(browser, base, email, password, idp_initiated=idp_initiated, app_name=APP)

    result = asyncio.run(run())
    if as_json:
        echo_json(
            {
                "outcome": result.outcome,
                "detail": result.detail,
                "hops": [{"method": h.method, "url": h.url, "status": h.status} for h in result.hops],
            }
        )
    else:
        for number, hop in enumerate(result.hops, 1):
            click.echo(f"{number:2}. {hop.method:<4} {hop.status} {hop.url}")
        click.echo(
            {
                "signed-in": "Signed in to Galaxy as ",
                "refused": "Galaxy refused: ",
                "entra-error": "Entra refused: ",
                "stuck": "Stopped: ",
            }[result.outcome]
            + result.detail
        )
    if not result.signed_in:
        raise SystemExit(1)


@main.group()
def saml() -> None:
    """SAML metadata and the signing certificate of the two sides."""


@saml.command("metadata")
@url_option
@app_option
@click.argument("side", type=click.Choice(["entra", "galaxy"]))
def saml_metadata(url: str | None, data_dir: Path, app: str, side: str) -> None:
    """Print Entra's App Federation Metadata (for any SAML SP) or Galaxy's SP metadata."""
    remote = Remote(url, data_dir)
    if side == "galaxy":
        click.echo(remote.fetch("/galaxy/saml/metadata"), nl=False)
        return
    metadata_url = remote.call("GET", f"/entra/apps/{app}/saml")["entra"]["appFederationMetadataUrl"]
    click.echo(remote.fetch(metadata_url), nl=False)


@saml.command("rotate-certificate")
@url_option
@app_option
@json_option
def saml_rotate(url: str | None, data_dir: Path, app: str, as_json: bool) -> None:
    """Make a new signing key and certificate for the tenant (metadata lists both for a while)."""
    result = Remote(url, data_dir).call("POST", f"/entra/apps/{app}/saml/rotate-certificate")
    if as_json:
        echo_json(result)
    else:
        certificate = result["entra"]["certificate"]
        click.echo(f"new certificate {certificate['thumbprint']}, valid until {certificate['expiresOn']}")
