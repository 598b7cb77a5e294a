"""Shared fixtures: the loopback replay server.

def test_chat(replay_server):
    with replay_server("traceloop+openllmetry/.../test_chat.yaml") as srv:
        client = OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        ...
    assert srv.requests[0].json()["model"] == "gpt-3.5-turbo"
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from replay import Interaction, ReplayServer

# One profile for every property test: reproducible (derandomized, no example database) and not
# failed by a shared, loaded CI machine generating inputs slowly.
settings.register_profile(
    "otel-llm-cost",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("otel-llm-cost")

ReplayServerFactory = Callable[..., ReplayServer]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The framework suite (tests/frameworks) runs only when named (``make test-frameworks``): it needs
    the framework packages of its own venv, and it is slow."""
    if collection_path.name != "frameworks" or collection_path.parent != Path(__file__).parent:
        return None
    named = any("frameworks" in str(arg) for arg in config.args)
    return None if named else True


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    """Finished spans of the test's own provider."""
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(exporter: InMemorySpanExporter) -> TracerProvider:
    """An SDK provider that exports synchronously to ``exporter``; never set as the global one."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture
def replay_server() -> Iterator[ReplayServerFactory]:
    """Factory for `ReplayServer`s; each starts on ``with`` and is closed at teardown at the latest.

    Call it with a recording path (relative to ``tests/cassettes``) or a list of interactions (recorded via
    ``replay.load`` or scripted via ``replay.json_response`` / ``replay.sse_response``); ``prefix=""`` makes
    ``base_url`` suit anthropic (default ``"/v1"`` suits openai).
    """
    servers: list[ReplayServer] = []

    def factory(source: str | Path | Iterable[Interaction], *, prefix: str = "/v1") -> ReplayServer:
        server = ReplayServer(source, prefix=prefix)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.close()
