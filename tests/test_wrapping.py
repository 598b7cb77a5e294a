"""Our wrappers beside other packages' wrappers on the same SDK methods (issue found via OpenLLMetry)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import wrapt

from otel_llm_cost.instrumentation._wrapping import unwrap, wrap
from sdk_methods import sdk_methods_restored


class Client:
    def create(self, value: int) -> int:
        return value


def _adding(amount: int, calls: list[str], name: str):
    def wrapper(wrapped, instance, args, kwargs):
        calls.append(name)
        return wrapped(*args, **kwargs) + amount

    return wrapper


def _fresh_class() -> type:
    return type("FreshClient", (Client,), {"create": lambda self, value: value})


def test_ours_is_installed_over_another_packages_wrapper_and_removed_alone():
    cls, calls = _fresh_class(), []
    wrapt.wrap_function_wrapper(cls, "create", _adding(10, calls, "theirs"))
    assert wrap(cls, "create", _adding(1, calls, "ours"))
    assert cls().create(0) == 11
    assert calls == ["ours", "theirs"]

    unwrap(cls, "create")
    calls.clear()
    assert cls().create(0) == 10
    assert calls == ["theirs"]


def test_ours_is_removed_from_beneath_a_wrapper_installed_after_it():
    cls, calls = _fresh_class(), []
    assert wrap(cls, "create", _adding(1, calls, "ours"))
    wrapt.wrap_function_wrapper(cls, "create", _adding(10, calls, "theirs"))

    unwrap(cls, "create")
    assert cls().create(0) == 10
    assert calls == ["theirs"]


def test_wrapping_twice_installs_once_and_unwrapping_an_unwrapped_method_is_a_no_op():
    cls, calls = _fresh_class(), []
    assert wrap(cls, "create", _adding(1, calls, "ours"))
    assert not wrap(cls, "create", _adding(1, calls, "ours again"))
    assert cls().create(0) == 1
    unwrap(cls, "create")
    unwrap(cls, "create")
    assert cls().create(0) == 0


_OPENLLMETRY_CHAT = (
    "traceloop+openllmetry/packages/opentelemetry-instrumentation-openai/tests/traces/cassettes/"
    "test_chat/test_chat.yaml"
)


@pytest.fixture
def openai_methods_restored() -> Iterator[None]:
    with sdk_methods_restored("openai"):
        yield


@pytest.mark.usefixtures("openai_methods_restored")
def test_openai_instrumentation_records_when_openllmetry_wrapped_first(replay_server):
    import openai
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OpenLLMetry
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor

    theirs_provider, ours_provider = TracerProvider(), TracerProvider()
    theirs, ours = InMemorySpanExporter(), InMemorySpanExporter()
    theirs_provider.add_span_processor(SimpleSpanProcessor(theirs))
    ours_provider.add_span_processor(SimpleSpanProcessor(ours))
    openllmetry, instrumentor = OpenLLMetry(), OpenAIInstrumentor()
    openllmetry.instrument(tracer_provider=theirs_provider)
    instrumentor.instrument(tracer_provider=ours_provider)
    try:
        with replay_server(_OPENLLMETRY_CHAT) as srv:
            client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
            client.chat.completions.create(
                model="gpt-3.5-turbo",
                messages=[{"role": "user", "content": "Tell me a joke about opentelemetry"}],
            )
    finally:
        instrumentor.uninstrument()
        openllmetry.uninstrument()
    assert [s.attributes["gen_ai.usage.input_tokens"] > 0 for s in ours.get_finished_spans()] == [True]
    assert len(theirs.get_finished_spans()) == 1
