"""`scim-emulator demo`: start an emulator in this process and tell the seed's
login-after-provisioning story in the terminal, step by step, checking each step as it goes.

The server runs on its own event loop in a background thread (as `serve` runs it: `create_app`
behind an aiohttp runner); the story talks to it over real HTTP from the main thread, through
the control API (`Remote`) and the scripted browser (`headless.sign_in`), exactly as the
`provision`, `directory` and `login` commands do. Nothing waits on a timer except `--pause`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import click
import lxml.html
from aiohttp import web

from emulator.app import (
    ScenarioError,
    StoreCorrupt,
    StoreLocked,
    create_app,
    galaxy_scim_url,
    write_server_file,
)
from emulator.cli.entra import APP, _run_with_progress
from emulator.cli.group import main
from emulator.cli.options import Remote
from emulator.config import EmulatorConfig
from emulator.headless import HeadlessBrowser, SignInResult, sign_in

DEMO_USER = "PattiF@contoso.onmicrosoft.com"
# The demo scenario's documented password for every user (the built-in `demo` scenario): a
# published test secret, never a real one.
DEMO_PASSWORD = "Contoso-Demo-2026!"
PROVISIONING = f"/entra/apps/{APP}/provisioning"
# How a cycle's summary lists its actions ("other" is a skip, e.g. a blocked user never created).
ACTION_ORDER = ("create", "update", "disable", "delete", "stagedDelete", "other")
WIDTH = 100


class StepFailed(Exception):
    """A step did not behave as the story says."""


# -- the server, in this process --------------------------------------------------------------


class BackgroundServer:
    """`create_app` on its own event loop in a daemon thread, listening on `sock`."""

    def __init__(self, config: EmulatorConfig, sock: socket.socket) -> None:
        self.config = config
        self.sock = sock
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="scim-emulator-demo", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()  # set once the site listens, or when starting failed
        if self._error is not None:
            self._thread.join()
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()

    def _main(self) -> None:
        # Signals go to the main thread, so a Ctrl-C or SIGTERM wakes the story (or the wait
        # of --keep-running) at once instead of landing in this thread's event loop.
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # handed to the main thread by start()
            self._error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = create_app(self.config)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()  # opens the data folder and loads the scenario
        try:
            await web.SockSite(runner, self.sock).start()
            self._ready.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()  # compacts the data folder


# -- telling the story ------------------------------------------------------------------------


class Story:
    """The steps, each numbered with a one-line title and what happened."""

    def __init__(self, remote: Remote, user: str, pause: float) -> None:
        self.remote = remote
        self.base = remote.url
        self.user = user
        self.pause = pause
        self.number = 0
        self.title = ""
        self.name = user.split("@")[0]  # until step 1 reads the user's given name
        self.galaxy_user_id: str | None = None

    # output

    def step(self, title: str) -> None:
        if self.number and self.pause:
            time.sleep(self.pause)  # the presenter's --pause, the only wait on a timer
        self.number += 1
        self.title = title
        click.echo(f"\n{self.number}. {title}")

    @staticmethod
    def say(text: str, *, wrap: bool = False) -> None:
        """One line of what happened; a long message read from a page is wrapped."""
        if wrap:
            click.echo(textwrap.fill(text, WIDTH, initial_indent="   ", subsequent_indent="     "))
        else:
            click.echo(f"   {text}")

    def call(self, method: str, path: str, body: object = None) -> dict:
        try:
            return self.remote.call(method, path, body)
        except click.ClickException as exc:
            raise StepFailed(f"{method} /_emulator{path}: {exc.message}") from None

    def short(self, url: str) -> str:
        """A hop's URL without the base, its query cut to the parameter names."""
        parts = urlsplit(url)
        path = parts.path or "/"
        shown = path if url.startswith(self.base) else f"{parts.scheme}://{parts.netloc}{path}"
        if parts.query:
            names = [p.split("=", 1)[0] for p in parts.query.split("&") if p]
            shown += "?" + "&".join(f"{n}=…" for n in names)
        return shown

    # pieces of the steps

    def login(self) -> SignInResult:
        async def run() -> SignInResult:
            async with HeadlessBrowser() as browser:
                return await sign_in(browser, self.base, self.user, DEMO_PASSWORD, app_name=APP)

        result = asyncio.run(run())
        for number, hop in enumerate(result.hops, 1):
            self.say(f"{number:2}. {hop.method:<4} {hop.status} {self.short(hop.url)}")
        return result

    def cycle(self) -> dict:
        try:
            summary = _run_with_progress(self.remote, APP, show=click.get_text_stream("stderr").isatty())
        except click.ClickException as exc:
            raise StepFailed(f"the cycle did not run: {exc.message}") from None
        seconds = summary["durationMs"] / 1000
        processed = summary["objectsProcessed"]
        rate = processed / seconds if seconds else processed
        plural = "" if processed == 1 else "s"
        self.say(f"Progress: {processed} object{plural} processed, {rate:.0f} objects/s")
        actions = _counts(summary["byAction"], ACTION_ORDER) or "no changes"
        statuses = _counts(summary["byStatus"], ("success", "skipped", "failure"))
        kind = "Initial" if summary["initial"] else "Incremental"
        self.say(f"{kind} cycle: {summary['status']} in {seconds:.2f} s, {summary['requests']} SCIM requests")
        self.say(f"Summary: {actions}" + (f" ({statuses})" if statuses else ""))
        if summary.get("error"):
            raise StepFailed(
                f"the cycle failed: {summary['error']['errorCode']}: {summary['error']['reason']}"
            )
        if summary["status"] != "success":
            raise StepFailed(f"the cycle ended '{summary['status']}', not 'success'")
        return summary

    def latest_exchange(self) -> int:
        exchanges = self.call("GET", "/exchanges?limit=1")["exchanges"]
        return exchanges[-1]["seq"] if exchanges else 0

    # the steps

    def configure(self) -> None:
        self.step("Galaxy generates a SCIM access token; Entra's provisioning is pointed at it")
        entra_user = self.call("GET", f"/entra/users/{self.user}")
        self.name = entra_user.get("givenName") or entra_user.get("displayName") or self.name
        scim_url = galaxy_scim_url(self.base)
        token = self.call("POST", "/tokens", {"name": "Entra provisioning (demo)"})["token"]
        self.say(f"Galaxy SCIM URL:     {scim_url}")
        self.say(f"Galaxy access token: {token}  (Generate access token)")
        self.say(f"Entra, {APP} > Provisioning: Mode Automatic, Tenant URL and Secret Token from Galaxy")
        tested = self.call("POST", PROVISIONING + "/test", {"tenantUrl": scim_url, "secretToken": token})
        self.say(f"Test Connection: {'Success' if tested['success'] else 'Failed'}: {tested['message']}")
        if not tested["success"]:
            raise StepFailed("Test Connection failed")
        saved = self.call(
            "PATCH", PROVISIONING, {"mode": "Automatic", "tenantUrl": scim_url, "secretToken": token}
        )
        self.say(
            f"Saved: Mode {saved['mode']}, Tenant URL {saved['tenantUrl']}, "
            f"Secret Token {saved['secretToken']}"
        )

    def refused_before(self) -> None:
        self.step(f"{self.name} signs in to Galaxy with Azure before provisioning: Galaxy refuses")
        result = self.login()
        self.say(_outcome(result), wrap=True)
        if result.outcome != "refused" or "not provisioned yet" not in result.detail:
            raise StepFailed("expected Galaxy to refuse the sign-in as 'not provisioned yet'")

    def first_cycle(self) -> None:
        self.step("Start provisioning: Entra runs the initial cycle and creates the users in Galaxy")
        status = self.call("POST", PROVISIONING + "/start")
        self.say(f"Provisioning status: {status['status']} (cycles run when asked: --cycle-interval manual)")
        since = self.latest_exchange()
        summary = self.cycle()
        if not summary["byAction"].get("create"):
            raise StepFailed("the initial cycle created nobody in Galaxy")
        created = [
            e
            for e in self.call("GET", f"/exchanges?method=POST&path=/Users&since={since}&limit=1000")[
                "exchanges"
            ]
            if e["status"] == 201 and _user_name(e["request"]["body"]) == self.user.lower()
        ]
        if not created:
            raise StepFailed(f"Entra did not create {self.user} in Galaxy (is the user assigned?)")
        self.galaxy_user_id = (created[-1]["response"]["body"] or {}).get("id")
        self.say(f"Galaxy got POST /Users for {self.user}: 201 Created, id {self.galaxy_user_id}")

    def accepted(self) -> None:
        self.step(f"The same sign-in is accepted: {self.name} lands on Galaxy")
        result = self.login()
        self.say(_outcome(result), wrap=True)
        if not result.signed_in or result.detail.lower() != self.user.lower():
            raise StepFailed(f"expected Galaxy to sign {self.user} in")
        landing = self.short(result.hops[-1].url)
        if landing != "/galaxy/":
            raise StepFailed(f"the sign-in ended on {landing}, not Galaxy's landing page /galaxy/")
        self.say(f"Galaxy's landing page: {self.base}{landing}")

    def unassign(self) -> None:
        self.step(f"{self.name} is unassigned from the {APP} app in Entra")
        user_id = self.call("GET", f"/entra/users/{self.user}")["id"]
        assigned = {
            a["principalId"] for a in self.call("GET", f"/entra/apps/{APP}/assignments")["assignments"]
        }
        removed = False
        if user_id in assigned:
            self.call("DELETE", f"/entra/apps/{APP}/assignments/{user_id}")
            self.say(f"Removed the direct assignment of {self.user} (Users and groups > Remove).")
            removed = True
        for group in self.call("GET", "/entra/groups")["groups"]:
            if group["id"] in assigned and user_id in _member_ids(group):
                self.call("DELETE", f"/entra/groups/{group['id']}/members/{user_id}")
                self.say(f"Removed {self.user} from '{group['displayName']}', a group assigned to the app.")
                removed = True
        if not removed:
            raise StepFailed(f"{self.user} is not assigned to {APP}, directly or through a group")
        self.say("Nothing changes in Galaxy until the next provisioning cycle.")

    def next_cycle(self) -> None:
        self.step(f"The next cycle disables {self.name} in Galaxy")
        since = self.latest_exchange()
        summary = self.cycle()
        if not summary["byAction"].get("disable"):
            raise StepFailed("the cycle disabled nobody")
        patches = self.call("GET", f"/exchanges?method=PATCH&since={since}&limit=1000")["exchanges"]
        mine = [
            e for e in patches if self.galaxy_user_id and e["path"].endswith(f"/Users/{self.galaxy_user_id}")
        ]
        if not mine:
            raise StepFailed(f"the receiver got no PATCH for {self.user}'s Galaxy user")
        exchange = mine[-1]
        operations = (exchange["request"]["body"] or {}).get("Operations", [])
        self.say(f"The Galaxy receiver got (exchange log): {exchange['method']} {exchange['path']}")
        self.say(f"  {json.dumps({'Operations': operations})}")
        if not any(_disables(op) for op in operations):
            raise StepFailed('the PATCH does not set active to "False"')
        answer = exchange["response"]["body"] or {}
        self.say(
            f"Galaxy answered {exchange['status']} with {answer.get('userName')}: "
            f"active {json.dumps(answer.get('active'))}"
        )
        if exchange["status"] != 200 or answer.get("active") is not False:
            raise StepFailed("Galaxy did not answer with the user inactive")

    def refused_after(self) -> None:
        self.step(f"{self.name} signs in with Azure again: refused")
        result = self.login()
        self.say(_outcome(result), wrap=True)
        if result.outcome != "entra-error" or "AADSTS50105" not in result.detail:
            raise StepFailed("expected Entra to refuse with AADSTS50105 (user not assigned)")
        self.say(f"Entra stops it first: {self.name} is no longer assigned to {APP} (AADSTS50105).")
        # Galaxy's own refusal, seen by letting Entra through for a moment: the app's
        # "Assignment required?" off, then on again.
        saml = f"/entra/apps/{APP}/saml"
        self.call("PATCH", saml, {"assignmentRequired": False})
        try:
            self.say("With the app's 'Assignment required?' set to No, Entra lets the sign-in through:")
            galaxy = self.login()
            self.say(_outcome(galaxy), wrap=True)
        finally:
            self.call("PATCH", saml, {"assignmentRequired": True})
        self.say("'Assignment required?' is back to Yes.")
        if galaxy.outcome != "refused" or "deactivated" not in galaxy.detail:
            raise StepFailed("expected Galaxy to refuse the deactivated user")


