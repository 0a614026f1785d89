"""`scim-emulator provision|directory|clock|faults ...`: drive a running emulator's mock Entra
tenant, its provisioning engine and the Galaxy receiver's fault switch from the terminal."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import click

from emulator.cli.group import main
from emulator.cli.options import DURATION, Remote, echo_json, json_option, option, url_option

APP = "Starburst Galaxy"


def app_option(func):
    return option(
        "--app",
        envvar="SCIM_EMULATOR_APP",
        default=APP,
        show_default=True,
        help="The enterprise application, by name, appId or objectId.",
    )(func)


def _base(app: str) -> str:
    return f"/entra/apps/{app}/provisioning"


# -- provision ------------------------------------------------------------------------------------


@main.group()
def provision() -> None:
    """Configure and run Entra's provisioning of an enterprise app (the Provisioning blade)."""


@provision.command("status")
@url_option
@app_option
@json_option
def provision_status(url: str | None, data_dir: Path, app: str, as_json: bool) -> None:
    """Show the job status and "View provisioning details"."""
    status = Remote(url, data_dir).call("GET", _base(app) + "/status")
    if as_json:
        echo_json(status)
        return
    click.echo(f"Status:          {status['status']}")
    click.echo(
        f"Interval:        {status['interval'] or 'manual'}; next cycle {status['nextCycleAt'] or '-'}"
    )
    click.echo(f"Initial cycle:   {'completed' if status['initialCycleCompleted'] else 'not run yet'}")
    click.echo(
        f"Provisioned:     {status['provisionedObjects']} objects, {status['escrowedObjects']} escrowed"
    )
    if status["quarantine"]:
        q = status["quarantine"]
        click.echo(f"Quarantine:      {q['reason']} since {q['since']}: {q['detail']}")
    last = status["lastCycle"]
    if last:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(last["byAction"].items())) or "no changes"
        click.echo(f"Last cycle:      {last['status']} at {last['endedAt']} ({counts})")


