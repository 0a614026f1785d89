"""Attribute mappings of the Galaxy enterprise app: what each SCIM attribute is computed from.

Why a module of its own: the mappings are data a person edits (the portal's "Attribute mappings"
page), the planner evaluates them for every object in a cycle, and the defaults must match what a
new non-gallery SCIM app shows in Entra (reference entra-and-galaxy.md §1.5). Validation happens
in `AttributeMapping` itself, so a bad expression or an unknown source attribute is refused when a
mapping is saved, never discovered during a cycle; every mapping is compiled once, so
`evaluate_mappings` costs a handful of dict lookups per object.

Source objects are the directory's documents, with the camelCase keys listed in
`USER_SOURCE_ATTRIBUTES` and `GROUP_SOURCE_ATTRIBUTES`; the engine adds the computed
`IsSoftDeleted` ("True"/"False") before evaluating.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from emulator.entra.directory import USER_PROFILE_FIELDS
from emulator.entra.provisioning.expressions import (
    Expression,
    ExpressionError,
    SourceView,
    parse_expression,
)

__all__ = [
    "APPLY_ON",
    "ENTERPRISE_USER",
    "GROUP_SOURCE_ATTRIBUTES",
    "REFERENCE_ATTRIBUTES",
    "SOURCE_ATTRIBUTES",
    "SOURCE_TYPES",
    "USER_SOURCE_ATTRIBUTES",
    "AttributeMapping",
    "MappingError",
    "default_group_mappings",
    "default_user_mappings",
    "evaluate_mappings",
    "mappings_from_json",
    "mappings_to_json",
    "matching_mappings",
]

ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

SourceType = Literal["direct", "expression", "constant"]
ApplyOn = Literal["always", "create", "update"]

SOURCE_TYPES: tuple[str, ...] = ("direct", "expression", "constant")
# Entra's "Apply this mapping": Always / Only during object creation / Only during updating.
APPLY_ON: tuple[str, ...] = ("always", "create", "update")

USER_SOURCE_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "objectId",
        *USER_PROFILE_FIELDS,
        "manager",  # the manager's objectId; the engine resolves it to a target id
        "accountEnabled",  # a bool
        "IsSoftDeleted",  # computed by the engine: "True" / "False"
    }
)
"""Entra user attributes a mapping may read."""

GROUP_SOURCE_ATTRIBUTES: frozenset[str] = frozenset(
    {"objectId", "displayName", "description", "mailNickname", "members"}
)
"""Entra group attributes a mapping may read; `members` is the list of member objectIds."""

SOURCE_ATTRIBUTES: dict[str, frozenset[str]] = {
    "user": USER_SOURCE_ATTRIBUTES,
    "group": GROUP_SOURCE_ATTRIBUTES,
}
"""The known source attributes by object kind, for `from_json(..., kind=...)`."""

REFERENCE_ATTRIBUTES: frozenset[str] = frozenset({"manager", "members"})
"""Source attributes holding objectIds that the engine must turn into target ids (reference §1.4:
"resolve references (manager, group members)")."""

# A SCIM attribute path as Entra writes targets: optional schema URN, a name, an optional value
# filter, an optional sub-attribute (`emails[type eq "work"].value`, `name.givenName`, `urn:...:manager`).
_NAME = r"[A-Za-z$][A-Za-z0-9_$-]*"
_TARGET_PATH = re.compile(rf"(?:urn:[^\s\[\]\"]+:)?{_NAME}(?:\[[^\[\]]+\])?(?:\.{_NAME})?", re.IGNORECASE)

_JSON_FIELDS = ("target", "sourceType", "source", "matchingPrecedence", "applyOn", "defaultValue")


class MappingError(ValueError):
    """A mapping that cannot be saved; `field` names the offending JSON field (e.g. `source`,
    or `mappings[3].source` for a list) so the editor can point at it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _present(raw: Any) -> Any:
    """A raw source value, or None when it is null, "" or an empty list (reference §1.4/§1.7:
    null source values are skipped)."""
    if raw is None or raw == "" or raw == [] or raw == ():
        return None
    return raw


