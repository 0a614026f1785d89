"""The README is part of the product: every CLI option and environment variable is documented
in it, and its Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from emulator.cli import main

README = (Path(__file__).parents[2] / "README.md").read_text()
pytest_plugins = ["pytester"]


def commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, re.S)


@pytest.mark.parametrize(
    ("path", "command"), list(commands(main)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_option_and_environment_variable_is_in_the_readme(
    path: tuple[str, ...], command: click.Command
) -> None:
    assert f"scim-emulator {' '.join(path)}" in README or path == ("serve",)
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        flag = max(param.opts, key=len)
        assert f"`{flag}" in README, f"{' '.join(path)}: {flag} is not documented in README.md"
        if param.envvar:
            assert f"`{param.envvar}`" in README, f"{param.envvar} is not documented in README.md"


def test_the_python_api_example_runs() -> None:
    example = next(block for block in python_blocks() if "from emulator import Emulator" in block)
    exec(compile(example, "README.md", "exec"), {})


def test_the_pytest_plugin_example_passes(pytester: pytest.Pytester) -> None:
    example = next(block for block in python_blocks() if "def test_" in block)
    pytester.makepyfile(test_readme_example=example)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
