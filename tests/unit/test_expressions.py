"""Entra attribute-mapping expressions: what parses, what each function returns, what is refused.

The language is Microsoft's "Reference for writing expressions for attribute mappings"; the two
expressions that matter most are those of the default user mapping (reference
entra-and-galaxy.md §1.5).
"""

from __future__ import annotations

import pytest

from emulator.entra.provisioning.expressions import (
    AttributeRef,
    EmptyArgument,
    Expression,
    ExpressionError,
    FunctionCall,
    StringLiteral,
    parse_expression,
)
from emulator.entra.provisioning.mappings import USER_SOURCE_ATTRIBUTES

DEFAULT_ACTIVE = 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
DEFAULT_FORMATTED = 'Join(" ", [givenName], [surname])'


def evaluate(text: str, **source: object) -> object:
    return parse_expression(text).evaluate(source)


# --- the default mapping's expressions (reference §1.5) ----------------------------------------


def test_default_active_switch_yields_the_strings_true_and_false():
    """§1.5: the `active` expression yields the *strings* "True"/"False" (§1.6: "value":"False")."""
    expression = parse_expression(DEFAULT_ACTIVE)
    assert expression.evaluate({"IsSoftDeleted": "False"}) == "True"
    assert expression.evaluate({"IsSoftDeleted": "True"}) == "False"


def test_default_active_switch_without_is_soft_deleted_is_null():
    # The default (second argument) is empty, so an unknown state sends nothing.
    assert evaluate(DEFAULT_ACTIVE) is None
    assert evaluate(DEFAULT_ACTIVE, IsSoftDeleted="maybe") is None


def test_default_active_switch_parses_to_an_empty_default_argument():
    root = parse_expression(DEFAULT_ACTIVE).root
    assert isinstance(root, FunctionCall)
    assert root.name == "Switch"
    assert root.args[0] == AttributeRef("IsSoftDeleted")
    assert root.args[1] == EmptyArgument()
    assert root.args[2:] == tuple(StringLiteral(v) for v in ("False", "True", "True", "False"))


def test_default_formatted_name_joins_given_name_and_surname():
    assert evaluate(DEFAULT_FORMATTED, givenName="Adele", surname="Vance") == "Adele Vance"


# --- Switch ------------------------------------------------------------------------------------


def test_switch_returns_the_value_of_the_matching_key():
    text = 'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney", "QLD", "Australia/Brisbane")'
    assert evaluate(text, state="QLD") == "Australia/Brisbane"


def test_switch_returns_the_default_when_no_key_matches():
    assert evaluate('Switch([state], "other", "NSW", "x")', state="WA") == "other"


def test_switch_compares_case_sensitively():
    assert evaluate('Switch([flag], "default", "true", "yes")', flag="True") == "default"


def test_switch_empty_key_matches_a_null_or_empty_source():
    text = 'Switch([flag], "Default Value", "true", "1", "", "0")'
    assert evaluate(text) == "0"
    assert evaluate(text, flag="") == "0"
    assert evaluate(text, flag="true") == "1"


def test_switch_keys_and_default_may_be_expressions():
    text = 'Switch([country], [country], ToLower("X"), "matched", "", "Other")'
    assert evaluate(text, country="x") == "matched"
    assert evaluate(text, country="US") == "US"
    assert evaluate(text) == "Other"


def test_switch_reads_a_boolean_source_as_true_or_false_text():
    assert evaluate('Switch([accountEnabled], , "True", "on", "False", "off")', accountEnabled=False) == "off"


# --- Join, Append, Coalesce --------------------------------------------------------------------


def test_join_skips_null_and_empty_values():
    assert evaluate('Join(" ", [givenName], [middle], [surname])', givenName="Ann", surname="") == "Ann"
    assert evaluate('Join(", ", "", [surname], [givenName])', givenName="John", surname="Doe") == "Doe, John"


def test_join_of_nothing_is_null():
    assert evaluate(DEFAULT_FORMATTED) is None


def test_join_expands_multi_valued_sources():
    assert evaluate('Join(";", [members], "end")', members=["a", "", "b"]) == "a;b;end"


def test_join_with_an_empty_separator_concatenates():
    assert evaluate('Join("", 1000, [employeeId])', employeeId="42") == "100042"


def test_append_adds_the_suffix():
    assert (
        evaluate('Append([userPrincipalName], ".test")', userPrincipalName="J@contoso.com")
        == "J@contoso.com.test"
    )


def test_append_to_a_null_source_is_null():
    assert evaluate('Append([mailNickname], "@contoso.com")') is None


def test_coalesce_returns_the_first_non_empty_value():
    text = "Coalesce([mail], [userPrincipalName])"
    assert evaluate(text, mail="", userPrincipalName="john@contoso.com") == "john@contoso.com"
    assert evaluate(text, mail="m@contoso.com", userPrincipalName="john@contoso.com") == "m@contoso.com"


def test_coalesce_falls_back_to_a_constant_default_or_null():
    assert evaluate('Coalesce([mail], "none")') == "none"
    assert evaluate("Coalesce([mail], [otherMails])") is None


