"""SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (RFC 7644 §3.5.2): parse, resolve, evaluate.

Why hand-written: the one packaged parser we evaluated (scim2-filter-parser) rejects decimals such
as `1.5` and aims at transpiling to SQL, while we evaluate over plain dicts. The grammar is small
enough that a tokenizer plus a recursive-descent parser stays readable and reports errors a person
can act on ("expected an operator after 'userName' at character 10").

Three stages, so that a list request over 50,000 stored resources pays only for the third:

1. `parse_filter` turns text into an immutable tree of `Compare`, `Present`, `And`, `Or`, `Not`
   and `ValuePath` nodes (syntax only; names are kept as written).
2. `compile_filter` resolves every name against a `ResourceType` once (case-insensitively,
   URN-qualified or not), checks that each comparison makes sense for the attribute's type, and
   lowers the constants (lower-cased for caseExact=false strings, parsed instants for dateTime).
3. The result is a tree of closures: evaluating it is a few dict lookups and comparisons per
   resource, with no re-resolution and no string building.

`parse_path` reuses the same parser for PATCH paths (`emails[type eq "work"].value`).
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulator.scim.errors import ScimError, invalid_filter, invalid_path
from emulator.scim.schema import Attribute, AttributePath, ResourceType
from emulator.scim.values import is_secret, json_type, parse_instant

__all__ = [
    "And",
    "Compare",
    "Node",
    "Not",
    "Or",
    "PatchPath",
    "Predicate",
    "Present",
    "UnknownAttribute",
    "ValuePath",
    "compile_filter",
    "compile_node",
    "equality_lookup",
    "parse_filter",
    "parse_path",
]

Predicate = Callable[[dict], bool]

COMPARE_OPS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
_ALL_OPS = (*COMPARE_OPS, "pr")
_ORDERING_OPS = ("gt", "ge", "lt", "le")
_LOGICAL = ("and", "or", "not")  # never attribute names, so `a eq 1 or or b eq 2` fails at the second "or"
_SUBSTRING_OPS = ("co", "sw", "ew")


# --- the tree ----------------------------------------------------------------------------------
# `pos` is the 1-based character where the node starts; it only serves error messages, so it
# takes no part in equality (two filters that differ only in spacing are the same filter).


@dataclass(frozen=True)
class Compare:
    """`path op value`, e.g. `userName eq "bjensen"`; `op` is lower-cased, `value` is the JSON
    value (str, bool, None, int or float)."""

    path: str
    op: str
    value: Any
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Present:
    """`path pr`: the attribute has a non-empty value."""

    path: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class ValuePath:
    """`path[filter]`: some value of the complex attribute `path` matches `filter`, whose names
    are sub-attributes of `path`."""

    path: str
    filter: Node
    pos: int = field(default=0, compare=False)


Node = Compare | Present | And | Or | Not | ValuePath


class UnknownAttribute(ScimError):
    """A filter or path names an attribute the active profile does not define.

    A subclass so that callers can tell it from a malformed filter or path: the receiver in the
    `galaxy` profile skips PATCH operations on attributes it does not store, the way Galaxy
    ignores unsupported fields (reference entra-and-galaxy.md §2), but still rejects nonsense.
    """

    def __init__(self, name: str, detail: str, scim_type: str) -> None:
        super().__init__(400, detail, scim_type)
        self.name = name


# --- tokenizer ---------------------------------------------------------------------------------


class _Problem(Exception):
    """A syntax error at a position; turned into invalidFilter or invalidPath by the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _Token:
    kind: str  # "(" ")" "[" "]" "string" "word" "end"
    text: str
    pos: int  # 1-based
    value: Any = None

    def shown(self) -> str:
        return "the end of the text" if self.kind == "end" else f"'{self.text}' at character {self.pos}"


