from __future__ import annotations

import pytest

from otel_llm_cost.pricing import Pricer


@pytest.fixture(scope="session")
def shared_pricer() -> Pricer:
    """One warmed pricer for read-only tests (loading genai-prices data takes ~0.2 s)."""
    pricer = Pricer()
    pricer.warm_up()
    return pricer
