"""`create_app`: the one place where the emulator is wired together."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.control.routes import create_control_app
from emulator.control.state import EMULATOR_STATE, EmulatorState
from emulator.entra.app import ENTRA, Entra, build_entra
from emulator.entra.pages import PAGE_STATE, create_entra_app
from emulator.galaxy.app import SCIM_PATH, build_galaxy, create_galaxy_app
from emulator.galaxy.pages import GALAXY_SESSIONS, install_sso
from emulator.galaxy.scim_routes import GALAXY_SCIM, GalaxyScim
from emulator.galaxy.sso import GalaxySso
from emulator.galaxy.tokens import TokenRegistry
from emulator.scenarios import ScenarioError, load_scenario
from emulator.scenarios.model import Scenario
from emulator.scenarios.products import apply_to_emulator
from emulator.store import Store, StoreCorrupt, StoreLocked

__all__ = [
    "ScenarioError",
    "StoreCorrupt",
    "StoreLocked",
    "create_app",
    "open_token_registry",
    "running_server_url",
]

GALAXY_MOUNT = "/galaxy"
FAVICON = Path(__file__).parent / "web" / "static" / "favicon.png"
ENTRA_MOUNT = "/entra"
SERVER_FILE = "server.json"

CONFIG = web.AppKey("config", EmulatorConfig)
CLOCK = web.AppKey("clock", Clock)
STORE = web.AppKey("store", Store)
PROGRESS = web.AppKey("progress", Callable)
ENTRA_PAGES = web.AppKey("entra_pages", web.Application)  # for the reset to sign browsers out


@dataclass(frozen=True)
class StartupInfo:
    """What `serve` prints: the URLs, the scenario applied and, on a data folder's first start,
    its first Galaxy token."""

    new_token: str | None
    live_tokens: int
    scenario: str | None
    # The generated password of Galaxy's `accountadmin@galaxy.example`, on its first start only.
    galaxy_admin_password: str | None = None
    signing_thumbprint: str = ""


STARTUP = web.AppKey("startup", StartupInfo)


def create_app(
    config: EmulatorConfig,
    clock: Clock | None = None,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> web.Application:
    """The emulator as one aiohttp application; `on_progress(done, total)` hears how loading
    a new data folder's scenario goes (the CLI shows a progress bar for `large`)."""
    # A client that appends "/Users" to a base URL pasted with a trailing slash asks for
    # ".../v2//Users": answer with a 308 to the merged path, which keeps method and body.
    merge_slashes = web.normalize_path_middleware(append_slash=False, merge_slashes=True)
    app = web.Application(client_max_size=config.max_body_bytes, middlewares=[merge_slashes])
    app[CONFIG] = config
    app[CLOCK] = clock or Clock()
    app[PROGRESS] = on_progress or (lambda done, total: None)
    app.cleanup_ctx.append(_open_state)
    app.add_subapp(GALAXY_MOUNT, create_galaxy_app(GALAXY_MOUNT))
    app[ENTRA_PAGES] = create_entra_app(ENTRA_MOUNT)
    app.add_subapp(ENTRA_MOUNT, app[ENTRA_PAGES])  # SAML IdP, sign-in, My Apps
    app.add_subapp("/_emulator", create_control_app())
    app.router.add_get("/favicon.ico", _favicon)
    return app


async def _favicon(request: web.Request) -> web.FileResponse:
    """Browsers ask every site for one; answering keeps their consoles free of 404s."""
    return web.FileResponse(FAVICON, headers={"Content-Type": "image/png", "Cache-Control": "max-age=86400"})


def galaxy_scim_url(base_url: str) -> str:
    return base_url + GALAXY_MOUNT + SCIM_PATH


