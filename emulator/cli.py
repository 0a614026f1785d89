"""The `scim-emulator` command: thin over `create_app`; `serve` is the default command."""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import logging
import os
import re
import signal
import socket
import sys
import urllib.error
import urllib.request
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
    open_token_registry,
    running_server_url,
    write_server_file,
)
from emulator.config import EmulatorConfig, default_data_dir
from emulator.scim.schema import PROFILES

LOG_LEVELS = ("debug", "info", "warning", "error")


class Duration(click.ParamType):
    """A duration such as 40m, 10s, 1h30m or 90 (seconds), or 'manual' (None)."""

    name = "duration"
    _part = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta | None:
        if value is None or isinstance(value, timedelta):
            return value
        text = str(value).strip().lower()
        if text == "manual":
            return None
        units = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
        pos, total = 0, 0.0
        while pos < len(text):
            match = self._part.match(text, pos)
            if not match:
                self.fail(f"{value!r} is not a duration such as 40m, 10s, 1h30m or 'manual'", param, ctx)
            total += float(match.group(1)) * units[match.group(2)]
            pos = match.end()
        if total <= 0:
            self.fail("a cycle interval must be longer than zero (or 'manual')", param, ctx)
        return timedelta(seconds=total)


DURATION = Duration()


def _show(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# Every option shows its SCIM_EMULATOR_* twin in --help.
option = functools.partial(click.option, show_envvar=True)


def data_dir_option(func):
    return option(
        "--data-dir",
        envvar="SCIM_EMULATOR_DATA_DIR",
        type=click.Path(file_okay=False, path_type=Path),
        default=default_data_dir,
        show_default="a per-user data folder",
        help="Folder holding the emulator's data file and journal; it is created if missing.",
    )(func)


class ServeByDefault(click.Group):
    """A group that runs `serve` when no command is named, so `scim-emulator --port 9000` works."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] not in ("--help", "--version")):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


@click.group(cls=ServeByDefault)
@click.version_option(__version__, prog_name="scim-emulator")
def main() -> None:
    """A local, offline emulator of Starburst Galaxy's SCIM receiver.

    With no command, or with only options, it runs `serve`.
    """


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


async def _serve(config: EmulatorConfig, sock: socket.socket) -> None:
    app = create_app(config)
    access_log = logging.getLogger("aiohttp.access") if config.log_level == "debug" else None
    runner = web.AppRunner(app, access_log=access_log)
    await runner.setup()
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
    interval = "manual" if config.cycle_interval is None else f"every {_show(config.cycle_interval)}"
    click.echo(f"  Entra provisioning:   cycles {interval}")
    click.echo(f"  Control API:          {base}/_emulator/health")
    click.echo("Press Ctrl-C to stop.")


@main.group()
def token() -> None:
    """Manage Galaxy's SCIM access tokens, with or without a running server."""


def _control(data_dir: Path, method: str, path: str, body: dict | None = None) -> dict:
    """Ask the server holding `data_dir` to do it, so the two never write the folder at once."""
    url = running_server_url(data_dir)
    if url is None:
        raise click.ClickException(f"{data_dir} is locked by a server whose address is unknown")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{url}/_emulator{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise click.ClickException(json.loads(exc.read() or b"{}").get("error", str(exc))) from None
    except OSError as exc:
        raise click.ClickException(f"the server at {url} holding {data_dir} did not answer: {exc}") from None


@token.command("create")
@data_dir_option
@option("--name", default="", help="A label that tells this token apart in `token list`.")
def token_create(data_dir: Path, name: str) -> None:
    """Generate a token and print it alone on one line (it is never shown again)."""
    try:
        with open_token_registry(data_dir) as tokens:
            secret = tokens.create(name).secret
    except StoreLocked:
        secret = _control(data_dir, "POST", "/tokens", {"name": name})["token"]
    click.echo(secret)


@token.command("list")
@data_dir_option
@option("--json", "as_json", is_flag=True, help="Print the tokens as a JSON array.")
def token_list(data_dir: Path, as_json: bool) -> None:
    """List tokens by id, name, hint and state; secrets are never shown."""
    try:
        with open_token_registry(data_dir) as tokens:
            rows = tokens.list()
    except StoreLocked:
        rows = _control(data_dir, "GET", "/tokens")["tokens"]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = f"revoked {row['revoked']}" if row["revoked"] else "valid"
        click.echo(f"{row['id']}  {row['hint']:<14} {state:<34} {row['name']}")


@token.command("revoke")
@data_dir_option
@click.argument("token_id")
def token_revoke(data_dir: Path, token_id: str) -> None:
    """Revoke the token with id TOKEN_ID (from `token list`); clients using it get 401."""
    try:
        with open_token_registry(data_dir) as tokens:
            found = tokens.revoke(token_id)
    except StoreLocked:
        found = _control(data_dir, "DELETE", f"/tokens/{token_id}")
    if found is None:
        raise click.ClickException(f"no token with id {token_id!r}; see `scim-emulator token list`")
    click.echo(f"revoked {token_id}")


if __name__ == "__main__":
    sys.exit(main())