@provision.command("configure")
@url_option
@app_option
@option("--mode", type=click.Choice(["Automatic", "Manual"]), help="Provisioning Mode.")
@option("--tenant-url", help="The SCIM base URL to push to (the portal's Tenant URL).")
@option("--secret-token", help="The bearer token sent with every request (the portal's Secret Token).")
@option(
    "--builtin-galaxy",
    is_flag=True,
    help="Point at this emulator's own Galaxy receiver with a newly generated Galaxy token.",
)
@option(
    "--scope",
    type=click.Choice(["assigned", "all"]),
    help="Sync only assigned users and groups, or all users and groups.",
)
@option("--deletion-threshold", type=click.IntRange(1), help="Accidental-deletion threshold.")
@option(
    "--mappings",
    "mappings_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON file with userMappings and/or groupMappings lists (as `provision show` prints them).",
)
@json_option
def provision_configure(
    url: str | None,
    data_dir: Path,
    app: str,
    mode: str | None,
    tenant_url: str | None,
    secret_token: str | None,
    builtin_galaxy: bool,
    scope: str | None,
    deletion_threshold: int | None,
    mappings_file: Path | None,
    as_json: bool,
) -> None:
    """Save provisioning settings; mapping or scope changes force a new initial cycle."""
    remote = Remote(url, data_dir)
    changes: dict = {}
    if builtin_galaxy:
        changes["tenantUrl"] = remote.url + "/galaxy/scim/v2"
        changes["secretToken"] = remote.call("POST", "/tokens", {"name": "Entra provisioning (CLI)"})["token"]
        changes.setdefault("mode", "Automatic")
    for key, value in (
        ("mode", mode),
        ("tenantUrl", tenant_url),
        ("secretToken", secret_token),
        ("scope", scope),
        ("accidentalDeletionThreshold", deletion_threshold),
    ):
        if value is not None:
            changes[key] = value
    if mappings_file is not None:
        try:
            loaded = json.loads(mappings_file.read_text())
        except ValueError as exc:
            raise click.ClickException(f"{mappings_file} is not JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise click.ClickException(f"{mappings_file} must hold an object with userMappings/groupMappings")
        changes.update({k: v for k, v in loaded.items() if k in ("userMappings", "groupMappings")})
    if not changes:
        raise click.ClickException("nothing to change: give at least one option (see --help)")
    saved = remote.call("PATCH", _base(app), changes)
    if as_json:
        echo_json(saved)
    else:
        click.echo(
            f"Saved. Mode {saved['mode']}, Tenant URL {saved['tenantUrl'] or '-'}, "
            f"Secret Token {saved['secretToken'] or '-'}, scope {saved['scope']}."
        )


@provision.command("show")
@url_option
@app_option
def provision_show(url: str | None, data_dir: Path, app: str) -> None:
    """Print the saved settings and attribute mappings as JSON (the Secret Token masked)."""
    echo_json(Remote(url, data_dir).call("GET", _base(app)))


@provision.command("test")
@url_option
@app_option
@option("--tenant-url", help="Test these values instead of the saved ones.")
@option("--secret-token", help="Test this token instead of the saved one.")
@json_option
def provision_test(
    url: str | None, data_dir: Path, app: str, tenant_url: str | None, secret_token: str | None, as_json: bool
) -> None:
    """Test Connection: Entra's probe of the Tenant URL; exits 1 when it fails."""
    body = {k: v for k, v in (("tenantUrl", tenant_url), ("secretToken", secret_token)) if v is not None}
    result = Remote(url, data_dir).call("POST", _base(app) + "/test", body)
    if as_json:
        echo_json(result)
    else:
        click.echo(("Success: " if result["success"] else "Failed: ") + result["message"])
    if not result["success"]:
        raise SystemExit(1)


def _lifecycle(name: str, verb: str, doc: str) -> None:
    @url_option
    @app_option
    @json_option
    def command(url: str | None, data_dir: Path, app: str, as_json: bool) -> None:
        status = Remote(url, data_dir).call("POST", f"{_base(app)}/{verb}")
        if as_json:
            echo_json(status)
        else:
            click.echo(f"{APP if app == APP else app}: {status['status']}")

    command.__doc__ = doc
    provision.command(name)(command)


_lifecycle("start", "start", "Start provisioning: the initial cycle, then one every interval.")
_lifecycle("stop", "stop", "Stop provisioning; a running cycle finishes.")
_lifecycle(
    "restart", "restart", "Clear the watermark, escrows and quarantine, and start again (links are kept)."
)
_lifecycle(
    "allow-deletes", "allow-deletes", "Let the deletions staged by the accidental-deletion threshold go."
)


@provision.command("run")
@url_option
@app_option
@json_option
def provision_run(url: str | None, data_dir: Path, app: str, as_json: bool) -> None:
    """Run a cycle now and print its summary when it has finished (with a progress bar of the
    objects processed and the rate while it runs)."""
    remote = Remote(url, data_dir)
    summary = _run_with_progress(remote, app, show=not as_json)
    if as_json:
        echo_json(summary)
        return
    seconds = summary["durationMs"] / 1000
    rate = summary["objectsProcessed"] / seconds if seconds else 0
    click.echo(
        f"{'Initial' if summary['initial'] else 'Incremental'} cycle {summary['status']}: "
        f"{summary['objectsProcessed']} objects in {seconds:.1f} s ({rate:.0f}/s), "
        f"{summary['requests']} requests"
    )
    for action, count in sorted(summary["byAction"].items()):
        click.echo(f"  {action:<13} {count}")
    if summary.get("error"):
        click.echo(f"  error: {summary['error']['errorCode']}: {summary['error']['reason']}")


def _run_with_progress(remote: Remote, app: str, *, show: bool) -> dict:
    """POST the run in a thread and poll the job's `runningCycle` meanwhile, so a long initial
    cycle (the `large` scenario) shows objects processed and the rate on stderr."""
    result: dict = {}

    def run() -> None:
        try:
            result["summary"] = remote.call("POST", _base(app) + "/run")
        except click.ClickException as exc:
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    bar = None
    while worker.is_alive():
        worker.join(0.5)
        if not show or not worker.is_alive():
            continue
        running = remote.call("GET", _base(app) + "/status").get("runningCycle")
        if not running or not running["planned"]:
            continue
        if bar is None:
            bar = click.progressbar(
                length=running["planned"],
                label="Provisioning",
                file=sys.stderr,
                show_pos=True,
                item_show_func=lambda rate: rate,
            )
            bar.__enter__()
        rate = running["processed"] / max(running["elapsedMs"] / 1000, 0.001)
        bar.update(running["processed"] - bar.pos, f"{rate:.0f} objects/s")
    if bar is not None:
        bar.update(bar.length - bar.pos)
        bar.__exit__(None, None, None)
    if "error" in result:
        raise result["error"]
    return result["summary"]


@provision.command("on-demand")
@url_option
@app_option
@click.argument("object_id")
@json_option
def provision_on_demand(url: str | None, data_dir: Path, app: str, object_id: str, as_json: bool) -> None:
    """Provision one user or a group of at most five members now (OBJECT_ID, UPN or group name)."""
    result = Remote(url, data_dir).call("POST", _base(app) + "/on-demand", {"objectId": object_id})
    if as_json:
        echo_json(result)
        return
    for member in result.get("members", []):
        click.echo(f"member {member['displayName']}: {member['action']} {member['status']}")
    for number, step in enumerate(result["steps"], 1):
        click.echo(f"{number}. {step['name']}: {step['status']} - {step['description']}")
    click.echo(f"Result: {result.get('action', '-')} {result['status']}")


@provision.command("logs")
@url_option
@app_option
@option("--status", type=click.Choice(["success", "failure", "skipped", "warning"]), help="Only this status.")
@option(
    "--action",
    type=click.Choice(["create", "update", "delete", "disable", "stagedDelete", "other"]),
    help="Only this action.",
)
@option("--identity", help="Only entries whose source or target id or name contains this.")
@option("--since", help="Only entries at or after this ISO-8601 time.")
@option("--limit", type=click.IntRange(1), default=100, show_default=True, help="At most this many entries.")
@option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="table for people; json or csv as the portal's downloads.",
)
def provision_logs(
    url: str | None,
    data_dir: Path,
    app: str,
    status: str | None,
    action: str | None,
    identity: str | None,
    since: str | None,
    limit: int,
    fmt: str,
) -> None:
    """Show the provisioning logs, newest first."""
    query = {"status": status, "action": action, "identity": identity, "since": since, "limit": limit}
    qs = "&".join(f"{k}={v}" for k, v in query.items() if v is not None)
    remote = Remote(url, data_dir)
    if fmt == "csv":
        click.echo(remote.call("GET", f"{_base(app)}/logs?{qs}&format=csv", raw=True), nl=False)
        return
    entries = remote.call("GET", f"{_base(app)}/logs?{qs}")["entries"]
    if fmt == "json":
        echo_json(entries)
        return
    for e in entries:
        info = e["provisioningStatusInfo"]
        error = (info.get("errorInformation") or {}).get("errorCode") or ""
        click.echo(
            f"{e['activityDateTime']}  {e['provisioningAction']:<12} {info['status']:<8} "
            f"{e['sourceIdentity']['displayName']:<28} {error}"
        )


