"""scim-emulator: Starburst Galaxy's SCIM receiver and a mock Microsoft Entra tenant, offline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Emulator", "EmulatorError", "SyncEmulator", "__version__"]

if TYPE_CHECKING:
    from emulator.api import Emulator, EmulatorError, SyncEmulator


def __getattr__(name: str) -> Any:
    # `import emulator` stays cheap (the CLI and the pytest plugin import it first); the API,
    # which pulls in aiohttp and the whole app, loads on first use.
    if name in ("Emulator", "EmulatorError", "SyncEmulator"):
        from emulator import api

        return getattr(api, name)
    raise AttributeError(f"module 'emulator' has no attribute {name!r}")
