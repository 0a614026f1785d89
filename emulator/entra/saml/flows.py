"""Sign-ins in progress: what an AuthnRequest (or a My Apps visit) asked for, kept on the server
between the sign-in page and the account the person picks.

The page carries only a random `ctx` (Entra's own sign-in pages carry a `ctx` and a flow token
the same way), so nothing from the SP's request can be tampered with between the steps. Flows
live in memory, expire after 30 minutes of clock time (AADSTS50089, "flow token expired"), and
are bounded in number so that a crawler cannot grow them without end.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from emulator.clock import Clock

FLOW_LIFETIME = timedelta(minutes=30)
MAX_FLOWS = 10_000


@dataclass(frozen=True)
class Flow:
    """One sign-in in progress. `app_object_id` is None for a sign-in to My Apps itself."""

    id: str
    created: datetime
    app_object_id: str | None = None
    acs_url: str | None = None
    audience: str | None = None
    request_id: str | None = None
    relay_state: str | None = None
    name_id_format: str | None = None
    sp_name_qualifier: str | None = None
    force_authn: bool = False
    login_hint: str | None = None

    @property
    def for_app(self) -> bool:
        return self.app_object_id is not None


class FlowStore:
    """The flows of one emulator, oldest first."""

    def __init__(self, clock: Clock, lifetime: timedelta = FLOW_LIFETIME, limit: int = MAX_FLOWS) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.limit = limit
        self._flows: OrderedDict[str, Flow] = OrderedDict()

    def start(self, **fields: object) -> Flow:
        self._expire()
        while len(self._flows) >= self.limit:
            self._flows.popitem(last=False)
        flow = Flow(id=secrets.token_urlsafe(24), created=self.clock.now(), **fields)  # type: ignore[arg-type]
        self._flows[flow.id] = flow
        return flow

    def get(self, flow_id: str | None) -> Flow | None:
        if not flow_id:
            return None
        flow = self._flows.get(flow_id)
        if flow is None or flow.created + self.lifetime <= self.clock.now():
            self._flows.pop(flow_id or "", None)
            return None
        return flow

    def finish(self, flow_id: str) -> None:
        """Forget a flow once its response went out, so the same page cannot be replayed."""
        self._flows.pop(flow_id, None)

    def _expire(self) -> None:
        cutoff = self.clock.now() - self.lifetime
        while self._flows:
            oldest = next(iter(self._flows.values()))
            if oldest.created > cutoff:
                break
            self._flows.popitem(last=False)
