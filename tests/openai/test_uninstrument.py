"""Installing and removing the instrumentation; calls it must leave alone."""

from __future__ import annotations

import inspect
from importlib.metadata import entry_points
from typing import Any

import openai.resources.chat.completions as chat_module
import openai.resources.embeddings as embeddings_module
import openai.resources.responses as responses_module
import pytest
import wrapt
from oai_helpers import MESSAGES, MODEL, chat_completion, client, one_span
from opentelemetry.instrumentation.utils import suppress_instrumentation

from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from replay import ReplayServer, json_response

PROXY = getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)
METHODS = [
    (chat_module.Completions, "create"),
    (chat_module.AsyncCompletions, "create"),
    (chat_module.Completions, "parse"),
    (chat_module.AsyncCompletions, "parse"),
    (responses_module.Responses, "create"),
    (responses_module.AsyncResponses, "create"),
    (responses_module.Responses, "parse"),
    (responses_module.AsyncResponses, "parse"),
    (embeddings_module.Embeddings, "create"),
    (embeddings_module.AsyncEmbeddings, "create"),
]


def _originals() -> list[Any]:
    return [vars(owner)[name] for owner, name in METHODS]


def test_uninstrument_restores_the_original_methods(tracer_provider: Any) -> None:
    originals = _originals()
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        assert all(isinstance(vars(owner)[name], PROXY) for owner, name in METHODS)
        instrumentor.instrument(tracer_provider=tracer_provider)  # a second call is ignored
        assert [vars(owner)[name].__wrapped__ for owner, name in METHODS] == originals
    finally:
        instrumentor.uninstrument()
    assert _originals() == originals
    assert not any(isinstance(method, PROXY) for method in _originals())


def test_no_spans_after_uninstrument(tracer_provider: Any, exporter: Any) -> None:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    with ReplayServer([json_response(chat_completion()), json_response(chat_completion())]) as srv:
        client(srv).chat.completions.create(model=MODEL, messages=MESSAGES)
        instrumentor.uninstrument()
        client(srv).chat.completions.create(model=MODEL, messages=MESSAGES)
    one_span(exporter)


def test_suppressed_instrumentation_records_nothing(instrument: Any, exporter: Any) -> None:
    with ReplayServer([json_response(chat_completion())]) as srv, suppress_instrumentation():
        completion = client(srv).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert completion.id == "chatcmpl-scripted"
    assert exporter.get_finished_spans() == ()


def test_dependencies_and_entry_point() -> None:
    assert OpenAIInstrumentor().instrumentation_dependencies() == ("openai >= 1.40",)
    (entry_point,) = [
        ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "llm_cost_openai"
    ]
    assert entry_point.load() is OpenAIInstrumentor


@pytest.mark.parametrize("is_async", [False, True])
async def test_wrapped_methods_keep_their_signature_and_name(is_async: bool, instrument: Any) -> None:
    with ReplayServer([]) as srv:
        create = client(srv, is_async=is_async).chat.completions.create
    assert create.__name__ == "create"
    assert "messages" in inspect.signature(create).parameters
