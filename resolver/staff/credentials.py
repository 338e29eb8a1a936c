"""What staff prove themselves with: an employee's PIN, or their store's code of the moment.

**PINs** are kept only as argon2id hashes (argon2-cffi), as standard PHC strings that any argon2
tool reads. All hashes written for one staff file share one random salt, so a code typed at the
counter is hashed once, however many employees there are, and compared with every hash in
constant time. With a salt per hash, each wrong code would cost one slow hash per employee
(seconds of CPU for a chain's staff, an easy way to burn the server), and refusing a PIN that
another employee already has would be impossible without trying them all. What the shared salt
gives away: someone holding the file cracks all PINs for the price of one, which for 6-12 digit
PINs is hours of work either way; the file must stay secret regardless (it holds the store code
secrets). Hashes with other salts or parameters (made by another tool) still work: each distinct
salt costs one hash per attempt. The cost parameters are OWASP's argon2id minimum (19 MiB, two
passes, one lane: about 30 ms), since every staff-verified redemption pays them once.

**Store codes** are RFC 6238 TOTP codes: six digits, HMAC-SHA1, the store's own step (ten minutes
unless it says otherwise), so any authenticator app that honours the period shows them. They come
from PyCA's `cryptography`, whose TOTP takes any step: pyotp (2.10 and later) refuses steps over
two minutes, after NIST SP 800-63B-4's rule for login authenticators. A code shown at a counter is
no login factor, and the step is the operator's trade-off between convenience and how long a code
seen over a shoulder stays good (see the README).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from argon2 import Type, extract_parameters
from argon2.exceptions import InvalidHashError
from argon2.low_level import hash_secret, hash_secret_raw
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime

# A PIN names one employee; 6 digits at least, because a member holding their own coupon may
# guess (5 tries per lockout period by default) against every employee's PIN at once.
PIN = re.compile(r"[0-9]{6,12}")
CODE_DIGITS = 6
DEFAULT_STEP = 600
MIN_SECRET_BYTES = 16  # RFC 4226's minimum; new secrets get 20 bytes, its recommendation

TIME_COST, MEMORY_KIB, LANES, HASH_BYTES, SALT_BYTES = 2, 19_456, 1, 32, 16
# Bounds on what a file may ask for, so a mistaken hash cannot make every attempt cost seconds.
MAX_TIME_COST, MAX_MEMORY_KIB, MAX_LANES = 10, 262_144, 8
# Slow hashes computed at once per process: each holds its memory until it is done.
CONCURRENT_HASHES = 4


def normalize(code: str) -> str:
    """A code as typed, without the spaces and dashes people add ("123 456")."""
    return re.sub(r"[\s-]", "", code)


@dataclass(frozen=True, slots=True)
class PinHash:
    """One employee's PIN hash, parsed from its PHC string."""

    salt: bytes
    digest: bytes
    time_cost: int
    memory_kib: int
    lanes: int

    @classmethod
    def parse(cls, phc: str) -> PinHash:
        """Raises ValueError naming what is wrong (never quoting the value: it may be a PIN)."""
        try:
            params = extract_parameters(phc)
        except InvalidHashError:
            raise ValueError(
                "is not an argon2id hash (set PINs with `resolver staff add-employee`)"
            ) from None
        if params.type is not Type.ID:
            raise ValueError("must be an argon2id hash")
        if (
            params.time_cost > MAX_TIME_COST
            or params.memory_cost > MAX_MEMORY_KIB
            or params.parallelism > MAX_LANES
        ):
            raise ValueError("asks for more than t=10, m=256 MiB, p=8 per attempt")
        *_, salt, digest = phc.split("$")
        try:
            return cls(
                _b64(salt), _b64(digest), params.time_cost, params.memory_cost, params.parallelism
            )
        except (binascii.Error, ValueError):
            raise ValueError("has an unreadable salt or hash") from None

    @property
    def recipe(self) -> tuple[bytes, int, int, int, int]:
        """What a typed code must be hashed with to compare against this hash."""
        return self.salt, self.time_cost, self.memory_kib, self.lanes, len(self.digest)


