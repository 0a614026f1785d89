"""`Emulator`: a whole emulator on 127.0.0.1 for other projects' tests and scripts.

Two forms over one implementation::

    async with Emulator(scenario="demo") as emu:        # in the current event loop
        ada = await emu.entra.add_user("ada@contoso.com")
        ...

    with Emulator(scenario="demo") as emu:              # in a background thread with its own loop
        ada = emu.entra.add_user("ada@contoso.com")
        ...

Every helper is written once, as a coroutine over the control API (`/_emulator/...`) and Galaxy's
SCIM API. The `with` form hands out the same helpers wrapped so that each call runs on the
emulator's loop and returns its result; its `aio` attribute offers them as coroutines that can be
awaited from any other loop (an async test whose own SCIM server must keep serving while the
engine pushes to it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import re
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import aiohttp
from aiohttp import web

from emulator.app import STARTUP, create_app, galaxy_scim_url
from emulator.clock import Clock, ManualClock, format_instant, parse_instant
from emulator.config import EmulatorConfig
from emulator.headless import HeadlessBrowser, SignInResult, sign_in

__all__ = ["Emulator", "EmulatorError", "SignInResult", "SyncEmulator"]

APP = "Starburst Galaxy"
HOST = "127.0.0.1"
RESET_PATIENCE = 60.0  # seconds a reset waits for a running provisioning cycle to end
T = TypeVar("T")
Principal = str | Mapping[str, Any]


class EmulatorError(Exception):
    """The emulator refused a request a helper made: the HTTP status and the server's message."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path} answered {status}: {message}")
        self.method = method
        self.path = path
        self.status = status
        self.message = message


def _camel(key: str) -> str:
    """`given_name` -> `givenName`; names already in camelCase pass unchanged."""
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


def _camel_keys(values: Mapping[str, Any]) -> dict[str, Any]:
    return {_camel(key): value for key, value in values.items()}


def _segment(value: str) -> str:
    """One path segment (an id, a userPrincipalName, a display name with spaces)."""
    return quote(value, safe="")


def _id_of(principal: Principal) -> str:
    """A user or group as the control API names it: an objectId, a userPrincipalName, a group's
    displayName, or the dict a helper returned."""
    if isinstance(principal, Mapping):
        return str(principal["id"])
    return principal


def _seconds(delta: timedelta | float) -> float:
    return delta.total_seconds() if isinstance(delta, timedelta) else float(delta)


def _cycle_interval(value: timedelta | float | str | None) -> timedelta | None:
    if value is None:
        return EmulatorConfig.cycle_interval  # Entra's 40 minutes
    if value == "manual":
        return None
    if isinstance(value, str):
        raise ValueError(
            f"cycle_interval must be a timedelta, a number of seconds or 'manual', not {value!r}"
        )
    interval = value if isinstance(value, timedelta) else timedelta(seconds=value)
    if interval <= timedelta():
        raise ValueError("cycle_interval must be longer than zero (or 'manual')")
    return interval


