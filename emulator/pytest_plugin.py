"""pytest fixtures for other projects' integration tests (loaded through the `pytest11` entry
point `scim_emulator`).

A stack of fixtures, each overridable in a conftest.py or a test module:

- `scim_emulator_config`: the options (`EmulatorOptions`, or a dict of its fields): scenario,
  SCIM profile, clock, cycle interval, fixed token, and `isolated` for a fresh emulator per test.
  A `@pytest.mark.scim_emulator(scenario="empty")` mark sets them for one test or module.
- `scim_emulator_session`: the session's running emulators, started on first use and shared by
  every test with the same server settings (usually a single one), each in a background thread
  with its own event loop, so sync and async tests alike can use it.
- `scim_emulator`: the emulator of one test (a `SyncEmulator`), reset to the test's scenario
  before the test (a fresh one when `isolated`).
- helpers: `galaxy_scim_url`, `galaxy_token`, `entra`, `provisioning`, `saml_login`.

Cycles run through `provisioning.run_cycle()` or `scim_emulator.clock.advance(...)`; nothing
sleeps. This module imports nothing heavy: the emulator loads only when a fixture is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from emulator.api import SignInResult, SyncEmulator

MARK = "scim_emulator"


@dataclass(frozen=True)
class EmulatorOptions:
    """What `scim_emulator_config` gives: the arguments of `Emulator`, plus `isolated`."""

    scenario: str = "demo"
    scim_profile: str = "galaxy"
    # "manual" (instant back-offs; cycles run when the clock is advanced) or "system"
    clock: str = "manual"
    # None: Entra's 40 minutes; a timedelta or seconds; "manual": cycles only on run_cycle()
    cycle_interval: timedelta | float | str | None = None
    token: str | None = None
    # True: a fresh emulator for each test instead of a reset of the shared one
    isolated: bool = False

    @classmethod
    def from_value(cls, value: EmulatorOptions | Mapping[str, Any] | None) -> EmulatorOptions:
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"scim_emulator_config must give EmulatorOptions or a dict, not {value!r}")
        values = dict(value)
        if "profile" in values:
            values["scim_profile"] = values.pop("profile")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TypeError(
                f"unknown scim_emulator option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**values)

    def emulator_kwargs(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "scim_profile": self.scim_profile,
            "clock": self.clock,
            "cycle_interval": self.cycle_interval,
            "token": self.token,
        }

    @property
    def server_key(self) -> tuple:
        """What needs a server of its own; the scenario does not (a reset loads it)."""
        return (self.scim_profile, self.clock, self.cycle_interval, self.token)


class SharedEmulators:
    """The session's emulators, one per distinct server setting, started on first use."""

    def __init__(self) -> None:
        self._running: dict[tuple, SyncEmulator] = {}

    def checkout(self, options: EmulatorOptions) -> SyncEmulator:
        """A running emulator in the state of `options.scenario`: just started, or reset."""
        emulator = self._running.get(options.server_key)
        if emulator is None:
            emulator = self._running[options.server_key] = start_emulator(options)
        else:
            emulator.reset(options.scenario)
        return emulator

    def close(self) -> None:
        while self._running:
            _, emulator = self._running.popitem()
            emulator.close()


def start_emulator(options: EmulatorOptions) -> SyncEmulator:
    """A new emulator with these options, serving from a background thread."""
    from emulator.api import Emulator

    return Emulator(**options.emulator_kwargs()).start_in_thread()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARK}(**options): options of the scim_emulator fixture for this test "
        "(scenario, scim_profile, clock, cycle_interval, token, isolated)",
    )
    # aiohttp-jinja2 (the emulator's page templates) keeps its context under a string key;
    # that is the emulator's business, not a warning for the project under test.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:It is recommended to use web.RequestKey:aiohttp.web_exceptions.NotAppKeyWarning",
    )


@pytest.fixture
def scim_emulator_config(request: pytest.FixtureRequest) -> EmulatorOptions:
    """The emulator's options: the defaults (the `demo` scenario, the manual clock), changed by
    a `scim_emulator` mark. Override this fixture to choose them for a module or a project."""
    marker = request.node.get_closest_marker(MARK)
    return EmulatorOptions.from_value(marker.kwargs if marker is not None else None)


@pytest.fixture(scope="session")
def scim_emulator_session() -> Iterator[SharedEmulators]:
    """The emulators shared by the session's tests (stopped when the session ends)."""
    shared = SharedEmulators()
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def scim_emulator(
    scim_emulator_config: EmulatorOptions | Mapping[str, Any], scim_emulator_session: SharedEmulators
) -> Iterator[SyncEmulator]:
    """A running emulator in the state of the configured scenario, for this test."""
    options = EmulatorOptions.from_value(scim_emulator_config)
    if options.isolated:
        with start_emulator(options) as emulator:
            yield emulator
    else:
        yield scim_emulator_session.checkout(options)


@pytest.fixture
def galaxy_scim_url(scim_emulator: SyncEmulator) -> str:
    """Galaxy's SCIM base URL (the Tenant URL)."""
    return scim_emulator.galaxy_scim_url


@pytest.fixture
def galaxy_token(scim_emulator: SyncEmulator) -> str:
    """A Galaxy access token its SCIM receiver accepts."""
    return scim_emulator.token


@pytest.fixture
def entra(scim_emulator: SyncEmulator) -> Any:
    """The mock Entra tenant: `add_user`, `add_group`, `assign`, `unassign`, `update_user`,
    `delete_user`, ... (blocking calls)."""
    return scim_emulator.entra


@pytest.fixture
def provisioning(scim_emulator: SyncEmulator) -> Any:
    """The provisioning job: `configure`, `point_at`, `run_cycle`, `start`, `status`, `logs`."""
    return scim_emulator.provisioning


@pytest.fixture
def saml_login(scim_emulator: SyncEmulator) -> Callable[..., SignInResult]:
    """`saml_login(email, password=None, idp_initiated=False)`: sign in to Galaxy through Entra;
    the result has `.signed_in`, `.outcome`, `.detail` and `.hops`."""
    return scim_emulator.login
