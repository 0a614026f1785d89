"""Entra ID attribute-mapping expressions: parsed once when a mapping is saved, evaluated per object.

Why this exists: Entra's default user mapping already needs an expression (reference
entra-and-galaxy.md §1.5: `Switch([IsSoftDeleted], , "False", "True", "True", "False")` → `active`,
`Join(" ", [givenName], [surname])` → `name.formatted`), and a mapping a person edits must fail
when it is saved, not halfway through a 10,000-user cycle. So `parse_expression` checks syntax,
function names, argument counts and (optionally) source attribute names up front, and compiles the
tree into closures; `Expression.evaluate` is then a few dict lookups per object.

The language is the one in Microsoft's "Reference for writing expressions for attribute mappings":

    expression := argument                  (the whole text; not empty)
    argument   := operand [compare operand] | nothing   (empty arguments, as in `Switch(x, , ...)`)
    operand    := "[" attribute "]" | "\"" string "\"" | integer | Name "(" [argument {"," argument}] ")"
    compare    := "=" | "<>" | "<" | "<=" | ">" | ">="  (IIF conditions, e.g. `[country]="USA"`)

Strings escape `"` and `\\` with a backslash. Function names are matched case-insensitively (the
Microsoft page calls the syntax case-sensitive; accepting `switch(...)` costs nothing and a person
typing it means Switch); attribute names too, and against the source object's keys.

Values while evaluating are `str`, `list[str]` (multi-valued attributes such as a group's `members`)
or `None` (null). Booleans travel as the strings "True"/"False", the way Entra's expressions and its
default `active` mapping produce them. A missing, empty-string or empty-list source value is null,
and the final result of an expression is never "" or []: those become `None`, so the mapping is
skipped (reference §1.4: null values are never sent).
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FUNCTION_NAMES",
    "AttributeRef",
    "Comparison",
    "EmptyArgument",
    "Expression",
    "ExpressionError",
    "FunctionCall",
    "Node",
    "NumberLiteral",
    "SourceView",
    "StringLiteral",
    "Value",
    "parse_expression",
]

Value = str | list[str] | None

_MAX_DEPTH = 64  # nesting of calls; deeper text is almost certainly a mistake, and bounded recursion


class ExpressionError(ValueError):
    """An expression that cannot be saved: bad syntax, unknown function or attribute, wrong arity.

    `position` is the 1-based character the problem was found at (None when it concerns the whole
    text), so an editor can put the cursor there.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


# --- source objects ----------------------------------------------------------------------------


_MISSING = object()


class SourceView:
    """A source object read with case-insensitive attribute names.

    Why a wrapper: directory documents use exact camelCase keys, so the exact lookup almost always
    hits; only on a miss (a user without `mail`, or `[GivenName]` written by hand) is a case-folded
    index built, once per object, and shared by every mapping evaluated on that object.
    """

    __slots__ = ("_folded", "data")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self._folded: dict[str, Any] | None = None

    def get(self, name: str, folded: str) -> Any:
        """The raw value of `name` (`folded` is `name.casefold()`, precomputed), or None."""
        value = self.data.get(name, _MISSING)
        if value is _MISSING:
            index = self._folded
            if index is None:
                index = self._folded = {
                    key.casefold(): item for key, item in self.data.items() if isinstance(key, str)
                }
            value = index.get(folded)
        return value


def _from_source(raw: Any) -> Value:
    """Turn a raw source value into an expression value (see the module docstring)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "True" if raw else "False"
    if isinstance(raw, list | tuple | set | frozenset):
        items = [text for text in (_from_source(item) for item in raw) if isinstance(text, str)]
        return items or None
    return str(raw)


def _blank(value: Value) -> bool:
    return value is None or value == "" or value == []


def _single(value: Value) -> str | None:
    """Where one value is expected (Switch source, comparisons, conditions), a multi-valued value
    contributes its first element."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _bool_text(flag: bool) -> str:
    return "True" if flag else "False"


def _is_true(value: Value) -> bool:
    single = _single(value)
    return single is not None and single.strip().lower() == "true"


def _each(value: Value, transform: Callable[[str], str]) -> Value:
    """Apply a string transform to a single value, or to every value of a multi-valued one."""
    if value is None:
        return None
    if isinstance(value, list):
        return [transform(item) for item in value]
    return transform(value)


def _to_int(value: Value) -> int | None:
    single = _single(value)
    if single is None:
        return None
    try:
        return int(single.strip())
    except ValueError:
        return None


# --- the tree ----------------------------------------------------------------------------------
# `pos` (1-based) only serves error messages and takes no part in equality.

Evaluator = Callable[[SourceView], Value]


