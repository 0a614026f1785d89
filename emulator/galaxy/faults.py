"""Faults the Galaxy receiver injects on purpose, so Entra's retries, escrow and quarantine can
be shown and tested: "answer 503 to the next 3 PATCH /Groups/*" or "429 with Retry-After 2 to
10 % of requests". A fault is a setting made through the control API, never a code path in
tests (the way Mailpit's chaos triggers work)."""

from __future__ import annotations

import fnmatch
import itertools
import random
from dataclasses import asdict, dataclass

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class FaultError(ValueError):
    """A fault rule that cannot be set; the message names the field."""


@dataclass
class FaultRule:
    """Answer `status` (or only wait `latency_ms` when status is None) to matching requests, for
    the next `count` of them or each with `probability`."""

    id: int
    status: int | None
    retry_after: float | None
    latency_ms: int
    count: int | None
    probability: float | None
    method: str | None
    path: str | None
    hits: int = 0

    def to_json(self) -> dict:
        body = asdict(self)
        body["retryAfter"] = body.pop("retry_after")
        body["latencyMs"] = body.pop("latency_ms")
        return body


class Faults:
    """The active fault rules of one receiver; the first matching rule applies."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._rng = rng or random.Random()

    def add(self, spec: object) -> FaultRule:
        if not isinstance(spec, dict):
            raise FaultError('a fault is a JSON object such as {"status": 503, "count": 3}')
        unknown = sorted(
            set(spec) - {"status", "retryAfter", "latencyMs", "count", "probability", "method", "path"}
        )
        if unknown:
            raise FaultError(f"unknown field(s) {', '.join(unknown)}")
        status = spec.get("status")
        if status is not None and (
            not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599
        ):
            raise FaultError(
                "status must be an HTTP error status from 400 to 599 (or absent for latency only)"
            )
        latency = spec.get("latencyMs", 0)
        if not isinstance(latency, int) or isinstance(latency, bool) or not 0 <= latency <= 600_000:
            raise FaultError("latencyMs must be a whole number of milliseconds from 0 to 600000")
        if status is None and not latency:
            raise FaultError("a fault needs a status, a latencyMs, or both")
        retry_after = spec.get("retryAfter")
        if retry_after is not None and (
            isinstance(retry_after, bool) or not isinstance(retry_after, int | float) or retry_after < 0
        ):
            raise FaultError("retryAfter must be a number of seconds")
        count, probability = spec.get("count"), spec.get("probability")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise FaultError("count must be a whole number of at least 1")
        if probability is not None and (
            isinstance(probability, bool)
            or not isinstance(probability, int | float)
            or not 0 < probability <= 1
        ):
            raise FaultError("probability must be a number above 0 and at most 1")
        if count is None and probability is None:
            raise FaultError("say how often: count (the next N requests) or probability (each request)")
        method = spec.get("method")
        if method is not None and (not isinstance(method, str) or method.upper() not in METHODS):
            raise FaultError(f"method must be one of {', '.join(METHODS)}")
        path = spec.get("path")
        if path is not None and not isinstance(path, str):
            raise FaultError("path must be a pattern such as /Users or /Groups/*")
        rule = FaultRule(
            next(self._ids),
            status,
            retry_after,
            latency,
            count,
            probability,
            method.upper() if method else None,
            path,
        )
        self._rules.append(rule)
        return rule

    def list(self) -> list[dict]:
        return [r.to_json() for r in self._rules]

    def clear(self) -> None:
        self._rules.clear()

    def remove(self, rule_id: int) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) < before

    def match(self, method: str, path: str) -> FaultRule | None:
        """The rule that fires for this request, if any; a counted rule is used up."""
        for rule in self._rules:
            if rule.method and rule.method != method:
                continue
            if rule.path and not fnmatch.fnmatchcase(path, rule.path):
                continue
            if rule.probability is not None and self._rng.random() >= rule.probability:
                continue
            rule.hits += 1
            if rule.count is not None:
                rule.count -= 1
                if rule.count == 0:
                    self._rules.remove(rule)
            return rule
        return None
