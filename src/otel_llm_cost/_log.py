"""The package logger and :func:`log_once`.

Instrumentation runs inside every LLM call of the host application: a recurring fault must not flood
its logs. The first occurrence of each kind of problem is a warning; repeats go to debug. The keys
remembered are bounded (a hostile stream of model names must not grow memory): a key pushed out
may warn once more. Every record of our loggers passes through :class:`~otel_llm_cost._scrub.ScrubFilter`
(credentials redacted, long values cut).
"""

from __future__ import annotations

import logging
import threading

from otel_llm_cost._bounded import BoundedSet
from otel_llm_cost._fork import reinit_locks_after_fork
from otel_llm_cost._scrub import ScrubFilter

_FILTER = ScrubFilter()
_SEEN_CAP = 4096


def get_logger(name: str) -> logging.Logger:
    """A logger of the package (``otel_llm_cost`` or below) with the scrubbing filter installed."""
    log = logging.getLogger(name)
    if _FILTER not in log.filters:
        log.addFilter(_FILTER)
    return log


logger = get_logger("otel_llm_cost")

_seen: BoundedSet[str] = BoundedSet(_SEEN_CAP)
_seen_lock = threading.Lock()
reinit_locks_after_fork(__name__, "_seen_lock")


def log_once(key: str, message: str, *args: object, exc_info: bool = False) -> None:
    """Warn the first time ``key`` is seen in this process, log at debug afterwards."""
    with _seen_lock:
        first = _seen.add(key)
    if first:
        logger.warning(message, *args, exc_info=exc_info)
    elif logger.isEnabledFor(logging.DEBUG):
        logger.debug(message, *args, exc_info=exc_info)


def reset_log_once() -> None:
    """Forget which problems were logged (for tests)."""
    with _seen_lock:
        _seen.clear()
