"""Where time comes from: the system, or a manual clock that tests and demos advance."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time; every timestamp in the emulator is read from one of these."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> str:
        """The current instant as SCIM writes it (RFC 7643 §2.3.5, millisecond precision, UTC)."""
        return format_instant(self.now())

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock(Clock):
    """A clock that only moves when told, so tests need not sleep through 40-minute cycles."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._offset = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._offset

    def advance(self, delta: timedelta) -> None:
        self._now += delta
        self._offset += delta.total_seconds()


def format_instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
