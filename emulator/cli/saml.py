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


@saml.command("show")
@url_option
@app_option
def saml_show(url: str | None, data_dir: Path, app: str) -> None:
    """Print the app's SAML settings and Entra's values (Login URL, Identifier, metadata URL)."""
    echo_json(Remote(url, data_dir).call("GET", f"/entra/apps/{app}/saml"))


@saml.command("configure")
@url_option
@app_option
@option("--identifier", "identifiers", multiple=True, help="Identifier (Entity ID); repeat for several.")
@option(
    "--reply-url",
    "reply_urls",
    multiple=True,
    help="Reply URL (ACS); repeat for several, the first is the default.",
)
@option("--sign-on-url", help="Sign on URL; leave it unset so My Apps signs in IdP-initiated.")
@option("--relay-state", help="Relay State sent with IdP-initiated sign-ins.")
@option("--signing-option", type=click.Choice(["assertion", "response", "both"]), help="What Entra signs.")
@option("--signing-algorithm", type=click.Choice(["SHA-256", "SHA-1"]), help="The signature algorithm.")
@option(
    "--name-id-format",
    type=click.Choice(["emailAddress", "persistent", "unspecified", "transient"]),
    help="The NameID format.",
)
@option("--groups-claim", type=click.Choice(["none", "securityGroups"]), help="Add the groups claim.")
@option(
    "--assignment-required/--no-assignment-required",
    default=None,
    help="Whether only assigned users may sign in (AADSTS50105 otherwise).",
)
@json_option
def saml_configure(
    url: str | None,
    data_dir: Path,
    app: str,
    identifiers: tuple[str, ...],
    reply_urls: tuple[str, ...],
    sign_on_url: str | None,
    relay_state: str | None,
    signing_option: str | None,
    signing_algorithm: str | None,
    name_id_format: str | None,
    groups_claim: str | None,
    assignment_required: bool | None,
    as_json: bool,
) -> None:
    """Edit the app's Basic SAML Configuration, signing and claims (the portal's Single sign-on)."""
    changes = {
        "identifiers": list(identifiers) or None,
        "replyUrls": list(reply_urls) or None,
        "signOnUrl": sign_on_url,
        "relayState": relay_state,
        "signingOption": signing_option,
        "signingAlgorithm": signing_algorithm,
        "nameIdFormat": name_id_format,
        "groupsClaim": groups_claim,
        "assignmentRequired": assignment_required,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise click.ClickException("nothing to change: give at least one option (see --help)")
    saved = Remote(url, data_dir).call("PATCH", f"/entra/apps/{app}/saml", changes)
    if as_json:
        echo_json(saved)
    else:
        click.echo(
            f"Saved. Identifier {', '.join(saved['identifiers']) or '-'}; "
            f"Reply URL {', '.join(saved['replyUrls']) or '-'}; signing {saved['signingOption']}."
        )


@main.group()
def galaxy() -> None:
    """Galaxy's single sign-on configuration (Access > Single sign-on)."""


@galaxy.command("sso")
@url_option
@option("--metadata-url", help="Entra's App Federation Metadata Url (fetched now).")
@option(
    "--certificate",
    "certificate_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Manual entry: the certificate file (Base64/PEM, as Entra's download).",
)
@option("--login-url", help="Manual entry: Entra's Login URL.")
@option("--entra-identifier", help="Manual entry: the Microsoft Entra Identifier.")
@option("--allow-sha1/--no-allow-sha1", default=None, help="Accept SHA-1 signatures (refused by default).")
@option("--delete", is_flag=True, help="Remove the SSO configuration.")
@json_option
def galaxy_sso(
    url: str | None,
    data_dir: Path,
    metadata_url: str | None,
    certificate_file: Path | None,
    login_url: str | None,
    entra_identifier: str | None,
    allow_sha1: bool | None,
    delete: bool,
    as_json: bool,
) -> None:
    """Show Galaxy's SSO configuration and the values to copy into Entra, or change it."""
    remote = Remote(url, data_dir)
    body = {
        "metadataUrl": metadata_url,
        "certificate": certificate_file.read_text() if certificate_file else None,
        "loginUrl": login_url,
        "entraIdentifier": entra_identifier,
        "allowSha1": allow_sha1,
    }
    body = {k: v for k, v in body.items() if v is not None}
    if delete:
        remote.call("DELETE", "/galaxy/sso")
        result = remote.call("GET", "/galaxy/sso")
    elif body:
        result = remote.call("PUT", "/galaxy/sso", body)
    else:
        result = remote.call("GET", "/galaxy/sso")
    echo_json(result)


@galaxy.command("users")
@url_option
@json_option
def galaxy_users(url: str | None, data_dir: Path, as_json: bool) -> None:
    """List Galaxy's direct-login users (email and password, outside SCIM)."""
    users = Remote(url, data_dir).call("GET", "/galaxy/users")["users"]
    if as_json:
        echo_json(users)
        return
    for user in users:
        click.echo(f"{user['email']:<36} {user['displayName']:<24} {', '.join(user['roles'])}")


@galaxy.command("add-user")
@url_option
@click.argument("email")
@option(
    "--password",
    envvar="SCIM_EMULATOR_GALAXY_PASSWORD",
    required=True,
    help="The user's password (prefer the environment variable).",
)
@option("--display-name", help="The name Galaxy shows.")
@option("--role", "roles", multiple=True, help="A Galaxy role; repeat for several.")
def galaxy_add_user(
    url: str | None,
    data_dir: Path,
    email: str,
    password: str,
    display_name: str | None,
    roles: tuple[str, ...],
) -> None:
    """Add a direct-login Galaxy user EMAIL."""
    body = {"email": email, "password": password, "roles": list(roles)}
    if display_name:
        body["displayName"] = display_name
    Remote(url, data_dir).call("POST", "/galaxy/users", body)
    click.echo(f"added {email}")


@galaxy.command("delete-user")
@url_option
@click.argument("email")
def galaxy_delete_user(url: str | None, data_dir: Path, email: str) -> None:
    """Delete the direct-login Galaxy user EMAIL (the accountadmin stays)."""
    Remote(url, data_dir).call("DELETE", f"/galaxy/users/{email}")
    click.echo(f"deleted {email}")
