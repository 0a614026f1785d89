"""The error the provisioning engine raises for a request it refuses."""

from __future__ import annotations


class ProvisioningError(ValueError):
    """A request the engine refuses (not configured, unknown object...); `status` for APIs."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
