"""Reading a scenario: a built-in name or a TOML file, validated completely before use.

Every check happens here, at load time, so `apply_scenario` never stops halfway through a
tenant. Problems are collected rather than raised one at a time, so a person fixes a file in one
pass; each names the file and either the line (TOML syntax, as tomllib reports it) or the field
path (`users[3].manager`), since a value that parses but means nothing has no line in tomllib.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import re
import tomllib
import uuid
from collections.abc import Collection
from pathlib import Path

from emulator.entra.directory import USER_PROFILE_FIELDS
from emulator.hashing import looks_like_password_hash
from emulator.scenarios.model import (
    DEFAULT_APP_NAME,
    GalaxyUser,
    Scenario,
    ScenarioApp,
    ScenarioGroup,
    ScenarioRole,
    ScenarioTenant,
    ScenarioUser,
)

BUILTIN_SCENARIOS: tuple[str, ...] = ("demo", "empty", "large")
# The built-in scenario files are package data (pyproject.toml), so they are found the same way
# in a source checkout, an editable install, a wheel and the Docker image.
BUILTIN_DIR = Path(__file__).parent / "builtin"

DEFAULT_TENANT_NAME = "Contoso"
DEFAULT_DOMAIN = "contoso.onmicrosoft.com"
# Namespace for tenant ids derived from a scenario's name (uuid5 of "scim-emulator scenarios").
SCENARIO_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:scim-emulator:scenarios")

# The plain string fields of an Entra user that a scenario may set, as Graph spells them; they
# are the sources of the default attribute mapping (reference entra-and-galaxy.md §1.5).
USER_ATTRIBUTES = tuple(f for f in USER_PROFILE_FIELDS if f not in ("userPrincipalName", "displayName"))
TOP_KEYS = ("scenario", "tenant", "users", "groups", "app", "galaxy")
SCENARIO_KEYS = ("name", "description")
TENANT_KEYS = ("id", "displayName", "primaryDomain")
USER_KEYS = (
    "id",
    "userPrincipalName",
    "displayName",
    *USER_ATTRIBUTES,
    "enabled",
    "manager",
    "password",
    "passwordHash",
    "deleted",
)
GROUP_KEYS = ("id", "displayName", "description", "mailNickname", "members")
APP_KEYS = ("id", "appId", "displayName", "assignments", "roles", "provisioning", "saml")
ROLE_KEYS = ("value", "displayName")
ASSIGNMENT_KEYS = ("principal", "role")
GALAXY_KEYS = ("users", "sso")
GALAXY_USER_KEYS = ("email", "password", "passwordHash", "displayName", "roles")

# Names people bring from Graph or other tools for keys this format spells differently.
KEY_HINTS = {
    "upn": "userPrincipalName",
    "accountEnabled": "enabled",
    "objectId": "id",
    "email": "mail",
    "name": "displayName",
    "members": "assignments",
}
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")  # name@domain, the shape Entra checks for a UPN or mail
DOMAIN = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
MAX_LISTED = 25


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; the message names the file and each line or field."""

    def __init__(
        self,
        source: str,
        problems: list[str],
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.source = source
        self.problems = problems
        self.line = line
        self.column = column
        super().__init__(_format(source, problems, line, column))


def _format(source: str, problems: list[str], line: int | None, column: int | None) -> str:
    where = source if line is None else f"{source}:{line}:{column}"
    if len(problems) == 1:
        return f"{where}: {problems[0]}"
    listed = [f"  - {p}" for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        listed.append(f"  ... and {len(problems) - MAX_LISTED} more")
    return f"{where}: {len(problems)} problems:\n" + "\n".join(listed)


# -- finding and parsing ---------------------------------------------------------------------


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name (`demo`, `empty`, `large`) or a scenario file by path.

    A built-in name wins over a file of the same name in the working folder; write `./demo` to
    mean the file.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, str) and text in BUILTIN_SCENARIOS:
        if text == "large":
            from emulator.scenarios.large import build_large

            return scenario_from_dict(build_large(), source="built-in scenario 'large'", default_name="large")
        return load_file(BUILTIN_DIR / f"{text}.toml")
    path = Path(name_or_path)
    if path.is_file():
        return load_file(path)
    if path.exists():
        raise ScenarioError(text, ["is not a file"])
    if path.suffix or "/" in text or "\\" in text:
        raise ScenarioError(text, ["no such scenario file"])
    raise ScenarioError(
        text,
        [
            f"unknown scenario; the built-in ones are {', '.join(BUILTIN_SCENARIOS)}, "
            "or give the path to a .toml file"
        ],
    )


def load_file(path: Path) -> Scenario:
    """Parse and validate one TOML scenario file."""
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(source, [f"cannot be read: {exc.strerror or exc}"]) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScenarioError(source, ["not UTF-8 text, as TOML requires"], line=line, column=column) from exc
    return load_text(text, source=source, default_name=path.stem)


def load_text(text: str, *, source: str = "<scenario>", default_name: str = "scenario") -> Scenario:
    """Parse and validate a scenario given as TOML text (an upload, or an export read back);
    `source` names it in messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(source, text, exc) from exc
    return scenario_from_dict(raw, source=source, default_name=default_name)


def _syntax_error(source: str, text: str, exc: tomllib.TOMLDecodeError) -> ScenarioError:
    """tomllib puts the position in its message ("(at line 3, column 7)"); lift it out."""
    message = str(exc)
    found = TOML_POSITION.search(message)
    if found:
        return ScenarioError(
            source,
            [f"invalid TOML: {message[: found.start()]}"],
            line=int(found.group(1)),
            column=int(found.group(2)),
        )
    if "end of document" in message:
        line = text.count("\n") + 1
        return ScenarioError(source, [f"invalid TOML: {message}"], line=line, column=1)
    return ScenarioError(source, [f"invalid TOML: {message}"])


# -- validation ------------------------------------------------------------------------------


def scenario_from_dict(raw: dict, *, source: str, default_name: str) -> Scenario:
    """Validate parsed TOML (or the generator's equivalent dict) and resolve ids and defaults."""
    check = _Checker()
    top = check.table(raw, "", TOP_KEYS, "a TOML document") or {}

    head = check.table(top.get("scenario", {}), "scenario", SCENARIO_KEYS, "a table ([scenario])") or {}
    name = check.string(head, "name", "scenario") or default_name
    description = check.string(head, "description", "scenario") or ""

    tenant_table = check.table(top.get("tenant", {}), "tenant", TENANT_KEYS, "a table ([tenant])") or {}
    tenant_id = check.guid(tenant_table, "id", "tenant") or str(
        uuid.uuid5(SCENARIO_NAMESPACE, f"tenant:{name}")
    )
    domain = check.string(tenant_table, "primaryDomain", "tenant") or DEFAULT_DOMAIN
    if not DOMAIN.match(domain):
        check.problem(
            "tenant.primaryDomain", f"{domain!r} is not a domain name such as contoso.onmicrosoft.com"
        )
    tenant = ScenarioTenant(
        id=tenant_id,
        display_name=check.string(tenant_table, "displayName", "tenant") or DEFAULT_TENANT_NAME,
        primary_domain=domain,
    )
    namespace = uuid.UUID(tenant_id)

    users, user_refs = _users(check, top.get("users"), namespace)
    groups, group_refs, group_members = _groups(check, top.get("groups"), namespace)
    refs = _principals(check, user_refs, group_refs)
    _check_managers(check, top.get("users"), user_refs)
    _check_members(check, group_members, refs, group_refs)
    app = _app(check, top.get("app", {}), namespace, refs)
    galaxy_users = _galaxy(check, top.get("galaxy", {}))
    galaxy_sso = _galaxy_sso(check, top.get("galaxy", {}))
    _check_unique_ids(check, users, groups, app)

    if check.problems:
        raise ScenarioError(source, sorted(check.problems, key=_file_order))
    return Scenario(
        name=name,
        description=description,
        tenant=tenant,
        users=tuple(users),
        groups=tuple(groups),
        app=app,
        galaxy_users=tuple(galaxy_users),
        galaxy_sso=galaxy_sso,
        source=source,
    )


def _users(check: _Checker, value: object, namespace: uuid.UUID) -> tuple[list[ScenarioUser], dict[str, str]]:
    """The users, and the path of each by lower-cased userPrincipalName (for references)."""
    users: list[ScenarioUser] = []
    seen: dict[str, str] = {}
    for path, entry in check.tables(value, "users", "[[users]]"):
        table = check.table(entry, path, USER_KEYS, "a table ([[users]])")
        if table is None:
            continue
        upn = check.address(table, "userPrincipalName", path, required=True)
        display_name = check.string(table, "displayName", path, required=True)
        attributes = {}
        for key in USER_ATTRIBUTES:
            found = check.address(table, key, path) if key == "mail" else check.string(table, key, path)
            if found is not None:
                attributes[key] = found
        enabled = check.boolean(table, "enabled", path, True)
        deleted = check.boolean(table, "deleted", path, False)
        manager = check.string(table, "manager", path)
        password = check.string(table, "password", path)
        password_hash = check.password_hash(table, "passwordHash", path)
        if password is not None and password_hash is not None:
            check.problem(f"{path}.passwordHash", "give password or passwordHash, not both")
        object_id = check.guid(table, "id", path)
        if upn is None:
            continue
        if upn.lower() in seen:
            check.problem(
                f"{path}.userPrincipalName",
                f"{upn!r} is already the userPrincipalName of {seen[upn.lower()]}",
            )
            continue
        seen[upn.lower()] = path
        if display_name is None:
            continue
        users.append(
            ScenarioUser(
                id=object_id or str(uuid.uuid5(namespace, f"user:{upn.lower()}")),
                user_principal_name=upn,
                display_name=display_name,
                attributes=attributes,
                enabled=enabled,
                manager=manager,
                password=password,
                deleted=deleted,
                password_hash=password_hash,
            )
        )
    return users, seen


def _groups(
    check: _Checker, value: object, namespace: uuid.UUID
) -> tuple[list[ScenarioGroup], dict[str, str], list[tuple[str, list[tuple[str, str]]]]]:
    """The groups, their paths by lower-cased name, and (name, members) for checking."""
    groups: list[ScenarioGroup] = []
    seen: dict[str, str] = {}
    members_of: list[tuple[str, list[tuple[str, str]]]] = []
    for path, entry in check.tables(value, "groups", "[[groups]]"):
        table = check.table(entry, path, GROUP_KEYS, "a table ([[groups]])")
        if table is None:
            continue
        name = check.string(table, "displayName", path, required=True)
        description = check.string(table, "description", path)
        nickname = check.string(table, "mailNickname", path)
        members = check.strings(table, "members", path)
        object_id = check.guid(table, "id", path)
        if name is None:
            continue
        if name.lower() in seen:
            check.problem(
                f"{path}.displayName", f"{name!r} is already the displayName of {seen[name.lower()]}"
            )
            continue
        seen[name.lower()] = path
        members_of.append((name, members))
        groups.append(
            ScenarioGroup(
                id=object_id or str(uuid.uuid5(namespace, f"group:{name.lower()}")),
                display_name=name,
                description=description,
                mail_nickname=nickname,
                members=tuple(m for _, m in members),
            )
        )
    return groups, seen, members_of


def _principals(check: _Checker, user_refs: dict[str, str], group_refs: dict[str, str]) -> dict[str, str]:
    """What each reference names ("user" or "group"); a name that is both is refused, since a
    member or assignment written with it would be ambiguous."""
    for key, path in group_refs.items():
        if key in user_refs:
            check.problem(
                f"{path}.displayName",
                f"is also the userPrincipalName of {user_refs[key]}, which would make references ambiguous",
            )
    return {**dict.fromkeys(group_refs, "group"), **dict.fromkeys(user_refs, "user")}


def _check_managers(check: _Checker, value: object, user_refs: dict[str, str]) -> None:
    if not isinstance(value, list):
        return
    for i, entry in enumerate(value):
        if not isinstance(entry, dict) or not isinstance(entry.get("manager"), str):
            continue
        manager, own = entry["manager"], entry.get("userPrincipalName")
        path = f"users[{i}].manager"
        if not manager.strip():
            continue  # already reported as empty
        if isinstance(own, str) and manager.lower() == own.lower():
            check.problem(path, "a user cannot be their own manager")
        elif manager.lower() not in user_refs:
            check.problem(path, f"{manager!r} is not the userPrincipalName of a user in this scenario")


def _check_members(
    check: _Checker,
    group_members: list[tuple[str, list[tuple[str, str]]]],
    refs: dict[str, str],
    group_refs: dict[str, str],
) -> None:
    """Members name users or groups of this scenario, once each; nested groups form no cycle."""
    nested: dict[str, list[str]] = {}
    for name, members in group_members:
        seen: dict[str, str] = {}
        nested[name.lower()] = []
        for member_path, member in members:
            key = member.lower()
            if key in seen:
                check.problem(member_path, f"{member!r} is already listed as {seen[key]}")
                continue
            seen[key] = member_path
            if key == name.lower():
                check.problem(member_path, "a group cannot be a member of itself")
            elif key not in refs:
                check.problem(
                    member_path,
                    f"{member!r} is neither the userPrincipalName of a user nor the displayName "
                    "of a group in this scenario",
                )
            elif refs[key] == "group":
                nested[name.lower()].append(key)
    names = {name.lower(): name for name, _ in group_members}
    for cycle in _cycles(nested):
        shown = " → ".join(repr(names[k]) for k in cycle)
        check.problem(f"{group_refs[cycle[0]]}.members", f"nested groups form a cycle: {shown}")


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each cycle of group nesting once, as the path that closes it (depth-first, iterative so
    a long chain of nested groups cannot exhaust the recursion limit)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    found: list[list[str]] = []
    for start in graph:
        if state.get(start):
            continue
        path: list[str] = [start]
        todo = [iter(graph.get(start, ()))]
        state[start] = 1
        while todo:
            child = next(todo[-1], None)
            if child is None:
                state[path.pop()] = 2
                todo.pop()
            elif state.get(child) == 1:
                found.append([*path[path.index(child) :], child])
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                todo.append(iter(graph.get(child, ())))
    return found


def _app(check: _Checker, value: object, namespace: uuid.UUID, refs: dict[str, str]) -> ScenarioApp:
    table = check.table(value, "app", APP_KEYS, "a table ([app])") or {}
    name = check.string(table, "displayName", "app") or DEFAULT_APP_NAME
    roles = _roles(check, table.get("roles"))
    declared = {r.value.lower(): r.value for r in roles}
    assignments = []
    assignment_roles: dict[str, str] = {}
    seen: dict[str, str] = {}
    for path, principal, role in _assignment_entries(check, table.get("assignments")):
        key = principal.lower()
        if key in seen:
            check.problem(path, f"{principal!r} is already assigned in {seen[key]}")
        elif key not in refs:
            check.problem(
                path,
                f"{principal!r} is neither the userPrincipalName of a user nor the displayName "
                "of a group in this scenario",
            )
        elif role is not None and role.lower() not in declared:
            known = ", ".join(r.value for r in roles) or "none are declared in [[app.roles]]"
            check.problem(f"{path}.role", f"{role!r} is not a role of the app (roles: {known})")
        else:
            seen[key] = path
            assignments.append(principal)
            if role is not None:
                assignment_roles[key] = declared[role.lower()]
    provisioning = _free_table(check, table, "provisioning", "app")
    saml = _free_table(check, table, "saml", "app")
    return ScenarioApp(
        id=check.guid(table, "id", "app") or str(uuid.uuid5(namespace, f"app:{name.lower()}")),
        app_id=check.guid(table, "appId", "app") or str(uuid.uuid5(namespace, f"appId:{name.lower()}")),
        display_name=name,
        assignments=tuple(assignments),
        provisioning=copy.deepcopy(provisioning),
        saml=copy.deepcopy(saml),
        roles=tuple(roles),
        assignment_roles=assignment_roles,
    )


def _roles(check: _Checker, value: object) -> list[ScenarioRole]:
    """`[[app.roles]]`: each a value (no spaces, unique case-insensitively) and a display name."""
    roles: list[ScenarioRole] = []
    seen: dict[str, str] = {}
    for path, entry in check.tables(value, "app.roles", "[[app.roles]]"):
        table = check.table(entry, path, ROLE_KEYS, "a table ([[app.roles]])")
        if table is None:
            continue
        role_value = check.string(table, "value", path, required=True)
        display_name = check.string(table, "displayName", path)
        if role_value is None:
            continue
        if any(c.isspace() for c in role_value):
            check.problem(
                f"{path}.value", f"{role_value!r} has a space; a role value is one word, e.g. DataAdmin"
            )
        elif role_value.lower() in seen:
            check.problem(
                f"{path}.value", f"{role_value!r} is already the value of {seen[role_value.lower()]}"
            )
        else:
            seen[role_value.lower()] = path
            roles.append(ScenarioRole(role_value, display_name))
    return roles


def _assignment_entries(check: _Checker, value: object) -> list[tuple[str, str, str | None]]:
    """`assignments`: each a principal's name, or `{ principal = "...", role = "..." }` for an
    assignment with an app role; returns (path, principal, role or None)."""
    if value is None:
        return []
    if not isinstance(value, list):
        check.problem("app.assignments", f"expected an array of strings, found {_describe(value)}")
        return []
    found: list[tuple[str, str, str | None]] = []
    for i, entry in enumerate(value):
        path = f"app.assignments[{i}]"
        if isinstance(entry, dict):
            table = check.table(entry, path, ASSIGNMENT_KEYS, "a table")
            principal = check.string(table or {}, "principal", path, required=True)
            role = check.string(table or {}, "role", path)
            if principal is not None:
                found.append((path, principal, role))
        elif isinstance(entry, str) and entry.strip():
            found.append((path, entry, None))
        else:
            check.problem(
                path,
                "expected the name of a user or group, or a table { principal = ..., role = ... }, "
                f"found {_describe(entry)}",
            )
    return found


def _free_table(check: _Checker, table: dict, key: str, parent: str) -> dict | None:
    """A table passed through to a callback that validates it (settings of a product)."""
    value = table.get(key)
    if value is not None and not isinstance(value, dict):
        check.problem(f"{parent}.{key}", f"expected a table ([{parent}.{key}]), found {_describe(value)}")
        return None
    return value


def _galaxy_sso(check: _Checker, value: object) -> dict | None:
    table = check.table(value, "galaxy", GALAXY_KEYS, "a table ([galaxy])") or {}
    return copy.deepcopy(_free_table(check, table, "sso", "galaxy"))


def _galaxy(check: _Checker, value: object) -> list[GalaxyUser]:
    table = check.table(value, "galaxy", GALAXY_KEYS, "a table ([galaxy])") or {}
    found: list[GalaxyUser] = []
    seen: dict[str, str] = {}
    for path, entry in check.tables(table.get("users"), "galaxy.users", "[[galaxy.users]]"):
        user = check.table(entry, path, GALAXY_USER_KEYS, "a table ([[galaxy.users]])")
        if user is None:
            continue
        email = check.address(user, "email", path, required=True)
        password_hash = check.password_hash(user, "passwordHash", path)
        password = check.string(
            user, "password", path, required=password_hash is None and "passwordHash" not in user
        )
        if password is not None and password_hash is not None:
            check.problem(f"{path}.passwordHash", "give password or passwordHash, not both")
        display_name = check.string(user, "displayName", path)
        roles = check.strings(user, "roles", path)
        if email is None or (password is None and password_hash is None):
            continue
        if email.lower() in seen:
            check.problem(f"{path}.email", f"{email!r} is already the email of {seen[email.lower()]}")
            continue
        seen[email.lower()] = path
        found.append(GalaxyUser(email, password, display_name, tuple(r for _, r in roles), password_hash))
    return found


def _check_unique_ids(
    check: _Checker, users: list[ScenarioUser], groups: list[ScenarioGroup], app: ScenarioApp
) -> None:
    """objectIds are unique across the tenant, whatever the kind of object (as in Entra)."""
    owners: dict[str, str] = {}
    named = [(u.id, f"user {u.user_principal_name!r}") for u in users]
    named += [(g.id, f"group {g.display_name!r}") for g in groups]
    named.append((app.id, f"app {app.display_name!r}"))
    for object_id, owner in named:
        if object_id in owners:
            check.problem("id", f"{object_id} is the id of both {owners[object_id]} and {owner}")
        else:
            owners[object_id] = owner


def _file_order(problem: str) -> tuple[int, int]:
    """Problems sorted by section and entry as they appear in a file (stable within an entry),
    since cross-reference checks run after the per-entry ones."""
    found = re.match(r"(\w+)(?:\.users)?(?:\[(\d+)\])?", problem)
    if not found or found.group(1) not in TOP_KEYS:
        return (-1, -1)
    return (TOP_KEYS.index(found.group(1)), int(found.group(2) or -1))


# -- typed reads that record problems --------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(value: object) -> str:
    """A value as TOML names its type, so messages speak the language of the file."""
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "a boolean"),
        (str, "a string"),
        (int, "an integer"),
        (float, "a float"),
        (list, "an array"),
        (dt.datetime, "a date-time"),
        (dt.date, "a date"),
        (dt.time, "a time"),
    ]
    if isinstance(value, dict):
        return "a table"
    kind = next((name for t, name in kinds if isinstance(value, t)), type(value).__name__)
    shown = repr(value)
    return f"{kind} ({shown[:40]}{'...' if len(shown) > 40 else ''})"


