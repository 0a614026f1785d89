"""The `scim-emulator` command as a person or a CI job runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.helpers import ServerProcess, free_port

CLI = [sys.executable, "-m", "emulator.cli"]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def scim_get(url: str, token: str) -> int:
    request = urllib.request.Request(
        f"{url}/galaxy/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0  # not listening (yet)


def serve_until_ready(data_dir: Path, *extra: str) -> tuple[subprocess.Popen, str, list[str]]:
    """Start plain `serve` (no fixed token) and collect the banner it prints."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_EMULATOR_")}
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--data-dir", str(data_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            return proc, f"http://127.0.0.1:{port}", lines
    proc.kill()
    raise AssertionError("\n".join(lines))


def test_first_start_prints_the_scim_url_and_a_token_shown_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc, url, lines = serve_until_ready(data)
    text = "\n".join(lines)
    assert f"Galaxy SCIM URL:      {url}/galaxy/scim/v2" in text
    assert f"Entra admin center:   {url}/entra/portal/" in text
    token = next(line.split()[-1] for line in lines if "Galaxy access token:" in line)
    assert scim_get(url, token) == 200
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    assert token not in (data / "data.json").read_text()

    proc, url, lines = serve_until_ready(data)
    text = "\n".join(lines)
    assert "Galaxy access token:" not in text and "1 valid" in text
    assert scim_get(url, token) == 200, "the token outlives a restart on the same data folder"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_token_commands_work_without_a_server(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    created = run_cli("token", "create", "--data-dir", data, "--name", "CI")
    assert created.returncode == 0 and created.stdout.count("\n") == 1
    secret = created.stdout.strip()
    listed = json.loads(run_cli("token", "list", "--data-dir", data, "--json").stdout)
    assert [t["name"] for t in listed] == ["CI"] and secret not in json.dumps(listed)
    regenerated = run_cli("token", "regenerate", listed[0]["id"], "--data-dir", data)
    assert regenerated.returncode == 0 and regenerated.stdout.count("\n") == 1
    replacement = regenerated.stdout.strip()
    assert replacement != secret
    again = json.loads(run_cli("token", "list", "--data-dir", data, "--json").stdout)
    assert [t["name"] for t in again] == ["CI", "CI"] and again[0]["revoked"] and not again[1]["revoked"]
    assert run_cli("token", "revoke", again[1]["id"], "--data-dir", data).returncode == 0
    missing = run_cli("token", "revoke", "nope", "--data-dir", data)
    assert missing.returncode != 0 and "no token with id 'nope'" in missing.stderr
    revoked = run_cli("token", "regenerate", again[0]["id"], "--data-dir", data)
    assert revoked.returncode != 0 and "no live token" in revoked.stderr
    server = ServerProcess(tmp_path / "data")
    assert scim_get(server.url, secret) == 401 and scim_get(server.url, replacement) == 401
    server.stop(signal.SIGTERM)


def test_token_commands_go_through_a_running_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data)
    created = run_cli("token", "create", "--data-dir", str(data))
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert scim_get(server.url, secret) == 200
    first_id = json.loads(run_cli("token", "list", "--data-dir", str(data), "--json").stdout)[0]["id"]
    regenerated = run_cli("token", "regenerate", first_id, "--data-dir", str(data))
    assert regenerated.returncode == 0, regenerated.stderr
    assert scim_get(server.url, secret) == 401
    secret = regenerated.stdout.strip()
    assert scim_get(server.url, secret) == 200
    listed = json.loads(run_cli("token", "list", "--data-dir", str(data), "--json").stdout)
    token_id = next(t["id"] for t in listed if not t["revoked"])
    assert run_cli("token", "revoke", token_id, "--data-dir", str(data)).returncode == 0
    assert scim_get(server.url, secret) == 401
    server.stop(signal.SIGTERM)
    assert server.proc.returncode == 0
    offline = json.loads(run_cli("token", "list", "--data-dir", str(data), "--json").stdout)
    assert {t["id"] for t in offline if t["revoked"]} == {first_id, token_id}


def test_environment_twins_configure_serve(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "SCIM_EMULATOR_PORT": str(port),
        "SCIM_EMULATOR_DATA_DIR": str(tmp_path / "d"),
        "SCIM_EMULATOR_TOKEN": "env-token-0123456789",
        "SCIM_EMULATOR_SCIM_PROFILE": "full",
    }
    proc = subprocess.Popen(
        CLI, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        for _ in range(200):
            if scim_get(f"http://127.0.0.1:{port}", "env-token-0123456789") == 200:
                break
            time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/health") as resp:
            assert json.loads(resp.read())["scimProfile"] == "full"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_a_busy_port_or_held_folder_is_a_readable_error(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    busy = run_cli("serve", "--port", str(server.port), "--data-dir", str(tmp_path / "other"))
    assert busy.returncode != 0 and "cannot listen" in busy.stderr and "Traceback" not in busy.stderr
    held = run_cli("serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "data"))
    assert held.returncode != 0 and "in use by another scim-emulator process" in held.stderr
    assert "Traceback" not in held.stderr
    server.stop(signal.SIGTERM)