@dataclass(frozen=True)
class AttributeMapping:
    """One row of the portal's attribute-mapping table.

    `source` is the kind of source ("direct": an Entra attribute name; "expression": expression
    text; "constant": a literal string) and `source_value` its text. `matching_precedence` is None
    for ordinary attributes, 1 for the attribute objects are matched on first. `apply_on` is
    Entra's "Apply this mapping". `default_value` is sent when the source evaluates to null.

    Construction validates and compiles; `known_attributes`, when given, is the set of source
    attribute names the mapping may read (not part of equality or of the JSON form).
    """

    target: str
    source: SourceType
    source_value: str
    matching_precedence: int | None = None
    apply_on: ApplyOn = "always"
    default_value: str | None = None
    known_attributes: frozenset[str] | None = field(default=None, compare=False, repr=False)
    _run: Callable[[SourceView], Any] = field(init=False, compare=False, repr=False)
    _expression: Expression | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.target, str) or not _TARGET_PATH.fullmatch(self.target):
            raise MappingError(
                "target",
                f"{self.target!r} is not a SCIM attribute path such as userName, name.givenName or "
                'emails[type eq "work"].value',
            )
        if self.source not in SOURCE_TYPES:
            raise MappingError("sourceType", f"{self.source!r} is not one of {', '.join(SOURCE_TYPES)}")
        if not isinstance(self.source_value, str) or not self.source_value.strip():
            raise MappingError("source", f"a {self.source} mapping needs a non-empty source")
        precedence = self.matching_precedence
        if precedence is not None and (
            not isinstance(precedence, int) or isinstance(precedence, bool) or precedence < 1
        ):
            raise MappingError(
                "matchingPrecedence", f"{precedence!r} is not null or a whole number from 1 (first)"
            )
        if self.apply_on not in APPLY_ON:
            raise MappingError("applyOn", f"{self.apply_on!r} is not one of {', '.join(APPLY_ON)}")
        if self.default_value is not None and not isinstance(self.default_value, str):
            raise MappingError("defaultValue", f"{self.default_value!r} is not a string or null")
        self._compile()

    def _compile(self) -> None:
        set_ = object.__setattr__  # the dataclass is frozen; these are derived, once
        expression: Expression | None = None
        if self.source == "direct":
            name = self.source_value.strip()
            if self.known_attributes is not None:
                spelled = {known.casefold(): known for known in self.known_attributes}
                canonical = spelled.get(name.casefold())
                if canonical is None:
                    known = ", ".join(sorted(self.known_attributes))
                    raise MappingError("source", f"unknown source attribute {name!r}; known: {known}")
                name = canonical
            set_(self, "source_value", name)
            folded = name.casefold()

            def run(view: SourceView) -> Any:
                return _present(view.get(name, folded))

        elif self.source == "expression":
            try:
                expression = parse_expression(self.source_value, self.known_attributes)
            except ExpressionError as error:
                raise MappingError("source", f"invalid expression: {error.message}") from None
            set_(self, "source_value", expression.text)
            run = expression.evaluate

        else:
            constant = self.source_value

            def run(view: SourceView) -> Any:
                return constant

        default = self.default_value
        if default is not None and default != "":

            def run_or_default(view: SourceView, inner: Callable[[SourceView], Any] = run) -> Any:
                value = inner(view)
                return default if value is None else value

            set_(self, "_run", run_or_default)
        else:
            set_(self, "_run", run)
        set_(self, "_expression", expression)

    @property
    def expression(self) -> Expression | None:
        """The compiled expression of an expression mapping, else None."""
        return self._expression

    @property
    def attributes(self) -> frozenset[str]:
        """The source attributes this mapping reads: the engine re-exports it when one changes."""
        if self.source == "direct":
            return frozenset({self.source_value})
        if self._expression is not None:
            return self._expression.attributes
        return frozenset()

    @property
    def is_reference(self) -> bool:
        """A direct mapping of `manager` or `members`: its value is objectIds to resolve."""
        return self.source == "direct" and self.source_value in REFERENCE_ATTRIBUTES

    def applies(self, *, creating: bool) -> bool:
        """Whether the mapping flows when the object is being created (True) or updated (False)."""
        return self.apply_on == "always" or (self.apply_on == "create") == creating

    def value(self, source: Mapping[str, Any] | SourceView) -> Any:
        """This mapping's value for one source object, or None (skip it)."""
        view = source if isinstance(source, SourceView) else SourceView(source)
        return self._run(view)

    def to_json(self) -> dict[str, Any]:
        """The stored and API form; `from_json(to_json())` gives back an equal mapping."""
        return {
            "target": self.target,
            "sourceType": self.source,
            "source": self.source_value,
            "matchingPrecedence": self.matching_precedence,
            "applyOn": self.apply_on,
            "defaultValue": self.default_value,
        }

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, Any],
        *,
        known_attributes: frozenset[str] | None = None,
        kind: Literal["user", "group"] | None = None,
    ) -> AttributeMapping:
        """Validate and build a mapping from its JSON form; raise `MappingError` naming the field.

        `sourceType` and `applyOn` are matched case-insensitively; `matchingPrecedence`,
        `applyOn` and `defaultValue` may be omitted (null, "always", null). Source attribute
        names are checked against `known_attributes`, or the user/group set picked by `kind`.
        """
        known_attributes = _known_for(known_attributes, kind)
        if not isinstance(data, Mapping):
            raise MappingError("mapping", f"expected a JSON object, not {type(data).__name__}")
        unknown = sorted(str(key) for key in data if key not in _JSON_FIELDS)
        if unknown:
            raise MappingError(unknown[0], f"unknown field; a mapping has {', '.join(_JSON_FIELDS)}")
        for required in ("target", "sourceType", "source"):
            if data.get(required) is None:
                raise MappingError(required, "is required")
        for name in ("target", "sourceType", "source", "applyOn"):
            if name in data and data[name] is not None and not isinstance(data[name], str):
                raise MappingError(name, f"expected a string, not {type(data[name]).__name__}")
        source_type = data["sourceType"].strip().lower()
        apply_on = (data.get("applyOn") or "always").strip().lower()
        return cls(
            target=data["target"].strip(),
            source=source_type,  # type: ignore[arg-type]  # validated in __post_init__
            source_value=data["source"],
            matching_precedence=data.get("matchingPrecedence"),
            apply_on=apply_on,  # type: ignore[arg-type]
            default_value=data.get("defaultValue"),
            known_attributes=known_attributes,
        )