STEPS: tuple[Callable[[Story], None], ...] = (
    Story.configure,
    Story.refused_before,
    Story.first_cycle,
    Story.accepted,
    Story.unassign,
    Story.next_cycle,
    Story.refused_after,
)


def _outcome(result: SignInResult) -> str:
    """What the last page of a sign-in says, in one sentence or two."""
    if result.signed_in:
        return f"Signed in to Galaxy as {result.detail}"
    page = result.page
    heading, alert = "", result.detail
    if page.html.strip():
        doc = lxml.html.document_fromstring(page.html)
        heading = " ".join((doc.findtext(".//h1") or "").split())
        alerts = doc.xpath('//*[@role="alert"]')
        if alerts:
            alert = " ".join(alerts[0].text_content().split())
    who = {"refused": "Galaxy refused", "entra-error": "Entra refused"}.get(result.outcome, "Stopped")
    return f"{who} ({page.status}, '{heading}'): {alert}" if heading else f"{who} ({page.status}): {alert}"


def _counts(counts: dict[str, int], order: tuple[str, ...]) -> str:
    keys = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    return ", ".join(f"{key} {counts[key]}" for key in keys)


def _user_name(body: object) -> str | None:
    name = body.get("userName") if isinstance(body, dict) else None
    return name.lower() if isinstance(name, str) else None


