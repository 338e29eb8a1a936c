"""PINs as argon2id hashes, and stores' rotating TOTP codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.low_level import hash_secret_raw

from resolver.staff import credentials
from resolver.staff.credentials import PinChecker, PinHash, StoreCode, hash_pin, matches
from tests.support.staff import OTHER_PIN, PIN, STORE_SECRET, pin_hashes

NOW = datetime(2026, 6, 1, 12, 3, 20, tzinfo=UTC)
STEP = timedelta(seconds=600)


def test_a_pin_is_kept_as_a_standard_argon2id_hash() -> None:
    """The PHC string verifies with argon2-cffi's own hasher, and holds no trace of the PIN."""
    encoded, _ = pin_hashes()
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PIN not in encoded
    assert PasswordHasher().verify(encoded, PIN)


FULLWIDTH = "\uff11\uff12\uff13\uff14\uff15\uff16"  # "123456" in wide digits: isdigit() is True


@pytest.mark.parametrize("pin", ["12345", "1234567890123", "12345a", "", FULLWIDTH])
def test_a_pin_is_6_to_12_ascii_digits(pin: str) -> None:
    """Shorter PINs are too easy to guess against a whole staff; anything else is a typo."""
    with pytest.raises(ValueError, match="6 to 12 digits"):
        hash_pin(pin)


def test_a_typed_code_costs_one_slow_hash_however_many_employees(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hashes sharing the file's salt are all checked against one computation."""
    first, second = (PinHash.parse(encoded) for encoded in pin_hashes())
    third = PinHash.parse(hash_pin("123456", like=[first]))
    calls = []
    real = hash_secret_raw

    def counted(*args: Any) -> bytes:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(credentials, "hash_secret_raw", counted)
    assert matches(OTHER_PIN, [first, second, third]) == [1]
    assert len(calls) == 1
    assert matches("000000", [first, second, third]) == []


def test_hashes_with_their_own_salt_still_match() -> None:
    """A hash made elsewhere (its own salt) costs one more hash per attempt, and works."""
    foreign = PinHash.parse(PasswordHasher(time_cost=1, memory_cost=8192).hash("424242"))
    first = PinHash.parse(pin_hashes()[0])
    assert matches("424242", [first, foreign]) == [1]
    assert matches(PIN, [first, foreign]) == [0]


async def test_the_checker_finds_the_one_employee_and_nobody_for_a_wrong_or_odd_code() -> None:
    """A right PIN names its employee; a wrong one, letters or the empty string name nobody."""
    checker = PinChecker([PinHash.parse(encoded) for encoded in pin_hashes()])
    assert await checker.find(PIN) == 0
    assert await checker.find(OTHER_PIN) == 1
    for code in ("999999", "abcdef", "", "9" * 40):
        assert await checker.find(code) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("123456", "not an argon2id hash"),
        ("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo", "argon2id"),
        ("$argon2id$v=19$m=1048576,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo", "more than"),
    ],
)
def test_a_bad_hash_is_refused_without_quoting_it(value: str, problem: str) -> None:
    """A PIN pasted in clear must not end up in an error message (and from there in logs)."""
    with pytest.raises(ValueError, match=problem) as refused:
        PinHash.parse(value)
    assert value not in str(refused.value)


def test_a_store_code_is_six_digits_that_change_every_step() -> None:
    """RFC 6238 with the store's step: the same code within a step, another in the next."""
    code = StoreCode(STORE_SECRET, 600)
    assert code.at(NOW).isdigit()
    assert len(code.at(NOW)) == 6
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert code.at(start) == code.at(start + STEP - timedelta(seconds=1))
    assert code.at(start) != code.at(start + STEP)
    assert code.seconds_left(NOW) == 400


def test_codes_one_step_old_pass_within_the_drift_window_and_older_ones_do_not() -> None:
    """Drift 1: the previous and next steps' codes pass, two steps off fails; drift 0: only now."""
    code = StoreCode(STORE_SECRET, 600)
    assert code.verify(code.at(NOW), NOW, drift=1)
    assert code.verify(code.at(NOW - STEP), NOW, drift=1)
    assert code.verify(code.at(NOW + STEP), NOW, drift=1)
    assert not code.verify(code.at(NOW - 2 * STEP), NOW, drift=1)
    assert not code.verify(code.at(NOW - STEP), NOW, drift=0)
    assert not code.verify("12345", NOW, drift=1)


def test_the_provisioning_uri_carries_the_step_and_the_issuer() -> None:
    """What an authenticator app scans: TOTP, 6 digits, the store's period, labelled."""
    uri = StoreCode(STORE_SECRET, 600).provisioning_uri("Paris Opéra", "Café Lumière")
    assert uri.startswith("otpauth://totp/Caf%C3%A9%20Lumi%C3%A8re:Paris%20Op%C3%A9ra?")
    assert f"secret={STORE_SECRET}" in uri
    assert "period=600" in uri
    assert "digits=6" in uri


@pytest.mark.parametrize("secret", ["not base32!", "JBSWY3DP", ""])
def test_a_store_secret_is_base32_of_at_least_16_bytes(secret: str) -> None:
    """RFC 4226's minimum; new secrets get 20 bytes."""
    with pytest.raises(ValueError, match=r"base32|shorter"):
        StoreCode.check_secret(secret)
    assert StoreCode.check_secret(StoreCode.new_secret())