# -- directory ------------------------------------------------------------------------------------


@main.group()
def directory() -> None:
    """Change the mock Entra tenant: users, groups, and assignments to the app."""


def _fields(pairs: tuple[str, ...]) -> dict:
    fields: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.ClickException(f"{pair!r} is not FIELD=VALUE")
        fields[key] = {"true": True, "false": False, "null": None}.get(value, value)
    return fields


@directory.command("users")
@url_option
@json_option
@option("--include-deleted", is_flag=True, help="Also list soft-deleted users.")
def directory_users(url: str | None, data_dir: Path, as_json: bool, include_deleted: bool) -> None:
    """List the tenant's users."""
    users = Remote(url, data_dir).call("GET", f"/entra/users?includeDeleted={str(include_deleted).lower()}")[
        "users"
    ]
    if as_json:
        echo_json(users)
        return
    for u in users:
        state = (
            "deleted"
            if u.get("deletedDateTime")
            else ("enabled" if u.get("accountEnabled", True) else "blocked")
        )
        click.echo(f"{u['id']}  {u['userPrincipalName']:<36} {state:<8} {u['displayName']}")


@directory.command("add-user")
@url_option
@click.argument("upn")
@click.argument("fields", nargs=-1)
@json_option
def directory_add_user(
    url: str | None, data_dir: Path, upn: str, fields: tuple[str, ...], as_json: bool
) -> None:
    """Create a user UPN with FIELD=VALUE pairs (displayName=..., mail=..., accountEnabled=false)."""
    body = {"userPrincipalName": upn, "displayName": upn.split("@")[0], **_fields(fields)}
    user = Remote(url, data_dir).call("POST", "/entra/users", body)
    echo_json(user) if as_json else click.echo(f"created {user['userPrincipalName']} ({user['id']})")


@directory.command("update-user")
@url_option
@click.argument("user")
@click.argument("fields", nargs=-1, required=True)
def directory_update_user(url: str | None, data_dir: Path, user: str, fields: tuple[str, ...]) -> None:
    """Change USER (objectId or UPN) with FIELD=VALUE pairs; VALUE null clears a field."""
    Remote(url, data_dir).call("PATCH", f"/entra/users/{user}", _fields(fields))
    click.echo(f"updated {user}")