@dataclass(frozen=True)
class AttributeRef:
    """`[name]`: a source attribute, looked up case-insensitively."""

    name: str
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"[{self.name}]"


@dataclass(frozen=True)
class StringLiteral:
    """`"text"` (with `\\"` and `\\\\` escapes); `""` is the empty string."""

    value: str
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return '"' + self.value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class NumberLiteral:
    """An integer such as the 3 of `Left([givenName], 3)`; evaluates to its decimal text."""

    value: int
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class EmptyArgument:
    """An argument left empty, e.g. the default of `Switch([IsSoftDeleted], , ...)`: null."""

    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return ""


@dataclass(frozen=True)
class FunctionCall:
    """`Name(arg, ...)`; `name` is the function's canonical spelling."""

    name: str
    args: tuple[Node, ...]
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"{self.name}({', '.join(str(arg) for arg in self.args)})"


@dataclass(frozen=True)
class Comparison:
    """`left op right`, the condition form IIF documents (`IIF([country]="USA", ...)`)."""

    op: str
    left: Node
    right: Node
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


Node = AttributeRef | StringLiteral | NumberLiteral | EmptyArgument | FunctionCall | Comparison


# --- functions ---------------------------------------------------------------------------------
# Each builder receives the compiled arguments and returns one evaluator; arguments are evaluated
# lazily, so IIF, Switch and Coalesce evaluate only the branch they need.


def _build_append(args: list[Evaluator]) -> Evaluator:
    source, suffix = args

    # [U] A null source yields null rather than the bare suffix: `Append([mailNickname], "@x")`
    # then sends nothing instead of "@x".
    def run(view: SourceView) -> Value:
        value = source(view)
        if _blank(value):
            return None
        tail = _single(suffix(view)) or ""
        return _each(value, lambda text: text + tail)

    return run


def _build_coalesce(args: list[Evaluator]) -> Evaluator:
    def run(view: SourceView) -> Value:
        for arg in args:
            value = arg(view)
            if not _blank(value):
                return value
        return None

    return run


def _build_iif(args: list[Evaluator]) -> Evaluator:
    condition, if_true, if_false = args

    # Microsoft documents that a condition over a null attribute "fails"; here that means the
    # whole IIF is null and the mapping is skipped.
    def run(view: SourceView) -> Value:
        flag = condition(view)
        if flag is None:
            return None
        return if_true(view) if _is_true(flag) else if_false(view)

    return run


def _build_is_null(args: list[Evaluator]) -> Evaluator:
    (arg,) = args
    return lambda view: _bool_text(arg(view) is None)


def _build_is_null_or_empty(args: list[Evaluator]) -> Evaluator:
    (arg,) = args
    return lambda view: _bool_text(_blank(arg(view)))


def _build_is_present(args: list[Evaluator]) -> Evaluator:
    (arg,) = args
    return lambda view: _bool_text(not _blank(arg(view)))


def _build_join(args: list[Evaluator]) -> Evaluator:
    separator, *sources = args

    def run(view: SourceView) -> Value:
        parts: list[str] = []
        for source in sources:
            value = source(view)
            if isinstance(value, list):
                parts.extend(item for item in value if item)
            elif value:
                parts.append(value)
        if not parts:
            return None
        return (_single(separator(view)) or "").join(parts)

    return run


def _build_left(args: list[Evaluator]) -> Evaluator:
    source, count = args

    # Microsoft: 0 → "", negative → the whole string, null string → "" (null for us).
    def run(view: SourceView) -> Value:
        n = _to_int(count(view))
        if n is None:
            return None
        return _each(source(view), lambda text: text if n < 0 else text[:n])

    return run


def _build_mid(args: list[Evaluator]) -> Evaluator:
    source, start, length = args

    def run(view: SourceView) -> Value:
        first, size = _to_int(start(view)), _to_int(length(view))
        if first is None or size is None or first < 1 or size < 0:
            return None
        return _each(source(view), lambda text: text[first - 1 : first - 1 + size])

    return run


def _build_not(args: list[Evaluator]) -> Evaluator:
    (arg,) = args
    # Microsoft: "If source value is True, returns False. Otherwise, returns True."
    return lambda view: _bool_text(not _is_true(arg(view)))


def _build_strip_spaces(args: list[Evaluator]) -> Evaluator:
    (arg,) = args
    return lambda view: _each(arg(view), lambda text: text.replace(" ", ""))


