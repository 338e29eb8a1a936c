"""The port through which the use case tells of its work as it goes: the metrics watch it
(`resolver.observability`), and a use case nobody watches gets `UNOBSERVED`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from resolver.domain.redemptions import Redemption

ClaimWait = Literal["coalesced", "claimed", "in_progress"]
ReadBack = Literal["ok", "failed"]


class Observer(Protocol):
    """What the use case tells of its work as it goes, for the metrics (`resolver.observability`).

    `backend` is a provider's `name`: the back end and account, a handful per deployment.
    Each call must be cheap and must never raise: it runs on the path of every redemption.
    """

    def redeemed(self, backend: str, result: Redemption) -> None:
        """A redemption ended with `result` (replays and "in progress" included)."""
        ...

    def waited(self, backend: str, ended: ClaimWait) -> None:
        """A request met another attempt in flight, waited, and then: learnt that attempt's
        result, took the claim over, or gave up waiting ("in progress")."""
        ...

    def read_back(self, backend: str, result: ReadBack) -> None:
        """The coupon was read back to settle a possible redemption (a doubt, an unclear answer)."""
        ...

    def doubt_left(self, backend: str) -> None:
        """An attempt was recorded as unknown: the next request reads the coupon back first."""
        ...


class Unobserved:
    """The observer of a use case nobody watches: does nothing."""

    def redeemed(self, backend: str, result: Redemption) -> None:
        pass

    def waited(self, backend: str, ended: ClaimWait) -> None:
        pass

    def read_back(self, backend: str, result: ReadBack) -> None:
        pass

    def doubt_left(self, backend: str) -> None:
        pass


UNOBSERVED: Observer = Unobserved()
