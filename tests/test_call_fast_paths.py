"""The per-call fast paths of #20: each keeps what the slow path gave, where it would give something else."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    DEFAULT_ON,
    ParentBased,
    ParentBasedTraceIdRatio,
    SamplingResult,
    TraceIdRatioBased,
)

from otel_llm_cost._sampling import decides_without_attributes
from otel_llm_cost.instrumentation._client_cache import ClientCache
from otel_llm_cost.instrumentation.anthropic import _patch as anthropic_patch
from otel_llm_cost.instrumentation.openai import _patch as openai_patch


class _ReadsAttributes(TraceIdRatioBased):
    """A subclass of an attribute-blind sampler that overrides the decision: it may read them."""

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        return super().should_sample(*args, **kwargs)


@pytest.mark.parametrize(
    "sampler",
    [ALWAYS_ON, ALWAYS_OFF, DEFAULT_ON, TraceIdRatioBased(0.5), ParentBasedTraceIdRatio(0.25)],
    ids=repr,
)
def test_the_sdk_samplers_decide_without_attributes(sampler: object) -> None:
    assert decides_without_attributes(sampler)


@pytest.mark.parametrize(
    "sampler",
    [
        None,
        object(),
        _ReadsAttributes(0.5),
        ParentBased(_ReadsAttributes(0.5)),
        ParentBased(ALWAYS_ON, local_parent_sampled=_ReadsAttributes(1.0)),
    ],
    ids=["none", "object", "subclass", "parent-based-root", "parent-based-delegate"],
)
def test_a_sampler_that_may_read_attributes_is_not_trusted(sampler: object) -> None:
    assert not decides_without_attributes(sampler)
    assert decides_without_attributes(ALWAYS_ON)  # the one-entry cache moves on...
    assert not decides_without_attributes(sampler)  # ...and back


def test_openai_server_is_per_client_and_per_base_url() -> None:
    one = openai.OpenAI(api_key="k", base_url="https://one.example:8443/v1")
    two = openai.OpenAI(api_key="k", base_url="http://two.example/v1")
    assert (openai_patch._server_of(one).address, openai_patch._server_of(one).port) == ("one.example", 8443)
    assert (openai_patch._server_of(two).address, openai_patch._server_of(two).port) == ("two.example", 80)
    assert openai_patch._server_of(one) is openai_patch._server_of(one)  # made once
    one.base_url = "https://three.example/v1"  # type: ignore[assignment]
    assert openai_patch._server_of(one).address == "three.example"


def test_anthropic_client_info_is_per_client_and_per_base_url() -> None:
    one = anthropic.Anthropic(api_key="k", base_url="https://one.example:8443")
    two = anthropic.Anthropic(api_key="k", base_url="http://two.example")

    def info(client: object) -> Any:
        return anthropic_patch._CLIENTS.get(client, anthropic_patch._client_info)

    assert info(one) == ("anthropic", ("one.example", 8443))
    assert info(two) == ("anthropic", ("two.example", 80))
    one.base_url = "https://three.example"  # type: ignore[assignment]
    assert info(one) == ("anthropic", ("three.example", 443))


def test_a_client_without_a_base_url_is_not_cached() -> None:
    made: list[object] = []

    class Bare:
        pass

    cache = ClientCache()
    client = Bare()
    for _ in range(2):
        cache.get(client, made.append)
    assert made == [client, client]


USAGE_BLOCKS = [
    {"prompt_tokens": 12, "completion_tokens": 5},
    {"prompt_tokens": 12, "completion_tokens": 5, "prompt_cache_hit_tokens": 7, "cached_tokens": None},
    {"prompt_tokens": 9, "cost": 0.5, "prompt_tokens_details": {"cached_tokens": 1}},
    {"prompt_tokens": None, "completion_tokens": 2, "x_groq": {"usage": {"prompt_tokens": 1}}},
]


@pytest.mark.parametrize("block", USAGE_BLOCKS)
def test_fields_of_reads_what_field_reads(block: dict[str, Any]) -> None:
    """One mapping per object (#20) gives each field as ``field`` does: declared first, then extras."""
    from openai.types import CompletionUsage

    from otel_llm_cost.apis._openai_fields import field, fields_of, get_chat_usage

    model = CompletionUsage.construct(**block)  # as the SDK builds responses: unvalidated, extras kept
    names = {*block, *CompletionUsage.model_fields, "absent"}
    for obj in (model, block):
        view = fields_of(obj)
        assert {name: view.get(name) for name in names} == {name: field(obj, name) for name in names}
    assert get_chat_usage(model) == get_chat_usage(block)


def test_anthropic_reader_sees_extras_and_class_attributes() -> None:
    """A field an older SDK does not declare is read from the extras, a class attribute through getattr."""
    from anthropic.types import Usage as AnthropicUsage

    from otel_llm_cost.apis._anthropic_fields import _get

    usage = AnthropicUsage.model_validate({"input_tokens": 3, "output_tokens": 4, "future_tokens": 9})
    assert (_get(usage, "input_tokens"), _get(usage, "future_tokens"), _get(usage, "absent")) == (3, 9, None)
    assert _get(usage, "model_config") is type(usage).model_config  # a class attribute, as getattr gives
    assert _get(None, "input_tokens") is None


def test_open_calls_dropped_without_ending_do_not_pile_up() -> None:
    """The open-call registry holds calls weakly: one dropped unended is swept, a live one is kept."""
    from otel_llm_cost.instrumentation import _open_calls

    class Call:
        ended = False
        exit_hook = None

    live = Call()
    _open_calls.track(live)  # type: ignore[arg-type]
    for _ in range(5):
        batch = [Call() for _ in range(3_000)]  # alive together: distinct ids
        for call in batch:
            _open_calls.track(call)  # type: ignore[arg-type]
        del batch, call  # dropped, never ended
    try:
        assert len(_open_calls._open) <= 2 * 3_000 + 2
        assert _open_calls._snapshot() == [live]
    finally:
        _open_calls.untrack(live)  # type: ignore[arg-type]
    assert live not in _open_calls._snapshot()


ANTHROPIC_USAGE = [
    {"input_tokens": 3, "output_tokens": 4},
    {"input_tokens": 3, "output_tokens": 4, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 6},
    {"input_tokens": 3, "output_tokens": 4, "iterations": [{"type": "compaction", "input_tokens": 1}]},
    {"input_tokens": 3, "output_tokens": 4, "server_tool_use": {"web_search_requests": 2}},
]


@pytest.mark.parametrize("block", ANTHROPIC_USAGE)
def test_anthropic_usage_reads_a_model_as_its_dict(block: dict[str, Any]) -> None:
    """A model read through its own ``__dict__`` (#20) gives what its fields one by one give."""
    from anthropic.types import Usage as AnthropicUsage

    from otel_llm_cost.apis._anthropic_fields import _START_FIELDS, _fields, _get, extract_usage

    model = AnthropicUsage.construct(**block)  # as the SDK builds responses: unvalidated, extras kept
    view = _fields(model, _START_FIELDS)
    names = _START_FIELDS
    assert {name: view.get(name) for name in names} == {name: _get(model, name) for name in names}
    assert extract_usage(model) == extract_usage(block)
