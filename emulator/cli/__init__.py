"""The `scim-emulator` command: thin over `create_app` and the control API."""

from emulator.cli import demo, entra, saml, serve, tokens  # noqa: F401 - importing registers the commands
from emulator.cli.group import main

__all__ = ["main"]