def _known_for(known_attributes: frozenset[str] | None, kind: str | None) -> frozenset[str] | None:
    if kind is None:
        return known_attributes
    if kind not in SOURCE_ATTRIBUTES:
        raise ValueError(f"kind must be 'user' or 'group', not {kind!r}")
    return SOURCE_ATTRIBUTES[kind] if known_attributes is None else known_attributes


def mappings_to_json(mappings: Iterable[AttributeMapping]) -> list[dict[str, Any]]:
    """The JSON form of a mapping list, in order."""
    return [mapping.to_json() for mapping in mappings]


def mappings_from_json(
    items: Any,
    *,
    known_attributes: frozenset[str] | None = None,
    kind: Literal["user", "group"] | None = None,
    field_name: str = "mappings",
) -> list[AttributeMapping]:
    """Validate a whole mapping list as the portal saves it.

    Beyond each row: targets are unique (two rows writing one attribute would race), matching
    precedences are unique, and at least one attribute is a matching attribute, since the engine
    must query the target before it creates anything (reference §1.4). [U] Entra's exact wording
    for these refusals is not documented.
    """
    known_attributes = _known_for(known_attributes, kind)
    if not isinstance(items, list):
        raise MappingError(field_name, f"expected a list of mappings, not {type(items).__name__}")
    mappings: list[AttributeMapping] = []
    targets: dict[str, int] = {}
    precedences: dict[int, int] = {}
    for index, item in enumerate(items):
        where = f"{field_name}[{index}]"
        try:
            mapping = AttributeMapping.from_json(item, known_attributes=known_attributes)
        except MappingError as error:
            raise MappingError(f"{where}.{error.field}", error.message) from None
        folded = mapping.target.casefold()
        if folded in targets:
            raise MappingError(
                f"{where}.target", f"{mapping.target!r} is already mapped by {field_name}[{targets[folded]}]"
            )
        targets[folded] = index
        precedence = mapping.matching_precedence
        if precedence is not None:
            if precedence in precedences:
                raise MappingError(
                    f"{where}.matchingPrecedence",
                    f"precedence {precedence} is already used by {field_name}[{precedences[precedence]}]",
                )
            precedences[precedence] = index
        mappings.append(mapping)
    if not precedences:
        raise MappingError(
            field_name, "at least one mapping must be a matching attribute (matchingPrecedence 1)"
        )
    return mappings