# --- ToLower, ToUpper, Left, Mid, StripSpaces --------------------------------------------------


def test_to_lower_and_to_upper_with_and_without_culture():
    assert evaluate("ToLower([upn])", upn="John.Doe@Contoso.COM") == "john.doe@contoso.com"
    assert evaluate('ToUpper([upn], "en-US")', upn="john") == "JOHN"
    assert evaluate("ToLower([members])", members=["A", "B"]) == ["a", "b"]
    assert evaluate("ToUpper([missing])") is None


def test_left_follows_the_documented_edge_cases():
    assert evaluate('Left("John Doe", 3)') == "Joh"
    assert evaluate('Left("John", 10)') == "John"
    assert evaluate('Left("John", -1)') == "John"
    assert evaluate('Left("John", 0)') is None  # "" is never sent
    assert evaluate("Left([missing], 2)") is None


def test_mid_and_strip_spaces():
    assert evaluate(
        "Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))", givenName="John", surname="Doe"
    ) == ("JohDoe")
    assert evaluate('StripSpaces("a b  c")') == "abc"


# --- booleans: Not, IIF, IsPresent, IsNullOrEmpty, IsNull, comparisons -------------------------


def test_not_flips_true_and_treats_anything_else_as_false():
    assert evaluate("Not([IsSoftDeleted])", IsSoftDeleted="True") == "False"
    assert evaluate("Not([IsSoftDeleted])", IsSoftDeleted="False") == "True"
    assert evaluate("Not([accountEnabled])", accountEnabled=True) == "False"
    assert evaluate("Not([missing])") == "True"


def test_presence_functions_return_true_or_false_text():
    assert evaluate("IsPresent([mail])", mail="a@b.c") == "True"
    assert evaluate("IsPresent([mail])", mail="") == "False"
    assert evaluate("IsNullOrEmpty([mail])") == "True"
    assert evaluate('IsNullOrEmpty("")') == "True"
    assert evaluate("IsNull([mail])") == "True"
    assert evaluate('IsNull("")') == "False"


def test_iif_with_a_documented_comparison():
    text = 'IIF([country]="USA",[country],[department])'
    assert evaluate(text, country="USA", department="Sales") == "USA"
    assert evaluate(text, country="NZ", department="Sales") == "Sales"


def test_iif_over_a_null_attribute_is_null():
    # Microsoft: "If the source attribute used within the IIF function is empty or null, the
    # condition check fails."
    assert evaluate('IIF([country]="USA", "yes", "no")') is None


def test_iif_with_a_boolean_function_condition():
    assert evaluate('IIF(IsPresent([mail]), [mail], "none")', mail="x@y.z") == "x@y.z"
    assert evaluate('IIF(IsPresent([mail]), [mail], "none")') == "none"


def test_comparisons_order_numbers_numerically():
    assert evaluate('IIF([n] > 5, "big", "small")', n="10") == "big"
    assert evaluate('IIF([n] <= 5, "small", "big")', n="5") == "small"
    assert evaluate('IIF([n] <> "a", "differs", "same")', n="a") == "same"


# --- literals, names, nesting ------------------------------------------------------------------


def test_a_bare_string_literal_is_a_constant():
    assert evaluate('"Contoso"') == "Contoso"
    assert evaluate('""') is None


def test_string_escapes_for_quote_and_backslash():
    expression = parse_expression(r'"Company name: \"Contoso\" \\ HQ"')
    assert expression.evaluate({}) == 'Company name: "Contoso" \\ HQ'
    assert str(expression) == r'"Company name: \"Contoso\" \\ HQ"'


def test_function_names_are_case_insensitive_and_printed_canonically():
    expression = parse_expression('jOIN(" ", [givenName], TOLOWER([surname]))')
    assert str(expression) == 'Join(" ", [givenName], ToLower([surname]))'
    assert expression.evaluate({"givenName": "A", "surname": "B"}) == "A b"


def test_attribute_names_match_source_keys_case_insensitively():
    assert evaluate('Join(".", [GIVENNAME], [Surname])', givenName="Ann", surname="Lee") == "Ann.Lee"


def test_boolean_and_numeric_source_values_become_text():
    assert evaluate("[accountEnabled]", accountEnabled=True) == "True"
    assert evaluate('Join("-", [n])', n=7) == "7"


def test_nested_calls_evaluate_inside_out():
    text = 'ToUpper(Join(".", Left([givenName], 1), Coalesce([surname], "x")))'
    assert evaluate(text, givenName="adele", surname="vance") == "A.VANCE"
    assert evaluate(text, givenName="adele") == "A.X"


def test_attributes_lists_every_attribute_read():
    expression = parse_expression('IIF([country]="US", Join(" ", [givenName], [surname]), [mail])')
    assert expression.attributes == frozenset({"country", "givenName", "surname", "mail"})
    assert parse_expression('"constant"').attributes == frozenset()