class _Checker:
    """Reads typed values out of parsed TOML tables, recording a problem for each bad one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}" if path else message)

    def table(self, value: object, path: str, allowed: Collection[str], what: str) -> dict | None:
        """`value` if it is a table; each unknown key is reported with the allowed ones."""
        if not isinstance(value, dict):
            self.problem(path, f"expected {what}, found {_describe(value)}")
            return None
        for key in value:
            if key not in allowed:
                close = [KEY_HINTS[key]] if KEY_HINTS.get(key) in allowed else []
                close = close or difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.problem(
                    _join(path, key),
                    f"unknown key{hint}; allowed keys here: {', '.join(sorted(allowed))}",
                )
        return value

    def tables(self, value: object, path: str, header: str) -> list[tuple[str, object]]:
        """The entries of an array of tables (`[[users]]`), each with its path."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, f"expected an array of tables ({header}), found {_describe(value)}")
            return []
        return [(f"{path}[{i}]", entry) for i, entry in enumerate(value)]

    def string(self, table: dict, key: str, path: str, *, required: bool = False) -> str | None:
        """A non-empty string (an empty one would mean "no value": omit the key instead)."""
        where = _join(path, key)
        value = table.get(key)
        if value is None:
            if required:
                self.problem(where, "is required")
            return None
        if not isinstance(value, str):
            self.problem(where, f"expected a string, found {_describe(value)}")
            return None
        if not value.strip():
            self.problem(where, "is empty; omit the key to leave the field without a value")
            return None
        return value

    def boolean(self, table: dict, key: str, path: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem(_join(path, key), f"expected a boolean (true or false), found {_describe(value)}")
            return default
        return value

    def strings(self, table: dict, key: str, path: str) -> list[tuple[str, str]]:
        """An array of non-empty strings, each with its own path (for reference errors)."""
        where = _join(path, key)
        value = table.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(where, f"expected an array of strings, found {_describe(value)}")
            return []
        found = []
        for i, entry in enumerate(value):
            if not isinstance(entry, str) or not entry.strip():
                self.problem(f"{where}[{i}]", f"expected a non-empty string, found {_describe(entry)}")
            else:
                found.append((f"{where}[{i}]", entry))
        return found

    def guid(self, table: dict, key: str, path: str) -> str | None:
        """A GUID in the 8-4-4-4-12 form, lower-cased as Entra writes it."""
        value = self.string(table, key, path)
        if value is None:
            return None
        if not GUID.match(value):
            self.problem(_join(path, key), f"{value!r} is not a GUID (8-4-4-4-12 hexadecimal digits)")
            return None
        return str(uuid.UUID(value))

    def password_hash(self, table: dict, key: str, path: str) -> str | None:
        """A stored password hash as `emulator.hashing` writes it (what an export carries)."""
        value = self.string(table, key, path)
        if value is not None and not looks_like_password_hash(value):
            self.problem(
                _join(path, key),
                "is not a password hash as the emulator stores it (pbkdf2_sha256$rounds$salt$hash); "
                "write a plain password with `password` instead",
            )
            return None
        return value

    def address(self, table: dict, key: str, path: str, *, required: bool = False) -> str | None:
        """A name@domain string: a userPrincipalName, a mail address or a Galaxy login."""
        value = self.string(table, key, path, required=required)
        if value is not None and not ADDRESS.match(value):
            self.problem(_join(path, key), f"{value!r} does not look like name@domain")
            return None
        return value
