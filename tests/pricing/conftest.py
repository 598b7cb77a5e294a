from __future__ import annotations

import pytest

from otel_llm_cost._log import reset_log_once
from otel_llm_cost.pricing import Pricer


@pytest.fixture(scope="session")
def shared_pricer() -> Pricer:
    """One warmed pricer for read-only tests (loading genai-prices data takes ~0.2 s)."""
    pricer = Pricer()
    pricer.warm_up()
    return pricer


@pytest.fixture(autouse=True)
def _fresh_log_once():
    reset_log_once()
    yield
    reset_log_once()
