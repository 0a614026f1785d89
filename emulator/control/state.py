"""The emulator's whole state, as the control API resets it and exports it.

A reset brings a running emulator back to what a new data folder with a given scenario would
hold, without a restart: every table of the store is cleared through the store (so the journal
records it, and a restart comes back to the new state), every piece of memory that outlives a
request is forgotten, and the scenario is applied exactly as on a first start. What it keeps:
the listening address, the fixed `--token`, the clock, and the tenant's SAML signing keys (in
`<data-dir>/saml/<tenant-id>/`, files beside the store, so a service provider configured with
Entra's certificate keeps trusting it across resets, as it would across restarts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from emulator.entra.app import Entra
from emulator.entra.saml.flows import FlowStore
from emulator.galaxy.scim_routes import GalaxyScim
from emulator.galaxy.sso import GalaxySso
from emulator.scenarios.apply import AppliedScenario
from emulator.scenarios.export import ExportedScenario, export_scenario
from emulator.scenarios.model import Scenario
from emulator.scenarios.products import (
    PartlyApplied,
    apply_to_emulator,
    builtin_values,
    check_product_tables,
)
from emulator.store import Store
from emulator.web.sessions import SessionStore

RESET_TOKEN_NAME = "Generated on reset"


class StateBusy(Exception):
    """A reset refused because provisioning is working (a cycle, or provisioning on demand)."""


@dataclass(frozen=True)
class ResetResult:
    """What a reset made: the scenario applied, the new Galaxy token (its secret is shown only
    here) and the new password of Galaxy's `accountadmin@galaxy.example`."""

    scenario: str
    galaxy_token: str
    accountadmin_password: str | None
    applied: AppliedScenario | None
    warnings: tuple[str, ...] = ()


class EmulatorState:
    """Resets and exports one emulator; `create_app`'s start-up builds it and hangs it on the app
    under `EMULATOR_STATE`, since only start-up holds every service at once."""

    def __init__(
        self,
        *,
        store: Store,
        galaxy: GalaxyScim,
        sso: GalaxySso,
        galaxy_sessions: SessionStore,
        entra: Entra,
        forget_entra_sessions: Callable[[], None],
        galaxy_scim_url: str,
        default_scenario: str,
        current_scenario: str | None = None,
    ) -> None:
        """`default_scenario` is what a reset without a scenario loads (the one the server was
        started with); `current_scenario` the name of the one last applied, if known."""
        self.store = store
        self.galaxy = galaxy
        self.sso = sso
        self.galaxy_sessions = galaxy_sessions
        self.entra = entra
        self.forget_entra_sessions = forget_entra_sessions
        self.galaxy_scim_url = galaxy_scim_url
        self.default_scenario = default_scenario
        self.current_scenario = current_scenario

    def busy(self) -> str | None:
        """Why a reset must wait now, or None: a provisioning cycle or provisioning on demand
        holds an app's lock (they write to the tables a reset clears)."""
        engine = self.entra.engine
        for app in self.entra.directory.list_apps():
            if engine.lock(app["id"]).locked():
                return (
                    f"a provisioning cycle of {app['displayName']!r} is running; wait for it to end "
                    "(GET /_emulator/entra/apps/{app}/provisioning/status) and reset again"
                )
        return None

    async def reset(self, scenario: Scenario) -> ResetResult:
        """Replace the whole state by `scenario` applied to empty tables; raises `StateBusy`, or
        `ScenarioError` when a product table of the scenario is refused (before anything is
        cleared). A `[galaxy.sso] metadataUrl` that cannot be fetched is only known once the
        rest is applied: the reset then succeeds without Galaxy's SSO, with a warning."""
        reason = self.busy()
        if reason is not None:
            raise StateBusy(reason)
        # Checked before anything is cleared, so a refused scenario leaves the state as it was.
        check_product_tables(
            scenario, builtin_values(self.galaxy_scim_url, self.galaxy, self.sso, self.entra)
        )
        # From here to the first await nothing else runs on the loop: no request sees half a reset.
        for table in list(self.store.tables.values()):
            table.clear()
        self._forget_memory()
        applied, warnings = None, ()
        try:
            applied = await apply_to_emulator(
                scenario,
                galaxy=self.galaxy,
                sso=self.sso,
                entra=self.entra,
                galaxy_scim_url=self.galaxy_scim_url,
            )
        except PartlyApplied as exc:
            applied, warnings = exc.applied, tuple(exc.problems)
        finally:
            # Whatever happened, the folder gets its token and admin, as a first start does.
            token = self.galaxy.tokens.create(RESET_TOKEN_NAME).secret
            password = self.sso.ensure_accountadmin()
            _ = self.entra.saml.keys  # the tenant's signing key exists from the start (issue 4)
            await self.store.commit()
            self.entra.scheduler.wake()
        self.current_scenario = scenario.name
        return ResetResult(scenario.name, token, password, applied, warnings)

    def _forget_memory(self) -> None:
        """Everything kept in memory between requests: recorded exchanges and fault rules,
        browser sessions of both products, Galaxy's outstanding AuthnRequests and used assertion
        IDs, Entra's sign-ins in progress, and the tenant-wide change counter."""
        galaxy = self.galaxy
        galaxy.exchanges.clear()
        galaxy.faults.clear()
        self.galaxy_sessions.clear()
        self.sso.forget_sign_ins()
        entra = self.entra
        entra.saml.flows = FlowStore(entra.saml.clock)
        self.forget_entra_sessions()
        entra.directory.reset_change_seq()

    def export(self, *, name: str, description: str | None = None) -> ExportedScenario:
        """The current state as a scenario file (see `emulator.scenarios.export`)."""
        entra = self.entra
        return export_scenario(
            name=name,
            description=description,
            directory=entra.directory,
            provisioning=entra.engine.state,
            saml=entra.saml,
            sso=self.sso,
            galaxy_scim_url=self.galaxy_scim_url,
            now=entra.engine.clock.timestamp(),
        )


EMULATOR_STATE = web.AppKey("emulator_state", EmulatorState)