class _Part:
    """A group of helpers over one running emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self._emu = emulator

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._emu!r}>"


class Entra(_Part):
    """The mock Entra tenant: users, groups, and assignments to the enterprise app."""

    def __init__(self, emulator: Emulator, app: str = APP) -> None:
        super().__init__(emulator)
        self.app = app

    async def add_user(self, upn: str, **fields: Any) -> dict:
        """Create a user; fields are Graph's (`givenName` or `given_name`, `mail`, `department`,
        `accountEnabled`, `manager`, ...). `displayName` defaults to the part before the @."""
        body = {"displayName": upn.partition("@")[0], **_camel_keys(fields), "userPrincipalName": upn}
        return await self._emu.control("POST", "/entra/users", body)

    async def update_user(self, user: Principal, **fields: Any) -> dict:
        """Change some of a user's fields (None clears one), as a PATCH in Graph would."""
        return await self._emu.control("PATCH", f"/entra/users/{_segment(_id_of(user))}", _camel_keys(fields))

    async def delete_user(self, user: Principal, *, permanent: bool = False) -> dict:
        """Soft delete (restorable for 30 days of clock time), or purge at once."""
        query = {"permanent": "true"} if permanent else None
        return await self._emu.control("DELETE", f"/entra/users/{_segment(_id_of(user))}", params=query)

    async def restore_user(self, user: Principal) -> dict:
        """Bring back a soft-deleted user."""
        return await self._emu.control("POST", f"/entra/users/{_segment(_id_of(user))}/restore")

    async def user(self, user: Principal) -> dict:
        """One user, by objectId or userPrincipalName."""
        return await self._emu.control("GET", f"/entra/users/{_segment(_id_of(user))}")

    async def users(self, *, include_deleted: bool = False) -> list[dict]:
        query = {"includeDeleted": "true"} if include_deleted else None
        return (await self._emu.control("GET", "/entra/users", params=query))["users"]

    async def add_group(
        self, name: str, members: list[Principal] | tuple[Principal, ...] = (), **fields: Any
    ) -> dict:
        """Create a security group; members are users or groups (objectId, userPrincipalName,
        group name, or a helper's result)."""
        ids = [await self._object_id(member) for member in members]
        body = {**_camel_keys(fields), "displayName": name, "members": ids}
        return await self._emu.control("POST", "/entra/groups", body)

    async def group(self, group: Principal) -> dict:
        """One group, by objectId or displayName."""
        return await self._emu.control("GET", f"/entra/groups/{_segment(_id_of(group))}")

    async def groups(self) -> list[dict]:
        return (await self._emu.control("GET", "/entra/groups"))["groups"]

    async def add_member(self, group: Principal, member: Principal) -> dict:
        path = f"/entra/groups/{_segment(_id_of(group))}/members"
        return await self._emu.control("POST", path, {"id": _id_of(member)})

    async def remove_member(self, group: Principal, member: Principal) -> dict:
        path = f"/entra/groups/{_segment(_id_of(group))}/members/{_segment(_id_of(member))}"
        return await self._emu.control("DELETE", path)

    async def delete_group(self, group: Principal) -> dict:
        return await self._emu.control("DELETE", f"/entra/groups/{_segment(_id_of(group))}")

    async def assign(self, principal: Principal, role: str | None = None) -> dict:
        """Assign a user or group to the app (Users and groups > Add user/group)."""
        body: dict[str, Any] = {"principalId": _id_of(principal)}
        if role is not None:
            body["role"] = role
        return await self._emu.control("POST", f"/entra/apps/{_segment(self.app)}/assignments", body)

    async def unassign(self, principal: Principal) -> dict:
        """Remove a user's or group's assignment; the next cycle disables who leaves the scope."""
        path = f"/entra/apps/{_segment(self.app)}/assignments/{_segment(_id_of(principal))}"
        return await self._emu.control("DELETE", path)

    async def assignments(self) -> list[dict]:
        return (await self._emu.control("GET", f"/entra/apps/{_segment(self.app)}/assignments"))[
            "assignments"
        ]

    async def _object_id(self, principal: Principal) -> str:
        key = _id_of(principal)
        with contextlib.suppress(ValueError):
            return str(uuid.UUID(key))
        try:
            return (await self.user(key))["id"]
        except EmulatorError as exc:
            if exc.status != 404:
                raise
        return (await self.group(key))["id"]


