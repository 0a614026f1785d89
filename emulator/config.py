"""The emulator's settings: one frozen value built by the CLI, the API or a test."""

from __future__ import annotations

from dataclasses import dataclass
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

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
