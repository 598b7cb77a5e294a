"""The package logger and :func:`log_once`.

Instrumentation runs inside every LLM call of the host application: a recurring fault must not flood
its logs. The first occurrence of each kind of problem is a warning; repeats go to debug.
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger("otel_llm_cost")

_seen: set[str] = set()
_seen_lock = threading.Lock()


def log_once(key: str, message: str, *args: object, exc_info: bool = False) -> None:
    """Warn the first time ``key`` is seen in this process, log at debug afterwards."""
    with _seen_lock:
        first = key not in _seen
        if first:
            _seen.add(key)
    if first:
        logger.warning(message, *args, exc_info=exc_info)
    elif logger.isEnabledFor(logging.DEBUG):
        logger.debug(message, *args, exc_info=exc_info)


def reset_log_once() -> None:
    """Forget which problems were logged (for tests)."""
    with _seen_lock:
        _seen.clear()