class Provisioning(_Part):
    """The enterprise app's provisioning job: settings, cycles, status and logs."""

    def __init__(self, emulator: Emulator, app: str = APP) -> None:
        super().__init__(emulator)
        self.app = app

    @property
    def _base(self) -> str:
        return f"/entra/apps/{_segment(self.app)}/provisioning"

    async def configure(
        self, tenant_url: str | None = None, secret_token: str | None = None, **settings: Any
    ) -> dict:
        """Save provisioning settings, mode Automatic unless `mode` says otherwise. Without a
        Tenant URL: this emulator's own Galaxy receiver with a new Galaxy token. Other settings
        are the portal's (`scope="all"`, `provision_groups=False`, `userMappings=[...]`, ...)."""
        body = {"mode": "Automatic", **_camel_keys(settings)}
        if tenant_url is None:
            tenant_url = self._emu.galaxy_scim_url
            if secret_token is None:
                secret_token = await self._emu.galaxy.create_token("Entra provisioning (API)")
        body["tenantUrl"] = tenant_url
        if secret_token is not None:
            body["secretToken"] = secret_token
        return await self._emu.control("PATCH", self._base, body)

    async def point_at(self, url: str, token: str, **settings: Any) -> dict:
        """Provision to any SCIM server (yours): its base URL and bearer token."""
        return await self.configure(tenant_url=url, secret_token=token, **settings)

    async def settings(self) -> dict:
        """The saved settings and mappings (the Secret Token masked)."""
        return await self._emu.control("GET", self._base)

    async def test_connection(self, url: str | None = None, token: str | None = None) -> dict:
        """Test Connection with the saved values, or with these as typed in the portal."""
        body = {k: v for k, v in (("tenantUrl", url), ("secretToken", token)) if v is not None}
        return await self._emu.control("POST", self._base + "/test", body)

    async def run_cycle(self) -> dict:
        """Run a cycle now (initial or incremental) and return its summary once it has ended."""
        return await self._emu.control("POST", self._base + "/run")

    async def start(self, *, wait: bool = True) -> dict:
        """Start provisioning: the initial cycle is due now, then one every interval. With
        `wait`, return once the cycles due by the clock have run."""
        status = await self._emu.control("POST", self._base + "/start")
        if wait:
            await self._emu.clock.advance(0)
            status = await self.status()
        return status

    async def stop(self) -> dict:
        return await self._emu.control("POST", self._base + "/stop")

    async def restart(self) -> dict:
        """Clear the watermark, escrows and quarantine; the next cycle is an initial one."""
        return await self._emu.control("POST", self._base + "/restart")

    async def allow_deletes(self) -> dict:
        """Let the deletions that tripped the accidental-deletion threshold go ahead."""
        return await self._emu.control("POST", self._base + "/allow-deletes")

    async def on_demand(self, principal: Principal) -> dict:
        """Provision one user or group now, outside the cycle."""
        return await self._emu.control("POST", self._base + "/on-demand", {"objectId": _id_of(principal)})

    async def status(self) -> dict:
        """The job's status, quarantine, last cycle and next cycle time."""
        return await self._emu.control("GET", self._base + "/status")

    async def logs(self, **filters: Any) -> list[dict]:
        """Provisioning log entries (Graph's provisioningObjectSummary), filtered by `status`,
        `action`, `identity`, `cycle_id`, `since`/`until` (datetime or ISO text) and `limit`."""
        query: dict[str, str] = {}
        for key, value in _camel_keys(filters).items():
            if value is None:
                continue
            query[key] = format_instant(value) if isinstance(value, datetime) else str(value)
        return (await self._emu.control("GET", self._base + "/logs", params=query))["entries"]