def test_known_attributes_are_rewritten_to_their_known_spelling():
    expression = parse_expression('Join(" ", [GivenName], [SURNAME])', USER_SOURCE_ATTRIBUTES)
    assert str(expression) == 'Join(" ", [givenName], [surname])'
    assert expression.attributes == frozenset({"givenName", "surname"})


def test_expressions_with_the_same_canonical_text_are_equal():
    assert parse_expression('join(" ",[a],[b])') == parse_expression('Join(" ", [a], [b])')
    assert len({parse_expression('join(" ",[a],[b])'), parse_expression('Join(" ", [a], [b])')}) == 1


@pytest.mark.parametrize(
    "text",
    [
        DEFAULT_ACTIVE,
        DEFAULT_FORMATTED,
        '"Contoso"',
        "[mail]",
        'IIF([country] = "USA", [country], [department])',
        'Coalesce([mail], "")',
        r'Append([upn], "\"\\")',
        "Left([givenName], -3)",
        'Switch([flag], , , "empty", "a", "b")',
        'Join(" ", , [a])',
    ],
)
def test_canonical_text_round_trips(text):
    expression = parse_expression(text)
    assert str(expression) == text
    assert parse_expression(str(expression)) == expression
    assert parse_expression(str(expression)).root == expression.root


@pytest.mark.parametrize(
    "text",
    [
        ' Switch( [IsSoftDeleted] ,, "False","True",\n  "True", "False" ) ',
        'switch([a],"d","k","v")',
        '\tIIF( [n]>=5 ,"y","n")',
    ],
)
def test_messy_text_normalises_to_a_fixed_point(text):
    canonical = str(parse_expression(text))
    assert str(parse_expression(canonical)) == canonical
    assert parse_expression(canonical).root == parse_expression(text).root


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ('Join(" ", [a]', 14, "expected ',' or ')'"),
        ('Join(" " [a])', 10, "expected ',' or ')'"),
        ("[givenName", 1, "not closed with ']'"),
        ('Append([a], "x)', 13, "not closed with '\"'"),
        ("[]", 1, "empty attribute name"),
        ('Join(" ", [a]) [b]', 16, "after a complete expression"),
        ("Join", 5, "expected '('"),
        ("@", 1, "expected an attribute in [brackets]"),
        ('"a\\n"', 3, "unknown escape"),
        ('IIF([a] = , "y", "n")', 11, "expected a value after '='"),
        ('Join(" ",', 10, "found the end of the expression"),
        ('Left([a], "three")', 11, "must be an integer"),
    ],
)
def test_syntax_errors_name_the_position_and_what_was_expected(text, position, fragment):
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert caught.value.position == position
    assert f"at character {position}" in str(caught.value)
    assert fragment in str(caught.value)


def test_an_empty_expression_is_refused():
    with pytest.raises(ExpressionError, match="empty"):
        parse_expression("   ")


def test_unknown_function_is_refused_with_the_known_ones():
    with pytest.raises(ExpressionError) as caught:
        parse_expression('Join(" ", Frobnicate([a]))')
    message = str(caught.value)
    assert "unknown function 'Frobnicate' at character 11" in message
    assert "Switch" in message and "Coalesce" in message
    assert caught.value.position == 11


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Append([a])", "Append takes exactly 2 arguments but got 1"),
        ('Append([a], "b", "c")', "Append takes exactly 2 arguments but got 3"),
        ("Join()", "Join takes at least 2 arguments but got 0"),
        ('ToLower([a], "en-US", "x")', "ToLower takes 1 to 2 arguments but got 3"),
        ('Switch([a], , "k")', "Switch takes at least 4 arguments but got 3"),
        ('Switch([a], , "k", "v", "k2")', "so a key has no value"),
        ("IIF([a], [b])", "IIF takes exactly 3 arguments"),
        ("Not()", "Not takes exactly 1 arguments but got 0"),
    ],
)
def test_wrong_argument_counts_are_refused(text, fragment):
    with pytest.raises(ExpressionError, match="at character 1") as caught:
        parse_expression(text)
    assert fragment in str(caught.value)
    assert "usage:" in str(caught.value)


def test_unknown_attribute_is_refused_when_the_known_set_is_given():
    text = 'Join(" ", [givenNmae], [surname])'
    assert parse_expression(text).attributes == frozenset({"givenNmae", "surname"})  # no set: anything goes
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text, USER_SOURCE_ATTRIBUTES)
    assert "unknown source attribute [givenNmae] at character 11" in str(caught.value)
    assert "did you mean [givenName]" in str(caught.value)


def test_expression_error_is_a_value_error():
    assert issubclass(ExpressionError, ValueError)


def test_absurd_nesting_is_refused_not_a_recursion_error():
    text = "ToLower(" * 200 + "[a]" + ")" * 200
    with pytest.raises(ExpressionError, match="nested more than"):
        parse_expression(text)


def test_expression_repr_shows_the_canonical_text():
    assert repr(parse_expression("[mail]")) == "Expression('[mail]')"
    assert isinstance(parse_expression("[mail]"), Expression)
