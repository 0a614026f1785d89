"""Microsoft Entra's state for one data folder: the tenant directory, its provisioning, and its
SAML identity provider."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
from aiohttp import web

from emulator.clock import Clock
from emulator.entra.directory import EntraDirectory
from emulator.entra.provisioning.engine import ProvisioningEngine
from emulator.entra.provisioning.logs import ProvisioningLogs
from emulator.entra.provisioning.scheduler import Scheduler
from emulator.entra.provisioning.state import ProvisioningState
from emulator.entra.saml.service import EntraSaml
from emulator.store import Store


@dataclass
class Entra:
    """What Entra's handlers share; hung on the app under `ENTRA`."""

    directory: EntraDirectory
    engine: ProvisioningEngine
    logs: ProvisioningLogs
    scheduler: Scheduler
    saml: EntraSaml


ENTRA = web.AppKey("entra", Entra)


def build_entra(
    store: Store,
    clock: Clock,
    session: Callable[[], aiohttp.ClientSession],
    *,
    cycle_interval: timedelta | None,
    base_url: str = "http://127.0.0.1:8000",
) -> Entra:
    """Entra's services on an open store; `base_url` is the emulator's public URL, from which
    the SAML IdP makes the URLs it signs into tokens and metadata."""
    directory = EntraDirectory(store, clock)
    logs = ProvisioningLogs(store, clock)
    engine = ProvisioningEngine(
        ProvisioningState(store), directory, logs, clock, session, cycle_interval=cycle_interval
    )
    scheduler = Scheduler(engine, clock)
    engine.on_change = scheduler.wake
    # SAML signing keys live in <data-dir>/saml/<tenant-id>/, made on first use.
    saml = EntraSaml(store, directory, clock, keys_dir=store.folder / "saml", base_url=base_url)
    return Entra(directory, engine, logs, scheduler, saml)