class Galaxy(_Part):
    """The Galaxy side: what its SCIM receiver holds, the exchanges it saw, its faults, tokens."""

    async def users(self) -> dict[str, dict]:
        """Every SCIM user Galaxy holds, by userName (read through the SCIM API)."""
        return {u["userName"]: u for u in await self._scim_list("/Users")}

    async def groups(self) -> dict[str, dict]:
        """Every SCIM group Galaxy holds, by displayName (read through the SCIM API)."""
        return {g["displayName"]: g for g in await self._scim_list("/Groups")}

    async def exchanges(self, **filters: Any) -> list[dict]:
        """The SCIM requests the receiver answered, oldest first; filters: `method`, `status`,
        `path` (substring), `since` (sequence number), `limit` (default 1000)."""
        query = {"limit": "1000", **{k: str(v) for k, v in _camel_keys(filters).items() if v is not None}}
        return (await self._emu.control("GET", "/exchanges", params=query))["exchanges"]

    async def clear_exchanges(self) -> None:
        await self._emu.control("DELETE", "/exchanges")

    async def fault(
        self,
        status: int | None = None,
        *,
        count: int | None = None,
        probability: float | None = None,
        retry_after: float | None = None,
        latency_ms: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> dict:
        """Make the receiver fail on purpose: answer `status` (and/or wait `latency_ms`) to the
        next `count` matching requests, or to each with `probability`; `path` is a glob such as
        `/Users*`."""
        spec = {
            "status": status,
            "count": count,
            "probability": probability,
            "retryAfter": retry_after,
            "latencyMs": latency_ms,
            "method": method,
            "path": path,
        }
        return await self._emu.control(
            "POST", "/galaxy/faults", {k: v for k, v in spec.items() if v is not None}
        )

    async def faults(self) -> list[dict]:
        return (await self._emu.control("GET", "/galaxy/faults"))["faults"]

    async def clear_faults(self) -> None:
        await self._emu.control("DELETE", "/galaxy/faults")

    async def create_token(self, name: str = "") -> str:
        """A new Galaxy access token (its secret, shown only now)."""
        return (await self._emu.control("POST", "/tokens", {"name": name}))["token"]

    async def _scim_list(self, path: str) -> list[dict]:
        found: list[dict] = []
        while True:
            page = await self._emu.scim(
                "GET", path, params={"startIndex": str(len(found) + 1), "count": "1000"}
            )
            found.extend(page.get("Resources", []))
            if not page.get("Resources") or len(found) >= page.get("totalResults", 0):
                return found


class EmulatorClock(_Part):
    """The emulator's clock: read it, and move it forward instead of sleeping."""

    async def now(self) -> datetime:
        return parse_instant((await self._emu.control("GET", "/clock"))["now"])

    async def advance(self, by: timedelta | float) -> datetime:
        """Move the clock forward by a timedelta or a number of seconds; returns once the
        provisioning cycles (and hard deletes) that fall due have run."""
        answer = await self._emu.control("POST", "/clock/advance", {"seconds": _seconds(by)})
        return parse_instant(answer["now"])


class Emulator:
    """A running emulator: Galaxy's SCIM receiver and SAML SP, and the mock Entra tenant with its
    provisioning engine and SAML IdP, on 127.0.0.1.

    `scenario` is what the new data folder starts with (`demo`, `empty`, `large` or a scenario
    file); `clock="manual"` (the default) only moves when told, so back-offs are instant and
    cycles run when the clock is advanced; `cycle_interval` is Entra's 40 minutes when None, a
    timedelta or seconds, or `"manual"` for cycles only on `run_cycle()`. Without `data_dir` the
    data lives in a temporary folder removed at exit; `port=0` picks a free port; `token` adds a
    fixed Galaxy token (otherwise one is generated)."""

    def __init__(
        self,
        scenario: str | Path = "demo",
        *,
        scim_profile: str = "galaxy",
        clock: Literal["manual", "system"] | Clock = "manual",
        cycle_interval: timedelta | float | str | None = None,
        data_dir: str | Path | None = None,
        port: int = 0,
        token: str | None = None,
    ) -> None:
        if not isinstance(clock, Clock) and clock not in ("manual", "system"):
            raise ValueError(f"clock must be 'manual', 'system' or a Clock, not {clock!r}")
        self._scenario = str(scenario)
        self._scim_profile = scim_profile
        self._clock_choice = clock
        self._cycle_interval = _cycle_interval(cycle_interval)
        self._given_data_dir = Path(data_dir) if data_dir is not None else None
        self._port = port
        self._fixed_token = token
        self._data_dir: Path | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._config: EmulatorConfig | None = None
        self._token: str | None = None
        self._accountadmin_password: str | None = None
        self._thread: _LoopThread | None = None
        self.entra = Entra(self)
        self.provisioning = Provisioning(self)
        self.galaxy = Galaxy(self)
        self.clock = EmulatorClock(self)

    def __repr__(self) -> str:
        where = self._config.base_url if self._config else "not running"
        return f"<Emulator {self._scenario!r} {where}>"

    # -- what a test needs ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:41234."""
        return self._running().base_url

    @property
    def galaxy_scim_url(self) -> str:
        """Galaxy's SCIM base URL, the Tenant URL to give a SCIM client."""
        return galaxy_scim_url(self.url)

    @property
    def token(self) -> str:
        """A Galaxy access token the SCIM receiver accepts."""
        self._running()
        assert self._token is not None
        return self._token

    @property
    def accountadmin_password(self) -> str | None:
        """The password of Galaxy's `accountadmin@galaxy.example` (None on a reused data folder)."""
        self._running()
        return self._accountadmin_password

    @property
    def scenario(self) -> str:
        """The scenario the emulator was started or last reset with."""
        return self._scenario

    @property
    def data_dir(self) -> Path:
        self._running()
        assert self._data_dir is not None
        return self._data_dir

    @property
    def aio(self) -> Emulator:
        """The helpers as coroutines (here: this emulator itself; in the `with` form they run on
        the emulator's loop and can be awaited from another one)."""
        return self

    async def login(
        self, email: str, password: str | None = None, *, idp_initiated: bool = False, app: str = APP
    ) -> SignInResult:
        """Sign in to Galaxy through Entra as a browser would (SP-initiated from Galaxy's Azure
        button, or IdP-initiated from My Apps); `.signed_in`, `.outcome`, `.detail`, `.hops`."""
        async with HeadlessBrowser() as browser:
            return await sign_in(
                browser, self.url, email, password, idp_initiated=idp_initiated, app_name=app
            )

    async def reset(self, scenario: str | Path | None = None, *, toml: str | None = None) -> None:
        """Start over from a scenario (a name or a file; by default the one this emulator started
        with) or from a scenario file's text: the directory, Galaxy's users, tokens, faults and
        logs are replaced, on the same URL. Kept: the clock, the fixed token, the SAML keys.
        Waits for a provisioning cycle that is running."""
        body: dict[str, str] = {}
        if scenario is not None:
            body["scenario"] = str(scenario)
        if toml is not None:
            body["toml"] = toml
        deadline = asyncio.get_running_loop().time() + RESET_PATIENCE
        while True:
            try:
                answer = await self.control("POST", "/reset", body)
                break
            except EmulatorError as exc:  # 409: a cycle is running; a reset must wait for it
                if exc.status != 409 or asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.02)
        self._scenario = answer["scenario"]
        self._token = self._fixed_token or answer["galaxyToken"]
        self._accountadmin_password = answer["accountadminPassword"]

    async def export_scenario(self, name: str = "exported") -> str:
        """The current state as a scenario file's text (TOML), to load later with
        `Emulator(scenario=path)` or `reset(toml=...)`."""
        return await self._request(
            "GET", self.url + "/_emulator/scenario/export", None, params={"name": name}, text=True
        )

    # -- raw access -----------------------------------------------------------------------------

    async def control(
        self, method: str, path: str, body: object = None, *, params: Mapping[str, str] | None = None
    ) -> Any:
        """Call the control API (`path` below /_emulator); raises `EmulatorError` on an error."""
        return await self._request(method, self.url + "/_emulator" + path, body, params=params)

    async def scim(
        self, method: str, path: str, body: object = None, *, params: Mapping[str, str] | None = None
    ) -> Any:
        """Call Galaxy's SCIM API with this emulator's token; raises `EmulatorError` on an error."""
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json"}
        return await self._request(method, self.galaxy_scim_url + path, body, params=params, headers=headers)

    async def _request(
        self,
        method: str,
        url: str,
        body: object,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        text: bool = False,
    ) -> Any:
        assert self._session is not None
        async with self._session.request(method, url, json=body, params=params, headers=headers) as resp:
            raw = await resp.text()
            if text and resp.status < 400:
                return raw
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            if resp.status >= 400:
                message = raw
                if isinstance(parsed, dict):
                    message = str(parsed.get("error") or parsed.get("detail") or raw)
                path = url[len(self.url) :]
                raise EmulatorError(method, path, resp.status, message or resp.reason or "")
            return parsed

    # -- the async form -------------------------------------------------------------------------

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> Emulator:
        """Start serving in the running event loop (what `async with` does)."""
        if self._runner is not None:
            raise RuntimeError("this emulator is already running")
        self._data_dir = self._given_data_dir or Path(tempfile.mkdtemp(prefix="scim-emulator-"))
        try:
            await self._serve()
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        """Stop serving and, unless a data folder was given, remove the temporary one."""
        try:
            if self._session is not None:
                await self._session.close()
            if self._runner is not None:
                await self._runner.cleanup()
        finally:
            self._session = self._runner = None
            self._remove_data_dir()

    async def _serve(self) -> None:
        assert self._data_dir is not None
        sock = socket.create_server((HOST, self._port))
        config = EmulatorConfig(
            data_dir=self._data_dir,
            host=HOST,
            port=sock.getsockname()[1],
            scim_profile=self._scim_profile,
            token=self._fixed_token,
            scenario=self._scenario,
            cycle_interval=self._cycle_interval,
        )
        app = create_app(config, self._make_clock())
        runner = web.AppRunner(app, access_log=None)
        try:
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner, self._config = runner, config
        self._session = aiohttp.ClientSession()
        startup = app[STARTUP]
        self._accountadmin_password = startup.galaxy_admin_password
        self._token = self._fixed_token or startup.new_token
        if self._token is None:  # a reused data folder: its first token was shown long ago
            self._token = await self.galaxy.create_token("scim-emulator API")

    def _make_clock(self) -> Clock:
        if isinstance(self._clock_choice, Clock):
            return self._clock_choice
        return ManualClock() if self._clock_choice == "manual" else Clock()

    def _running(self) -> EmulatorConfig:
        if self._config is None or self._runner is None:
            raise RuntimeError("the emulator is not running: use `async with Emulator(...)` or `with`")
        return self._config

    def _remove_data_dir(self) -> None:
        if self._data_dir is not None and self._given_data_dir is None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
        self._data_dir = None

    # -- the sync form --------------------------------------------------------------------------

    def __enter__(self) -> SyncEmulator:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._thread.close(self.stop)
            self._thread = None

    def start_in_thread(self) -> SyncEmulator:
        """Start serving in a background thread with its own event loop (what `with` does);
        `SyncEmulator.close()` stops it."""
        if self._thread is not None:
            raise RuntimeError("this emulator is already running")
        thread = _LoopThread()
        try:
            thread.call(self.start)
        except BaseException:
            thread.close(None)
            raise
        self._thread = thread
        return SyncEmulator(self, thread)