def _build_switch(args: list[Evaluator], nodes: tuple[Node, ...]) -> Evaluator:
    source, default = args[0], args[1]
    pairs = [(args[i], args[i + 1]) for i in range(2, len(args), 2)]
    key_nodes = nodes[2::2]
    # Microsoft: a case-sensitive string comparison; an empty key ("" or nothing) matches an empty
    # or null source. With literal keys (the usual case, and the default `active` mapping) the
    # keys become one dict lookup.
    if all(isinstance(node, StringLiteral | NumberLiteral | EmptyArgument) for node in key_nodes):
        table: dict[str, Evaluator] = {}
        for node, (_, value) in zip(key_nodes, pairs, strict=True):
            table.setdefault("" if isinstance(node, EmptyArgument) else str(_literal_value(node)), value)

        def run_table(view: SourceView) -> Value:
            chosen = table.get(_single(source(view)) or "")
            return (chosen or default)(view)

        return run_table

    def run(view: SourceView) -> Value:
        wanted = _single(source(view)) or ""
        for key, value in pairs:
            if (_single(key(view)) or "") == wanted:
                return value(view)
        return default(view)

    return run


def _build_to_lower(args: list[Evaluator]) -> Evaluator:
    source = args[0]  # the culture argument is accepted and ignored: Python's rules are invariant
    return lambda view: _each(source(view), str.lower)


def _build_to_upper(args: list[Evaluator]) -> Evaluator:
    source = args[0]
    return lambda view: _each(source(view), str.upper)


@dataclass(frozen=True)
class _Function:
    name: str
    min_args: int
    max_args: int | None  # None: no upper bound
    build: Callable[..., Evaluator]
    usage: str
    wants_nodes: bool = False  # the builder also receives the argument nodes
    integer_args: tuple[int, ...] = ()  # argument indexes that must be integers when literal
    even_args: bool = False


_FUNCTIONS: dict[str, _Function] = {
    spec.name.lower(): spec
    for spec in (
        _Function("Append", 2, 2, _build_append, "Append(source, suffix)"),
        _Function("Coalesce", 1, None, _build_coalesce, "Coalesce(source1, source2, ..., defaultValue)"),
        _Function("IIF", 3, 3, _build_iif, "IIF(condition, valueIfTrue, valueIfFalse)"),
        _Function("IsNull", 1, 1, _build_is_null, "IsNull(expression)"),
        _Function("IsNullOrEmpty", 1, 1, _build_is_null_or_empty, "IsNullOrEmpty(expression)"),
        _Function("IsPresent", 1, 1, _build_is_present, "IsPresent(expression)"),
        _Function("Join", 2, None, _build_join, "Join(separator, source1, source2, ...)"),
        _Function("Left", 2, 2, _build_left, "Left(string, numChars)", integer_args=(1,)),
        _Function("Mid", 3, 3, _build_mid, "Mid(source, start, length)", integer_args=(1, 2)),
        _Function("Not", 1, 1, _build_not, "Not(source)"),
        _Function("StripSpaces", 1, 1, _build_strip_spaces, "StripSpaces(source)"),
        _Function(
            "Switch",
            4,
            None,
            _build_switch,
            "Switch(source, defaultValue, key1, value1, key2, value2, ...)",
            wants_nodes=True,
            even_args=True,
        ),
        _Function("ToLower", 1, 2, _build_to_lower, "ToLower(source, culture)"),
        _Function("ToUpper", 1, 2, _build_to_upper, "ToUpper(source, culture)"),
    )
}

FUNCTION_NAMES: tuple[str, ...] = tuple(spec.name for spec in _FUNCTIONS.values())
"""The functions this emulator evaluates, canonically spelled."""


# --- comparisons -------------------------------------------------------------------------------

_COMPARE_OPS = ("<=", ">=", "<>", "=", "<", ">")


def _ordered(left: str, right: str) -> tuple[Any, Any]:
    """Numbers compare as numbers (`DateDiff(...) > 5`), anything else as ordinal strings."""
    try:
        return float(left), float(right)
    except ValueError:
        return left, right


def _ordering(test: Callable[[Any, Any], bool]) -> Callable[[str, str], bool]:
    def compare(left: str, right: str) -> bool:
        return test(*_ordered(left, right))

    return compare


