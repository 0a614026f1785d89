"""`scim-emulator token ...`: Galaxy's SCIM access tokens, with or without a running server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from emulator.app import StoreCorrupt, StoreLocked, open_token_registry
from emulator.cli.group import main
from emulator.cli.options import Remote, data_dir_option, option
from emulator.galaxy.tokens import TokenRegistry


@main.group()
def token() -> None:
    """Manage Galaxy's SCIM access tokens, with or without a running server."""


def _with_tokens(
    data_dir: Path, offline: Callable[[TokenRegistry], Any], online: Callable[[Remote], Any]
) -> Any:
    """Do it on the folder directly, or through the server that holds it, so the two never
    write the folder at once."""
    try:
        with open_token_registry(data_dir) as tokens:
            return offline(tokens)
    except StoreLocked:
        return online(Remote(None, data_dir))
    except StoreCorrupt as exc:
        raise click.ClickException(str(exc)) from None


@token.command("create")
@data_dir_option
@option("--name", default="", help="A label that tells this token apart in `token list`.")
def token_create(data_dir: Path, name: str) -> None:
    """Generate a token and print it alone on one line (it is never shown again)."""
    secret = _with_tokens(
        data_dir,
        lambda tokens: tokens.create(name).secret,
        lambda remote: remote.call("POST", "/tokens", {"name": name})["token"],
    )
    click.echo(secret)


@token.command("list")
@data_dir_option
@option("--json", "as_json", is_flag=True, help="Print the tokens as a JSON array.")
def token_list(data_dir: Path, as_json: bool) -> None:
    """List tokens by id, name, hint and state; secrets are never shown."""
    rows = _with_tokens(
        data_dir, lambda tokens: tokens.list(), lambda remote: remote.call("GET", "/tokens")["tokens"]
    )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = f"revoked {row['revoked']}" if row["revoked"] else "valid"
        click.echo(f"{row['id']}  {row['hint']:<14} {state:<34} {row['name']}")


@token.command("revoke")
@data_dir_option
@click.argument("token_id")
def token_revoke(data_dir: Path, token_id: str) -> None:
    """Revoke the token with id TOKEN_ID (from `token list`); clients using it get 401."""
    found = _with_tokens(
        data_dir,
        lambda tokens: tokens.revoke(token_id),
        lambda remote: remote.call("DELETE", f"/tokens/{token_id}"),
    )
    if found is None:
        raise click.ClickException(f"no token with id {token_id!r}; see `scim-emulator token list`")
    click.echo(f"revoked {token_id}")


@token.command("regenerate")
@data_dir_option
@click.argument("token_id")
def token_regenerate(data_dir: Path, token_id: str) -> None:
    """Replace the live token TOKEN_ID: print the new one (same name) alone on one line; the old
    one gets 401 from now on."""

    def offline(tokens: TokenRegistry) -> str | None:
        new = tokens.regenerate(token_id)
        return new.secret if new else None

    secret = _with_tokens(
        data_dir, offline, lambda remote: remote.call("POST", f"/tokens/{token_id}/regenerate")["token"]
    )
    if not secret:
        raise click.ClickException(f"no live token with id {token_id!r}; see `scim-emulator token list`")
    click.echo(secret)
