"""Credentials out of every string we record or log: one scrubber, used by spans, logs and exports.

An exception's text, a URL or a configuration value can carry a secret (``?key=`` on a Gemini URL,
``redis://:password@host``, a gateway's 401 echoing ``sk-...``). Everything we write passes through
:func:`scrub` (span status descriptions and exception events, every log record of the package logger
through :class:`ScrubFilter`, every string of a JSONL line). The shapes recognised:

- URL userinfo (``scheme://user:password@host``) and credential query parameters (``key``, ``api_key``,
  ``token``, ``sig``, ``X-Amz-Signature``, ``X-Amz-Credential``, ``password``...);
- ``Bearer``/``Basic`` credentials and ``name: value`` / ``name=value`` pairs whose name says
  credential (``Authorization``, ``api-key``, ``x-api-key``, ``secret``, ``password``, ``token``...);
- key formats: OpenAI / Anthropic ``sk-...``, AWS access key ids ``AKIA...`` / ``ASIA...``, Google
  ``AIza...``, GitHub ``ghp_...``, Slack ``xox.-...``.

The common string (a model name, an id) holds none of the few characters a secret needs next to it,
and is returned after a handful of substring tests, without a regular expression.
"""

from __future__ import annotations

import logging
import numbers
import re
import traceback
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "REDACTED",
    "ScrubFilter",
    "describe_error",
    "exception_attributes",
    "scrub",
    "scrub_value",
    "shorten",
]

REDACTED: Final = "[REDACTED]"

_CREDENTIAL_NAME: Final = (
    r"(?:x[-_]?)?api[-_]?key|authorization|proxy[-_]authorization|auth[-_]?token|access[-_]?token"
    r"|refresh[-_]?token|id[-_]?token|client[-_]?secret|secret[-_]?key|secret|password|passwd|pwd"
    r"|token|session[-_]?token|x[-_]amz[-_]security[-_]token"
)
_QUERY_NAME: Final = (
    r"[^=&\s#?]*(?:key|token|sig|signature|secret|password|passwd|pwd|credential|auth)[^=&\s#?]*"
)
_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # scheme://user:password@host and scheme://token@host: the whole userinfo goes.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#]+@"), r"\1" + REDACTED + "@"),
    # ?key=... &X-Amz-Signature=... ;sig=...
    (re.compile(r"(?i)([?&;]" + _QUERY_NAME + r"=)(?!\[REDACTED\])[^&\s#\"'<>]+"), r"\1" + REDACTED),
    # Authorization: Bearer xxx / "api_key": "xxx" / password=xxx
    (
        re.compile(
            r"(?i)(?<![A-Za-z0-9_])(" + _CREDENTIAL_NAME + r")([\"']?\s*[:=]\s*[\"']?)"
            r"(?:(?:bearer|basic|token)\s+)?(?!\[REDACTED\])[^\s\"',;&}\]]+"
        ),
        r"\1\2" + REDACTED,
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/\-]{8,}=*"), r"\1 " + REDACTED),
    (re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{6,}"), REDACTED),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"AIza[0-9A-Za-z_\-]{20,}"), REDACTED),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), REDACTED),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"), REDACTED),
)


def scrub(text: str) -> str:
    """``text`` with every credential-shaped part replaced by ``[REDACTED]``."""
    if (  # the common case, in a few C-speed substring tests: nothing a secret needs beside it
        "=" not in text and "@" not in text and ":" not in text and "sk-" not in text and "AKIA" not in text
        and "ASIA" not in text and "AIza" not in text and "earer" not in text and "EARER" not in text
        and "gh" not in text and "xox" not in text
    ):  # fmt: skip
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_value(value: Any) -> Any:
    """A string scrubbed, a list or tuple of strings scrubbed item by item, anything else as it is."""
    if type(value) is str:
        return scrub(value)
    if isinstance(value, list | tuple) and any(type(item) is str for item in value):
        return type(value)(scrub(item) if type(item) is str else item for item in value)
    return value


def shorten(text: str, limit: int = 200) -> str:
    """At most ``limit`` characters (a hostile model name may be a megabyte long), marked when cut."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 30]}...[{len(text) - limit + 30} more characters]"


_LOG_VALUE_LIMIT: Final = 300
_STACK_LIMIT: Final = 8000


def describe_error(error: BaseException, limit: int = 500) -> str:
    """An exception's text for a span's status: scrubbed, at most ``limit`` characters, never raising."""
    try:
        text = str(error)
    except Exception:
        text = f"<{type(error).__name__} with an unprintable message>"
    return scrub(shorten(text, limit))


def exception_attributes(error: BaseException) -> dict[str, str]:
    """The ``exception`` span event's attributes (as ``Span.record_exception`` makes them), scrubbed."""
    cls = type(error)
    try:
        stack = "".join(traceback.format_exception(cls, error, error.__traceback__))
    except Exception:
        stack = ""
    return {
        "exception.type": cls.__qualname__
        if cls.__module__ == "builtins"
        else f"{cls.__module__}.{cls.__qualname__}",
        "exception.message": describe_error(error, 2000),
        "exception.stacktrace": scrub(stack[-_STACK_LIMIT:]),
    }


class ScrubFilter(logging.Filter):
    """Scrubs and bounds every record of our loggers: the message once formatted, and the traceback.

    Installed on the package logger and every ``otel_llm_cost.*`` logger by :mod:`otel_llm_cost._log`.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            if isinstance(record.args, Mapping):  # "%(name)s" formatting
                record.args = {key: _log_arg(value) for key, value in record.args.items()}
            elif record.args:
                record.args = tuple(_log_arg(arg) for arg in _as_tuple(record.args))
            if isinstance(record.msg, str):
                record.msg = scrub(record.msg)
            if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
                record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None  # the formatted, scrubbed text is what handlers print
        except Exception:  # a filter that raises would lose the record
            pass
        return True


def _as_tuple(args: Any) -> tuple[Any, ...]:
    return args if isinstance(args, tuple) else (args,)


def _log_arg(arg: Any) -> Any:
    if arg is None or isinstance(arg, numbers.Number):  # %d and %.2f need the number itself
        return (
            arg
            if type(arg) is not int or arg.bit_length() < 10_000
            else f"<integer of {arg.bit_length()} bits>"
        )
    try:
        text = arg if type(arg) is str else str(arg)
    except Exception:
        return "<unprintable>"
    return scrub(shorten(text, _LOG_VALUE_LIMIT))
