"""A one-line progress bar on stderr while large inputs are read."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, TextIO

from otel_llm_cost.report._charts import bar

_EVERY_S: Final = 0.1


class Progress:
    """Redraws ``[█████     ]  48% 120.5/250.0 MB`` at most ten times a second.

    Args:
        total: bytes to read (file sizes on disk; gzip files count compressed).
        stream: where to draw (stderr).
        ascii: ``#`` instead of block elements.
        clock: seconds, monotonic (injected by tests).
    """

    def __init__(
        self,
        total: int,
        stream: TextIO,
        ascii: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.ascii = ascii
        self.clock = clock
        self._last = -_EVERY_S
        self.drawn = 0

    def __call__(self, done: int) -> None:
        """Note ``done`` bytes read; redraw if enough time passed."""
        now = self.clock()
        if now - self._last < _EVERY_S:
            return
        self._last = now
        fraction = min(done / self.total, 1.0)
        cells = bar(fraction, 30, self.ascii)
        text = f"\r[{cells:<30}] {fraction:4.0%} {done / 1e6:,.1f}/{self.total / 1e6:,.1f} MB"
        self.stream.write(text)
        self.stream.flush()
        self.drawn += 1

    def close(self) -> None:
        """Erase the bar (if it was ever drawn)."""
        if self.drawn:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()