async def _open_state(app: web.Application) -> AsyncIterator[None]:
    """Open the data folder and Entra's HTTP client for the app's lifetime, and run the
    provisioning scheduler; closing compacts the folder into data.json."""
    config, clock = app[CONFIG], app[CLOCK]
    store = Store(config.data_dir, sync_writes=config.sync_writes)
    session: aiohttp.ClientSession | None = None
    scheduler_task: asyncio.Task | None = None
    try:
        app[STORE] = store
        galaxy = build_galaxy(
            store,
            clock,
            profile=config.scim_profile,
            fixed_token=config.token,
            max_results=config.max_results,
            max_body_bytes=config.max_body_bytes,
            exchange_log_size=config.exchange_log_size,
        )
        app[GALAXY_SCIM] = galaxy
        sso = GalaxySso(store, clock, galaxy.directory, config.base_url + GALAXY_MOUNT, GALAXY_MOUNT)
        install_sso(app, sso)
        session = aiohttp.ClientSession()
        entra = build_entra(
            store, clock, lambda: session, cycle_interval=config.cycle_interval, base_url=config.base_url
        )
        app[ENTRA] = entra
        scenario = None
        if not entra.directory.tenant_table.docs:  # a new data folder
            scenario = await _apply_scenario(config, galaxy, sso, entra, progress=app[PROGRESS])
        new_token = None
        if config.token is None and not any(t["revoked"] is None for t in galaxy.tokens.list()):
            new_token = galaxy.tokens.create("Generated on first start").secret
        galaxy_admin_password = sso.ensure_accountadmin()
        # The tenant's SAML signing key and certificate exist from the first start (issue 4).
        signing_certificate = entra.saml.keys.certificate
        await store.commit()
        page_state = app[ENTRA_PAGES][PAGE_STATE]
        app[EMULATOR_STATE] = EmulatorState(
            store=store,
            galaxy=galaxy,
            sso=sso,
            galaxy_sessions=app[GALAXY_SESSIONS],
            entra=entra,
            forget_entra_sessions=lambda: setattr(page_state, "store", None),
            galaxy_scim_url=galaxy_scim_url(config.base_url),
            default_scenario=config.scenario,
            current_scenario=scenario,
        )
        app[STARTUP] = StartupInfo(
            new_token=new_token,
            live_tokens=sum(t["revoked"] is None for t in galaxy.tokens.list()),
            scenario=scenario,
            galaxy_admin_password=galaxy_admin_password,
            signing_thumbprint=signing_certificate.thumbprint,
        )
        scheduler_task = asyncio.create_task(entra.scheduler.run())
        yield
    finally:
        if scheduler_task is not None:
            scheduler_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scheduler_task
        if session is not None:
            await session.close()
        store.close()


async def _apply_scenario(
    config: EmulatorConfig,
    galaxy: GalaxyScim,
    sso: GalaxySso,
    entra: Entra,
    scenario: Scenario | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Load the configured scenario (or `scenario`) into a new data folder. Its tables may name
    the built-in counterpart with placeholders, so one scenario sets up both sides of the flow
    (see `emulator.scenarios.products`); the control API's reset applies scenarios the same way."""
    scenario = scenario or load_scenario(config.scenario)
    await apply_to_emulator(
        scenario,
        galaxy=galaxy,
        sso=sso,
        entra=entra,
        galaxy_scim_url=galaxy_scim_url(config.base_url),
        progress=progress,
    )
    return scenario.name


@contextmanager
def open_token_registry(data_dir: Path) -> Iterator[TokenRegistry]:
    """Galaxy's tokens on a data folder no server holds (raises `StoreLocked` if one does)."""
    store = Store(data_dir)
    try:
        yield TokenRegistry(store, Clock())
    finally:
        store.close()


def write_server_file(data_dir: Path, pid: int, url: str) -> Path:
    """Tell CLI commands on this data folder where its server listens."""
    path = data_dir / SERVER_FILE
    path.write_text(json.dumps({"pid": pid, "url": url}))
    return path


def running_server_url(data_dir: Path) -> str | None:
    """The base URL of the server holding `data_dir`, from the file it writes at start."""
    try:
        return json.loads((data_dir / SERVER_FILE).read_text())["url"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
