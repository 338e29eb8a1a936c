"""What the sandbox's servers and the test processes share: a `with` block stops them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from types import TracebackType


class Stoppable:
    """Something that runs until `stop()`, which a `with` block calls whatever happens.

    A subclass that is not running yet when it is made starts in `__enter__` (`start_on_enter`).
    """

    start_on_enter = False

    def start(self) -> object:
        """Start running (only for subclasses that start on enter)."""
        raise NotImplementedError

    def stop(self) -> object:
        raise NotImplementedError

    def __enter__(self) -> Self:
        if self.start_on_enter:
            self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
