"""`Operation`: the sans-I/O core's answer-to-come (a command ack, a mission transfer).

A tiny future without an event loop: the core finishes it (`succeed` / `fail`) while handling
bytes or time; whoever asked reads `done`, `result`, `error`, or registers `on_done`. The
asyncio edge turns one into an awaitable (`transport.awaitable`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LinkError(Exception):
    """Base of what the link reports as failed (timeouts, refusals, lost links)."""


class OperationTimeoutError(LinkError):
    """No answer in time after every retry."""


class BusyError(LinkError):
    """An operation of the same kind is outstanding (one command per id, one transfer)."""


class Operation(Generic[T]):
    """A result the core will deliver later (success value or `LinkError`)."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.done = False
        self.result: T | None = None
        self.error: LinkError | None = None
        self._callbacks: list[Callable[[Operation[T]], None]] = []

    def on_done(self, callback: Callable[[Operation[T]], None]) -> None:
        """Call `callback(self)` when done (at once if already done)."""
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def succeed(self, result: T) -> None:
        """Finish with a value (ignored if already done)."""
        if not self.done:
            self.done, self.result = True, result
            self._fire()

    def fail(self, error: LinkError) -> None:
        """Finish with an error (ignored if already done)."""
        if not self.done:
            self.done, self.error = True, error
            self._fire()

    def _fire(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def __repr__(self) -> str:
        state = "pending" if not self.done else (f"error {self.error!r}" if self.error
                                                 else f"= {self.result!r}")
        return f"<Operation {self.description}: {state}>"
