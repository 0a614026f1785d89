"""Applying a scenario to a whole emulator: Entra's directory, its provisioning and SAML settings,
and Galaxy's direct users and single sign-on, with placeholders naming the built-in counterpart.

A scenario's `[app.provisioning]`, `[app.saml]` and `[galaxy.sso]` tables may write
`{galaxy_scim_url}`, `{galaxy_token}`, `{galaxy_entity_id}`, `{galaxy_reply_url}`,
`{galaxy_relay_state}`, `{entra_certificate}`, `{entra_login_url}` or `{entra_identifier}` inside
any string; each is replaced by the value of this emulator (its URLs depend on the port it
listens on, and the token is generated), so one file sets up both sides of the flow wherever
it runs. The product tables are checked before anything is written, so a start or a reset never
stops halfway on a bad setting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from emulator.entra.app import Entra
from emulator.entra.provisioning.settings import SettingsError, default_settings, merge_settings
from emulator.entra.saml.settings import SamlSettings, SamlSettingsError, apply_changes
from emulator.galaxy.scim_routes import GalaxyScim
from emulator.galaxy.sso import GalaxySso
from emulator.galaxy.sso.metadata import SsoConfigError, check_url, manual_trust
from emulator.scenarios.apply import AppliedScenario, apply_scenario
from emulator.scenarios.loader import ScenarioError
from emulator.scenarios.model import Scenario

GALAXY_SSO_KEYS = (
    "metadataUrl",
    "certificate",
    "loginUrl",
    "entraIdentifier",
    "logoutUrl",
    "allowSha1",
    "allowUnsolicited",
)
TOKEN_NAME = "Entra provisioning (scenario)"


class PartlyApplied(ScenarioError):
    """Everything of the scenario was applied but Galaxy's SSO configuration, whose
    `metadataUrl` could not be fetched (the one check that cannot be made beforehand)."""

    def __init__(self, source: str, problems: list[str], applied: AppliedScenario) -> None:
        super().__init__(source, problems)
        self.applied = applied


# Stands for Entra's certificate while the tables are checked (see `check_product_tables`).
_DRY_CERTIFICATE = "<the tenant's signing certificate>"


def builtin_values(
    galaxy_scim_url: str, galaxy: GalaxyScim, sso: GalaxySso, entra: Entra
) -> dict[str, Callable[[], str]]:
    """What each placeholder stands for in this emulator; `{galaxy_token}` makes a new token
    each time it is used."""
    return {
        "{galaxy_scim_url}": lambda: galaxy_scim_url,
        "{galaxy_token}": lambda: galaxy.tokens.create(TOKEN_NAME).secret,
        "{galaxy_entity_id}": lambda: sso.sp.entity_id,
        "{galaxy_reply_url}": lambda: sso.sp.reply_url,
        "{galaxy_relay_state}": lambda: sso.sp.relay_state,
        "{entra_certificate}": lambda: entra.saml.keys.certificate.pem,
        "{entra_login_url}": lambda: entra.saml.sso_url(),
        "{entra_identifier}": lambda: entra.saml.issuer,
    }


def fill(value: Any, values: Mapping[str, Callable[[], str]]) -> Any:
    """`value` (a table, array or string) with every placeholder inside its strings replaced."""
    if isinstance(value, dict):
        return {key: fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, values) for item in value]
    if isinstance(value, str) and "{" in value:
        for placeholder, make in values.items():
            if placeholder in value:
                value = value.replace(placeholder, make())
    return value


def check_product_tables(scenario: Scenario, values: Mapping[str, Callable[[], str]]) -> None:
    """Validate `[app.provisioning]`, `[app.saml]` and `[galaxy.sso]` as the products will when
    they are applied, without writing anything; raises `ScenarioError` naming the table.

    Stand-ins take the place of the token (not used up here) and of Entra's values (which
    would make the current tenant's signing key); a `metadataUrl` in `[galaxy.sso]` is only
    checked for its shape, since fetching it is what applying does."""
    tenant = scenario.tenant.id
    dry = {
        **values,
        "{galaxy_token}": lambda: "placeholder-token",
        "{entra_certificate}": lambda: _DRY_CERTIFICATE,
        "{entra_login_url}": lambda: f"https://login.microsoftonline.com/{tenant}/saml2",
        "{entra_identifier}": lambda: f"https://sts.windows.net/{tenant}/",
    }
    problems: list[str] = []
    app = scenario.app
    if app.provisioning is not None:
        try:
            merge_settings(default_settings(), fill(app.provisioning, dry))
        except SettingsError as exc:
            problems.append(f"app.provisioning: {exc}")
    if app.saml is not None:
        try:
            apply_changes(SamlSettings(), fill(app.saml, dry))
        except SamlSettingsError as exc:
            problems.append(f"app.saml: {exc}")
    if scenario.galaxy_sso is not None:
        problems += [f"galaxy.sso: {p}" for p in _galaxy_sso_problems(fill(scenario.galaxy_sso, dry))]
    if problems:
        raise ScenarioError(scenario.source or scenario.name, problems)


def _galaxy_sso_problems(table: dict) -> list[str]:
    """What Galaxy's SSO form would refuse in `table` (see `GalaxySso.configure`)."""
    unknown = sorted(set(table) - set(GALAXY_SSO_KEYS))
    if unknown:
        return [f"unknown key(s) {', '.join(unknown)}; allowed keys here: {', '.join(GALAXY_SSO_KEYS)}"]
    for key in ("allowSha1", "allowUnsolicited"):
        if key in table and not isinstance(table[key], bool):
            return [f"{key} must be true or false"]
    for key in ("metadataUrl", "certificate", "loginUrl", "entraIdentifier", "logoutUrl"):
        if key in table and not isinstance(table[key], str):
            return [f"{key} must be a string"]
    manual = [key for key in ("certificate", "loginUrl", "entraIdentifier") if table.get(key)]
    try:
        if table.get("metadataUrl"):
            if manual:
                return ["give either metadataUrl or certificate, loginUrl and entraIdentifier, not both"]
            check_url(table["metadataUrl"], "metadataUrl")
        elif manual:
            # Entra's own certificate (the placeholder) is valid by construction; any other is
            # parsed here, as Galaxy's form does.
            if table.get("certificate") == _DRY_CERTIFICATE:
                if not table.get("entraIdentifier", "").strip():
                    return ["the Microsoft Entra Identifier (entraIdentifier) is empty"]
                check_url(table.get("loginUrl", ""), "Login URL")
                if table.get("logoutUrl"):
                    check_url(table["logoutUrl"], "Logout URL")
            else:
                manual_trust(
                    table.get("certificate", ""),
                    table.get("loginUrl", ""),
                    table.get("entraIdentifier", ""),
                    table.get("logoutUrl"),
                )
        else:
            return ["give metadataUrl, or certificate, loginUrl and entraIdentifier"]
    except SsoConfigError as exc:
        return [str(exc)]
    return []


