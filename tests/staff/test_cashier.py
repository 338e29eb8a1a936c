"""Which codes an offer accepts from the cashier: its list, its pattern in full, or both, and
a pattern from upstream that can neither be slow nor, when broken, accept everything."""

from __future__ import annotations

from resolver.domain.hosted import Hosted, Redeeming
from resolver.staff.cashier import accepts


def offer(**fields: object) -> Hosted:
    return Hosted(redeeming=Redeeming.CASHIER_CODE, **fields)  # type: ignore[arg-type]


def test_a_listed_code_is_accepted_and_others_are_not() -> None:
    """With validCodes, exactly those codes (case and all)."""
    listed = offer(valid_codes=("4711", "ab12"))
    assert accepts(listed, "4711")
    assert not accepts(listed, "AB12")
    assert not accepts(listed, "47")


def test_a_pattern_must_match_the_whole_code() -> None:
    """The validation pattern matches in full, not a part of the code."""
    masked = offer(code_pattern="[0-9]{4}")
    assert accepts(masked, "1234")
    assert not accepts(masked, "12345")
    assert not accepts(masked, "x1234")


def test_with_both_a_code_must_be_listed_and_match() -> None:
    """A listed code that breaks the pattern is refused."""
    both = offer(valid_codes=("1234", "abcd"), code_pattern="[0-9]+")
    assert accepts(both, "1234")
    assert not accepts(both, "abcd")


def test_with_neither_any_code_is_taken_but_never_an_empty_one() -> None:
    """Nothing configured: the code is only recorded; empty or over-long ones are refused."""
    assert accepts(offer(), "anything")
    assert not accepts(offer(), "")
    assert not accepts(offer(), "x" * 65)


def test_a_broken_pattern_accepts_nothing() -> None:
    """A pattern RE2 cannot compile (a backreference) accepts no code rather than all."""
    assert not accepts(offer(code_pattern=r"(a)\1"), "aa")
    assert not accepts(offer(code_pattern="[unclosed"), "u")


def test_a_catastrophic_pattern_is_answered() -> None:
    """(a+)+b on 60 a's takes about 2**60 steps in a backtracking engine (this test would never
    end); RE2 runs in linear time and answers."""
    assert not accepts(offer(code_pattern="(a+)+b"), "a" * 60)
