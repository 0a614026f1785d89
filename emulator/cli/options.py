"""What the CLI's commands share: options with SCIM_EMULATOR_* twins, durations, and the
client that talks to a running emulator's control API."""

from __future__ import annotations

import functools
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from emulator.app import running_server_url
from emulator.config import default_data_dir


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


def show_duration(delta: timedelta) -> str:
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


def url_option(func):
    return option(
        "--url",
        envvar="SCIM_EMULATOR_URL",
        default=None,
        help="Base URL of the running emulator (e.g. http://127.0.0.1:8000); by default the "
        "server holding --data-dir is found through the file it writes there.",
    )(data_dir_option(func))


def json_option(func):
    return click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON, for scripts.")(
        func
    )


class Remote:
    """The control API of a running emulator, with errors turned into readable CLI messages."""

    def __init__(self, url: str | None, data_dir: Path) -> None:
        self.url = (url or running_server_url(data_dir) or "").rstrip("/")
        if not self.url:
            raise click.ClickException(
                f"no running emulator found for {data_dir}: start `scim-emulator serve` there, or pass --url"
            )

    def call(self, method: str, path: str, body: Any = None, *, raw: bool = False) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + "/_emulator" + urllib.parse.quote(path, safe="/?=&%:@"),
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise click.ClickException(_error_text(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"the emulator at {self.url} did not answer: {exc}") from None
        if raw:
            return payload.decode()
        return json.loads(payload) if payload else {}

    def fetch(self, path_or_url: str) -> str:
        """GET a page or document of the emulator (not the control API) as text."""
        url = path_or_url if path_or_url.startswith("http") else self.url + path_or_url
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.read().decode()
        except urllib.error.HTTPError as exc:
            raise click.ClickException(_error_text(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"the emulator at {self.url} did not answer: {exc}") from None


def _error_text(exc: urllib.error.HTTPError) -> str:
    text = exc.read().decode("utf-8", "replace")
    try:
        return json.loads(text).get("error") or text
    except (ValueError, AttributeError):
        return f"HTTP {exc.code}: {text[:200] or exc.reason}"


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False))
