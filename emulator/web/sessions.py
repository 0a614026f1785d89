"""Browser sessions kept in memory, keyed by a random id in an HttpOnly, SameSite=Lax cookie
scoped to one product's URL prefix (Galaxy's and Entra's cookies never meet, as on the web)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web

from emulator.clock import Clock


@dataclass
class Session:
    id: str
    expires: datetime
    data: dict = field(default_factory=dict)


class SessionStore:
    """One product's sessions; `cookie` names the cookie and `path` scopes it."""

    def __init__(
        self, clock: Clock, cookie: str, path: str, lifetime: timedelta = timedelta(hours=8)
    ) -> None:
        self.clock = clock
        self.cookie = cookie
        self.path = path
        self.lifetime = lifetime
        self._sessions: dict[str, Session] = {}

    def get(self, request: web.Request) -> Session | None:
        sid = request.cookies.get(self.cookie)
        session = self._sessions.get(sid) if sid else None
        if session is None:
            return None
        if session.expires <= self.clock.now():
            self._sessions.pop(session.id, None)
            return None
        return session

    def start(self, response: web.StreamResponse, data: dict) -> Session:
        """A fresh session (a new id on every sign-in, so an old cookie never gains rights)."""
        self._expire()
        session = Session(secrets.token_urlsafe(32), self.clock.now() + self.lifetime, dict(data))
        self._sessions[session.id] = session
        response.set_cookie(
            self.cookie,
            session.id,
            path=self.path,
            httponly=True,
            samesite="Lax",
            max_age=int(self.lifetime.total_seconds()),
        )
        return session

    def end(self, request: web.Request, response: web.StreamResponse) -> None:
        sid = request.cookies.get(self.cookie)
        if sid:
            self._sessions.pop(sid, None)
        response.del_cookie(self.cookie, path=self.path)

    def clear(self) -> None:
        """Forget every session (the control API's reset): every browser is signed out."""
        self._sessions.clear()

    def _expire(self) -> None:
        now = self.clock.now()
        for sid in [sid for sid, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[sid]
