"""What a load generator is asked to do (`Load`) and what it measured (`Measured`).

A load is a fixed number of requests, each sent once, over a fixed number of keep-alive
connections; request `n` (0, 1, 2, ...) gets `n` in place of `NUMBER` in its body, which is
how every redemption names a coupon of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

NUMBER = "{n}"


@dataclass(frozen=True, slots=True)
class Load:
    """`requests` requests to `url` + `path`, over `connections` connections at once."""

    url: str
    method: str
    path: str
    requests: int
    connections: int
    body: str = ""  # NUMBER in it is replaced by the request's number
    headers: dict[str, str] = field(default_factory=dict)

    def body_for(self, number: int) -> str:
        return self.body.replace(NUMBER, str(number))


@dataclass(frozen=True, slots=True)
class Measured:
    """What a load generator saw: counts, wall time and latency percentiles in milliseconds."""

    completed: int
    failed: int  # answered with another status than 200, or not answered at all
    seconds: float
    p50: float
    p95: float
    p99: float

    @property
    def rate(self) -> float:
        """Requests answered per second."""
        return self.completed / self.seconds if self.seconds > 0 else 0.0


class Generator(Protocol):
    """A load generator: `wrk` or the Python client."""

    name: str

    def run(self, load: Load) -> Measured:
        """Send every request of `load` once and measure."""
        ...


def percentile(ordered: list[float], percent: float) -> float:
    """The nearest-rank percentile of an ascending list (0.0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
