"""The emulator's settings: one frozen value built by the CLI, the API or a test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import platformdirs


def default_data_dir() -> Path:
    """A per-user folder, so two users of one machine never share (or clobber) a store."""
    return Path(platformdirs.user_data_dir("scim-emulator", appauthor=False))


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything `create_app` needs; every field has a CLI option and a SCIM_EMULATOR_* twin."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    scim_profile: str = "galaxy"
    token: str | None = None
    log_level: str = "info"
    max_body_bytes: int = 1024 * 1024
    max_results: int = 1000
    exchange_log_size: int = 1000
    sync_writes: bool = False
    scenario: str = "demo"
    # Entra runs an incremental cycle every 40 minutes (reference §1.8); None: only when asked.
    cycle_interval: timedelta | None = timedelta(minutes=40)

    @property
    def base_url(self) -> str:
        """The URL clients use; a wildcard listen address is reached on loopback."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"