_PUNCTUATION = "()[]"
_WORD_STOP = frozenset(' \t\r\n()[]"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# RFC 7644 ATTRNAME is ALPHA *(ALPHA / DIGIT / "-" / "_"); `$ref` (RFC 7643 §2.3.7) needs "$".
_NAME = r"[A-Za-z$][A-Za-z0-9_$-]*"
_ATTR_PATH = re.compile(rf"(?:[Uu][Rr][Nn]:\S+:)?{_NAME}(?:\.{_NAME})?")
_SUB_ATTR = re.compile(rf"\.({_NAME})")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif c in _PUNCTUATION:
            tokens.append(_Token(c, c, i + 1))
            i += 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise _Problem(f"the string starting at character {i + 1} is not closed with '\"'")
            raw = text[i : j + 1]
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise _Problem(
                    f"the string {raw} at character {i + 1} is not a valid JSON string ({exc.msg})"
                ) from None
            tokens.append(_Token("string", raw, i + 1, value))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in _WORD_STOP:
                j += 1
            tokens.append(_Token("word", text[i:j], i + 1))
            i = j
    tokens.append(_Token("end", "", n + 1))
    return tokens


# --- parser ------------------------------------------------------------------------------------
# Precedence, loosest first (RFC 7644 §3.4.2.2, Table 4 and the text after it): or, and, not.
#   filter  = or
#   or      = and *("or" and)
#   and     = unary *("and" unary)
#   unary   = "not" "(" or ")" / "(" or ")" / attrExp / valuePath
#   attrExp = attrPath "pr" / attrPath compareOp compValue
# Inside a value path's brackets the same grammar applies, without nested brackets.


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        if token.kind != "end":
            self.i += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.lower() in words

    def expect(self, kind: str, why: str) -> _Token:
        token = self.take()
        if token.kind != kind:
            raise _Problem(f"expected '{kind}' {why}, found {token.shown()}")
        return token

    def parse_or(self, bracketed: bool) -> Node:
        node = self.parse_and(bracketed)
        while self.keyword("or"):
            self.take()
            node = Or(node, self.parse_and(bracketed))
        return node

    def parse_and(self, bracketed: bool) -> Node:
        node = self.parse_unary(bracketed)
        while self.keyword("and"):
            self.take()
            node = And(node, self.parse_unary(bracketed))
        return node

    def parse_unary(self, bracketed: bool) -> Node:
        token = self.peek()
        if self.keyword("not"):
            self.take()
            if self.peek().kind != "(":
                raise _Problem(
                    f"'not' at character {token.pos} must be followed by a parenthesised filter, "
                    f"as in not (title pr); found {self.peek().shown()}"
                )
            opening = self.take()
            inner = self.parse_or(bracketed)
            self.expect(")", f"to close the '(' at character {opening.pos}")
            return Not(inner)
        if token.kind == "(":
            self.take()
            inner = self.parse_or(bracketed)
            self.expect(")", f"to close the '(' at character {token.pos}")
            return inner
        return self.parse_attr_exp(bracketed)

    def attr_path(self) -> _Token:
        token = self.take()
        if token.kind == "end":
            raise _Problem("expected an attribute name, but the text ended")
        if token.kind != "word" or not _ATTR_PATH.fullmatch(token.text) or token.text.lower() in _LOGICAL:
            raise _Problem(f"expected an attribute name, found {token.shown()}")
        return token

    def parse_attr_exp(self, bracketed: bool) -> Node:
        name = self.attr_path()
        if self.peek().kind == "[":
            opening = self.take()
            if bracketed:
                raise _Problem(f"value paths cannot be nested ('[' at character {opening.pos})")
            inner = self.parse_or(True)
            self.expect("]", f"to close the '[' at character {opening.pos}")
            return ValuePath(name.text, inner, name.pos)
        token = self.take()
        op = token.text.lower() if token.kind == "word" else ""
        if op not in _ALL_OPS:
            raise _Problem(
                f"expected an operator ({', '.join(_ALL_OPS)}) after '{name.text}', found {token.shown()}"
            )
        if op == "pr":
            return Present(name.text, name.pos)
        return Compare(name.text, op, self.comp_value(name, op), name.pos)

    def comp_value(self, name: _Token, op: str) -> Any:
        token = self.take()
        if token.kind == "string":
            return token.value
        if token.kind == "word":
            lowered = token.text.lower()
            if lowered in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[lowered]
            if _NUMBER.fullmatch(token.text):
                if any(c in token.text for c in ".eE"):
                    return float(token.text)
                return int(token.text)
        raise _Problem(
            f"expected a value after '{name.text} {op}' (a \"quoted string\", a number, true, false or "
            f"null), found {token.shown()}"
        )


def _describe(text: str) -> str:
    return repr(text if len(text) <= 200 else text[:197] + "...")


def parse_filter(text: str) -> Node:
    """Parse a filter expression (syntax only); raise invalidFilter saying where it went wrong.

    An empty or blank filter is invalidFilter too: RFC 7644 §3.4.2.2's grammar has no empty
    filter, and reading `filter=` as "no filter" would answer a client whose filter value got
    lost on the way with every resource.
    """
    if not isinstance(text, str):
        raise invalid_filter(f"the filter must be a string, got {json_type(text)}")
    if not text.strip():
        raise invalid_filter(
            "the filter is empty; RFC 7644 §3.4.2.2 has no empty filter (leave it out instead)"
        )
    try:
        parser = _Parser(text)
        try:
            node = parser.parse_or(False)
        except RecursionError:
            raise _Problem("the filter is nested too deeply") from None
        token = parser.peek()
        if token.kind != "end":
            raise _Problem(f"unexpected {token.shown()} after a complete filter")
    except _Problem as problem:
        raise invalid_filter(f"invalid filter {_describe(text)}: {problem.message}") from None
    return node


# --- compilation -------------------------------------------------------------------------------

# `schemas` is an attribute of every resource (RFC 7643 §3) but not part of any schema's list.
_SCHEMAS_ATTR = Attribute("schemas", "reference", multi_valued=True, case_exact=True, mutability="readOnly")
_STRINGISH = ("string", "reference", "binary")
_CMP = {  # "ne" is "not eq", negated by the caller
    "eq": operator.eq,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_Fail = Callable[[str], ScimError]


def _present(v: Any) -> bool:
    """RFC 7644 §3.4.2.2 `pr`: has a value that is not null, "", [] or {}."""
    return v is not None and v != "" and v != [] and v != {}


class _Compiler:
    """Resolves names and builds closures; `fail` makes the error (invalidFilter or invalidPath)."""

    def __init__(self, rtype: ResourceType, fail: _Fail, unknown_type: str, context: str) -> None:
        self.rtype = rtype
        self.fail = fail
        self.unknown_type = unknown_type
        self.context = context  # e.g. "invalid filter 'x eq 1': ", prefixed to unknown-name details

    # names

    def resolve(self, name: str) -> AttributePath:
        if name.lower() == "schemas":
            return AttributePath(None, _SCHEMAS_ATTR)
        path = self.rtype.resolve(name)
        if path is None:
            raise UnknownAttribute(
                name,
                f"{self.context}unknown attribute '{name}': the {self.rtype.name} resource type "
                "does not define it",
                self.unknown_type,
            )
        self.check_readable(path.leaf, path.dotted())
        return path

    def resolve_sub(self, parent: AttributePath, name: str) -> Attribute:
        sub = parent.attribute.sub(name)
        if sub is None and ("." in name or ":" in name):
            # Tolerate a fully spelled name inside the brackets, e.g. emails[emails.type eq "work"].
            full = self.rtype.resolve(name)
            if full is not None and full.attribute is parent.attribute and full.sub is not None:
                sub = full.sub
        if sub is None:
            raise UnknownAttribute(
                name,
                f"{self.context}unknown attribute '{name}': '{parent.dotted()}' has no sub-attribute "
                "called that",
                self.unknown_type,
            )
        self.check_readable(sub, f"{parent.dotted()}.{sub.name}")
        return sub

    def check_readable(self, attr: Attribute, label: str) -> None:
        # A filter on a never-returned attribute (password) would leak it bit by bit. The detail
        # does not quote the filter text, which holds the value the client compared it with.
        if is_secret(attr):
            raise ScimError(400, f"'{label}' is write-only and cannot be used in a filter", self.unknown_type)

    # nodes

    def node(self, node: Node, parent: AttributePath | None) -> Predicate:
        if isinstance(node, (And, Or)):
            # A chain `a and b and c ...` parses into a left-leaning tree; flattening it keeps
            # compilation and evaluation free of deep recursion however long the chain is.
            parts = [self.node(part, parent) for part in _operands(node)]
            if len(parts) == 2:
                first, second = parts
                if isinstance(node, And):
                    return lambda r: first(r) and second(r)
                return lambda r: first(r) or second(r)
            if isinstance(node, And):
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
        if isinstance(node, Not):
            inner = self.node(node.node, parent)
            return lambda r: not inner(r)
        if isinstance(node, ValuePath):
            if parent is not None:
                raise self.fail(f"value paths cannot be nested (at '{node.path}')")
            return self.value_path(node)
        if parent is not None:
            sub = self.resolve_sub(parent, node.path)
            key = sub.name
            if isinstance(node, Present):
                return lambda el: _present(el.get(key))
            test = self.value_test(sub, node.op, node.value, f"{parent.dotted()}.{sub.name}")
            return lambda el: test(el.get(key))
        path = self.resolve(node.path)
        if isinstance(node, Present):
            return self.present(path)
        if node.value is None:
            # RFC 7644 leaves comparisons with null open; "eq null" reads as "is unassigned".
            if node.op not in ("eq", "ne"):
                raise self.fail(f"'{node.path} {node.op} null': only eq and ne can compare with null")
            present = self.present(path)
            if node.op == "eq":
                return lambda r: not present(r)
            return present
        return self.compare(path, node)

    def value_path(self, node: ValuePath) -> Predicate:
        path = self.resolve(node.path)
        if path.sub is not None or path.attribute.type != "complex":
            raise self.fail(f"'{node.path}[...]': only a complex attribute can have a value filter")
        inner = self.node(node.filter, path)
        top = self.top_getter(path)

        def match(r: dict) -> bool:
            value = top(r)
            if value.__class__ is dict:
                return inner(value)
            if value.__class__ is list:
                for el in value:
                    if el.__class__ is dict and inner(el):
                        return True
            return False

        return match

    def top_getter(self, path: AttributePath) -> Callable[[dict], Any]:
        name, ext = path.attribute.name, path.extension
        if ext is None:
            return lambda r: r.get(name)

        def get(r: dict) -> Any:
            holder = r.get(ext)
            return holder.get(name) if holder.__class__ is dict else None

        return get

    def present(self, path: AttributePath) -> Predicate:
        top = self.top_getter(path)
        if path.sub is None:
            return lambda r: _present(top(r))
        return self.over_values(top, path, _present, False)

    def over_values(
        self, top: Callable[[dict], Any], path: AttributePath, test: Callable[[Any], bool], missing: bool
    ) -> Predicate:
        """A predicate that is true when `test` holds for the (sub-)attribute's value, or for any of
        its values when it is multi-valued (RFC 7644 §3.4.2.2); `missing` is the answer when there
        is no value at all."""
        attr, sub = path.attribute, path.sub
        if sub is None:
            if not attr.multi_valued:
                return lambda r: test(top(r))

            def any_value(r: dict) -> bool:
                values = top(r)
                if values.__class__ is not list or not values:
                    return missing
                # An explicit loop, not any(<generator>): this runs once per stored resource.
                for v in values:  # noqa: SIM110
                    if test(v):
                        return True
                return False

            return any_value
        key = sub.name
        if not attr.multi_valued:

            def one(r: dict) -> bool:
                holder = top(r)
                return test(holder.get(key)) if holder.__class__ is dict else missing

            return one

        def any_element(r: dict) -> bool:
            values = top(r)
            if values.__class__ is not list or not values:
                return missing
            for el in values:  # noqa: SIM110 - see any_value
                if el.__class__ is dict and test(el.get(key)):
                    return True
            return False

        return any_element

    def compare(self, path: AttributePath, node: Compare) -> Predicate:
        attr = path.leaf
        if attr.type == "complex":
            # `emails co "x"` or `members eq "id"`: a complex attribute named without a
            # sub-attribute is compared through its `value` sub-attribute (RFC 7644 §3.4.2.2).
            value_sub = attr.sub("value")
            if value_sub is None:
                raise self.fail(
                    f"'{node.path}' is a complex attribute: compare one of its sub-attributes "
                    f"({', '.join(s.name for s in attr.sub_attributes)}) instead"
                )
            path = AttributePath(path.extension, path.attribute, value_sub)
            attr = value_sub
        test = self.value_test(attr, node.op, node.value, path.dotted())
        return self.over_values(self.top_getter(path), path, test, test(None))

    def value_test(self, attr: Attribute, op: str, value: Any, label: str) -> Callable[[Any], bool]:
        """A test over one stored value (None when absent) with the constant lowered once."""
        kind = attr.type
        if value is None:
            if op not in ("eq", "ne"):
                raise self.fail(f"'{label} {op} null': only eq and ne can compare with null")
            return (lambda v: not _present(v)) if op == "eq" else _present
        if kind == "complex":
            raise self.fail(f"'{label}' is a complex attribute and cannot be compared with a value")
        if op in _SUBSTRING_OPS and kind not in ("string", "reference"):
            raise self.fail(
                f"'{label} {op} ...': {op} applies only to string attributes, '{label}' is {kind}"
            )
        if op in _ORDERING_OPS and kind in ("boolean", "binary"):
            raise self.fail(f"'{label} {op} ...': {kind} attributes cannot be ordered, use eq or ne")
        if kind in _STRINGISH:
            if not isinstance(value, str):
                raise self.fail(f"'{label}' is a string attribute; compare it with a \"quoted string\"")
            test = _string_test(op, value, attr.case_exact or kind == "binary")
        elif kind == "boolean":
            if isinstance(value, str) and value.lower() in ("true", "false"):
                # Entra renders booleans from expressions as the strings "True"/"False"
                # (reference entra-and-galaxy.md §1.5, §1.6 "Disable user").
                value = value.lower() == "true"
            if not isinstance(value, bool):
                raise self.fail(f"'{label}' is a boolean attribute; compare it with true or false")
            test = _boolean_test(value)
        elif kind in ("integer", "decimal"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(
                    f"'{label}' is a number attribute; compare it with a number such as 42 or 1.5"
                )
            test = _number_test(op, value)
        elif kind == "dateTime":
            moment = parse_instant(value)
            if moment is None:
                raise self.fail(
                    f"'{label}' is a dateTime attribute; compare it with an ISO-8601 string such as "
                    f'"2011-05-13T04:42:34Z", not {json.dumps(value)}'
                )
            test = _instant_test(op, moment)
        else:  # pragma: no cover - schema types are fixed by RFC 7643 §2.3
            raise self.fail(f"'{label}' has type {kind}, which filters do not support")
        if op == "ne":
            eq = test
            return lambda v: not eq(v)
        return test


def _operands(node: And | Or) -> list[Node]:
    """The operands of a chain of the same connective, left to right, without recursion."""
    kind = type(node)
    out: list[Node] = []
    pending: list[Node] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, (And, Or)) and type(current) is kind:
            pending += [current.right, current.left]
        else:
            out.append(current)
    return out


def _string_test(op: str, const: str, case_exact: bool) -> Callable[[Any], bool]:
    """String comparisons; caseExact=false lower-cases both sides (RFC 7643 §2.3.1)."""
    if op == "ne":
        op = "eq"  # negated by the caller
    if case_exact:
        if op == "eq":
            return lambda v: v == const
        if op == "co":
            return lambda v: isinstance(v, str) and const in v
        if op == "sw":
            return lambda v: isinstance(v, str) and v.startswith(const)
        if op == "ew":
            return lambda v: isinstance(v, str) and v.endswith(const)
        cmp = _CMP[op]
        return lambda v: isinstance(v, str) and cmp(v, const)
    low = const.lower()
    if op == "eq":
        return lambda v: isinstance(v, str) and v.lower() == low
    if op == "co":
        return lambda v: isinstance(v, str) and low in v.lower()
    if op == "sw":
        return lambda v: isinstance(v, str) and v.lower().startswith(low)
    if op == "ew":
        return lambda v: isinstance(v, str) and v.lower().endswith(low)
    cmp = _CMP[op]
    return lambda v: isinstance(v, str) and cmp(v.lower(), low)


def _boolean_test(const: bool) -> Callable[[Any], bool]:
    return lambda v: v is const


def _number_test(op: str, const: int | float) -> Callable[[Any], bool]:
    cmp = _CMP["eq" if op == "ne" else op]
    # `bool` is an int subclass in Python; an exact class check keeps true from equalling 1.
    return lambda v: (v.__class__ is int or v.__class__ is float) and cmp(v, const)


def _instant_test(op: str, const: datetime) -> Callable[[Any], bool]:
    cmp = _CMP["eq" if op == "ne" else op]

    def test(v: Any) -> bool:
        moment = parse_instant(v)
        return moment is not None and cmp(moment, const)

    return test


def compile_node(node: Node, rtype: ResourceType, *, text: str | None = None) -> Predicate:
    """Compile an already parsed filter (see `compile_filter`); `text`, when given, is quoted in
    error details."""
    context = f"invalid filter {_describe(text)}: " if text else "invalid filter: "

    def fail(detail: str) -> ScimError:
        return invalid_filter(context + detail)

    return _Compiler(rtype, fail, "invalidFilter", context).node(node, None)


def compile_filter(text: str, rtype: ResourceType) -> Predicate:
    """Parse `text`, resolve its names against `rtype` and return a predicate over stored resources.

    Unknown attributes raise `UnknownAttribute` (400 invalidFilter); comparisons that make no sense
    for the attribute's type (`active gt true`, `userName eq 5`) raise invalidFilter.
    """
    return compile_node(parse_filter(text), rtype, text=text)


def equality_lookup(filter: str | Node, rtype: ResourceType) -> tuple[str, object] | None:
    """(name, value) when the whole filter is `attr eq "string"` on an indexed attribute, else None.

    Lets the receiver answer Entra's most frequent queries (reference §1.3: users by userName and
    externalId, groups by displayName, anything by id) from an index instead of a scan. Indexed
    attributes are `id`, `externalId` and the core attributes with server-wide uniqueness (userName
    for Users, displayName for Groups). The value is returned as sent: the caller lower-cases it for
    caseExact=false attributes the way its index does. Text that does not parse raises invalidFilter.
    """
    node = parse_filter(filter) if isinstance(filter, str) else filter
    if not isinstance(node, Compare) or node.op != "eq" or not isinstance(node.value, str):
        return None
    path = rtype.resolve(node.path)
    if path is None or path.sub is not None or path.extension is not None:
        return None
    attr = path.attribute
    if attr.type != "string":
        return None
    if attr.name in ("id", "externalId") or attr.uniqueness == "server":
        return attr.name, node.value
    return None


# --- PATCH paths -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatchPath:
    """A resolved PATCH path (RFC 7644 §3.5.2): `target` is the attribute (with the sub-attribute
    from `name.givenName` or from the tail of `emails[type eq "work"].value`), `value_filter` the
    bracketed filter as parsed and `predicate` the same compiled over one element dict."""

    text: str
    target: AttributePath
    value_filter: Node | None = None
    predicate: Predicate | None = field(default=None, compare=False)

    @property
    def attribute(self) -> Attribute:
        return self.target.attribute

    @property
    def sub(self) -> Attribute | None:
        return self.target.sub

    @property
    def extension(self) -> str | None:
        return self.target.extension

    def dotted(self) -> str:
        """The canonical name of the target, without the filter (e.g. `emails.value`)."""
        return self.target.dotted()

    def eq_terms(self) -> dict[str, Any] | None:
        """{canonical sub-attribute: value} when the value filter is an and-chain of `eq` (e.g.
        `type eq "work" and primary eq true`), else None: what PATCH needs to build the element
        it adds when nothing matches."""
        if self.value_filter is None:
            return None
        terms: dict[str, Any] = {}
        pending: list[Node] = [self.value_filter]
        while pending:
            node = pending.pop()
            if isinstance(node, And):
                pending += [node.right, node.left]
                continue
            if not isinstance(node, Compare) or node.op != "eq" or node.value is None:
                return None
            sub = self.attribute.sub(node.path.rpartition(".")[2])
            if sub is None:
                return None
            terms[sub.name] = node.value
        return terms


def parse_path(text: str, rtype: ResourceType) -> PatchPath:
    """Parse and resolve a PATCH path: `attrPath` or `attrPath "[" valFilter "]" ["." subAttr]`.

    Malformed paths raise invalidPath; unknown attributes raise `UnknownAttribute` (also
    invalidPath) so the galaxy profile can skip them.
    """
    if not isinstance(text, str) or not text.strip():
        raise invalid_path("the PATCH path is empty")
    try:
        parser = _Parser(text)
        name = parser.attr_path()
        node: Node | None = None
        tail: str | None = None
        if parser.peek().kind == "[":
            opening = parser.take()
            node = parser.parse_or(True)
            parser.expect("]", f"to close the '[' at character {opening.pos}")
            token = parser.peek()
            if token.kind == "word":
                match = _SUB_ATTR.fullmatch(token.text)
                if match is None:
                    raise _Problem(f"expected '.subAttribute' after ']', found {token.shown()}")
                parser.take()
                tail = match.group(1)
        token = parser.peek()
        if token.kind != "end":
            raise _Problem(f"unexpected {token.shown()}")
    except _Problem as problem:
        raise invalid_path(f"invalid PATCH path {_describe(text)}: {problem.message}") from None

    context = f"invalid PATCH path {_describe(text)}: "

    def fail(detail: str) -> ScimError:
        return invalid_path(context + detail)

    compiler = _Compiler(rtype, fail, "invalidPath", context)
    target = rtype.resolve(name.text)
    if target is None:
        raise UnknownAttribute(
            name.text,
            f"PATCH path {_describe(text)} names unknown attribute '{name.text}': the {rtype.name} "
            "resource type does not define it",
            "invalidPath",
        )
    if node is None:
        return PatchPath(text, target)
    if target.sub is not None or target.attribute.type != "complex":
        raise fail(f"'{target.dotted()}' is not a complex attribute, so it cannot have a [filter]")
    if not target.attribute.multi_valued:
        # RFC 7644 §3.5.2: a value filter picks among the values of a multi-valued attribute.
        # On a single-valued one (`name[givenName eq "x"].familyName`) it means nothing, and
        # reading the object as the one "value" made replace overwrite all of `name`.
        subs = target.attribute.sub_attributes
        example = f"{target.dotted()}.{tail or (subs[0].name if subs else 'sub')}"
        raise fail(
            f"'{target.dotted()}' is single-valued, so it cannot have a [filter]; "
            f"name the sub-attribute directly, as in '{example}'"
        )
    if tail is not None:
        sub = target.attribute.sub(tail)
        if sub is None:
            raise UnknownAttribute(
                f"{target.dotted()}.{tail}",
                f"PATCH path {_describe(text)} names unknown attribute '{target.dotted()}.{tail}'",
                "invalidPath",
            )
        target = AttributePath(target.extension, target.attribute, sub)
    top = AttributePath(target.extension, target.attribute)
    predicate = compiler.node(node, top)
    return PatchPath(text, target, node, predicate)
