"""What the provisioning engine keeps between cycles, per app: the job and the sync state.

The job holds status, watermark, quarantine and the last cycle's figures. The sync state holds,
per source object, the link to its target id, the values last exported and its escrow (the
failures waiting for a retry, reference entra-and-galaxy.md §1.8).
"""

from __future__ import annotations

import uuid

from emulator.store import Store

JOBS = "entra_provisioning_jobs"
SETTINGS = "entra_provisioning_settings"
SYNC = "entra_sync_state"

STATUSES = ("NotConfigured", "NotRun", "Active", "Paused", "Quarantine")


class ProvisioningState:
    """Jobs, settings and sync records of every app, on the store."""

    def __init__(self, store: Store) -> None:
        self.jobs = store.table(JOBS)
        self.settings = store.table(SETTINGS)
        self.sync = store.table(SYNC)
        self.jobs.add_index("app", lambda d: d["appId"])
        self.settings.add_index("app", lambda d: d["appId"])
        self.sync.add_index("key", lambda d: (d["appId"], d["objectId"]))
        self.sync.add_index("app", lambda d: d["appId"])
        self.sync.add_index("escrowed", lambda d: d["appId"] if d.get("escrow") else None)

    # -- settings and job ------------------------------------------------------------------

    def get_settings(self, app_id: str) -> dict | None:
        found = self.settings.find_one("app", app_id)
        return found[1]["settings"] if found else None

    def put_settings(self, app_id: str, settings: dict) -> None:
        found = self.settings.find_one("app", app_id)
        doc = {"appId": app_id, "settings": settings}
        if found:
            self.settings.put(found[0], doc)
        else:
            self.settings.insert(doc)

    def job(self, app_id: str) -> dict:
        found = self.jobs.find_one("app", app_id)
        if found:
            return found[1]
        return {
            "appId": app_id,
            # Jobs made since Dec 2018 have ids starting "scim" (reference §1.1, S2).
            "jobId": f"scim.{uuid.UUID(app_id).hex}.{uuid.uuid5(uuid.NAMESPACE_URL, app_id).hex[:12]}",
            "status": "NotRun",
            "watermark": 0,
            "initialPending": True,
            "cycleCount": 0,
            "lastCycle": None,
            "nextCycleAt": None,
            "quarantine": None,
            "stagedDeletes": [],
            "allowDeletes": False,
            "lastError": None,
            "notifications": [],
        }

    def update_job(self, app_id: str, **changes: object) -> dict:
        found = self.jobs.find_one("app", app_id)
        doc = {**(found[1] if found else self.job(app_id)), **changes}
        if found:
            self.jobs.put(found[0], doc)
        else:
            self.jobs.insert(doc)
        return doc

    # -- sync records ------------------------------------------------------------------------

    def record(self, app_id: str, object_id: str) -> dict | None:
        found = self.sync.find_one("key", (app_id, object_id))
        return found[1] if found else None

    def save_record(self, app_id: str, object_id: str, **fields: object) -> dict:
        found = self.sync.find_one("key", (app_id, object_id))
        base = found[1] if found else {"appId": app_id, "objectId": object_id, "escrow": None}
        doc = {**base, **fields}
        if found:
            self.sync.put(found[0], doc)
        else:
            self.sync.insert(doc)
        return doc

    def drop_record(self, app_id: str, object_id: str) -> None:
        found = self.sync.find_one("key", (app_id, object_id))
        if found:
            self.sync.remove(found[0])

    def records(self, app_id: str) -> list[dict]:
        return [self.sync.docs[i] for i in self.sync.lookup("app", app_id)]

    def escrowed(self, app_id: str) -> list[dict]:
        return [self.sync.docs[i] for i in self.sync.lookup("escrowed", app_id)]

    def clear_escrows(self, app_id: str) -> None:
        for record in self.escrowed(app_id):
            self.save_record(app_id, record["objectId"], escrow=None)