@directory.command("block-user")
@url_option
@click.argument("user")
def directory_block(url: str | None, data_dir: Path, user: str) -> None:
    """Block sign-in for USER (accountEnabled false); provisioning disables them."""
    Remote(url, data_dir).call("PATCH", f"/entra/users/{user}", {"accountEnabled": False})
    click.echo(f"blocked {user}")


@directory.command("delete-user")
@url_option
@click.argument("user")
@option("--permanent", is_flag=True, help="Purge now instead of a 30-day soft delete.")
def directory_delete_user(url: str | None, data_dir: Path, user: str, permanent: bool) -> None:
    """Delete USER: a soft delete, restorable for 30 days of clock time, unless --permanent."""
    Remote(url, data_dir).call("DELETE", f"/entra/users/{user}?permanent={str(permanent).lower()}")
    click.echo(f"{'purged' if permanent else 'soft-deleted'} {user}")


@directory.command("restore-user")
@url_option
@click.argument("user")
def directory_restore_user(url: str | None, data_dir: Path, user: str) -> None:
    """Restore a soft-deleted USER."""
    Remote(url, data_dir).call("POST", f"/entra/users/{user}/restore")
    click.echo(f"restored {user}")


@directory.command("groups")
@url_option
@json_option
def directory_groups(url: str | None, data_dir: Path, as_json: bool) -> None:
    """List the tenant's groups with their member counts."""
    groups = Remote(url, data_dir).call("GET", "/entra/groups")["groups"]
    if as_json:
        echo_json(groups)
        return
    for g in groups:
        click.echo(f"{g['id']}  {g['displayName']:<30} {len(g['members'])} members")


@directory.command("add-group")
@url_option
@click.argument("name")
@click.argument("members", nargs=-1)
def directory_add_group(url: str | None, data_dir: Path, name: str, members: tuple[str, ...]) -> None:
    """Create group NAME with MEMBERS (objectIds or UPNs of users, names of groups)."""
    remote = Remote(url, data_dir)
    group = remote.call("POST", "/entra/groups", {"displayName": name})
    for member in members:
        remote.call("POST", f"/entra/groups/{group['id']}/members", {"id": member})
    click.echo(f"created {name} ({group['id']}) with {len(members)} members")


@directory.command("add-member")
@url_option
@click.argument("group")
@click.argument("member")
def directory_add_member(url: str | None, data_dir: Path, group: str, member: str) -> None:
    """Add MEMBER (user or group) to GROUP."""
    Remote(url, data_dir).call("POST", f"/entra/groups/{group}/members", {"id": member})
    click.echo(f"added {member} to {group}")


@directory.command("remove-member")
@url_option
@click.argument("group")
@click.argument("member")
def directory_remove_member(url: str | None, data_dir: Path, group: str, member: str) -> None:
    """Remove MEMBER from GROUP."""
    Remote(url, data_dir).call("DELETE", f"/entra/groups/{group}/members/{member}")
    click.echo(f"removed {member} from {group}")


@directory.command("assign")
@url_option
@app_option
@option("--role", help="One of the app's roles (see add-role); without it, default access.")
@click.argument("principal")
def directory_assign(url: str | None, data_dir: Path, app: str, role: str | None, principal: str) -> None:
    """Assign PRINCIPAL (a user's UPN or objectId, or a group) to the app."""
    body = {"principalId": principal, **({"role": role} if role else {})}
    Remote(url, data_dir).call("POST", f"/entra/apps/{app}/assignments", body)
    click.echo(f"assigned {principal} to {app}" + (f" as {role}" if role else ""))


@directory.command("add-role")
@url_option
@app_option
@click.argument("value")
@option("--display-name", help="The role's name as people read it.")
def directory_add_role(
    url: str | None, data_dir: Path, app: str, value: str, display_name: str | None
) -> None:
    """Declare an app role VALUE; users assigned with it get it in the SAML role claim."""
    Remote(url, data_dir).call(
        "POST", f"/entra/apps/{app}/roles", {"value": value, "displayName": display_name}
    )
    click.echo(f"added role {value} to {app}")


@directory.command("unassign")
@url_option
@app_option
@click.argument("principal")
def directory_unassign(url: str | None, data_dir: Path, app: str, principal: str) -> None:
    """Remove PRINCIPAL's assignment; the next cycle disables the users it covered."""
    Remote(url, data_dir).call("DELETE", f"/entra/apps/{app}/assignments/{principal}")
    click.echo(f"unassigned {principal} from {app}")


# -- clock and faults -----------------------------------------------------------------------------