class _LoopThread:
    """An event loop running in a daemon thread; coroutines are submitted to it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="scim-emulator", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
        finally:
            self.loop.close()

    def call(self, func: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
        """Run `func(*args, **kwargs)` on the loop and wait for its result."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a blocking emulator helper was called from the emulator's own loop")
        return asyncio.run_coroutine_threadsafe(func(*args, **kwargs), self.loop).result()

    async def call_async(self, func: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
        """Run `func(*args, **kwargs)` on the loop, awaited from another loop."""
        future = asyncio.run_coroutine_threadsafe(func(*args, **kwargs), self.loop)
        return await asyncio.wrap_future(future)

    def close(self, last: Callable[[], Coroutine[Any, Any, None]] | None) -> None:
        """Run `last()` on the loop (even if it fails), then stop the loop and join the thread."""
        try:
            if last is not None:
                self.call(last)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()


class _Bridged:
    """An object (a helper group, or the emulator) whose coroutine methods run on the
    emulator's loop: blocking (the `with` form) or awaitable from another loop
    (`SyncEmulator.aio`). Helper groups reached through it are bridged the same way."""

    def __init__(self, target: object, thread: _LoopThread, *, blocking: bool) -> None:
        self._target = target
        self._thread = thread
        self._blocking = blocking

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if isinstance(attr, _Part):
            return _Bridged(attr, self._thread, blocking=self._blocking)
        if not inspect.iscoroutinefunction(attr):
            return attr
        thread = self._thread
        if self._blocking:

            @functools.wraps(attr)
            def blocking(*args: Any, **kwargs: Any) -> Any:
                return thread.call(attr, *args, **kwargs)

            return blocking

        @functools.wraps(attr)
        async def awaitable(*args: Any, **kwargs: Any) -> Any:
            return await thread.call_async(attr, *args, **kwargs)

        return awaitable

    def __dir__(self) -> list[str]:
        return [name for name in dir(self._target) if not name.startswith("_")]

    def __repr__(self) -> str:
        return f"<{'blocking' if self._blocking else 'awaitable'} {self._target!r}>"


class SyncEmulator:
    """The `with Emulator(...)` form: the emulator serves from a background thread and every
    helper is a plain blocking call with the same name and arguments as in the async form."""

    def __init__(self, emulator: Emulator, thread: _LoopThread) -> None:
        self._emulator = emulator
        self._thread = thread
        # Typed loosely: each is the async form's group (Entra, Provisioning, Galaxy,
        # EmulatorClock) with every method returning its result instead of a coroutine.
        self.entra: Any = _Bridged(emulator.entra, thread, blocking=True)
        self.provisioning: Any = _Bridged(emulator.provisioning, thread, blocking=True)
        self.galaxy: Any = _Bridged(emulator.galaxy, thread, blocking=True)
        self.clock: Any = _Bridged(emulator.clock, thread, blocking=True)
        # The same helpers as coroutines that run on the emulator's loop, for an async test whose
        # own servers must keep serving on its loop while the engine pushes to them.
        self.aio: Any = _Bridged(emulator, thread, blocking=False)

    def __repr__(self) -> str:
        return f"<SyncEmulator {self._emulator.scenario!r} {self.url}>"

    def __enter__(self) -> SyncEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server and its thread; remove the temporary data folder."""
        self._emulator.__exit__(None, None, None)

    @property
    def url(self) -> str:
        return self._emulator.url

    @property
    def galaxy_scim_url(self) -> str:
        return self._emulator.galaxy_scim_url

    @property
    def token(self) -> str:
        return self._emulator.token

    @property
    def accountadmin_password(self) -> str | None:
        return self._emulator.accountadmin_password

    @property
    def scenario(self) -> str:
        return self._emulator.scenario

    @property
    def data_dir(self) -> Path:
        return self._emulator.data_dir

    def login(
        self, email: str, password: str | None = None, *, idp_initiated: bool = False, app: str = APP
    ) -> SignInResult:
        """See `Emulator.login`."""
        return self._thread.call(self._emulator.login, email, password, idp_initiated=idp_initiated, app=app)

    def reset(self, scenario: str | Path | None = None, *, toml: str | None = None) -> None:
        """See `Emulator.reset`."""
        self._thread.call(self._emulator.reset, scenario, toml=toml)

    def export_scenario(self, name: str = "exported") -> str:
        """See `Emulator.export_scenario`."""
        return self._thread.call(self._emulator.export_scenario, name)

    def control(
        self, method: str, path: str, body: object = None, *, params: Mapping[str, str] | None = None
    ) -> Any:
        """See `Emulator.control`."""
        return self._thread.call(self._emulator.control, method, path, body, params=params)

    def scim(
        self, method: str, path: str, body: object = None, *, params: Mapping[str, str] | None = None
    ) -> Any:
        """See `Emulator.scim`."""
        return self._thread.call(self._emulator.scim, method, path, body, params=params)