_COMPARATORS: dict[str, Callable[[str, str], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": _ordering(operator.lt),
    "<=": _ordering(operator.le),
    ">": _ordering(operator.gt),
    ">=": _ordering(operator.ge),
}


def _build_comparison(op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    compare = _COMPARATORS[op]

    # A null operand makes the comparison null, so an IIF over it is skipped (see _build_iif).
    def run(view: SourceView) -> Value:
        a, b = _single(left(view)), _single(right(view))
        if a is None or b is None:
            return None
        return _bool_text(compare(a, b))

    return run


# --- compilation -------------------------------------------------------------------------------


def _literal_value(node: StringLiteral | NumberLiteral) -> str:
    return node.value if isinstance(node, StringLiteral) else str(node.value)


def _compile(node: Node) -> Evaluator:
    if isinstance(node, AttributeRef):
        name, folded = node.name, node.name.casefold()
        return lambda view: _from_source(view.get(name, folded))
    if isinstance(node, StringLiteral | NumberLiteral):
        constant = _literal_value(node)
        return lambda view: constant
    if isinstance(node, EmptyArgument):
        return lambda view: None
    if isinstance(node, Comparison):
        return _build_comparison(node.op, _compile(node.left), _compile(node.right))
    spec = _FUNCTIONS[node.name.lower()]
    args = [_compile(arg) for arg in node.args]
    return spec.build(args, node.args) if spec.wants_nodes else spec.build(args)


# --- parser ------------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INTEGER = re.compile(r"-?[0-9]+")
_WHITESPACE = " \t\r\n"


def _shown(text: str, pos: int) -> str:
    """What sits at 0-based `pos`, for "found ..." in messages."""
    if pos >= len(text):
        return "the end of the expression"
    snippet = text[pos : pos + 12]
    return f"'{snippet}'" + ("..." if pos + 12 < len(text) else "")


class _Parser:
    def __init__(self, text: str, known: Mapping[str, str] | None) -> None:
        self.text = text
        self.i = 0
        self.known = known  # casefolded name -> canonical spelling

    def fail(self, message: str, pos: int | None = None, detail: str = "") -> ExpressionError:
        """`message` at 0-based `pos` (default: the cursor), then an optional `detail`."""
        at = self.i if pos is None else pos
        return ExpressionError(f"{message} at character {at + 1}{detail}", at + 1)

    def skip_space(self) -> None:
        text, n = self.text, len(self.text)
        while self.i < n and text[self.i] in _WHITESPACE:
            self.i += 1

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def argument(self, depth: int, closers: str) -> Node:
        """An argument, possibly empty; `closers` are the characters that may end it."""
        self.skip_space()
        c = self.peek()
        if not c and closers:
            raise self.fail("expected an argument, ',' or ')', found the end of the expression")
        if not c or c in closers:
            return EmptyArgument(self.i + 1)
        left = self.operand(depth)
        self.skip_space()
        for op in _COMPARE_OPS:
            if self.text.startswith(op, self.i):
                start = self.i
                self.i += len(op)
                self.skip_space()
                if not self.peek() or self.peek() in ",)":
                    raise self.fail(f"expected a value after '{op}', found {_shown(self.text, self.i)}")
                right = self.operand(depth)
                return Comparison(op, left, right, start + 1)
        return left

    def operand(self, depth: int) -> Node:
        c = self.peek()
        start = self.i
        if c == "[":
            return self.attribute()
        if c == '"':
            return self.string()
        match = _INTEGER.match(self.text, self.i)
        if match:
            self.i = match.end()
            return NumberLiteral(int(match.group()), start + 1)
        match = _IDENTIFIER.match(self.text, self.i)
        if match:
            return self.call(match, depth)
        raise self.fail(
            'expected an attribute in [brackets], a "string", a number or a function call, '
            f"found {_shown(self.text, self.i)}"
        )

    def attribute(self) -> AttributeRef:
        start = self.i
        end = self.text.find("]", start + 1)
        if end < 0:
            raise self.fail("the '[' is not closed with ']'", start)
        raw = self.text[start + 1 : end]
        bad = next((c for c in raw if c in '["\r\n'), None)
        if bad is not None:
            raise self.fail(f"the attribute name in '[' must not contain {bad!r}", start)
        name = raw.strip()
        if not name:
            raise self.fail("empty attribute name '[]'", start)
        if self.known is not None:
            canonical = self.known.get(name.casefold())
            if canonical is None:
                close = difflib.get_close_matches(name.casefold(), list(self.known), n=3)
                hint = " or ".join(f"[{self.known[c]}]" for c in close)
                raise self.fail(
                    f"unknown source attribute [{name}]", start, f"; did you mean {hint}?" if hint else ""
                )
            name = canonical
        self.i = end + 1
        return AttributeRef(name, start + 1)

    def string(self) -> StringLiteral:
        start = self.i
        text, n = self.text, len(self.text)
        chunks: list[str] = []
        j = start + 1
        while True:
            if j >= n:
                raise self.fail("the string is not closed with '\"'", start)
            c = text[j]
            if c == '"':
                break
            if c == "\\":
                following = text[j + 1] if j + 1 < n else ""
                if following not in ('"', "\\"):
                    raise self.fail(
                        f"unknown escape '\\{following}' in a string (only \\\" and \\\\ are allowed)", j
                    )
                chunks.append(following)
                j += 2
                continue
            chunks.append(c)
            j += 1
        self.i = j + 1
        return StringLiteral("".join(chunks), start + 1)

    def call(self, match: re.Match[str], depth: int) -> FunctionCall:
        start = self.i
        written = match.group()
        spec = _FUNCTIONS.get(written.lower())
        if spec is None:
            raise self.fail(
                f"unknown function '{written}'", start, f"; known functions: {', '.join(FUNCTION_NAMES)}"
            )
        self.i = match.end()
        self.skip_space()
        if self.peek() != "(":
            raise self.fail(
                f"expected '(' after the function name {spec.name}, found {_shown(self.text, self.i)}"
            )
        if depth >= _MAX_DEPTH:
            raise self.fail(f"functions are nested more than {_MAX_DEPTH} deep", start)
        opening = self.i
        self.i += 1
        self.skip_space()
        args: list[Node] = []
        if self.peek() == ")":
            self.i += 1
        else:
            while True:
                args.append(self.argument(depth + 1, ",)"))
                self.skip_space()
                c = self.peek()
                if c == ",":
                    self.i += 1
                elif c == ")":
                    self.i += 1
                    break
                else:
                    raise self.fail(
                        f"expected ',' or ')' in the arguments of {spec.name} (opened at character "
                        f"{opening + 1}), found {_shown(self.text, self.i)}"
                    )
        self.check_arity(spec, args, start)
        return FunctionCall(spec.name, tuple(args), start + 1)

    def check_arity(self, spec: _Function, args: list[Node], start: int) -> None:
        count = len(args)
        if spec.max_args == spec.min_args:
            wanted = f"exactly {spec.min_args}"
        elif spec.max_args is None:
            wanted = f"at least {spec.min_args}"
        else:
            wanted = f"{spec.min_args} to {spec.max_args}"
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            raise self.fail(
                f"{spec.name} takes {wanted} arguments but got {count}", start, f"; usage: {spec.usage}"
            )
        if spec.even_args and count % 2:
            raise self.fail(
                f"{spec.name} takes a source, a default value and key/value pairs, but got {count} "
                "arguments, so a key has no value",
                start,
                f"; usage: {spec.usage}",
            )
        for index in spec.integer_args:
            arg = args[index]
            if isinstance(arg, StringLiteral) and _to_int(arg.value) is None:
                raise self.fail(
                    f"argument {index + 1} of {spec.name} must be an integer, found {arg}", arg.pos - 1
                )


def _known_index(known_attributes: Iterable[str] | None) -> dict[str, str] | None:
    if known_attributes is None:
        return None
    return {name.casefold(): name for name in sorted(known_attributes)}


def parse_expression(text: str, known_attributes: frozenset[str] | None = None) -> Expression:
    """Parse and compile an attribute-mapping expression; raise `ExpressionError` saying where.

    With `known_attributes`, every `[name]` must be one of them (case-insensitively) and is
    rewritten to its known spelling, so a typo such as `[givenNmae]` fails when the mapping is
    saved rather than silently flowing nothing.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, not {type(text).__name__}")
    parser = _Parser(text, _known_index(known_attributes))
    parser.skip_space()
    if not parser.peek():
        raise ExpressionError("the expression is empty")
    root = parser.argument(0, "")
    parser.skip_space()
    if parser.peek():
        raise parser.fail(f"unexpected {_shown(text, parser.i)} after a complete expression")
    return Expression(root)


def _attributes(node: Node) -> Iterable[str]:
    if isinstance(node, AttributeRef):
        yield node.name
    elif isinstance(node, FunctionCall):
        for arg in node.args:
            yield from _attributes(arg)
    elif isinstance(node, Comparison):
        yield from _attributes(node.left)
        yield from _attributes(node.right)


class Expression:
    """A parsed, compiled expression. Immutable; equal when the canonical texts are equal."""

    __slots__ = ("_run", "attributes", "root", "text")

    def __init__(self, root: Node) -> None:
        self.root = root
        self.text = str(root)
        self.attributes: frozenset[str] = frozenset(_attributes(root))
        self._run = _compile(root)

    def evaluate(self, source: Mapping[str, Any] | SourceView) -> Value:
        """The value for one source object: text ("True"/"False" for booleans), a list for a
        multi-valued result, or None when there is nothing to send."""
        view = source if isinstance(source, SourceView) else SourceView(source)
        value = self._run(view)
        return None if value == "" or value == [] else value

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)