async def apply_to_emulator(
    scenario: Scenario,
    *,
    galaxy: GalaxyScim,
    sso: GalaxySso,
    entra: Entra,
    galaxy_scim_url: str,
    progress: Callable[[int, int], None] | None = None,
) -> AppliedScenario:
    """Load a validated scenario into an emulator whose tables are empty (a new data folder, or
    one the control API's reset has just cleared)."""
    values = builtin_values(galaxy_scim_url, galaxy, sso, entra)
    check_product_tables(scenario, values)

    def configure_provisioning(app_id: str, table: dict) -> None:
        entra.engine.configure(app_id, fill(table, values))

    def configure_saml(app_id: str, table: dict) -> None:
        entra.saml.settings.update(app_id, fill(table, values))

    applied = apply_scenario(
        scenario,
        entra.directory,
        configure_provisioning=configure_provisioning,
        configure_saml=configure_saml,
        create_galaxy_user=sso.direct_users.add_scenario_user,
        progress=progress,
    )
    if scenario.galaxy_sso is not None:
        try:
            await sso.configure(fill(scenario.galaxy_sso, values))
        except SsoConfigError as exc:  # only a metadataUrl that cannot be fetched gets here
            raise PartlyApplied(
                scenario.source or scenario.name,
                [f"galaxy.sso: {exc} (everything else of the scenario was applied)"],
                applied,
            ) from exc
    return applied