@main.group()
def clock() -> None:
    """Read or advance the emulator's clock (cycles, soft deletes and back-offs follow it)."""


@clock.command("show")
@url_option
@json_option
def clock_show(url: str | None, data_dir: Path, as_json: bool) -> None:
    """Print the emulator's current time."""
    now = Remote(url, data_dir).call("GET", "/clock")
    echo_json(now) if as_json else click.echo(now["now"])


@clock.command("advance")
@url_option
@click.argument("duration", type=DURATION)
@json_option
def clock_advance(url: str | None, data_dir: Path, duration, as_json: bool) -> None:
    """Move the clock forward by DURATION (e.g. 40m, 30d) and wait for the cycles that fall due."""
    if duration is None:
        raise click.ClickException("give a duration such as 40m or 30d")
    now = Remote(url, data_dir).call("POST", "/clock/advance", {"seconds": duration.total_seconds()})
    echo_json(now) if as_json else click.echo(now["now"])


@main.group()
def faults() -> None:
    """Make the Galaxy receiver fail on purpose (to see retries, escrow and quarantine)."""


@faults.command("add")
@url_option
@option("--status", type=click.IntRange(400, 599), help="HTTP status to answer.")
@option("--retry-after", type=float, help="Retry-After seconds to send with it.")
@option("--latency-ms", type=click.IntRange(0), default=0, help="Wait this long before answering.")
@option("--count", type=click.IntRange(1), help="Fail the next COUNT matching requests.")
@option(
    "--probability",
    type=click.FloatRange(0, 1, min_open=True),
    help="Fail each matching request with this chance.",
)
@option("--method", help="Only this HTTP method.")
@option("--path", help="Only paths matching this pattern, e.g. /Users* (relative to the SCIM base).")
@json_option
def faults_add(
    url: str | None,
    data_dir: Path,
    status: int | None,
    retry_after: float | None,
    latency_ms: int,
    count: int | None,
    probability: float | None,
    method: str | None,
    path: str | None,
    as_json: bool,
) -> None:
    """Add a fault rule."""
    spec = {
        "status": status,
        "retryAfter": retry_after,
        "latencyMs": latency_ms,
        "count": count,
        "probability": probability,
        "method": method,
        "path": path,
    }
    rule = Remote(url, data_dir).call(
        "POST", "/galaxy/faults", {k: v for k, v in spec.items() if v is not None}
    )
    echo_json(rule) if as_json else click.echo(f"fault rule {rule['id']} added")


@faults.command("list")
@url_option
def faults_list(url: str | None, data_dir: Path) -> None:
    """List the fault rules as JSON."""
    echo_json(Remote(url, data_dir).call("GET", "/galaxy/faults")["faults"])


@faults.command("clear")
@url_option
def faults_clear(url: str | None, data_dir: Path) -> None:
    """Remove every fault rule."""
    Remote(url, data_dir).call("DELETE", "/galaxy/faults")
    click.echo("no faults")


# -- reset and scenarios --------------------------------------------------------------------------


@main.command()
@url_option
@option(
    "--scenario", help="Load this scenario (demo, empty, large or a .toml file) instead of the server's own."
)
@json_option
def reset(url: str | None, data_dir: Path, scenario: str | None, as_json: bool) -> None:
    """Reset a running emulator to a fresh state (a new Galaxy token; the fixed --token stays)."""
    body: dict = {}
    if scenario:
        path = Path(scenario)
        # A file on this machine is sent as text: the server may not see this file system.
        body = (
            {"toml": path.read_text()}
            if path.suffix == ".toml" and path.is_file()
            else {"scenario": scenario}
        )
    result = Remote(url, data_dir).call("POST", "/reset", body)
    if as_json:
        echo_json(result)
        return
    click.echo(f"Reset to the '{result['scenario']}' scenario.")
    click.echo(f"  Galaxy access token:  {result['galaxyToken']}")
    click.echo(f"  Galaxy accountadmin:  accountadmin@galaxy.example / {result['accountadminPassword']}")


@main.group()
def scenario() -> None:
    """Scenarios: export the current state as a scenario file (a fixture for tests)."""


@scenario.command("export")
@url_option
@option("--name", default="exported", show_default=True, help="The scenario name written into the file.")
@option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of the standard output.",
)
def scenario_export(url: str | None, data_dir: Path, name: str, output: Path | None) -> None:
    """Write the emulator's current state as a scenario TOML file that `serve --scenario` loads."""
    text = Remote(url, data_dir).call("GET", f"/scenario/export?name={name}", raw=True)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"wrote {output}")