def _member_ids(group: dict) -> set[str]:
    return {m["id"] if isinstance(m, dict) else m for m in group.get("members", [])}


def _disables(op: object) -> bool:
    """A PATCH operation setting `active` to false, in Entra's form ("False") or RFC 7644's."""
    if not isinstance(op, dict):
        return False
    fields = {k.lower(): v for k, v in op.items()}
    value = fields.get("value")
    if str(fields.get("path", "")).lower() == "active":
        return value in ("False", False)
    return isinstance(value, dict) and value.get("active") in ("False", False)


# -- the command --------------------------------------------------------------------------------


@main.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="TCP port on 127.0.0.1 for the demo's server; 0 picks a free one.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    show_default="a temporary folder, removed at the end",
    help="A new or empty folder for the demo's data, kept afterwards.",
)
@click.option(
    "--user",
    default=DEMO_USER,
    show_default=True,
    help="The demo scenario's user who signs in; it must be assigned to the app (directly or "
    "through a group) and not blocked.",
)
@click.option(
    "--pause",
    type=click.FloatRange(0),
    default=0,
    show_default=True,
    help="Seconds to wait between steps, for a presenter (e.g. 2).",
)
@click.option(
    "--keep-running",
    is_flag=True,
    help="After the story, keep the server running and print the URLs to look at, until Ctrl-C.",
)
def demo(port: int, data_dir: Path | None, user: str, pause: float, keep_running: bool) -> None:
    """Start an emulator on the demo scenario and tell the login-after-provisioning story step
    by step: the Azure login refused, a provisioning cycle, the login accepted, the user
    unassigned, the next cycle disabling them, the login refused again. Exits 1, naming the
    step, when a step does not behave as the story says."""
    if data_dir is not None and data_dir.exists() and any(data_dir.iterdir()):
        raise click.ClickException(f"{data_dir} is not empty: the demo needs a new or empty data folder")
    temporary = data_dir is None
    # SIGTERM stops the demo as Ctrl-C does: the server stops cleanly and the folder goes.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    folder = Path(tempfile.mkdtemp(prefix="scim-emulator-demo-")) if temporary else data_dir
    try:
        _run_demo(folder, port, user, pause, keep_running, temporary)
    finally:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run_demo(folder: Path, port: int, user: str, pause: float, keep_running: bool, temporary: bool) -> None:
    try:
        sock = socket.create_server(("127.0.0.1", port))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    folder.mkdir(parents=True, exist_ok=True)
    config = EmulatorConfig(
        data_dir=folder,
        port=sock.getsockname()[1],
        scenario="demo",
        cycle_interval=None,  # cycles run when the story asks for them
        log_level="warning",
    )
    server = BackgroundServer(config, sock)
    try:
        server.start()
    except (StoreLocked, StoreCorrupt, ScenarioError) as exc:
        sock.close()
        raise click.ClickException(str(exc)) from None
    server_file = write_server_file(folder, os.getpid(), config.base_url)
    base = config.base_url
    try:
        kept = "removed at the end" if temporary and not keep_running else "kept"
        if temporary and keep_running:
            kept = "removed when stopped"
        click.echo("scim-emulator demo: logging in to Starburst Galaxy through Entra, after provisioning")
        click.echo(f"   Emulator: {base} (data: {folder}, {kept}); scenario 'demo'")
        click.echo(f"   User:     {user} (password {DEMO_PASSWORD})")
        story = Story(Remote(base, folder), user, pause)
        for step in STEPS:
            try:
                step(story)
            except StepFailed as exc:
                title = f"step {story.number} ({story.title})"
                click.echo(f"\nFAILED at {title}: {exc}", err=True)
                raise SystemExit(1) from None
        click.echo(f"\nAll {len(STEPS)} steps behaved as the story says.")
        if keep_running:
            click.echo("The emulator keeps running; look at:")
            click.echo(f"   Galaxy login:  {base}/galaxy/login")
            click.echo(f"   Entra My Apps: {base}/entra/myapps")
            click.echo(f"   Control API:   {base}/_emulator/health")
            click.echo(f"   Other commands reach it with --url {base} (or --data-dir {folder})")
            try:  # a signal may land as soon as the line is out, before the wait begins
                click.echo("Press Ctrl-C to stop.")
                threading.Event().wait()  # until Ctrl-C or SIGTERM
            except KeyboardInterrupt:
                click.echo("Stopping.")
    finally:
        server_file.unlink(missing_ok=True)
        server.stop()
