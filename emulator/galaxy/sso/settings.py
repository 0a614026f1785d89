"""Galaxy's single sign-on configuration, kept in the `galaxy_sso` table (one document).

It records how the administrator configured SSO (App Federation Metadata URL, fetched on save,
or manual entry) and what that yielded (`IdpTrust`), plus two emulator settings: whether RSA-SHA1
signatures are accepted (refused by default, reference saml.md §4 pitfall 8) and whether
IdP-initiated (unsolicited) responses are (allowed by default: Galaxy supports launching from
My Apps, reference entra-and-galaxy.md §2).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace

from emulator.clock import Clock
from emulator.galaxy.sso.metadata import IdpTrust, SpValues, certificate_summary
from emulator.store import Store

TABLE = "galaxy_sso"

SOURCE_METADATA_URL = "metadataUrl"
SOURCE_MANUAL = "manual"


@dataclass(frozen=True)
class SsoConfiguration:
    """One saved configuration; `revision` grows on every save so cached clients are rebuilt."""

    source: str
    trust: IdpTrust
    metadata_url: str | None = None
    allow_sha1: bool = False
    allow_unsolicited: bool = True
    updated: str = ""
    revision: int = 0

    def to_doc(self) -> dict:
        return {
            "source": self.source,
            "metadataUrl": self.metadata_url,
            "entraIdentifier": self.trust.entity_id,
            "loginUrl": self.trust.login_url,
            "logoutUrl": self.trust.logout_url,
            "certificates": [base64.b64encode(der).decode("ascii") for der in self.trust.certificates],
            "allowSha1": self.allow_sha1,
            "allowUnsolicited": self.allow_unsolicited,
            "updated": self.updated,
            "revision": self.revision,
        }

    @classmethod
    def from_doc(cls, doc: dict) -> SsoConfiguration:
        trust = IdpTrust(
            entity_id=doc["entraIdentifier"],
            login_url=doc["loginUrl"],
            certificates=tuple(base64.b64decode(c) for c in doc["certificates"]),
            logout_url=doc.get("logoutUrl"),
        )
        return cls(
            source=doc["source"],
            trust=trust,
            metadata_url=doc.get("metadataUrl"),
            allow_sha1=bool(doc.get("allowSha1", False)),
            allow_unsolicited=bool(doc.get("allowUnsolicited", True)),
            updated=doc.get("updated", ""),
            revision=int(doc.get("revision", 0)),
        )

    def to_json(self) -> dict:
        """The control API's view (and the SSO page's): certificates summarised, not raw."""
        view = self.to_doc()
        view["certificates"] = [certificate_summary(der) for der in self.trust.certificates]
        return view


class SsoSettings:
    """Reads and writes the one configuration document."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.table = store.table(TABLE)
        self.clock = clock

    def get(self) -> SsoConfiguration | None:
        for doc in self.table.values():
            return SsoConfiguration.from_doc(doc)
        return None

    def save(self, configuration: SsoConfiguration) -> SsoConfiguration:
        previous = self.get()
        saved = replace(
            configuration,
            updated=self.clock.timestamp(),
            revision=(previous.revision if previous else 0) + 1,
        )
        self.table.clear()
        self.table.insert(saved.to_doc())
        return saved

    def delete(self) -> bool:
        existed = len(self.table) > 0
        self.table.clear()
        return existed


def configuration_view(configuration: SsoConfiguration | None, sp: SpValues) -> dict:
    """`GET /_emulator/galaxy/sso`: the configuration (if any) and Galaxy's values for Entra."""
    view: dict = {"configured": configuration is not None, "galaxy": sp.to_json()}
    if configuration is not None:
        view.update(configuration.to_json())
    return view