def evaluate_mappings(
    mappings: Sequence[AttributeMapping], source: Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
    """The target values of one object: {target path: value} for each mapping that applies.

    Null values are left out (reference §1.4, §1.7: never sent, never cleared). Direct values are
    copied as they are (strings; `accountEnabled` stays a bool); `manager` and `members` come back
    as the raw objectId / list of objectIds for the engine to resolve.
    """
    view = SourceView(source)
    result: dict[str, Any] = {}
    for mapping in mappings:
        apply_on = mapping.apply_on
        if apply_on != "always" and (apply_on == "create") != creating:
            continue
        value = mapping._run(view)
        if value is not None:
            result[mapping.target] = value
    return result


def matching_mappings(mappings: Iterable[AttributeMapping]) -> list[AttributeMapping]:
    """The matching attributes, first precedence first (reference §1.4 and §1.9 step 4)."""
    matching = [mapping for mapping in mappings if mapping.matching_precedence is not None]
    return sorted(matching, key=lambda mapping: mapping.matching_precedence or 0)


# --- defaults (reference §1.5) -----------------------------------------------------------------


def _direct(
    source: str, target: str, *, matching: int | None = None, known: frozenset[str]
) -> AttributeMapping:
    return AttributeMapping(target, "direct", source, matching_precedence=matching, known_attributes=known)


def _expression(text: str, target: str, *, known: frozenset[str]) -> AttributeMapping:
    return AttributeMapping(target, "expression", text, known_attributes=known)


def default_user_mappings() -> list[AttributeMapping]:
    """The user mappings a new non-gallery SCIM app ("customappsso" template) starts with, in the
    portal's order (reference §1.5, as shown in the portal [3P S19, S20])."""
    known = USER_SOURCE_ATTRIBUTES
    e = ENTERPRISE_USER
    return [
        # §1.5: the matching attribute, precedence 1.
        _direct("userPrincipalName", "userName", matching=1, known=known),
        # §1.5: the only expression of the defaults' `active`; yields the strings "True"/"False"
        # (§1.6 "Disable user": `"value":"False"`, a string).
        _expression('Switch([IsSoftDeleted], , "False", "True", "True", "False")', "active", known=known),
        # §1.5: plain copies.
        _direct("displayName", "displayName", known=known),
        _direct("jobTitle", "title", known=known),
        _direct("mail", 'emails[type eq "work"].value', known=known),
        _direct("preferredLanguage", "preferredLanguage", known=known),
        _direct("givenName", "name.givenName", known=known),
        _direct("surname", "name.familyName", known=known),
        # §1.5: the formatted name is an expression.
        _expression('Join(" ", [givenName], [surname])', "name.formatted", known=known),
        # §1.5: the work address (the MS tutorial [S1] uses type "other" for the office instead).
        _direct("physicalDeliveryOfficeName", 'addresses[type eq "work"].formatted', known=known),
        _direct("streetAddress", 'addresses[type eq "work"].streetAddress', known=known),
        _direct("city", 'addresses[type eq "work"].locality', known=known),
        _direct("state", 'addresses[type eq "work"].region', known=known),
        _direct("postalCode", 'addresses[type eq "work"].postalCode', known=known),
        _direct("country", 'addresses[type eq "work"].country', known=known),
        # §1.5: phone numbers by type.
        _direct("telephoneNumber", 'phoneNumbers[type eq "work"].value', known=known),
        _direct("mobile", 'phoneNumbers[type eq "mobile"].value', known=known),
        _direct("facsimileTelephoneNumber", 'phoneNumbers[type eq "fax"].value', known=known),
        # §1.5: mailNickname → externalId ("many vendors switch this to objectId").
        _direct("mailNickname", "externalId", known=known),
        # §1.5: enterprise extension; manager is a reference the engine resolves.
        _direct("employeeId", f"{e}:employeeNumber", known=known),
        _direct("department", f"{e}:department", known=known),
        _direct("manager", f"{e}:manager", known=known),
    ]


def default_group_mappings() -> list[AttributeMapping]:
    """The group mappings a new non-gallery SCIM app starts with (reference §1.5, last paragraph)."""
    known = GROUP_SOURCE_ATTRIBUTES
    return [
        # §1.5: groups are matched (and queried) by displayName (§1.3).
        _direct("displayName", "displayName", matching=1, known=known),
        _direct("objectId", "externalId", known=known),
        # §1.5/§1.6: members are objectIds here; the engine PATCHes their target ids.
        _direct("members", "members", known=known),
    ]
