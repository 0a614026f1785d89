"""Loading a validated scenario into the Entra directory, and handing the rest to callbacks.

The order follows what the directory insists on: a manager, a member or an assignee must exist
before anything points at it. So: the tenant, every user, then managers; every group with its
user members, then nested groups; soft deletes; the app and its assignments. Provisioning
settings and Galaxy's direct users belong to other services, which this package must not
import (entra and galaxy never meet except over HTTP), so the caller passes callbacks for them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from emulator.entra.directory import EntraDirectory
from emulator.hashing import hash_password
from emulator.scenarios.loader import ScenarioError
from emulator.scenarios.model import Scenario


@dataclass(frozen=True)
class AppliedScenario:
    """What applying made, for the CLI's start-up banner and for tests."""

    name: str
    tenant_id: str
    app_object_id: str
    app_id: str
    users: int
    disabled_users: int
    deleted_users: int
    groups: int
    memberships: int
    assignments: int
    provisioning_configured: bool
    galaxy_users: int


def apply_scenario(
    scenario: Scenario,
    directory: EntraDirectory,
    *,
    configure_provisioning: Callable[[str, dict], None] | None = None,
    create_galaxy_user: Callable[[dict], None] | None = None,
    configure_saml: Callable[[str, dict], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AppliedScenario:
    """Create the scenario's tenant, objects and app in `directory`, which should be empty.

    Conflicts with objects already there are found before the first write, so a refused apply
    changes nothing. `configure_provisioning(app_object_id, table)` receives a copy of
    `[app.provisioning]` when the scenario has one; `create_galaxy_user(user)` receives each
    `[[galaxy.users]]` entry as a dict (email, password or passwordHash, roles, and displayName
    when given);
    `configure_saml(app_object_id, table)` receives `[app.saml]`. `[galaxy.sso]` is the caller's
    to apply (`scenario.galaxy_sso`): Galaxy's side must not be reached from here.
    Without a callback that part is skipped, and the summary says so. `progress(done, total)`
    hears about users and groups as they are made, for a progress bar on large scenarios.
    """
    _check_free(scenario, directory)
    directory.configure_tenant(
        tenant_id=scenario.tenant.id,
        display_name=scenario.tenant.display_name,
        primary_domain=scenario.tenant.primary_domain,
    )
    ids = scenario.principal_ids()
    # PBKDF2 is slow on purpose (about a tenth of a second here), so hash each distinct
    # password once and share the result: scenario passwords are documented demo secrets, and
    # 10,000 users of `large` would otherwise take many minutes.
    hashes: dict[str, str] = {}
    total, done = len(scenario.users) + len(scenario.groups), 0
    report = progress or (lambda done, total: None)
    for user in scenario.users:
        fields: dict = {
            "userPrincipalName": user.user_principal_name,
            "displayName": user.display_name,
            **user.attributes,
        }
        if not user.enabled:
            fields["accountEnabled"] = False
        if user.password is not None:
            if user.password not in hashes:
                hashes[user.password] = hash_password(user.password)
            fields["passwordHash"] = hashes[user.password]
        elif user.password_hash is not None:
            fields["passwordHash"] = user.password_hash
        directory.create_user(fields, object_id=user.id)
        done += 1
        if done % 500 == 0:
            report(done, total)
    for user in scenario.users:
        if user.manager is not None:
            directory.update_user(user.id, {"manager": ids[user.manager.lower()]})

    group_names = {g.display_name.lower() for g in scenario.groups}
    for group in scenario.groups:
        fields = {"displayName": group.display_name}
        if group.description is not None:
            fields["description"] = group.description
        if group.mail_nickname is not None:
            fields["mailNickname"] = group.mail_nickname
        members = [ids[m.lower()] for m in group.members if m.lower() not in group_names]
        directory.create_group(fields, members, object_id=group.id)
        done += 1
        if done % 50 == 0:
            report(done, total)
    report(total, total)
    for group in scenario.groups:
        for member in group.members:
            if member.lower() in group_names:
                directory.add_member(group.id, ids[member.lower()])

    for user in scenario.users:
        if user.deleted:
            directory.delete_user(user.id)

    app = directory.create_app(
        scenario.app.display_name, app_id=scenario.app.app_id, object_id=scenario.app.id
    )
    for role in scenario.app.roles:
        directory.add_app_role(app["id"], role.value, role.display_name)
    for principal in scenario.app.assignments:
        directory.assign(app["id"], ids[principal.lower()], scenario.app.role_of(principal))

    if scenario.app.saml is not None and configure_saml is not None:
        configure_saml(app["id"], copy.deepcopy(scenario.app.saml))
    configured = False
    if scenario.app.provisioning is not None and configure_provisioning is not None:
        configure_provisioning(app["id"], copy.deepcopy(scenario.app.provisioning))
        configured = True
    created = 0
    if create_galaxy_user is not None:
        for galaxy_user in scenario.galaxy_users:
            create_galaxy_user(galaxy_user.as_dict())
            created += 1

    return AppliedScenario(
        name=scenario.name,
        tenant_id=scenario.tenant.id,
        app_object_id=app["id"],
        app_id=app["appId"],
        users=len(scenario.users),
        disabled_users=sum(not u.enabled for u in scenario.users),
        deleted_users=sum(u.deleted for u in scenario.users),
        groups=len(scenario.groups),
        memberships=scenario.membership_count(),
        assignments=len(scenario.app.assignments),
        provisioning_configured=configured,
        galaxy_users=created,
    )


def _check_free(scenario: Scenario, directory: EntraDirectory) -> None:
    """Refuse, before writing anything, a scenario whose names or ids the directory already
    holds: the directory would reject them one by one, leaving half a tenant behind."""
    taken: list[str] = []

    def id_taken(object_id: str) -> bool:
        return any(t.find_one("id", object_id) for t in (directory.users, directory.groups, directory.apps))

    for user in scenario.users:
        if directory.users.find_one("upn", user.user_principal_name.lower()) or id_taken(user.id):
            taken.append(f"user {user.user_principal_name!r} (id {user.id})")
    for group in scenario.groups:
        if directory.groups.find_one("name", group.display_name.lower()) or id_taken(group.id):
            taken.append(f"group {group.display_name!r} (id {group.id})")
    app = scenario.app
    if (
        directory.apps.find_one("name", app.display_name.lower())
        or directory.apps.find_one("appId", app.app_id)
        or id_taken(app.id)
    ):
        taken.append(f"app {app.display_name!r} (id {app.id})")
    if taken:
        shown = ", ".join(taken[:10]) + (f" and {len(taken) - 10} more" if len(taken) > 10 else "")
        raise ScenarioError(
            scenario.source or scenario.name,
            [f"the directory already holds {shown}; apply a scenario to an empty directory (reset it first)"],
        )
