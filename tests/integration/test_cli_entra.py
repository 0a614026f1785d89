"""The Entra side from the terminal: `provision`, `directory`, `clock` and `faults` commands
against a running `scim-emulator serve`."""

from __future__ import annotations

import csv
import io
import json
import signal
from pathlib import Path

import pytest

from tests.helpers import ServerProcess
from tests.integration.test_cli import run_cli


@pytest.fixture
def server(tmp_path: Path):
    proc = ServerProcess(tmp_path / "data", "--scenario", "demo", "--cycle-interval", "manual")
    yield proc, str(tmp_path / "data")
    proc.stop(signal.SIGTERM)


def cli(data: str, *args: str) -> str:
    done = run_cli(*args, "--data-dir", data)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_seed_walkthrough_from_the_terminal(server) -> None:
    _, data = server
    assert "Mode Automatic" in cli(data, "provision", "configure", "--builtin-galaxy")
    assert cli(data, "provision", "test").startswith("Success:")
    summary = json.loads(cli(data, "provision", "run", "--json"))
    assert summary["initial"] is True and summary["byAction"]["create"] >= 8
    status = json.loads(cli(data, "provision", "status", "--json"))
    assert status["initialCycleCompleted"] and status["provisionedObjects"] >= 8
    rows = list(
        csv.DictReader(io.StringIO(cli(data, "provision", "logs", "--format", "csv", "--limit", "500")))
    )
    assert len(rows) == sum(summary["byAction"].values())
    assert "create" in cli(data, "provision", "logs", "--action", "create")


def test_directory_changes_and_on_demand(server) -> None:
    _, data = server
    cli(data, "provision", "configure", "--builtin-galaxy")
    assert "created" in cli(
        data, "directory", "add-user", "zoe@contoso.com", "displayName=Zoe", "mail=zoe@contoso.com"
    )
    cli(data, "directory", "assign", "zoe@contoso.com")
    result = json.loads(cli(data, "provision", "on-demand", "zoe@contoso.com", "--json"))
    assert result["action"] == "create" and result["status"] == "success"
    users = json.loads(cli(data, "directory", "users", "--json"))
    assert any(u["userPrincipalName"] == "zoe@contoso.com" for u in users)
    cli(data, "directory", "block-user", "zoe@contoso.com")
    out = cli(data, "provision", "on-demand", "zoe@contoso.com")
    assert "disable" in out and "Result: disable success" in out


def test_clock_and_faults(server) -> None:
    _, data = server
    before = cli(data, "clock", "show").strip()
    after = cli(data, "clock", "advance", "40m").strip()
    assert after > before
    assert json.loads(cli(data, "clock", "show", "--json"))["now"] >= after
    assert json.loads(cli(data, "clock", "advance", "1m", "--json"))["now"] > after
    assert "added" in cli(data, "faults", "add", "--status", "503", "--count", "2", "--path", "/Users*")
    assert (
        json.loads(cli(data, "faults", "add", "--latency-ms", "5", "--count", "1", "--json"))["latencyMs"]
        == 5
    )
    assert json.loads(cli(data, "faults", "list"))[0]["status"] == 503
    cli(data, "faults", "clear")
    assert json.loads(cli(data, "faults", "list")) == []


def test_errors_are_readable(server, tmp_path: Path) -> None:
    _, data = server
    done = run_cli("provision", "on-demand", "nobody@contoso.com", "--data-dir", data)
    assert done.returncode == 1 and "no user or group" in done.stderr and "Traceback" not in done.stderr
    done = run_cli("provision", "status", "--data-dir", str(tmp_path / "nothing-here"))
    assert done.returncode == 1 and "no running emulator" in done.stderr
    done = run_cli("clock", "advance", "soon", "--data-dir", data)
    assert done.returncode == 2 and "duration" in done.stderr


def test_reset_and_export_from_the_terminal(server, tmp_path: Path) -> None:
    _, data = server
    cli(data, "directory", "add-user", "zoe@contoso.com", "displayName=Zoe")
    exported = tmp_path / "state.toml"
    assert "wrote" in cli(data, "scenario", "export", "--name", "mine", "--output", str(exported))
    assert "zoe@contoso.com" in exported.read_text()
    reset = json.loads(cli(data, "reset", "--scenario", "empty", "--json"))
    assert reset["scenario"] == "empty" and reset["galaxyToken"]
    assert not any(
        u["userPrincipalName"] == "zoe@contoso.com"
        for u in json.loads(cli(data, "directory", "users", "--json"))
    )
    out = cli(data, "reset", "--scenario", str(exported))
    assert "Reset to the 'mine' scenario" in out
    assert any(
        u["userPrincipalName"] == "zoe@contoso.com"
        for u in json.loads(cli(data, "directory", "users", "--json"))
    )


def test_the_remaining_directory_and_provisioning_commands(server) -> None:
    _, data = server
    cli(data, "provision", "configure", "--builtin-galaxy", "--deletion-threshold", "50")
    assert "created Team" in cli(data, "directory", "add-group", "Team", "PattiF@contoso.onmicrosoft.com")
    assert "added" in cli(data, "directory", "add-member", "Team", "LeeG@contoso.onmicrosoft.com")
    assert "removed" in cli(data, "directory", "remove-member", "Team", "LeeG@contoso.onmicrosoft.com")
    groups = json.loads(cli(data, "directory", "groups", "--json"))
    assert next(g for g in groups if g["displayName"] == "Team")["members"]
    assert "added role Reader" in cli(data, "directory", "add-role", "Reader", "--display-name", "Reader")
    assert "as Reader" in cli(data, "directory", "assign", "Team", "--role", "Reader")
    assert "unassigned" in cli(data, "directory", "unassign", "Team")
    assert "updated" in cli(data, "directory", "update-user", "LeeG@contoso.onmicrosoft.com", "jobTitle=Lead")
    assert "soft-deleted" in cli(data, "directory", "delete-user", "LeeG@contoso.onmicrosoft.com")
    deleted = json.loads(cli(data, "directory", "users", "--json", "--include-deleted"))
    assert any(
        u["userPrincipalName"] == "LeeG@contoso.onmicrosoft.com" and u["deletedDateTime"] for u in deleted
    )
    assert "restored" in cli(data, "directory", "restore-user", "LeeG@contoso.onmicrosoft.com")
    assert json.loads(cli(data, "provision", "show"))["accidentalDeletionThreshold"] == 50
    assert json.loads(cli(data, "provision", "start", "--json"))["status"] == "Active"
    assert json.loads(cli(data, "provision", "stop", "--json"))["status"] == "Paused"
    assert json.loads(cli(data, "provision", "restart", "--json"))["status"] == "Active"
    denied = run_cli("provision", "allow-deletes", "--data-dir", data)
    assert denied.returncode == 1 and "no deletions are waiting" in denied.stderr
