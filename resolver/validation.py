"""What every configuration the service reads shares: models that refuse what they do not know,
and problems described by where they are, never by the value that was wrong (it may be a
secret)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pydantic import ValidationError


class Strict(BaseModel):
    """Unknown keys are refused (a typo must not pass unnoticed), and a read model is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def problems(error: ValidationError) -> Iterator[tuple[list[str], str]]:
    """Each problem as its place (the keys that lead to it) and one line saying what is wrong."""
    for item in error.errors(include_input=False, include_url=False):
        message = " ".join(item["msg"].removeprefix("Value error, ").split())
        yield [str(part) for part in item["loc"]], message
