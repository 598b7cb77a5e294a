"""Instrument an SDK when the application imports it, not before.

``configure()`` and ``opentelemetry-instrument`` turn on every instrumentor whose SDK is installed. Importing
an SDK only to wrap it costs the app its import time and memory (tens of MB for an SDK it never calls), so an
instrumentor whose SDK is not imported yet waits for the import: wrapt's post-import hooks run the
installation right after the module is first imported, in the importing thread.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import wrapt

from otel_llm_cost._log import log_once


def when_imported(module_name: str, install: Callable[[], None]) -> Callable[[], None]:
    """Run ``install`` now if ``module_name`` is imported, else right after the app first imports it.

    Returns:
        ``cancel``: stops a pending installation (an ``uninstrument()`` before the import). After the
        installation has run it does nothing; undoing it is the caller's job.
    """
    pending = [True]

    def run(_module: object = None) -> None:
        if not pending[0]:
            return
        pending[0] = False
        try:
            install()
        except Exception:  # the app's import must never fail because of us
            log_once(
                f"lazy.{module_name}", "otel-llm-cost could not instrument %s", module_name, exc_info=True
            )

    def cancel() -> None:
        pending[0] = False

    if module_name in sys.modules:
        run()
    else:
        wrapt.register_post_import_hook(run, module_name)
    return cancel
