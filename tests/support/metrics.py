"""Reading what a Prometheus scrape returns: samples by name and labels, summed on request."""

from __future__ import annotations

import random
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True, slots=True)
class Samples:
    """Every sample of one scrape."""

    samples: tuple[tuple[str, dict[str, str], float], ...]

    @classmethod
    def parse(cls, text: str) -> Samples:
        return cls(
            tuple(
                (sample.name, dict(sample.labels), float(sample.value))
                for family in text_string_to_metric_families(text)
                for sample in family.samples
            )
        )

    def total(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples whose labels include `labels`."""
        return sum(
            value
            for sample, found, value in self.samples
            if sample == name and labels.items() <= found.items()
        )

    def by(self, name: str, label: str, **labels: str) -> dict[str, float]:
        """`name`'s totals by one label's value, among samples with `labels`; zeros left out."""
        totals: dict[str, float] = {}
        for sample, found, value in self.samples:
            if sample == name and labels.items() <= found.items() and value:
                totals[found[label]] = totals.get(found[label], 0.0) + value
        return totals

    @property
    def names(self) -> set[str]:
        return {sample for sample, _, _ in self.samples}


def seed_passing_then_failing(rate: float = 0.5) -> int:
    """A seed for the sandbox's fault dice whose first call passes and second fails: a redeem
    applied (then failing by `applyThenFail`), and the read-back after it refused."""
    for seed in range(1000):
        dice = random.Random(seed)  # the sandbox's own test dice
        if dice.random() >= rate and dice.random() < rate:
            return seed
    raise AssertionError("no such seed")
