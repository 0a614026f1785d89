"""The `scim-emulator` command group; `serve` is the default command."""

from __future__ import annotations

import click

from emulator import __version__


class ServeByDefault(click.Group):
    """A group that runs `serve` when no command is named, so `scim-emulator --port 9000` works."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] not in ("--help", "--version")):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


@click.group(cls=ServeByDefault)
@click.version_option(__version__, prog_name="scim-emulator")
def main() -> None:
    """A local, offline emulator of Starburst Galaxy's SCIM receiver and of the Microsoft Entra
    tenant that provisions it.

    With no command, or with only options, it runs `serve`.
    """
