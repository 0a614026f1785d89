"""`create_app`: the one place where the emulator is wired together."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.control.routes import create_control_app
from emulator.galaxy.app import SCIM_PATH, build_galaxy, create_galaxy_app
from emulator.galaxy.scim_routes import GALAXY_SCIM
from emulator.galaxy.tokens import TokenRegistry
from emulator.store import Store, StoreCorrupt, StoreLocked

__all__ = ["StoreCorrupt", "StoreLocked", "create_app", "open_token_registry", "running_server_url"]

GALAXY_MOUNT = "/galaxy"
SERVER_FILE = "server.json"

CONFIG = web.AppKey("config", EmulatorConfig)
CLOCK = web.AppKey("clock", Clock)
STORE = web.AppKey("store", Store)


@dataclass(frozen=True)
class StartupInfo:
    """What `serve` prints: the URLs and, on a data folder's first start, its first token."""

    scim_url: str
    new_token: str | None
    live_tokens: int


STARTUP = web.AppKey("startup", StartupInfo)


def create_app(config: EmulatorConfig, clock: Clock | None = None) -> web.Application:
    # A client that appends "/Users" to a base URL pasted with a trailing slash asks for
    # ".../v2//Users": answer with a 308 to the merged path, which keeps method and body.
    merge_slashes = web.normalize_path_middleware(append_slash=False, merge_slashes=True)
    app = web.Application(client_max_size=config.max_body_bytes, middlewares=[merge_slashes])
    app[CONFIG] = config
    app[CLOCK] = clock or Clock()
    app.cleanup_ctx.append(_open_state)
    app.add_subapp(GALAXY_MOUNT, create_galaxy_app(GALAXY_MOUNT))
    app.add_subapp("/_emulator", create_control_app())
    return app


async def _open_state(app: web.Application) -> AsyncIterator[None]:
    """Open the data folder for the app's lifetime; closing compacts it into data.json."""
    config = app[CONFIG]
    store = Store(config.data_dir, sync_writes=config.sync_writes)
    app[STORE] = store
    galaxy = build_galaxy(
        store,
        app[CLOCK],
        profile=config.scim_profile,
        fixed_token=config.token,
        max_results=config.max_results,
        max_body_bytes=config.max_body_bytes,
        exchange_log_size=config.exchange_log_size,
    )
    app[GALAXY_SCIM] = galaxy
    new_token = None
    if config.token is None and not any(t["revoked"] is None for t in galaxy.tokens.list()):
        new_token = galaxy.tokens.create("Generated on first start").secret
        await store.commit()
    app[STARTUP] = StartupInfo(
        scim_url=config.base_url + GALAXY_MOUNT + SCIM_PATH,
        new_token=new_token,
        live_tokens=sum(t["revoked"] is None for t in galaxy.tokens.list()),
    )
    # The loaded documents live as long as the process: keep the cyclic GC from re-scanning
    # them on every collection (a visible cost per request at 50,000 users).
    gc.freeze()
    server_file = config.data_dir / SERVER_FILE
    server_file.write_text(json.dumps({"pid": os.getpid(), "url": config.base_url}))
    try:
        yield
    finally:
        server_file.unlink(missing_ok=True)
        store.close()


@contextmanager
def open_token_registry(data_dir: Path) -> Iterator[TokenRegistry]:
    """Galaxy's tokens on a data folder no server holds (raises `StoreLocked` if one does)."""
    store = Store(data_dir)
    try:
        yield TokenRegistry(store, Clock())
    finally:
        store.close()


def running_server_url(data_dir: Path) -> str | None:
    """The base URL of the server holding `data_dir`, from the file it writes at start."""
    try:
        return json.loads((data_dir / SERVER_FILE).read_text())["url"]
    except (OSError, ValueError, KeyError):
        return None
