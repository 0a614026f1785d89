"""docker/Dockerfile and docker/compose.yaml, checked without a Docker engine: the entry point is
the real console script, the health check asks the real health route, the port and the data
folder agree with the CLI, the server runs as an unprivileged user, and the built-in scenarios
reach a non-editable install (the image installs a wheel built from the build context)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import click
import pytest
from aiohttp.test_utils import make_mocked_request

from emulator.app import create_app
from emulator.cli import main
from emulator.config import EmulatorConfig
from emulator.control.routes import HEALTH_PATH

ROOT = Path(__file__).parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERIGNORE = ROOT / "docker" / "Dockerfile.dockerignore"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        found.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return found


def arguments(keyword: str) -> list[str]:
    return [args for key, args in instructions() if key == keyword]


def env() -> dict[str, str]:
    """ENV instructions in the `KEY=value KEY=value` form."""
    values: dict[str, str] = {}
    for args in arguments("ENV"):
        values.update(re.findall(r"(\w+)=(\S+)", args))
    return values


def serve_option(name: str) -> click.Option:
    command = main.commands["serve"]
    return next(p for p in command.params if isinstance(p, click.Option) and p.name == name)


def compose_text() -> str:
    return COMPOSE.read_text()


def test_the_entrypoint_is_the_console_script_running_serve() -> None:
    (entrypoint,) = arguments("ENTRYPOINT")
    assert json.loads(entrypoint) == ["scim-emulator", "serve"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["scim-emulator"] == "emulator.cli:main"
    assert "serve" in main.commands


def test_the_base_image_is_a_slim_python_as_new_as_the_project_needs() -> None:
    (base,) = arguments("FROM")
    found = re.fullmatch(r"python:(\d+)\.(\d+)-slim(?:-\w+)?", base)
    assert found, base
    needed = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert needed == ">=3.11" and (int(found[1]), int(found[2])) >= (3, 11)


async def test_the_health_checks_ask_the_real_health_route(tmp_path: Path) -> None:
    app = create_app(EmulatorConfig(data_dir=tmp_path))
    match = await app.router.resolve(make_mocked_request("GET", HEALTH_PATH))
    assert match.http_exception is None and match.handler.__name__ == "health"
    (healthcheck,) = arguments("HEALTHCHECK")
    assert HEALTH_PATH in healthcheck and healthcheck.split(" CMD ", 1)[1].startswith('["python", "-c"')
    assert "SCIM_EMULATOR_PORT" in healthcheck  # follows the port if someone changes it
    compose = compose_text()
    assert "healthcheck:" in compose and f"127.0.0.1:8000{HEALTH_PATH}" in compose


def test_the_exposed_port_is_the_cli_default_and_is_published_on_loopback_only() -> None:
    default = serve_option("port").default
    assert default == EmulatorConfig(data_dir=Path("x")).port == 8000
    assert arguments("EXPOSE") == [str(default)]
    assert env()["SCIM_EMULATOR_PORT"] == str(default)
    assert re.findall(
        r'^\s+- "([^"]+)"$', compose_text().split("ports:", 1)[1].split("volumes:", 1)[0], re.M
    ) == [f"127.0.0.1:{default}:{default}"]


def test_only_the_container_listens_on_every_address() -> None:
    assert env()["SCIM_EMULATOR_HOST"] == "0.0.0.0"
    assert serve_option("host").default == "127.0.0.1"  # outside a container: loopback
    assert "SCIM_EMULATOR_HOST" not in compose_text()


def test_the_server_runs_as_an_unprivileged_user_that_owns_the_data_folder() -> None:
    users = arguments("USER")
    assert users and users[-1] not in ("root", "0", "0:0")
    keywords = [key for key, _ in instructions()]
    assert keywords.index("USER") > max(i for i, key in enumerate(keywords) if key == "RUN")
    (create,) = [args for args in arguments("RUN") if "useradd" in args]
    assert re.search(rf"useradd .*\b{users[-1]}\b", create) and "--uid 10001" in create
    assert f"chown {users[-1]}:{users[-1]} /data" in create


def test_the_volume_is_the_data_folder_the_cli_is_told_about() -> None:
    data_dir = env()["SCIM_EMULATOR_DATA_DIR"]
    assert serve_option("data_dir").envvar == "SCIM_EMULATOR_DATA_DIR"
    assert arguments("VOLUME") == [data_dir] == ["/data"]
    volumes = compose_text().split("volumes:", 1)[1]
    assert re.search(rf"^\s+- [\w-]+:{data_dir}$", volumes, re.M), volumes


def test_every_variable_the_files_set_is_one_the_cli_reads() -> None:
    known = {p.envvar for p in main.commands["serve"].params if isinstance(p, click.Option)}
    used = set(re.findall(r"SCIM_EMULATOR_\w+", DOCKERFILE.read_text() + compose_text()))
    assert used and used <= known, used - known


def test_the_image_copies_only_what_the_install_needs_and_the_context_keeps_it() -> None:
    copied = [args.split()[0] for args in arguments("COPY")]
    assert copied == ["pyproject.toml", "emulator"]  # README.md rides along with pyproject.toml
    assert arguments("COPY")[0].split()[:-1] == ["pyproject.toml", "README.md"]
    kept = DOCKERIGNORE.read_text().splitlines()
    assert "*" in kept and {"!pyproject.toml", "!README.md", "!emulator/"} <= set(kept)
    for path in ("pyproject.toml", "README.md", "emulator"):
        assert (ROOT / path).exists()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built the way the image installs the project: from a copy of what the Dockerfile
    copies into the build (so nothing else of the checkout can leak in)."""
    context = tmp_path_factory.mktemp("context")
    shutil.copy(ROOT / "pyproject.toml", context)
    shutil.copy(ROOT / "README.md", context)
    shutil.copytree(ROOT / "emulator", context / "emulator", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(context)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if built.returncode != 0:
        unreachable = ("No matching distribution", "Could not find a version", "connection", "resolve")
        if any(word.lower() in built.stderr.lower() for word in unreachable):
            pytest.skip(f"pip cannot fetch the build backend here: {built.stderr.strip()[-300:]}")
        pytest.fail(built.stderr)
    (found,) = out.glob("scim_emulator-*.whl")
    return found


def test_the_wheel_carries_the_built_in_scenarios_and_the_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"emulator/scenarios/builtin/demo.toml", "emulator/scenarios/builtin/empty.toml"} <= names
    assert "emulator/py.typed" in names
    assert any(n.startswith("emulator/galaxy/templates/") for n in names)
    assert any(n.startswith("emulator/web/static/") for n in names)


def test_load_scenario_works_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import emulator, sys; from emulator.scenarios import load_scenario; "
        "demo = load_scenario('demo'); empty = load_scenario('empty'); "
        "print(emulator.__file__, demo.source, len(demo.users), empty.name)"
    )
    # From an unrelated folder, with the unpacked wheel first on the path (before the checkout).
    ran = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(site)},
    )
    assert ran.returncode == 0, ran.stderr
    module, source, users, empty = ran.stdout.split()
    assert module.startswith(str(site)) and source.startswith(str(site))
    assert (users, empty) == ("12", "empty")
