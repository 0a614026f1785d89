"""Where time comes from: the system, or a manual clock that tests and demos advance."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time plus an offset that `advance` moves forward, so a demo can jump to the
    next 40-minute provisioning cycle (or 30 days past a soft delete) without waiting."""

    manual = False

    def __init__(self) -> None:
        self._offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def timestamp(self) -> str:
        """The current instant as SCIM writes it (RFC 7643 §2.3.5, millisecond precision, UTC)."""
        return format_instant(self.now())

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta():
            raise ValueError("the clock only moves forward")
        self._offset += delta

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time (a Retry-After, a back-off)."""
        await asyncio.sleep(seconds)


class ManualClock(Clock):
    """A clock that only moves when told, so tests need not sleep through 40-minute cycles.

    `sleep` advances it instead of waiting, which keeps back-offs and Retry-After honoured and
    visible in timestamps while a test runs in milliseconds.
    """

    manual = True

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__()
        self._start = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._start + self._offset

    async def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=max(seconds, 0)))
        await asyncio.sleep(0)


def format_instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_instant(text: str) -> datetime:
    """The inverse of `format_instant` (also accepts any ISO-8601 instant with a zone)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
