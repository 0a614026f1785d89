"""`scim-emulator serve`: run the emulator until interrupted."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import sys
import time
from datetime import timedelta
from pathlib import Path

import click
from aiohttp import web

from emulator import __version__
from emulator.app import (
    STARTUP,
    ScenarioError,
    StartupInfo,
    StoreCorrupt,
    StoreLocked,
    create_app,
    galaxy_scim_url,
    write_server_file,
)
from emulator.cli.group import main
from emulator.cli.options import DURATION, data_dir_option, option, show_duration
from emulator.config import EmulatorConfig
from emulator.scim.schema import PROFILES

LOG_LEVELS = ("debug", "info", "warning", "error")


@main.command()
@option(
    "--host",
    envvar="SCIM_EMULATOR_HOST",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; keep 127.0.0.1 unless other machines must reach it.",
)
@option(
    "--port",
    envvar="SCIM_EMULATOR_PORT",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="TCP port to listen on.",
)
@data_dir_option
@option(
    "--scim-profile",
    envvar="SCIM_EMULATOR_SCIM_PROFILE",
    type=click.Choice(PROFILES),
    default="galaxy",
    show_default=True,
    help="Which attributes the SCIM receiver stores: Galaxy's supported subset, or the full "
    "core User schema with the enterprise extension.",
)
@option(
    "--token",
    envvar="SCIM_EMULATOR_TOKEN",
    default=None,
    help="A fixed access token accepted besides generated ones, for CI; prefer the "
    "environment variable, since command lines are visible to other users.",
)
@option(
    "--max-body-size",
    envvar="SCIM_EMULATOR_MAX_BODY_SIZE",
    type=click.IntRange(1024),
    default=1024 * 1024,
    show_default=True,
    help="Largest request body accepted, in bytes; larger ones get a SCIM 413 error.",
)
@option(
    "--sync-writes/--no-sync-writes",
    envvar="SCIM_EMULATOR_SYNC_WRITES",
    default=False,
    show_default=True,
    help="Wait for an fdatasync before acknowledging each write, so it survives a power loss "
    "too; without it a write survives a crash of the emulator and reaches the disk within 50 ms.",
)
@option(
    "--scenario",
    envvar="SCIM_EMULATOR_SCENARIO",
    default="demo",
    show_default=True,
    help="The Entra tenant a new data folder starts with: demo, empty, large, or a path to a "
    "scenario file; an existing data folder keeps its data.",
)
@option(
    "--cycle-interval",
    envvar="SCIM_EMULATOR_CYCLE_INTERVAL",
    type=DURATION,
    default="40m",
    show_default=True,
    help="Time between provisioning cycles, like Entra's 40 minutes; shorten it for demos "
    "(e.g. 10s), or 'manual' to run cycles only when asked.",
)
@option(
    "--log-level",
    envvar="SCIM_EMULATOR_LOG_LEVEL",
    type=click.Choice(LOG_LEVELS),
    default="info",
    show_default=True,
    help="How much the server logs; 'debug' adds one access-log line per request.",
)
def serve(
    host: str,
    port: int,
    data_dir: Path,
    scim_profile: str,
    token: str | None,
    max_body_size: int,
    sync_writes: bool,
    scenario: str,
    cycle_interval: timedelta | None,
    log_level: str,
) -> None:
    """Run the emulator until interrupted (Ctrl-C or SIGTERM stop it cleanly)."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sock = socket.create_server((host, port))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    config = EmulatorConfig(
        data_dir=data_dir,
        host=host,
        port=sock.getsockname()[1],
        scim_profile=scim_profile,
        token=token or None,
        log_level=log_level,
        max_body_bytes=max_body_size,
        sync_writes=sync_writes,
        scenario=scenario,
        cycle_interval=cycle_interval,
    )
    try:
        asyncio.run(_serve(config, sock))
    except (StoreLocked, StoreCorrupt, ScenarioError) as exc:
        raise click.ClickException(str(exc)) from None


class ScenarioProgress:
    """A progress bar on stderr while a new data folder loads a big scenario (`large`: 10,000
    users); small scenarios load too fast to need one."""

    def __init__(self) -> None:
        self.bar = None
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if total < 1000:
                return
            self.bar = click.progressbar(
                length=total,
                label="Loading the scenario",
                file=sys.stderr,
                show_pos=True,
                item_show_func=lambda rate: rate,
            )
            self.bar.__enter__()
        rate = done / max(time.perf_counter() - self.started, 0.001)
        self.bar.update(done - self.bar.pos, f"{rate:.0f} objects/s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


async def _serve(config: EmulatorConfig, sock: socket.socket) -> None:
    progress = ScenarioProgress()
    app = create_app(config, on_progress=progress)
    access_log = logging.getLogger("aiohttp.access") if config.log_level == "debug" else None
    runner = web.AppRunner(app, access_log=access_log)
    try:
        await runner.setup()
    finally:
        progress.close()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server_file = None
    try:
        await web.SockSite(runner, sock).start()
        # Everything loaded now lives as long as the process: keep the cyclic GC from
        # re-scanning it on every collection (a visible cost per request at 50,000 users).
        gc.freeze()
        server_file = write_server_file(config.data_dir, os.getpid(), config.base_url)
        _print_banner(config, app[STARTUP])
        await stop.wait()
    finally:
        if server_file is not None:
            server_file.unlink(missing_ok=True)
        await runner.cleanup()


def _print_banner(config: EmulatorConfig, info: StartupInfo) -> None:
    base = config.base_url
    click.echo(f"scim-emulator {__version__} listening on {base} (data: {config.data_dir})")
    if info.scenario:
        click.echo(f"  New data folder: loaded the '{info.scenario}' scenario")
    click.echo(f"  Galaxy SCIM URL:      {galaxy_scim_url(base)}")
    if info.new_token:
        click.echo(f"  Galaxy access token:  {info.new_token}")
        click.echo("    (shown once, like Galaxy's 'Generate access token': copy it now)")
    else:
        fixed = " plus the fixed --token" if config.token else ""
        click.echo(
            f"  Galaxy access tokens: {info.live_tokens} valid{fixed}; "
            "`scim-emulator token create` makes another"
        )
    click.echo(f"  Galaxy login:         {base}/galaxy/login")
    if info.galaxy_admin_password:
        click.echo(f"  Galaxy accountadmin:  accountadmin@galaxy.example / {info.galaxy_admin_password}")
        click.echo("    (the direct login's password, shown once)")
    interval = "manual" if config.cycle_interval is None else f"every {show_duration(config.cycle_interval)}"
    click.echo(f"  Entra provisioning:   cycles {interval}")
    click.echo(f"  Entra admin center:   {base}/entra/portal/")
    click.echo(f"  Entra My Apps:        {base}/entra/myapps")
    click.echo(f"  Entra SAML signing:   certificate thumbprint {info.signing_thumbprint}")
    click.echo(f"  Control API:          {base}/_emulator/health")
    click.echo("Press Ctrl-C to stop.")
