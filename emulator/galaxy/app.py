"""Starburst Galaxy as an aiohttp sub-application: the SCIM receiver under `/scim/v2`, and the
sign-in pages and SAML service provider (`galaxy.pages`)."""

from __future__ import annotations

from aiohttp import web

from emulator.clock import Clock
from emulator.galaxy.directory import GalaxyDirectory
from emulator.galaxy.exchanges import ExchangeLog
from emulator.galaxy.pages import add_pages
from emulator.galaxy.scim_routes import GalaxyScim, create_scim_app
from emulator.galaxy.tokens import TokenRegistry
from emulator.scim.schema import build_profile
from emulator.store import Store

SCIM_PATH = "/scim/v2"


def build_galaxy(
    store: Store,
    clock: Clock,
    *,
    profile: str,
    fixed_token: str | None,
    max_results: int,
    max_body_bytes: int,
    exchange_log_size: int,
) -> GalaxyScim:
    """Galaxy's state on an open store: directory, tokens and the exchange log."""
    return GalaxyScim(
        GalaxyDirectory(store, clock, build_profile(profile)),
        TokenRegistry(store, clock, fixed_token),
        ExchangeLog(exchange_log_size),
        clock,
        store.commit,
        max_results=max_results,
        max_body_bytes=max_body_bytes,
    )


def create_galaxy_app(mount: str) -> web.Application:
    """Galaxy's URL space; `mount` is where the caller will attach it (e.g. `/galaxy`)."""
    app = web.Application()
    app.add_subapp(SCIM_PATH, create_scim_app(mount + SCIM_PATH))
    add_pages(app, mount)  # sign-in, SAML SP, landing page, Access → Single sign-on
    return app
