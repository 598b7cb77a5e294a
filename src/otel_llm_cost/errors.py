"""The exceptions otel-llm-cost raises to its caller.

Instrumentation never raises into the application; these reach users only from explicit setup calls
(loading a price file, configuring the package)::

    OtelLLMCostError
    └── ConfigurationError
        └── PriceFileError
"""

from __future__ import annotations

import os

__all__ = ["ConfigurationError", "OtelLLMCostError", "PriceFileError"]


class OtelLLMCostError(Exception):
    """Base class of every exception otel-llm-cost raises."""


class ConfigurationError(OtelLLMCostError):
    """A setting, environment variable or configuration file is unusable."""


class PriceFileError(ConfigurationError):
    """A price override file cannot be read or holds an invalid entry.

    The message names the file, the line (when it is known) and the offending field, e.g.
    ``prices.toml:7: models."my-model".input: not a price: 'cheap'``.

    Attributes:
        path: the file.
        line: 1-based line number, or ``None`` when the parser does not say.
        field: dotted name of the offending field, or ``None`` for a syntax error.
        reason: what is wrong, without the location.
    """

    def __init__(
        self, path: str | os.PathLike[str], reason: str, *, line: int | None = None, field: str | None = None
    ) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.field = field
        self.reason = reason
        location = self.path if line is None else f"{self.path}:{line}"
        subject = f" {field}:" if field else ""
        super().__init__(f"{location}:{subject} {reason}")
