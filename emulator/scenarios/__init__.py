"""Scenarios: a tenant, its users and groups, the Galaxy app and its settings, declared in a
TOML file (format: fixtures/scenarios/README.md) or generated, and applied to a fresh emulator."""

from emulator.scenarios.apply import AppliedScenario, apply_scenario
from emulator.scenarios.loader import BUILTIN_SCENARIOS, ScenarioError, load_scenario, load_text
from emulator.scenarios.model import Scenario

__all__ = [
    "BUILTIN_SCENARIOS",
    "AppliedScenario",
    "Scenario",
    "ScenarioError",
    "apply_scenario",
    "load_scenario",
    "load_text",
]