def hash_pin(pin: str, like: Iterable[PinHash] = ()) -> str:
    """`pin`'s PHC string, salted like the first of `like` (the file's salt), else afresh."""
    if not PIN.fullmatch(pin):
        raise ValueError("a PIN is 6 to 12 digits")
    salt = next((existing.salt for existing in like), None) or secrets.token_bytes(SALT_BYTES)
    encoded = hash_secret(pin.encode(), salt, TIME_COST, MEMORY_KIB, LANES, HASH_BYTES, Type.ID)
    return encoded.decode()


def matches(code: str, hashes: Sequence[PinHash]) -> list[int]:
    """Indexes of the hashes `code` matches: one slow hash per distinct recipe, not per PIN."""
    found = []
    computed: dict[tuple[bytes, int, int, int, int], bytes] = {}
    for index, pin in enumerate(hashes):
        recipe = pin.recipe
        if recipe not in computed:
            salt, time_cost, memory, lanes, length = recipe
            computed[recipe] = hash_secret_raw(
                code.encode(), salt, time_cost, memory, lanes, length, Type.ID
            )
        # Every hash is compared, without stopping early, so timing says nothing of who matched.
        if hmac.compare_digest(computed[recipe], pin.digest):
            found.append(index)
    return found


class PinChecker:
    """Finds which employee a typed PIN belongs to, off the event loop, a few at a time."""

    def __init__(self, hashes: Sequence[PinHash]) -> None:
        self._hashes = tuple(hashes)
        self._slots = asyncio.Semaphore(CONCURRENT_HASHES)

    async def find(self, code: str) -> int | None:
        """The index of the one hash `code` matches, else None (also for a malformed code)."""
        if not self._hashes or not PIN.fullmatch(code):
            return None
        async with self._slots:
            # argon2's C code releases the GIL, so a thread keeps the loop serving others.
            found = await asyncio.to_thread(matches, code, self._hashes)
        return found[0] if len(found) == 1 else None


@dataclass(frozen=True, slots=True)
class StoreCode:
    """A store's rotating code: TOTP over its secret, `step` seconds per code."""

    secret: str  # base32, as authenticator apps take it
    step: int = DEFAULT_STEP

    @staticmethod
    def new_secret() -> str:
        return base64.b32encode(secrets.token_bytes(20)).decode()  # 160 bits, 32 characters

    @staticmethod
    def check_secret(secret: str) -> str:
        """The secret, normalised; ValueError when it is not base32 of 16 bytes or more."""
        cleaned = secret.replace(" ", "").upper()
        try:
            raw = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
        except (binascii.Error, ValueError):
            raise ValueError("is not a base32 secret") from None
        if len(raw) < MIN_SECRET_BYTES:
            raise ValueError(f"is shorter than {MIN_SECRET_BYTES} bytes (use a new secret)")
        return cleaned

    @property
    def _totp(self) -> TOTP:
        key = base64.b32decode(self.secret + "=" * (-len(self.secret) % 8))
        return TOTP(key, CODE_DIGITS, SHA1(), self.step)  # noqa: S303  # RFC 6238's default, what every app takes

    def at(self, moment: datetime, steps: int = 0) -> str:
        """The code shown at `moment` (or `steps` steps later)."""
        return self._totp.generate(int(moment.timestamp()) + steps * self.step).decode()

    def seconds_left(self, moment: datetime) -> int:
        """Seconds until the code shown at `moment` changes."""
        return self.step - int(moment.timestamp()) % self.step

    def verify(self, code: str, moment: datetime, drift: int) -> bool:
        """True when `code` is the code of `moment`'s step or of up to `drift` steps either side
        (a manager read it a little earlier; the phone's clock runs a little ahead)."""
        if len(code) != CODE_DIGITS or not code.isdigit():
            return False
        found = False
        for steps in range(-drift, drift + 1):
            # Every step is compared, without stopping early, so timing says nothing.
            found |= hmac.compare_digest(self.at(moment, steps), code)
        return found

    def provisioning_uri(self, account: str, issuer: str) -> str:
        """The otpauth:// URI an authenticator app scans (with the step as its period)."""
        return self._totp.get_provisioning_uri(account, issuer)


def _b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
